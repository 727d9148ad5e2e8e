"""The test oracle: the SPEC's formulas written out again, independently of fastact.

``expected`` evaluates each formula with ``np.where`` in the compute type
(float32 for float16), rounding arithmetic once to the dtype. It reads
nothing of fastact: the tests check that it covers every kernel of the table.
"""

from __future__ import annotations

import numpy as np

#: the parameter sets each activation is tested with (its defaults first)
PARAM_SETS: dict[str, list[tuple[float, ...]]] = {
    "relu": [()],
    "leaky_relu": [(0.01,), (0.0,), (0.2,), (float(np.exp(-2)),), (1.0,), (-0.5,)],
    "relu6": [()],
    "hardtanh": [(-1.0, 1.0), (-2.0, 3.0), (0.0, 6.0), (0.25, 0.25), (-1e30, -0.5)],
    "hardsigmoid": [()],
    "hardswish": [()],
}


def _formulas(x, g, p, ct, dt):
    """Each kernel's (result, arithmetic) on x (and g), in the SPEC's words."""
    a = ct(p[0]) if p else None
    b = ct(p[1]) if len(p) > 1 else None
    pos = x > 0
    none = np.zeros(x.shape, dtype=bool)

    def rnd(v):  # arithmetic in the compute type, rounded once to the dtype
        return np.asarray(v).astype(dt)

    def c(v):
        return dt.type(v)

    def clip6(t):  # relu6 of t, in its own type
        return np.where(t < 0, t.dtype.type(0), np.where(t > 6, t.dtype.type(6), t))

    mid = (x > -3) & (x < 3)
    ones = np.ones(x.shape, dtype=bool)

    return {
        "relu": lambda: (np.where(x < 0, c(0), x), none),
        "relu_grad": lambda: (np.where(pos, c(1), c(0)), none),
        "relu_backward": lambda: (np.where(pos, g, c(0)), none),
        "leaky_relu": lambda: (np.where(pos, x, rnd(a * x.astype(ct))), ~pos),
        "leaky_relu_grad": lambda: (np.where(pos, c(1), c(a)), none),
        "leaky_relu_backward": lambda: (np.where(pos, g, rnd(a * g.astype(ct))), ~pos),
        "relu6": lambda: (np.where(x < 0, c(0), np.where(x > 6, c(6), x)), none),
        "relu6_grad": lambda: (np.where((x > 0) & (x < 6), c(1), c(0)), none),
        "relu6_backward": lambda: (np.where((x > 0) & (x < 6), g, c(0)), none),
        "hardtanh": lambda: (np.where(x < a, c(a), np.where(x > b, c(b), x)), none),
        "hardtanh_grad": lambda: (np.where((a < x) & (x < b), c(1), c(0)), none),
        "hardtanh_backward": lambda: (np.where((a < x) & (x < b), g, c(0)), none),
        "hardsigmoid": lambda: (rnd(clip6(x.astype(ct) + ct(3)) / ct(6)), ones),
        "hardsigmoid_grad": lambda: (np.where(mid, c(ct(1) / ct(6)), c(0)), none),
        "hardsigmoid_backward": lambda: (
            np.where(mid, rnd(g.astype(ct) * (ct(1) / ct(6))), c(0)),
            mid,
        ),
        "hardswish": lambda: (rnd(x.astype(ct) * clip6(x.astype(ct) + ct(3)) / ct(6)), ones),
        "hardswish_grad": lambda: (
            np.where(x <= -3, c(0), np.where(x < 3, rnd(x.astype(ct) / ct(3) + ct(0.5)), c(1))),
            mid,
        ),
        "hardswish_backward": lambda: (
            np.where(
                x <= -3,
                c(0),
                np.where(x < 3, rnd(g.astype(ct) * (x.astype(ct) / ct(3) + ct(0.5))), g),
            ),
            ~(x <= -3),
        ),
    }


#: every kernel the oracle knows
KERNELS = tuple(_formulas(np.zeros(1), np.zeros(1), (0.0, 0.0), np.float64, np.dtype("f8")))


def compute_type(dtype: np.dtype) -> type:
    return np.float32 if dtype == np.float16 else np.dtype(dtype).type


def expected(kernel: str, x: np.ndarray, g: np.ndarray | None = None, params=()):
    """Return ``(result, arithmetic)``: the exact result and where it came from arithmetic.

    Where ``arithmetic`` holds, a NaN result's payload is the hardware's
    business; everywhere else the result is an input's bits or a constant.
    """
    dt = x.dtype
    with np.errstate(all="ignore"):
        return _formulas(x, g, tuple(params), compute_type(dt), dt)[kernel]()


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


def prelu_expected(x: np.ndarray, g: np.ndarray, w, axis: int | None):
    """prelu's ``(forward, grad_x, grad_weight)`` by the SPEC, with plain Python sums.

    ``grad_weight`` sums ``float(g) * float(x)`` where ``x <= 0`` one by one
    from 0.0, per channel: for each row of the leading axes in order, blocks
    of ``block`` elements of the trailing ones, each summed alone, then the
    blocks' sums in order.
    """
    dt = x.dtype
    ct = compute_type(dt)
    w = np.asarray(w, dtype=np.float64)
    wb = w if axis is None else w.reshape([-1 if i == axis else 1 for i in range(x.ndim)])
    with np.errstate(all="ignore"):
        slope = wb.astype(ct)
        forward = np.where(x > 0, x, (slope * x.astype(ct)).astype(dt))
        grad_x = np.where(x > 0, g, (slope * g.astype(ct)).astype(dt))
    return forward, grad_x


def prelu_grad_weight(x: np.ndarray, g: np.ndarray, channels: int, axis: int | None, block: int):
    """The float64 sums of prelu_expected's docstring, rounded once to x's dtype."""
    if axis is None:
        x3, g3 = x.reshape(1, 1, -1), g.reshape(1, 1, -1)
    else:
        lead = int(np.prod(x.shape[:axis]))
        x3, g3 = x.reshape(lead, channels, -1), g.reshape(lead, channels, -1)
    sums = []
    for c in range(x3.shape[1]):
        partials = []
        for r in range(x3.shape[0]):
            xs, gs = x3[r, c].astype(np.float64).tolist(), g3[r, c].astype(np.float64).tolist()
            for start in range(0, len(xs), block):
                acc = 0.0
                for xv, gv in zip(
                    xs[start : start + block], gs[start : start + block], strict=True
                ):
                    acc += gv * xv if xv <= 0 else 0.0
                partials.append(acc)
        total = 0.0
        for p in partials:
            total += p
        sums.append(total)
    with np.errstate(over="ignore"):
        return np.array(sums).astype(x.dtype)
