"""The test oracle: the SPEC's formulas written out again, independently of fastact.

``expected`` evaluates each formula with ``np.where`` in the compute type
(float32 for float16); ``scalar_expected`` evaluates it on one Python float
(a double product of two float32 values is exact, so rounding it once to
float32 is the float32 product). Neither reads ``fastact._kernels`` nor any
backend.
"""

from __future__ import annotations

import numpy as np

FUNCTIONS = (
    "relu",
    "leaky_relu",
    "relu_grad",
    "leaky_relu_grad",
    "relu_backward",
    "leaky_relu_backward",
)
USES_ALPHA = {"leaky_relu", "leaky_relu_grad", "leaky_relu_backward"}
BINARY = {"relu_backward", "leaky_relu_backward"}


def compute_type(dtype: np.dtype) -> type:
    return np.float32 if dtype == np.float16 else np.dtype(dtype).type


def expected(name: str, x: np.ndarray, g: np.ndarray | None = None, alpha: float = 0.0):
    """Return ``(result, arithmetic)``: the exact result and where it came from arithmetic.

    Where ``arithmetic`` holds, a NaN result's payload is the hardware's
    business; everywhere else the result is an input's bits or a constant.
    """
    dt = x.dtype
    ct = compute_type(dt)
    a = ct(alpha)
    pos = x > 0
    none = np.zeros(x.shape, dtype=bool)
    with np.errstate(all="ignore"):
        if name == "relu":
            return np.where(x < 0, dt.type(0), x), none
        if name == "leaky_relu":
            return np.where(pos, x, (a * x.astype(ct)).astype(dt)), ~pos
        if name == "relu_grad":
            return np.where(pos, dt.type(1), dt.type(0)), none
        if name == "leaky_relu_grad":
            return np.where(pos, dt.type(1), dt.type(a)), none
        if name == "relu_backward":
            return np.where(pos, g, dt.type(0)), none
        if name == "leaky_relu_backward":
            return np.where(pos, g, (a * g.astype(ct)).astype(dt)), ~pos
    raise KeyError(name)


def scalar_expected(name: str, x: float, g: float, alpha: float, dtype: type) -> float:
    """The formula on one value, in Python floats, rounded as the SPEC says."""
    ct = np.float32 if dtype in (np.float16, np.float32) else np.float64
    a = float(ct(alpha))

    def rnd(v: float) -> float:  # exact double product -> compute type -> dtype
        with np.errstate(over="ignore"):  # overflow to inf is the formula's result
            return float(dtype(ct(v)))

    if name == "relu":
        return 0.0 if x < 0 else x
    if name == "leaky_relu":
        return x if x > 0 else rnd(a * x)
    if name == "relu_grad":
        return 1.0 if x > 0 else 0.0
    if name == "leaky_relu_grad":
        return 1.0 if x > 0 else rnd(a)
    if name == "relu_backward":
        return g if x > 0 else 0.0
    if name == "leaky_relu_backward":
        return g if x > 0 else rnd(a * g)
    raise KeyError(name)


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(f"u{a.dtype.itemsize}")


def mismatch(actual, want: np.ndarray, arithmetic: np.ndarray) -> str | None:
    """Describe the first difference in bits (NaN payloads only where arithmetic), or None."""
    if not isinstance(actual, np.ndarray | np.generic):
        return f"result is a {type(actual).__name__}, not a NumPy array or scalar"
    actual = np.asarray(actual)
    if actual.dtype != want.dtype or actual.shape != want.shape:
        return f"result {actual.dtype}{actual.shape}, expected {want.dtype}{want.shape}"
    a, w = np.ascontiguousarray(actual), np.ascontiguousarray(want)
    both_nan = np.isnan(a) & np.isnan(w) & np.ascontiguousarray(arithmetic)
    bad = (_bits(a) != _bits(w)) & ~both_nan
    if not bad.any():
        return None
    idx = tuple(int(i[0]) for i in np.nonzero(bad))
    return (
        f"{int(bad.sum())} of {bad.size} elements differ; first at {idx}: "
        f"got {a[idx]!r} (bits {_bits(a)[idx]:#x}), expected {w[idx]!r} (bits {_bits(w)[idx]:#x})"
    )
