"""Activation layers for NumPy training loops, in the style of Keras and PyTorch layers.

A layer's :meth:`forward` returns the activation and keeps what
:meth:`backward` needs; :meth:`backward` turns the gradient of the output
into the gradient of the input with one fused kernel. Whenever the output
alone decides the derivative (ReLU, and Leaky ReLU with ``alpha >= 0``), the
layer keeps the output it returned, so the caller's input may be reused
freely; for Leaky ReLU with ``alpha < 0`` it keeps a reference to the input.
Nothing is copied: modify the kept array before :meth:`backward` and the
gradient is computed from the modified values, as with a saved tensor that
autograd cannot see change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fastact import _api

__all__ = ["LeakyReLU", "ReLU"]


class LeakyReLU:
    """Leaky ReLU layer: ``x if x > 0 else alpha * x``.

    Parameters
    ----------
    alpha : float, default 0.01
        The slope for ``x <= 0``; any finite real number.
    inplace : bool, default False
        Overwrite the input with the output in :meth:`forward` (the input must
        then be a writeable float ndarray). Needs ``alpha >= 0``, because
        the backward pass then has only the output to go on.
    backend : str, optional
        The backend for every call (``None``: the configured default).

    Raises
    ------
    ValueError
        If ``inplace`` is true and ``alpha < 0``, or ``alpha`` is not finite.
    TypeError
        If ``alpha`` is not a real number.

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

    def __init__(self, alpha: float = 0.01, inplace: bool = False, *, backend: str | None = None):
        self.alpha = _api._check_alpha(alpha, type(self).__name__)
        if inplace and self.alpha < 0:
            raise ValueError(
                f"{type(self).__name__}(alpha={alpha!r}, inplace=True): in place needs "
                "alpha >= 0, since only then does the output tell where x > 0"
            )
        self.inplace = bool(inplace)
        self.backend = backend
        self._saved: NDArray[np.floating] | None = None

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
        out = x if self.inplace and isinstance(x, np.ndarray) else None
        y = self._activate(x, out)
        # The output decides the derivative when alpha >= 0; else keep the input.
        self._saved = y if self.alpha >= 0 else np.asarray(x)
        return y

    __call__ = forward

    def backward(self, grad_out: ArrayLike, *, out: NDArray[np.floating] | None = None) -> Any:
        """Return the gradient with respect to the input of the last :meth:`forward`.

        Parameters
        ----------
        grad_out : array_like
            The gradient with respect to the output; same shape.
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
        return self._gradient(grad_out, self._saved, out)

    def _activate(self, x: ArrayLike, out: NDArray[np.floating] | None) -> Any:
        return _api.leaky_relu(x, self.alpha, out=out, backend=self.backend)

    def _gradient(self, grad_out: ArrayLike, saved: NDArray[np.floating], out: Any) -> Any:
        return _api.leaky_relu_backward(grad_out, saved, self.alpha, out=out, backend=self.backend)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alpha={self.alpha!r}, inplace={self.inplace})"


class ReLU(LeakyReLU):
    """ReLU layer: ``0 if x < 0 else x``.

    Parameters
    ----------
    inplace : bool, default False
        Overwrite the input with the output in :meth:`forward` (the input must
        then be a writeable float ndarray).
    backend : str, optional
        The backend for every call (``None``: the configured default).

    Examples
    --------
    >>> import numpy as np
    >>> import fastact as fa
    >>> layer = fa.nn.ReLU()
    >>> layer(np.array([-1.0, 3.0]))
    array([0., 3.])
    >>> layer.backward(np.array([7.0, 7.0]))
    array([0., 7.])
    """

    def __init__(self, inplace: bool = False, *, backend: str | None = None):
        super().__init__(0.0, inplace, backend=backend)

    def _activate(self, x: ArrayLike, out: NDArray[np.floating] | None) -> Any:
        return _api.relu(x, out=out, backend=self.backend)

    def _gradient(self, grad_out: ArrayLike, saved: NDArray[np.floating], out: Any) -> Any:
        return _api.relu_backward(grad_out, saved, out=out, backend=self.backend)

    def __repr__(self) -> str:
        return f"ReLU(inplace={self.inplace})"
