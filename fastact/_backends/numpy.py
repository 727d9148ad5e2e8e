"""The NumPy reference backend: every kernel written out with NumPy ufuncs.

It is the plain twin of the compiled kernels: it serves wherever nothing
faster can run, and the benchmarks time it as the NumPy code a careful user
would write. Each function below is named after its kernel, takes the arrays
(already broadcast, any layout) and the parameters as scalars of the compute
type (float32 for float16 and float32 arrays, float64 for float64), and
returns the result in the arrays' dtype. Arithmetic happens in the compute
type and is rounded once; a result that is an input is that input's bits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

PARALLEL_RUNTIME: str | None = None


def _ct(x: np.ndarray) -> np.ndarray:
    """``x`` in its compute type (float16 is computed in float32)."""
    return x.astype(np.float32) if x.dtype == np.float16 else x


def _const(x: np.ndarray, value: float) -> np.generic:
    return x.dtype.type(value)


def _rounded(value: np.ndarray | np.generic, like: np.ndarray) -> np.ndarray:
    return np.asarray(value).astype(like.dtype, copy=False)


def relu(x, *p):
    return np.where(x < 0, _const(x, 0), x)


def relu_grad(x, *p):
    return np.where(x > 0, _const(x, 1), _const(x, 0))


def relu_backward(g, x, *p):
    return np.where(x > 0, g, _const(g, 0))


def leaky_relu(x, alpha):
    return np.where(x > 0, x, _rounded(alpha * _ct(x), x))


def leaky_relu_grad(x, alpha):
    return np.where(x > 0, _const(x, 1), _rounded(alpha, x))


def leaky_relu_backward(g, x, alpha):
    return np.where(x > 0, g, _rounded(alpha * _ct(g), g))


def relu6(x, *p):
    return np.where(x < 0, _const(x, 0), np.where(x > 6, _const(x, 6), x))


def relu6_grad(x, *p):
    return np.where((x > 0) & (x < 6), _const(x, 1), _const(x, 0))


def relu6_backward(g, x, *p):
    return np.where((x > 0) & (x < 6), g, _const(g, 0))


def hardtanh(x, min_val, max_val):
    low, high = _rounded(min_val, x), _rounded(max_val, x)
    return np.where(x < min_val, low, np.where(x > max_val, high, x))


def hardtanh_grad(x, min_val, max_val):
    return np.where((x > min_val) & (x < max_val), _const(x, 1), _const(x, 0))


def hardtanh_backward(g, x, min_val, max_val):
    return np.where((x > min_val) & (x < max_val), g, _const(g, 0))


def _clipped_x_plus_3(x: np.ndarray) -> np.ndarray:
    t = _ct(x) + 3
    return np.where(t < 0, t.dtype.type(0), np.where(t > 6, t.dtype.type(6), t))


def hardsigmoid(x, *p):
    return _rounded(_clipped_x_plus_3(x) / 6, x)


def _sixth(x: np.ndarray) -> np.generic:
    return _ct(x).dtype.type(1) / 6


def hardsigmoid_grad(x, *p):
    return np.where((x > -3) & (x < 3), _const(x, _sixth(x)), _const(x, 0))


def hardsigmoid_backward(g, x, *p):
    return np.where((x > -3) & (x < 3), _rounded(_ct(g) * _sixth(g), g), _const(g, 0))


def hardswish(x, *p):
    return _rounded((_ct(x) * _clipped_x_plus_3(x)) / 6, x)


def _hardswish_slope(x: np.ndarray) -> np.ndarray:
    c = _ct(x)
    return c / 3 + c.dtype.type(0.5)


def hardswish_grad(x, *p):
    inner = np.where(x < 3, _rounded(_hardswish_slope(x), x), _const(x, 1))
    return np.where(x <= -3, _const(x, 0), inner)


def hardswish_backward(g, x, *p):
    inner = np.where(x < 3, _rounded(_ct(g) * _hardswish_slope(x), g), g)
    return np.where(x <= -3, _const(g, 0), inner)


def _sequential_sums(values: np.ndarray) -> np.ndarray:
    """Sums over the last axis one element after the other, from +0.0 (as C's ``acc +=``)."""
    zeros = np.zeros((*values.shape[:-1], 1))
    with np.errstate(all="ignore"):  # inf - inf is NaN, as in the compiled sums
        return np.cumsum(np.concatenate([zeros, values], axis=-1), axis=-1)[..., -1]


def prelu_backward(
    g: np.ndarray, x: np.ndarray, w: np.ndarray, out: np.ndarray, block: int
) -> np.ndarray:
    """The fused prelu backward pass on ``(N, C, inner)`` arrays; see ``_cy.prelu_backward``.

    ``w`` holds the C slopes in the compute type. Returns the float64 weight
    gradient, summed in the order of ``fastact._table.REDUCTION_BLOCK``.
    """
    n, c, inner = x.shape
    with np.errstate(all="ignore"):
        np.copyto(out, leaky_relu_backward(g, x, w[None, :, None]), casting="no")
        products = np.where(x <= 0, g.astype(np.float64) * x.astype(np.float64), 0.0)
    full = inner // block * block  # whole blocks, then the row's shorter last one
    partial = np.concatenate(
        [
            _sequential_sums(products[..., :full].reshape(n, c, full // block, block)),
            _sequential_sums(products[..., full:])[..., None],
        ][: 1 + (inner > full)],
        axis=-1,
    )
    nb = partial.shape[-1]
    return _sequential_sums(partial.transpose(1, 0, 2).reshape(c, n * nb))


def run(kernel: str, inputs: tuple[np.ndarray, ...], out: np.ndarray, params: tuple) -> None:
    """Compute ``kernel`` of ``inputs`` into ``out`` (see ``fastact._backends``).

    The result is computed whole before ``out`` is written, so an interrupted
    call leaves ``out`` as it was, and ``out`` may be an input.
    """
    fn: Callable[..., np.ndarray] = globals()[kernel]
    ct = np.float64 if out.dtype == np.float64 else np.float32
    with np.errstate(all="ignore"):  # inf * 0 and overflow are the formulas' results
        result = fn(*inputs, *(np.asarray(p, ct)[()] for p in params))
    np.copyto(out, result, casting="no")


def info() -> dict[str, str]:
    """Describe this backend for ``show_config``."""
    return {"version": np.__version__, "kernels": "NumPy ufuncs (serial, reference)"}
