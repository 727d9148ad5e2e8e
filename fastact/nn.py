"""Activation layers for NumPy training loops, one per activation of the table.

A layer's :meth:`~Activation.forward` returns the activation and keeps what
:meth:`~Activation.backward` needs; ``backward`` turns the gradient of the
output into the gradient of the input with one fused kernel. Where the
output alone decides the derivative (ReLU; Leaky ReLU with ``alpha >= 0``;
...), the layer keeps the output it returned, so the caller's input may be
reused freely; elsewhere it keeps a reference to the input. Nothing is
copied: modify the kept array before ``backward`` and the gradient is
computed from the modified values, as with a saved tensor that autograd
cannot see change.

The parameters are fixed at construction (read-only attributes): a layer
that overwrote its input relies on them to read the derivative off its
output.

Examples
--------
One step of a training loop (``W`` a weight matrix, ``X`` a batch):

>>> import numpy as np
>>> import fastact as fa
>>> rng = np.random.default_rng(0)
>>> X, W = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
>>> act = fa.nn.LeakyReLU(alpha=0.1)
>>> h = act(X @ W)                       # forward
>>> grad_h = np.ones_like(h)             # from the layer above
>>> grad_W = X.T @ act.backward(grad_h)  # backward
>>> grad_W.shape
(3, 2)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from fastact import _api, _containers
from fastact._table import ACTIVATIONS
from fastact._table import Activation as _Entry


class Activation:
    """The base of every layer: the activation of the table entry ``entry``."""

    entry: _Entry

    def __init__(self, *params: float | str, inplace: bool = False, backend: str | None = None):
        name = type(self).__name__
        self._params = _api.as_given(self.entry, _api.check_params(self.entry, params, name))
        self._from_output = self.entry.grad_from_output is not None and eval(
            self.entry.grad_from_output, {}, dict(self._named())
        )
        if inplace and not self._from_output:
            need = self.entry.grad_from_output
            raise ValueError(
                f"{name}{self._params} with inplace=True: the output does not tell the "
                "derivative" + (f"; in place needs {need}" if need else "")
            )
        self.inplace = bool(inplace)
        self.backend = backend
        self._saved: np.ndarray | None = None

    def _named(self) -> list[tuple[str, float | str]]:
        return [(p.name, v) for p, v in zip(self.entry.params, self._params, strict=True)]

    def forward(self, x: ArrayLike) -> Any:
        """Return the activation of ``x`` and keep what :meth:`backward` needs.

        Parameters
        ----------
        x : array_like
            The layer's input. With ``inplace=True`` an ndarray input is
            overwritten and returned.

        Returns
        -------
        numpy.ndarray
            The activation.

        Examples
        --------
        >>> import numpy as np
        >>> import fastact as fa
        >>> fa.nn.LeakyReLU(0.5).forward(np.array([-2.0, 2.0]))
        array([-1.,  2.])
        """
        f = _api.PUBLIC[self.entry.name]
        out = x if self.inplace and isinstance(x, np.ndarray) else None
        y = f(x, *self._params, out=out, backend=self.backend)
        # a container (a dask array, ...) is kept as it is: asarray would compute it
        keep = x if _containers.takes((x,), None) else np.asarray(x)
        self._saved = y if self._from_output else keep
        return y

    __call__ = forward

    def backward(self, grad_out: ArrayLike, *, out: np.ndarray | None = None) -> Any:
        """Return the gradient with respect to the input of the last :meth:`forward`.

        Parameters
        ----------
        grad_out : array_like
            The gradient with respect to the output; it broadcasts against it.
        out : numpy.ndarray, optional
            Where to write the result (it may be ``grad_out`` itself).

        Returns
        -------
        numpy.ndarray
            The gradient with respect to the input.

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.

        Examples
        --------
        >>> import numpy as np
        >>> import fastact as fa
        >>> layer = fa.nn.LeakyReLU(0.5)
        >>> _ = layer(np.array([-2.0, 2.0]))
        >>> layer.backward(np.array([1.0, 1.0]))
        array([0.5, 1. ])
        """
        if self._saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        f = _api.PUBLIC[f"{self.entry.name}_backward"]
        return f(grad_out, self._saved, *self._params, out=out, backend=self.backend)

    def __repr__(self) -> str:
        args = [f"{n}={v!r}" for n, v in self._named()] + [f"inplace={self.inplace}"]
        return f"{type(self).__name__}({', '.join(args)})"


def _param_property(index: int, name: str) -> property:
    return property(lambda self: self._params[index], doc=f"``{name}`` (fixed at construction)")


_INIT = """
def __init__(self, {params}inplace=False, *, backend=None):
    Activation.__init__(self, {names}inplace=inplace, backend=backend)
"""


def _layer(entry: _Entry) -> type[Activation]:
    params = "".join(f"{p.name}={p.literal}, " for p in entry.params)
    names = "".join(f"{p.name}, " for p in entry.params)
    namespace: dict[str, Any] = {"Activation": Activation}
    exec(_INIT.format(params=params, names=names), namespace)
    attrs: dict[str, Any] = {
        "entry": entry,
        "__init__": namespace["__init__"],
        "__module__": __name__,
        "__doc__": _layer_doc(entry),
    }
    attrs.update({p.name: _param_property(i, p.name) for i, p in enumerate(entry.params)})
    return type(entry.layer, (Activation,), attrs)


def _layer_doc(entry: _Entry) -> str:
    lines = [f"{entry.layer} layer: ``{entry.forward}``.", "", "Parameters", "----------"]
    for p in entry.params:
        lines += [f"{p.name} : {p.type_doc}, default {p.default!r}", f"    {p.doc}"]
    cond = entry.grad_from_output
    lines += [
        "inplace : bool, default False",
        "    Overwrite the input with the output in ``forward`` (the input must then",
        "    be a writeable float ndarray)."
        + ("" if cond in (None, "True") else f" Needs ``{cond}``."),
        "backend : str, optional",
        "    The backend for every call (``None``: the configured default).",
        "",
        "Examples",
        "--------",
        ">>> import numpy as np",
        ">>> import fastact as fa",
        f">>> layer = fa.nn.{entry.layer}()",
        f">>> x = np.array({entry.example[0]})",
        ">>> layer(x)",
        entry.example[1],
        ">>> layer.backward(np.full(x.shape, 2.0))",
        entry.example[3],
    ]
    if cond is None:
        lines[lines.index("    be a writeable float ndarray).")] = "    Not supported: raises."
    return "\n".join(lines)


class PReLU:
    """PReLU layer: ``x if x > 0 else weight[c] * x``, a learnable slope per channel (axis 1).

    As PyTorch's ``nn.PReLU``: ``num_parameters`` is 1 (one slope shared by
    every element) or the number of channels, the size of axis 1 of the
    input.

    Parameters
    ----------
    num_parameters : int, default 1
        How many slopes.
    init : float, default 0.25
        Their initial value.
    backend : str, optional
        The backend for every call (``None``: the configured default).

    Attributes
    ----------
    weight : numpy.ndarray
        The slopes, float64, shape ``(num_parameters,)``; update it in place
        (``layer.weight -= lr * layer.grad_weight``).
    grad_weight : numpy.ndarray or None
        The gradient of the slopes from the last :meth:`backward` (not
        accumulated), in the dtype of the gradients.

    Examples
    --------
    >>> import numpy as np
    >>> import fastact as fa
    >>> layer = fa.nn.PReLU(num_parameters=2, init=0.5)
    >>> x = np.array([[-2.0, -4.0], [2.0, 6.0]])
    >>> layer(x)
    array([[-1., -2.],
           [ 2.,  6.]])
    >>> layer.backward(np.ones((2, 2)))
    array([[0.5, 0.5],
           [1. , 1. ]])
    >>> layer.grad_weight
    array([-2., -4.])
    """

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, *, backend: str | None = None
    ) -> None:
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, int):
            raise TypeError(f"PReLU: num_parameters must be an integer, got {num_parameters!r}")
        if num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be positive, got {num_parameters}")
        value = _api.check_param(init, "init", "PReLU")
        self.weight = np.full(num_parameters, value)
        self.grad_weight: np.ndarray | None = None
        self.backend = backend
        self._saved: np.ndarray | None = None

    def _slopes(self) -> Any:
        return self.weight[0] if self.weight.size == 1 else self.weight

    def forward(self, x: ArrayLike) -> Any:
        """Return the activation of ``x`` and keep ``x`` for :meth:`backward`.

        Parameters
        ----------
        x : array_like
            The input; channels on axis 1 when ``num_parameters > 1``.

        Returns
        -------
        numpy.ndarray
            The activation.

        Examples
        --------
        >>> import numpy as np
        >>> import fastact as fa
        >>> fa.nn.PReLU()(np.array([-4.0, 4.0]))
        array([-1.,  4.])
        """
        self._saved = x if _containers.takes((x,), None) else np.asarray(x)
        return _api.prelu(x, self._slopes(), 1, backend=self.backend)

    __call__ = forward

    def backward(self, grad_out: ArrayLike, *, out: np.ndarray | None = None) -> Any:
        """Return the input's gradient and set :attr:`grad_weight`, in one pass.

        Parameters
        ----------
        grad_out : array_like
            The gradient with respect to the output; it broadcasts against it.
        out : numpy.ndarray, optional
            Where to write the input's gradient (it may be ``grad_out``).

        Returns
        -------
        numpy.ndarray
            The gradient with respect to the input.

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.

        Examples
        --------
        >>> import numpy as np
        >>> import fastact as fa
        >>> layer = fa.nn.PReLU()
        >>> _ = layer(np.array([-4.0, 4.0]))
        >>> layer.backward(np.array([1.0, 1.0]))
        array([0.25, 1.  ])
        >>> layer.grad_weight
        array([-4.])
        """
        if self._saved is None:
            raise RuntimeError("PReLU.backward called before forward")
        grad_x, grad_w = _api.prelu_backward(
            grad_out, self._saved, self._slopes(), 1, out=out, backend=self.backend
        )
        self.grad_weight = np.reshape(grad_w, self.weight.shape)
        return grad_x

    def __repr__(self) -> str:
        return f"PReLU(num_parameters={self.weight.size})"


_LAYERS = {
    entry.layer: _layer(entry) for entry in ACTIVATIONS.values() if entry.kind == "elementwise"
}
_LAYERS["PReLU"] = PReLU
globals().update(_LAYERS)

__all__ = ["Activation", *_LAYERS]
