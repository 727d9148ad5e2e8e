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


def _rounded(value: np.ndarray, like: np.ndarray) -> np.ndarray:
    return value.astype(like.dtype, copy=False)


def relu(x, *p):
    return np.where(x < 0, _const(x, 0), x)


def relu_grad(x, *p):
    return np.where(x > 0, _const(x, 1), _const(x, 0))


def relu_backward(g, x, *p):
    return np.where(x > 0, g, _const(g, 0))


def leaky_relu(x, alpha):
    return np.where(x > 0, x, _rounded(alpha * _ct(x), x))


def leaky_relu_grad(x, alpha):
    return np.where(x > 0, _const(x, 1), _const(x, alpha))


def leaky_relu_backward(g, x, alpha):
    return np.where(x > 0, g, _rounded(alpha * _ct(g), g))


def relu6(x, *p):
    return np.where(x < 0, _const(x, 0), np.where(x > 6, _const(x, 6), x))


def relu6_grad(x, *p):
    return np.where((x > 0) & (x < 6), _const(x, 1), _const(x, 0))


def relu6_backward(g, x, *p):
    return np.where((x > 0) & (x < 6), g, _const(g, 0))


def run(kernel: str, inputs: tuple[np.ndarray, ...], out: np.ndarray, params: tuple) -> None:
    """Compute ``kernel`` of ``inputs`` into ``out`` (see ``fastact._backends``).

    The result is computed whole before ``out`` is written, so an interrupted
    call leaves ``out`` as it was, and ``out`` may be an input.
    """
    fn: Callable[..., np.ndarray] = globals()[kernel]
    ct = np.float64 if out.dtype == np.float64 else np.float32
    with np.errstate(all="ignore"):  # inf * 0 and overflow are the formulas' results
        result = fn(*inputs, *(ct(p) for p in params))
    np.copyto(out, result, casting="no")


def info() -> dict[str, str]:
    """Describe this backend for ``show_config``."""
    return {"version": np.__version__, "kernels": "NumPy ufuncs (serial, reference)"}
