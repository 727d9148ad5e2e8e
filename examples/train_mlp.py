"""Train a small NumPy MLP on scikit-learn's handwritten digits, with fastact or ``np.where``.

A 64-256-256-10 multilayer perceptron (hidden activations of your choice,
softmax cross-entropy output, mini-batch SGD with momentum), all in NumPy,
trained on ``sklearn.datasets.load_digits`` (bundled with scikit-learn, no
download). ``--activation`` picks any activation of fastact's table (Leaky
ReLU by default; every parameter at its default but Leaky ReLU's
``--alpha``); with ``prelu`` the per-unit slopes learn with the weights. The
hidden activations are either plain NumPy code, the ``np.where`` formulas of
the tutorials written out below (``np.exp``, ``np.tanh``... for the smooth
family; ``--activations numpy``), or the layers of :mod:`fastact.nn`
(``--activations fastact``). Everything else is the same code, so both runs
end with bit-identical weights (slopes included) for the piecewise-linear
activations, and weights a few ulp apart for the smooth family (fastact is
within 1-2 ulp of the true values, not the bits of a NumPy formula); only the
time per epoch differs. With fastact installed (``pip install
'.[examples]'`` adds scikit-learn)::

    python examples/train_mlp.py --activations numpy --threads 1
    python examples/train_mlp.py --activations fastact --inplace --threads 1
    python examples/train_mlp.py --activation prelu --activations fastact

The model code is importable (``tests/test_training.py`` drives it):
:class:`MLP`, :class:`SGD`, :func:`train_epoch`, :func:`accuracy`,
:func:`load_digits_split`, and the plain-NumPy layers in :data:`WHERE_LAYERS`.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import DTypeLike, NDArray

import fastact as fa

# The order in which fastact sums PReLU's weight gradient (the one private
# name used here): the plain-NumPy PReLU sums in the same order to get the
# same bits.
from fastact._table import REDUCTION_BLOCK

Array = NDArray[Any]

__all__ = [
    "MLP",
    "SGD",
    "WHERE_LAYERS",
    "WhereActivation",
    "WhereCELU",
    "WhereELU",
    "WhereGELU",
    "WhereHardsigmoid",
    "WhereHardswish",
    "WhereHardtanh",
    "WhereLeakyReLU",
    "WhereMish",
    "WherePReLU",
    "WhereReLU",
    "WhereReLU6",
    "WhereSELU",
    "WhereSiLU",
    "WhereSigmoid",
    "WhereSoftplus",
    "WhereTanh",
    "accuracy",
    "load_digits_split",
    "main",
    "make_activation",
    "softmax_cross_entropy",
    "train_epoch",
]


class Activation(Protocol):
    """What :class:`MLP` needs from a hidden activation: a layer of :mod:`fastact.nn`.

    A layer with learnable slopes (PReLU) also has ``weight`` (updated in
    place by the optimiser) and ``grad_weight`` (set by ``backward``).
    """

    def forward(self, x: Array) -> Array:
        """Return the activation of ``x`` and keep what :meth:`backward` needs."""

    def backward(self, grad_out: Array, *, out: Array | None = None) -> Array:
        """Return the gradient with respect to the input of the last :meth:`forward`."""


class WhereActivation:
    """The base of the plain-NumPy layers: keep the input, compute with ``np.where``.

    A subclass writes its formulas in :meth:`_forward` and :meth:`_backward`
    with the constants as scalars of the array's dtype (``c(3)``), so that
    every operation computes in that dtype as the SPEC's formulas do. This is
    exact for float32 and float64 only: for float16 the SPEC computes in
    float32 and rounds once, which these layers do not (:class:`MLP` refuses
    float16). Like the tutorials' code, each pass allocates its temporaries
    and a new result; there is no in-place form.

    The smooth family (:class:`WhereELU` to :class:`WhereTanh`) is the
    textbook formulas in ``np.exp``, ``np.expm1``, ``np.log1p`` and
    ``np.tanh``: a few ulp from the true values for the pre-activations of a
    training, not the SPEC's bits or its limits at +-inf (``x * sigmoid(x)``
    is NaN at -inf, for one).

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereReLU6()
    >>> layer(np.array([-1.0, 3.0, 7.0]))
    array([0., 3., 6.])
    >>> layer.backward(np.array([5.0, 5.0, 5.0]))
    array([0., 5., 0.])
    """

    def __init__(self) -> None:
        self._x: Array | None = None

    def forward(self, x: Array) -> Array:
        """Return the activation of ``x`` and keep ``x``.

        Parameters
        ----------
        x : numpy.ndarray
            The pre-activation, float32 or float64.

        Returns
        -------
        numpy.ndarray
            The activation, a new array of ``x``'s dtype.
        """
        self._x = x
        return self._forward(x, x.dtype.type)

    __call__ = forward

    def backward(self, grad_out: Array, *, out: Array | None = None) -> Array:
        """Return the gradient with respect to the input of the last :meth:`forward`.

        Parameters
        ----------
        grad_out : numpy.ndarray
            The gradient with respect to the output, of the input's shape and dtype.
        out : numpy.ndarray, optional
            Where to write the result (it is computed in new arrays regardless).

        Returns
        -------
        numpy.ndarray
            The gradient with respect to the input.

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.
        """
        if self._x is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        result = self._backward(grad_out, self._x, self._x.dtype.type, out)
        if out is None or result is out:
            return result
        np.copyto(out, result)
        return out

    # a subclass's formulas: c is x's scalar type; out may take the result or be ignored
    def _forward(self, x: Array, c: type[np.floating]) -> Array:
        raise NotImplementedError

    def _backward(self, g: Array, x: Array, c: type[np.floating], out: Array | None) -> Array:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class WhereReLU(WhereActivation):
    """ReLU in ``np.where``: ``0 if x < 0 else x``; the backward pass ``g if x > 0 else 0``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereReLU()
    >>> layer(np.array([-2.0, 3.0]))
    array([0., 3.])
    >>> layer.backward(np.array([4.0, 4.0]))
    array([0., 4.])
    """

    def _forward(self, x, c):
        return np.where(x < 0, c(0), x)

    def _backward(self, g, x, c, out):
        # the constant 0, not g * 0: an inf or NaN gradient stops here, as in the SPEC
        return np.where(x > 0, g, c(0))


class WhereLeakyReLU(WhereActivation):
    """The tutorials' ``np.where`` Leaky ReLU as a layer: the baseline fastact replaces.

    The forward pass is the seed's ``np.where(x <= 0, leak * x, x)`` as
    written; for every ``x`` (NaN and -0.0 included) it equals the SPEC's
    ``x if x > 0 else alpha * x``. The backward pass is the seed's
    ``grad * np.where(x <= 0, leak, 1)`` with two changes, so that it computes
    exactly the SPEC's ``grad if x > 0 else alpha * grad`` and the comparison
    with fastact is bit for bit:

    - the condition is ``x > 0`` with the branches swapped. The two differ only
      at NaN, where the seed's derivative is 1 and the SPEC's (and PyTorch's)
      is ``alpha``;
    - ``leak`` and ``1`` are scalars of ``x``'s dtype. The seed's
      ``np.where(x <= 0, 0.01, 1)`` is float64 whatever ``x`` is, so for a
      float32 model it silently turns the whole backward pass into float64:
      twice the memory traffic, different rounding, and a float64 weight
      gradient cast back on update.

    Neither change touches the cost: it is still a temporary for ``leak * x``,
    a boolean mask and a new array per forward pass, and a derivative array
    plus a product per backward pass. There is no in-place form.

    Parameters
    ----------
    alpha : float, default 0.01
        The slope for ``x <= 0`` (the seed's ``leak``).

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereLeakyReLU(0.5)
    >>> layer.forward(np.array([-2.0, 3.0], dtype=np.float32))
    array([-1.,  3.], dtype=float32)
    >>> layer.backward(np.array([4.0, 4.0], dtype=np.float32))
    array([2., 4.], dtype=float32)
    """

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def _forward(self, x, c):
        leak = c(self.alpha)
        return np.where(x <= 0, leak * x, x)

    def _backward(self, g, x, c, out):
        # the derivative array times g, as the seed does (the product may go to out)
        return np.multiply(g, np.where(x > 0, c(1), c(self.alpha)), out=out)

    def __repr__(self) -> str:
        return f"WhereLeakyReLU(alpha={self.alpha!r})"


class WhereReLU6(WhereActivation):
    """ReLU6 in ``np.where``: ``0 if x < 0 else (6 if x > 6 else x)``; ``g if 0 < x < 6 else 0``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereReLU6()
    >>> layer(np.array([-1.0, 3.0, 7.0]))
    array([0., 3., 6.])
    >>> layer.backward(np.array([5.0, 5.0, 5.0]))
    array([0., 5., 0.])
    """

    def _forward(self, x, c):
        return np.where(x < 0, c(0), np.where(x > 6, c(6), x))

    def _backward(self, g, x, c, out):
        return np.where((x > 0) & (x < 6), g, c(0))


class WhereHardtanh(WhereActivation):
    """Hardtanh in ``np.where``: ``x`` clamped to ``[min_val, max_val]``; ``g`` strictly inside.

    Parameters
    ----------
    min_val, max_val : float, default -1.0 and 1.0
        The bounds.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereHardtanh()
    >>> layer(np.array([-2.0, 0.5, 2.0]))
    array([-1. ,  0.5,  1. ])
    >>> layer.backward(np.array([5.0, 5.0, 5.0]))
    array([0., 5., 0.])
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        super().__init__()
        self.min_val, self.max_val = float(min_val), float(max_val)

    def _forward(self, x, c):
        low, high = c(self.min_val), c(self.max_val)
        return np.where(x < low, low, np.where(x > high, high, x))

    def _backward(self, g, x, c, out):
        return np.where((x > c(self.min_val)) & (x < c(self.max_val)), g, c(0))

    def __repr__(self) -> str:
        return f"WhereHardtanh(min_val={self.min_val!r}, max_val={self.max_val!r})"


def _clipped_x_plus_3(x: Array, c: type[np.floating]) -> Array:
    """``t = x + 3`` clipped to ``[0, 6]`` as relu6 clips: hardsigmoid's and hardswish's ``t``."""
    t = x + c(3)
    return np.where(t < 0, c(0), np.where(t > 6, c(6), t))


class WhereHardsigmoid(WhereActivation):
    """Hardsigmoid in ``np.where``: ``t / 6``, t as in relu6; ``g * (1/6) if -3 < x < 3 else 0``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereHardsigmoid()
    >>> layer(np.array([-4.0, 0.0, 1.5]))
    array([0.  , 0.5 , 0.75])
    >>> layer.backward(np.array([6.0, 6.0, 6.0]))
    array([0., 1., 1.])
    """

    def _forward(self, x, c):
        return _clipped_x_plus_3(x, c) / c(6)

    def _backward(self, g, x, c, out):
        # 1/6 rounded in the dtype, then the product rounded: the SPEC's two roundings
        return np.where((x > -3) & (x < 3), g * (c(1) / c(6)), c(0))


class WhereHardswish(WhereActivation):
    """Hardswish in ``np.where``: ``(x * t) / 6``, t as in relu6.

    The backward pass is ``0 if x <= -3 else (g * (x / 3 + 0.5) if x < 3 else g)``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereHardswish()
    >>> layer(np.array([-4.0, 1.5, 3.0]))
    array([-0.   ,  1.125,  3.   ])
    >>> layer.backward(np.array([2.0, 2.0, 2.0]))
    array([0., 2., 2.])
    """

    def _forward(self, x, c):
        return (x * _clipped_x_plus_3(x, c)) / c(6)

    def _backward(self, g, x, c, out):
        return np.where(x <= -3, c(0), np.where(x < 3, g * (x / c(3) + c(0.5)), g))


def _sequential_sums(values: Array) -> Array:
    """Sum over the last axis one element after the other, from +0.0 (a C ``acc +=`` loop).

    ``np.add.accumulate`` (``cumsum``) adds strictly in order, where ``sum``
    adds pairwise: only the former gives the bits of a plain loop.
    """
    start = np.zeros((*values.shape[:-1], 1))
    return np.cumsum(np.concatenate([start, values], axis=-1), axis=-1)[..., -1]


def _sum_in_fastact_order(products: Array, block: int = REDUCTION_BLOCK) -> Array:
    """Per channel, the float64 sum of ``products`` (shape ``(rows, channels, inner)``).

    The order is fastact's, which makes the sum the same for every thread
    count: each row's ``inner`` elements in blocks of ``block``, each block
    summed from 0.0, then every block sum of the channel (rows in order) from
    0.0. A short last block is summed as it is, not padded with zeros:
    adding +0.0 to a sum that started at +0.0 changes no bit.
    """
    rows, channels, inner = products.shape
    full = inner - inner % block
    blocks = [_sequential_sums(products[..., :full].reshape(rows, channels, -1, block))]
    if full < inner:
        blocks.append(_sequential_sums(products[..., full:])[..., None])
    partial = np.concatenate(blocks, axis=-1)  # (rows, channels, blocks per row)
    return _sequential_sums(partial.transpose(1, 0, 2).reshape(channels, -1))


class WherePReLU(WhereActivation):
    """PReLU in ``np.where``, with learnable slopes on axis 1 and their gradient.

    ``x if x > 0 else w * x`` with ``w`` the slope of ``x``'s channel (axis 1;
    one slope for everything when ``num_parameters == 1``), computed in
    ``x``'s dtype. :meth:`backward` returns ``g if x > 0 else w * g`` and sets
    :attr:`grad_weight`, the sum over every other axis of ``g * x`` where
    ``x <= 0``. As in fastact, that sum accumulates in float64 in a fixed
    order (see :func:`_sum_in_fastact_order`) and is rounded once to the
    gradient's dtype, so the slopes learn the same bits as
    ``fa.nn.PReLU``'s. A plain ``np.sum`` would be as accurate but not
    bit-identical: it adds pairwise.

    Parameters
    ----------
    num_parameters : int, default 1
        How many slopes: 1, or the size of axis 1 of the input.
    init : float, default 0.25
        Their initial value.

    Attributes
    ----------
    weight : numpy.ndarray
        The slopes, float64 as in ``fa.nn.PReLU``; the optimiser updates it in place.
    grad_weight : numpy.ndarray or None
        The slopes' gradient from the last :meth:`backward`.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WherePReLU(num_parameters=2, init=0.5)
    >>> layer(np.array([[-2.0, -4.0], [2.0, 6.0]]))
    array([[-1., -2.],
           [ 2.,  6.]])
    >>> layer.backward(np.ones((2, 2)))
    array([[0.5, 0.5],
           [1. , 1. ]])
    >>> layer.grad_weight
    array([-2., -4.])
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        self.weight = np.full(num_parameters, float(init))
        self.grad_weight: Array | None = None

    def _slopes(self, x: Array, c: type[np.floating]) -> Array | np.floating:
        """The slopes in ``x``'s dtype, shaped to broadcast along axis 1."""
        if self.weight.size == 1:
            return c(self.weight[0])
        return self.weight.astype(c).reshape(-1, *[1] * (x.ndim - 2))

    def _forward(self, x, c):
        return np.where(x > 0, x, self._slopes(x, c) * x)

    def _backward(self, g, x, c, out):
        grad_x = np.where(x > 0, g, self._slopes(x, c) * g)
        # float64 products, exact (a float32 product fits in float64's 53 bits)
        with np.errstate(all="ignore"):
            products = np.where(x <= 0, g.astype(np.float64) * x.astype(np.float64), 0.0)
        # one channel for a single slope; else rows of axis 0, channels on axis 1
        shape = (1, 1, x.size) if self.weight.size == 1 else (x.shape[0], x.shape[1], -1)
        with np.errstate(all="ignore"):  # inf - inf is NaN, a sum past the dtype's range inf
            self.grad_weight = _sum_in_fastact_order(products.reshape(shape)).astype(g.dtype)
        return grad_x

    def __repr__(self) -> str:
        return f"WherePReLU(num_parameters={self.weight.size})"


# The smooth family: the textbook formulas in np.exp, np.expm1, np.log1p and
# np.tanh, constants as scalars of x's dtype. Unlike the layers above they are
# not the SPEC's bits (fastact is within 1-2 ulp of the true value, these a
# few ulp more), so the trained weights agree with fastact's to a tolerance.


def _sigmoid(x: Array, c: type[np.floating]) -> Array:
    """``1 / (1 + exp(-x))``: accurate everywhere, and ``1 / inf`` is the right 0.

    For ``x`` below about -88 (float32) or -709 (float64) ``exp(-x)``
    overflows to inf, which is why the warning is silenced, not a bug.
    """
    with np.errstate(over="ignore"):
        return c(1) / (c(1) + np.exp(-x))


class WhereELU(WhereActivation):
    """ELU in NumPy: ``x if x > 0 else alpha * expm1(x)``; ``g if x > 0 else g * alpha * exp(x)``.

    Parameters
    ----------
    alpha : float, default 1.0
        ELU tends to ``-alpha`` at -inf.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereELU()
    >>> layer(np.array([-2.0, 0.0, 3.0]))
    array([-0.86466472,  0.        ,  3.        ])
    >>> layer.backward(np.array([2.0, 2.0, 2.0]))
    array([0.27067057, 2.        , 2.        ])
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def _forward(self, x, c):
        # expm1 overflows on the large positive inputs the other branch takes
        with np.errstate(over="ignore"):
            return np.where(x > 0, x, c(self.alpha) * np.expm1(x))

    def _backward(self, g, x, c, out):
        with np.errstate(over="ignore"):
            return np.where(x > 0, g, g * (c(self.alpha) * np.exp(x)))

    def __repr__(self) -> str:
        return f"WhereELU(alpha={self.alpha!r})"


class WhereSELU(WhereActivation):
    """SELU in NumPy: ``scale * elu(x, alpha)`` with PyTorch's ``scale`` and ``alpha``.

    The backward pass is ``g * scale if x > 0 else g * scale * alpha * exp(x)``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereSELU()
    >>> layer(np.array([-2.0, 0.0, 3.0]))
    array([-1.52016647,  0.        ,  3.15210296])
    >>> layer.backward(np.array([2.0, 2.0, 2.0]))
    array([0.47586574, 3.51619868, 2.10140197])
    """

    #: PyTorch's constants, as float64 (fastact's table uses the same)
    scale = 1.0507009873554805
    alpha = 1.6732632423543772

    def _forward(self, x, c):
        # scale * alpha as one constant: one rounding to the dtype, not two
        with np.errstate(over="ignore"):
            return np.where(x > 0, c(self.scale) * x, c(self.scale * self.alpha) * np.expm1(x))

    def _backward(self, g, x, c, out):
        with np.errstate(over="ignore"):
            return g * np.where(x > 0, c(self.scale), c(self.scale * self.alpha) * np.exp(x))


class WhereCELU(WhereActivation):
    """CELU in NumPy: ``x if x > 0 else alpha * expm1(x / alpha)``.

    The backward pass is ``g if x > 0 else g * exp(x / alpha)``.

    Parameters
    ----------
    alpha : float, default 1.0
        CELU tends to ``-alpha`` at -inf; not 0.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereCELU(2.0)
    >>> layer(np.array([-2.0, 0.0, 3.0]))
    array([-1.26424112,  0.        ,  3.        ])
    >>> layer.backward(np.array([2.0, 2.0, 2.0]))
    array([0.73575888, 2.        , 2.        ])
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def _forward(self, x, c):
        alpha = c(self.alpha)
        with np.errstate(over="ignore"):
            return np.where(x > 0, x, alpha * np.expm1(x / alpha))

    def _backward(self, g, x, c, out):
        with np.errstate(over="ignore"):
            return np.where(x > 0, g, g * np.exp(x / c(self.alpha)))

    def __repr__(self) -> str:
        return f"WhereCELU(alpha={self.alpha!r})"


class WhereGELU(WhereActivation):
    """GELU in NumPy: ``x * Phi(x)``, or PyTorch's tanh approximation.

    ``approximate="none"`` computes the normal distribution function as
    ``Phi(x) = erfc(-x / sqrt(2)) / 2`` with :func:`scipy.special.erfc`
    (scipy comes with scikit-learn; NumPy has no erf). It is the textbook
    ``(1 + erf(x / sqrt(2))) / 2`` without the cancellation of ``1 + erf``
    for negative ``x``. The backward pass is ``g * (Phi(x) + x * phi(x))``,
    ``phi(x) = exp(-x**2 / 2) / sqrt(2 pi)``. ``approximate="tanh"`` is
    ``0.5 * x * (1 + tanh(k * (x + 0.044715 * x**3)))``, ``k = sqrt(2 / pi)``,
    and its derivative.

    Parameters
    ----------
    approximate : {"none", "tanh"}, default "none"
        The exact GELU or the tanh approximation.

    Raises
    ------
    ValueError
        If ``approximate`` is neither.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereGELU()
    >>> layer(np.array([-2.0, 0.0, 3.0]))
    array([-0.04550026,  0.        ,  2.99595031])
    >>> layer.backward(np.array([2.0, 2.0, 2.0]))
    array([-0.1704636 ,  1.        ,  2.02389129])
    >>> WhereGELU("tanh")(np.array([-2.0, 0.0, 3.0]))
    array([-0.04540231,  0.        ,  2.99636261])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def _forward(self, x, c):
        if self.approximate == "tanh":
            return c(0.5) * x * (c(1) + np.tanh(self._tanh_arg(x, c)))
        from scipy.special import erfc  # optional: installed with scikit-learn

        return x * (c(0.5) * erfc(-x / c(math.sqrt(2.0))))

    def _backward(self, g, x, c, out):
        if self.approximate == "tanh":
            t = np.tanh(self._tanh_arg(x, c))
            sech2 = c(1) - t * t
            # sech2 is exactly 0 for |x| >= 10 (either dtype): clipping there
            # changes nothing but keeps x * x from overflowing into 0 * inf
            xc = np.clip(x, c(-10), c(10))
            inner = c(math.sqrt(2.0 / math.pi)) * (c(1) + c(3 * 0.044715) * (xc * xc))
            return g * (c(0.5) * (c(1) + t) + c(0.5) * xc * sech2 * inner)
        from scipy.special import erfc

        # x * x overflows to inf for huge |x|: exp(-inf) is the right 0
        with np.errstate(over="ignore"):
            cdf = c(0.5) * erfc(-x / c(math.sqrt(2.0)))
            pdf = c(1 / math.sqrt(2.0 * math.pi)) * np.exp(-(x * x) * c(0.5))
            return g * (cdf + x * pdf)

    @staticmethod
    def _tanh_arg(x: Array, c: type[np.floating]) -> Array:
        """``sqrt(2 / pi) * (x + 0.044715 * x**3)``, the argument of the tanh form."""
        with np.errstate(over="ignore"):  # x**3 may overflow: tanh(+-inf) is +-1
            return c(math.sqrt(2.0 / math.pi)) * (x + c(0.044715) * (x * x * x))

    def __repr__(self) -> str:
        return f"WhereGELU(approximate={self.approximate!r})"


class WhereSiLU(WhereActivation):
    """SiLU (swish) in NumPy: ``x * s``; ``g * s * (1 + x * (1 - s))``, ``s = sigmoid(x)``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereSiLU()
    >>> layer(np.array([-2.0, 0.0, 3.0]))
    array([-0.23840584,  0.        ,  2.85772238])
    >>> layer.backward(np.array([2.0, 2.0, 2.0]))
    array([-0.1815685 ,  1.        ,  2.17620821])
    """

    def _forward(self, x, c):
        return x * _sigmoid(x, c)

    def _backward(self, g, x, c, out):
        s = _sigmoid(x, c)
        return g * (s * (c(1) + x * (c(1) - s)))


class WhereMish(WhereActivation):
    """Mish in NumPy: ``x * tanh(log1p(exp(x)))``.

    The backward pass is ``g * (t + x * sigmoid(x) * (1 - t**2))`` with
    ``t = tanh(log1p(exp(x)))``. Where ``exp(x)`` overflows, softplus is inf
    and ``t`` is 1: the right limit.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereMish()
    >>> layer(np.array([-2.0, 0.0, 3.0]))
    array([-0.25250148,  0.        ,  2.986535  ])
    >>> layer.backward(np.array([2.0, 2.0, 2.0]))
    array([-0.21671018,  1.2       ,  2.04221382])
    """

    @staticmethod
    def _tanh_softplus(x: Array) -> Array:
        """``tanh(softplus(x))``; softplus overflows to inf for large ``x``, tanh(inf) is 1."""
        with np.errstate(over="ignore"):
            return np.tanh(np.log1p(np.exp(x)))

    def _forward(self, x, c):
        return x * self._tanh_softplus(x)

    def _backward(self, g, x, c, out):
        t = self._tanh_softplus(x)
        return g * (t + x * _sigmoid(x, c) * (c(1) - t * t))


class WhereSoftplus(WhereActivation):
    """Softplus in NumPy: ``x if beta * x > threshold else log1p(exp(beta * x)) / beta``.

    The backward pass is ``g if beta * x > threshold else g * sigmoid(beta * x)``.

    Parameters
    ----------
    beta : float, default 1.0
        The sharpness; not 0.
    threshold : float, default 20.0
        Above it, ``beta * x`` gives ``x`` itself.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereSoftplus()
    >>> layer(np.array([-2.0, 0.0, 30.0]))
    array([ 0.12692801,  0.69314718, 30.        ])
    >>> layer.backward(np.array([2.0, 2.0, 2.0]))
    array([0.23840584, 1.        , 2.        ])
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def _forward(self, x, c):
        bx = c(self.beta) * x
        # exp overflows only where beta * x > threshold, whose branch is x
        with np.errstate(over="ignore"):
            return np.where(bx > c(self.threshold), x, np.log1p(np.exp(bx)) / c(self.beta))

    def _backward(self, g, x, c, out):
        bx = c(self.beta) * x
        return np.where(bx > c(self.threshold), g, g * _sigmoid(bx, c))

    def __repr__(self) -> str:
        return f"WhereSoftplus(beta={self.beta!r}, threshold={self.threshold!r})"


class WhereSigmoid(WhereActivation):
    """The logistic sigmoid in NumPy: ``s = 1 / (1 + exp(-x))``; ``g * s * (1 - s)``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereSigmoid()
    >>> layer(np.array([-2.0, 0.0, 3.0]))
    array([0.11920292, 0.5       , 0.95257413])
    >>> layer.backward(np.array([2.0, 2.0, 2.0]))
    array([0.20998717, 0.5       , 0.09035332])

    float32 stays float32 (every constant is a scalar of x's dtype):

    >>> layer(np.array([-2.0, 0.0, 3.0], dtype=np.float32)).dtype
    dtype('float32')
    """

    def _forward(self, x, c):
        return _sigmoid(x, c)

    def _backward(self, g, x, c, out):
        s = _sigmoid(x, c)
        return g * (s * (c(1) - s))


class WhereTanh(WhereActivation):
    """tanh in NumPy: ``t = np.tanh(x)``; the backward pass ``g * (1 - t**2)``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = WhereTanh()
    >>> layer(np.array([-2.0, 0.0, 3.0]))
    array([-0.96402758,  0.        ,  0.99505475])
    >>> layer.backward(np.array([2.0, 2.0, 2.0]))
    array([0.14130165, 2.        , 0.01973207])
    """

    def _forward(self, x, c):
        return np.tanh(x)

    def _backward(self, g, x, c, out):
        t = np.tanh(x)
        return g * (c(1) - t * t)


#: The plain-NumPy layer of each activation of ``fa.ACTIVATIONS``, by name.
WHERE_LAYERS: dict[str, type[WhereActivation]] = {
    "relu": WhereReLU,
    "leaky_relu": WhereLeakyReLU,
    "relu6": WhereReLU6,
    "hardtanh": WhereHardtanh,
    "hardsigmoid": WhereHardsigmoid,
    "hardswish": WhereHardswish,
    "prelu": WherePReLU,
    "elu": WhereELU,
    "selu": WhereSELU,
    "celu": WhereCELU,
    "gelu": WhereGELU,
    "silu": WhereSiLU,
    "mish": WhereMish,
    "softplus": WhereSoftplus,
    "sigmoid": WhereSigmoid,
    "tanh": WhereTanh,
}


def _params(activation: str, alpha: float) -> tuple[float | str, ...]:
    """The activation's parameters: each at its table default, but Leaky ReLU's slope."""
    return tuple(
        alpha if activation == "leaky_relu" and p.name == "alpha" else p.default
        for p in fa.ACTIVATIONS[activation].params
    )


def make_activation(
    activations: str,
    alpha: float = 0.01,
    inplace: bool = False,
    *,
    activation: str = "leaky_relu",
    channels: int = 1,
) -> Activation:
    """Return a hidden-layer activation: the plain-NumPy layer or the fastact layer.

    Parameters
    ----------
    activations : {"numpy", "fastact"}
        ``"numpy"``: the layer of :data:`WHERE_LAYERS`. ``"fastact"``: the
        layer of :mod:`fastact.nn` (``fa.nn.ReLU`` for Leaky ReLU with
        ``alpha == 0``).
    alpha : float, default 0.01
        Leaky ReLU's slope for ``x <= 0``; the other activations take their
        defaults.
    inplace : bool, default False
        Run the fastact forward and backward passes in place. Not available
        for ``"numpy"`` (``np.where`` always allocates), nor for a layer
        whose output does not tell its derivative (hardsigmoid, hardswish,
        the smooth family) or that has no in-place form (PReLU).
    activation : str, default "leaky_relu"
        A name of ``fa.ACTIVATIONS``.
    channels : int, default 1
        The width of the layer: PReLU learns one slope per unit.

    Returns
    -------
    Activation
        A layer with ``forward(x)`` and ``backward(grad_out, out=None)``.

    Raises
    ------
    ValueError
        If ``activations`` or ``activation`` is unknown, or ``inplace`` is
        asked of a layer that cannot run in place.

    Examples
    --------
    >>> make_activation("fastact", 0.01, inplace=True)
    LeakyReLU(alpha=0.01, inplace=True)
    >>> make_activation("fastact", 0.0, inplace=False)
    ReLU(inplace=False)
    >>> make_activation("numpy", activation="hardtanh")
    WhereHardtanh(min_val=-1.0, max_val=1.0)
    >>> make_activation("fastact", activation="prelu", channels=8)
    PReLU(num_parameters=8)
    >>> make_activation("numpy", activation="softplus")
    WhereSoftplus(beta=1.0, threshold=20.0)
    """
    if activations not in ("numpy", "fastact"):
        raise ValueError(f"activations must be 'numpy' or 'fastact', got {activations!r}")
    if activation not in fa.ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(fa.ACTIVATIONS)}: {activation!r}")
    channel = fa.ACTIVATIONS[activation].kind == "channel"
    if activations == "numpy":
        if inplace:
            raise ValueError("the np.where activations have no in-place form")
        if activation not in WHERE_LAYERS:
            raise ValueError(f"this example has no plain-NumPy layer for {activation!r} yet")
        where_layer = WHERE_LAYERS[activation]
        if channel:
            return where_layer(num_parameters=channels)  # type: ignore[call-arg]
        return where_layer(*_params(activation, alpha))
    layer = getattr(fa.nn, fa.ACTIVATIONS[activation].layer)
    if channel:
        if inplace:
            raise ValueError(f"{layer.__name__} has no in-place form")
        return layer(num_parameters=channels)
    if activation == "leaky_relu" and alpha == 0:
        # ReLU gives +0.0 for negative inputs where the seed's 0 * x gives -0.0;
        # the weights still come out bit-identical (tests/test_training.py), so
        # use the layer a user would pick.
        return fa.nn.ReLU(inplace=inplace)
    # a layer whose derivative cannot be read off its output refuses inplace=True
    return layer(*_params(activation, alpha), inplace=inplace)


def softmax_cross_entropy(logits: Array, labels: NDArray[np.integer]) -> tuple[float, Array]:
    """Mean softmax cross-entropy of ``logits`` against integer ``labels``, and its gradient.

    Parameters
    ----------
    logits : numpy.ndarray
        Shape ``(n, classes)``.
    labels : numpy.ndarray of int
        Shape ``(n,)``, values in ``range(classes)``.

    Returns
    -------
    loss : float
        The mean loss (for reporting only).
    grad : numpy.ndarray
        The gradient of the mean loss with respect to ``logits``, in their dtype.

    Examples
    --------
    >>> import numpy as np
    >>> loss, grad = softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3]))
    >>> round(loss, 6), grad[0]
    (1.386294, array([-0.375,  0.125,  0.125,  0.125]))
    """
    n = logits.shape[0]
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    # log-sum-exp form: total >= 1, so no log(0) even when a probability underflows
    loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels], dtype=np.float64))
    grad = exp
    grad /= total
    grad[rows, labels] -= 1
    grad /= logits.dtype.type(n)
    return loss, grad


class MLP:
    """A multilayer perceptron in NumPy: affine layers, hidden activations, linear output.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths from input to output, e.g. ``(64, 256, 256, 10)``.
    activations : {"numpy", "fastact"}, default "fastact"
        The hidden activation code (see :func:`make_activation`).
    alpha : float, default 0.01
        The Leaky ReLU slope (0 for ReLU).
    inplace : bool, default False
        Run the fastact activations in place: the forward pass overwrites the
        pre-activation, the backward pass overwrites the incoming gradient.
    dtype : {numpy.float32, numpy.float64}, default numpy.float32
        The dtype of the parameters and of every computation (PReLU's slopes
        are float64, as in ``fa.nn.PReLU``, and computed with in ``dtype``).
    seed : int, default 0
        Seed of the weight initialisation.
    activation : str, default "leaky_relu"
        The hidden activation, a name of ``fa.ACTIVATIONS``.

    Raises
    ------
    ValueError
        If ``dtype`` is not float32 or float64, or :func:`make_activation` refuses.

    Examples
    --------
    >>> import numpy as np
    >>> model = MLP((3, 8, 2), alpha=0.1, seed=0)
    >>> logits = model.forward(np.ones((5, 3), dtype=np.float32))
    >>> grads = model.backward(np.ones_like(logits))
    >>> [g.shape for g in grads]
    [(3, 8), (8,), (8, 2), (2,)]

    With PReLU the slopes (one per hidden unit) come after the weights:

    >>> model = MLP((3, 8, 2), activation="prelu", seed=0)
    >>> grads = model.backward(np.ones_like(model.forward(np.ones((5, 3), np.float32))))
    >>> [g.shape for g in grads]
    [(3, 8), (8,), (8, 2), (2,), (8,)]
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        activations: str = "fastact",
        alpha: float = 0.01,
        inplace: bool = False,
        dtype: DTypeLike = np.float32,
        seed: int = 0,
        activation: str = "leaky_relu",
    ) -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            # the np.where layers compute in the array's dtype, which is the
            # SPEC's arithmetic for float32 and float64 only (float16 computes
            # in float32 there): keep the bit-for-bit comparison honest
            raise ValueError(f"MLP computes in float32 or float64, not {self.dtype}")
        self.inplace = bool(inplace)
        rng = np.random.default_rng(seed)
        # He initialisation, with the negative slope for Leaky ReLU and PReLU
        # (its initial 0.25), and ReLU's gain for every other activation (a
        # fair start for the smooth ones too); drawn in float64 and then cast,
        # so that the NumPy and the fastact runs start from the same weights.
        slope = {"leaky_relu": alpha, "prelu": 0.25}.get(activation, 0.0)
        gain = np.sqrt(2.0 / (1.0 + slope**2))
        self.weights = [
            (rng.standard_normal((m, n)) * (gain / np.sqrt(m))).astype(self.dtype)
            for m, n in itertools.pairwise(sizes)
        ]
        self.biases = [np.zeros(n, dtype=self.dtype) for n in sizes[1:]]
        self.activations = [
            make_activation(activations, alpha, inplace, activation=activation, channels=n)
            for n in sizes[1:-1]
        ]
        # the layers with learnable slopes (PReLU), trained by the same optimiser
        self._learnable = [a for a in self.activations if hasattr(a, "grad_weight")]
        self._layer_inputs: list[Array] = []

    @property
    def params(self) -> list[Array]:
        """The parameters, in the order :meth:`backward` returns their gradients.

        ``[W0, b0, W1, b1, ...]``, then the slopes of each PReLU layer.
        """
        pairs = [p for wb in zip(self.weights, self.biases, strict=True) for p in wb]
        return pairs + [a.weight for a in self._learnable]  # type: ignore[attr-defined]

    def forward(self, x: Array) -> Array:
        """Return the logits of the batch ``x`` and keep what :meth:`backward` needs.

        Parameters
        ----------
        x : numpy.ndarray
            Shape ``(batch, sizes[0])``, of the model's dtype.

        Returns
        -------
        numpy.ndarray
            The logits, shape ``(batch, sizes[-1])``.
        """
        self._layer_inputs = [x]
        h = x
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = h @ w
            z += b  # in place: no second (batch, width) array
            if i == len(self.activations):
                return z
            h = self.activations[i].forward(z)
            self._layer_inputs.append(h)
        raise AssertionError("unreachable: the output layer returns")

    __call__ = forward

    def backward(self, grad_logits: Array) -> list[Array]:
        """Return the gradients of the loss with respect to :attr:`params`.

        Parameters
        ----------
        grad_logits : numpy.ndarray
            The gradient with respect to the logits of the last :meth:`forward`.

        Returns
        -------
        list of numpy.ndarray
            ``[dW0, db0, dW1, db1, ...]`` and the slopes' gradients, matching
            :attr:`params`.
        """
        grads: list[Array] = [grad_logits] * (2 * len(self.weights))
        g = grad_logits
        for i in reversed(range(len(self.weights))):
            if i < len(self.activations):
                # g is a fresh array (g @ W.T below), so overwriting it is safe
                g = self.activations[i].backward(g, out=g if self.inplace else None)
            grads[2 * i] = self._layer_inputs[i].T @ g
            grads[2 * i + 1] = g.sum(axis=0)
            if i > 0:
                g = g @ self.weights[i].T
        # each layer's backward pass has just set its slopes' gradient
        return grads + [a.grad_weight for a in self._learnable]  # type: ignore[attr-defined]


class SGD:
    """Mini-batch SGD with momentum, in place, in each parameter's dtype.

    ``v = momentum * v - lr * grad; param += v``. A gradient of another dtype
    is cast to its parameter's first: a float32 model's PReLU slopes are
    float64 (as ``fa.nn.PReLU`` keeps them) and their gradient float32.

    Parameters
    ----------
    params : list of numpy.ndarray
        The parameters, updated in place by :meth:`step`.
    lr : float
        The learning rate.
    momentum : float, default 0.9
        The momentum coefficient.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.ones(2)
    >>> opt = SGD([w], lr=0.5)
    >>> opt.step([np.array([1.0, -1.0])])
    >>> w
    array([0.5, 1.5])
    """

    def __init__(self, params: list[Array], lr: float, momentum: float = 0.9) -> None:
        self.params = params
        self.lr, self.momentum = float(lr), float(momentum)
        # dtype scalars: each update stays in its parameter's dtype
        self._scalars = [(p.dtype.type(lr), p.dtype.type(momentum)) for p in params]
        self.velocity = [np.zeros_like(p) for p in params]

    def step(self, grads: list[Array]) -> None:
        """Apply one update from ``grads`` (same order as the parameters).

        Parameters
        ----------
        grads : list of numpy.ndarray
            One gradient per parameter.
        """
        for p, g, v, (lr, momentum) in zip(
            self.params, grads, self.velocity, self._scalars, strict=True
        ):
            g = g.astype(p.dtype, copy=False)  # exact: float32 to float64 at most
            v *= momentum
            g *= lr
            v -= g
            p += v


def train_epoch(
    model: MLP,
    opt: SGD,
    x: Array,
    y: NDArray[np.integer],
    batch_size: int,
    rng: np.random.Generator,
) -> float:
    """Run one epoch of mini-batch training over ``(x, y)`` in a random order.

    Parameters
    ----------
    model : MLP
        The model, updated in place.
    opt : SGD
        Its optimiser.
    x, y : numpy.ndarray
        The training inputs and integer labels.
    batch_size : int
        Samples per step (the last batch may be smaller).
    rng : numpy.random.Generator
        Draws the order of the samples.

    Returns
    -------
    float
        The mean training loss over the epoch.
    """
    order = rng.permutation(len(x))
    total = 0.0
    for start in range(0, len(x), batch_size):
        idx = order[start : start + batch_size]
        loss, grad = softmax_cross_entropy(model.forward(x[idx]), y[idx])
        opt.step(model.backward(grad))
        total += loss * len(idx)
    return total / len(x)


def accuracy(model: MLP, x: Array, y: NDArray[np.integer]) -> float:
    """Return the fraction of ``x`` that ``model`` classifies as ``y``.

    Parameters
    ----------
    model : MLP
        The model.
    x, y : numpy.ndarray
        Inputs and integer labels.

    Returns
    -------
    float
        The accuracy, in [0, 1].
    """
    return float(np.mean(model.forward(x).argmax(axis=1) == y))


def load_digits_split(
    dtype: DTypeLike = np.float32, seed: int = 0, test_fraction: float = 0.2
) -> tuple[Array, NDArray[np.intp], Array, NDArray[np.intp]]:
    """Load scikit-learn's 8x8 digits (1797 images), scaled to [0, 1], split at random.

    Parameters
    ----------
    dtype : dtype-like, default numpy.float32
        The dtype of the inputs.
    seed : int, default 0
        Seed of the split.
    test_fraction : float, default 0.2
        The share of samples held out for testing.

    Returns
    -------
    x_train, y_train, x_test, y_test : numpy.ndarray
        Inputs of shape ``(n, 64)`` and integer labels.
    """
    from sklearn.datasets import load_digits  # optional: the "examples" extra

    digits = load_digits()
    x = (digits.data / 16.0).astype(dtype)
    y = digits.target.astype(np.intp)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def main(argv: Sequence[str] | None = None) -> float:
    """Train on the digits with the command-line options, printing each epoch.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    float
        The final test accuracy.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--activation",
        choices=list(fa.ACTIVATIONS),
        default="leaky_relu",
        help="the hidden activation (default: leaky_relu), parameters at their defaults",
    )
    parser.add_argument(
        "--activations",
        choices=["numpy", "fastact"],
        default="fastact",
        help="the plain-NumPy layers or fastact's (default: fastact)",
    )
    parser.add_argument(
        "--inplace", action="store_true", help="fastact layers in place (not for numpy)"
    )
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=256, help="width of both hidden layers")
    parser.add_argument(
        "--alpha", type=float, default=None, help="Leaky ReLU slope (default 0.01; 0: ReLU)"
    )
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="limit BLAS and fastact to this many threads (default: as configured)",
    )
    args = parser.parse_args(argv)
    if args.inplace and args.activations == "numpy":
        parser.error("--inplace needs --activations fastact: np.where always allocates")
    if args.alpha is not None and args.activation != "leaky_relu":
        parser.error(f"--alpha is Leaky ReLU's slope; {args.activation} takes its defaults")
    args.alpha = 0.01 if args.alpha is None else args.alpha
    try:  # refuse a choice the layers refuse (hardswish in place...) before loading data
        make_activation(args.activations, args.alpha, args.inplace, activation=args.activation)
    except ValueError as exc:
        parser.error(str(exc))
    if args.threads is None:
        return _train(args)
    # On a shared machine, BLAS threads that spin-wait for a core another
    # process holds can stretch a 20 ms epoch to seconds: pinning the thread
    # count makes the two activation choices comparable.
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    previous = fa.get_num_threads()
    fa.set_num_threads(args.threads)
    try:
        with threadpool_limits(args.threads, user_api="blas"):
            return _train(args)
    finally:
        fa.set_num_threads(previous)


def _train(args: argparse.Namespace) -> float:
    """Train and report as :func:`main` describes, with its parsed arguments."""
    x_train, y_train, x_test, y_test = load_digits_split(args.dtype, args.seed)
    sizes = (x_train.shape[1], args.width, args.width, 10)
    model = MLP(
        sizes,
        activations=args.activations,
        alpha=args.alpha,
        inplace=args.inplace,
        dtype=args.dtype,
        seed=args.seed,
        activation=args.activation,
    )
    opt = SGD(model.params, args.lr, args.momentum)
    rng = np.random.default_rng(args.seed)
    backend = f", fastact backend {fa.get_backend()!r}" if args.activations == "fastact" else ""
    print(
        f"MLP {'-'.join(map(str, sizes))}, {model.activations[0]!r}{backend}, {args.dtype}, "
        f"batch {args.batch_size}, {len(x_train)} train / {len(x_test)} test samples, "
        f"threads {args.threads or 'default'}"
    )
    acc, times = 0.0, []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        loss = train_epoch(model, opt, x_train, y_train, args.batch_size, rng)
        times.append(time.perf_counter() - t0)
        acc = accuracy(model, x_test, y_test)
        print(
            f"epoch {epoch:3d}  loss {loss:.4f}  test accuracy {acc:7.2%}  "
            f"time {times[-1] * 1e3:8.1f} ms"
        )
    # the median ignores the first epoch's warm-up and the noise of a shared machine
    print(f"final test accuracy {acc:.2%}, median epoch time {np.median(times) * 1e3:.1f} ms")
    return acc


if __name__ == "__main__":
    main()
