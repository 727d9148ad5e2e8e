"""The test oracle: the SPEC's formulas written out again, independently of fastact.

For the piecewise-linear family ``expected`` evaluates each formula with
``np.where`` in the compute type (float32 for float16), rounding arithmetic
once to the dtype, and ``mismatch`` compares bits. For the smooth family it
computes the true value (long double, mpmath near cancellations), rounds it
to the dtype, and ``mismatch`` allows the SPEC's ulps. It reads nothing of
fastact: the tests check that it covers every kernel of the table.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

#: the parameter sets each activation is tested with (its defaults first)
PARAM_SETS: dict[str, list[tuple[float, ...]]] = {
    "relu": [()],
    "leaky_relu": [(0.01,), (0.0,), (0.2,), (float(np.exp(-2)),), (1.0,), (-0.5,)],
    "relu6": [()],
    "hardtanh": [(-1.0, 1.0), (-2.0, 3.0), (0.0, 6.0), (0.25, 0.25), (-1e30, -0.5)],
    "hardsigmoid": [()],
    "hardswish": [()],
    "elu": [(1.0,), (0.1,), (2.5,), (-0.5,)],
    "selu": [()],
    "celu": [(1.0,), (0.5,), (3.0,), (-1.5,)],
    "gelu": [("none",), ("tanh",)],
    "silu": [()],
    "mish": [()],
    "softplus": [(1.0, 20.0), (0.5, 3.0), (2.0, 10.0), (-1.0, 5.0)],
    "sigmoid": [()],
    "tanh": [()],
}
#: the smooth family: results within ulps of the true value (the rest: bits)
SMOOTH = ("elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "sigmoid", "tanh")


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
KERNELS = tuple(
    _formulas(np.zeros(1), np.zeros(1), (0.0, 0.0), np.float64, np.dtype("f8"))
) + tuple(f"{name}{part}" for name in SMOOTH for part in ("", "_grad", "_backward"))


def compute_type(dtype: np.dtype) -> type:
    return np.float32 if dtype == np.float16 else np.dtype(dtype).type


def expected(kernel: str, x: np.ndarray, g: np.ndarray | None = None, params=()):
    """Return ``(result, arithmetic)``: the exact result and where it came from arithmetic.

    Where ``arithmetic`` holds, a NaN result's payload is the hardware's
    business; everywhere else the result is an input's bits or a constant.
    For a smooth kernel, ``result`` is the correctly rounded true value and
    ``arithmetic`` (int8) the ulps a result may be off at each element.
    """
    if kernel.removesuffix("_backward").removesuffix("_grad") in SMOOTH:
        return _smooth_expected(kernel, x, g, params)
    dt = x.dtype
    with np.errstate(all="ignore"):
        return _formulas(x, g, tuple(params), compute_type(dt), dt)[kernel]()


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(f"u{a.dtype.itemsize}")


def _ordinal(a: np.ndarray) -> np.ndarray:
    """Floats as integers in their order (+-0 both 0): the distance in ulps is a difference."""
    bits = a.view(f"i{a.itemsize}").astype(np.int64)
    return np.where(bits < 0, -(bits & ((1 << (8 * a.itemsize - 1)) - 1)), bits)


def _ulp_mismatch(a: np.ndarray, w: np.ndarray, ulps: np.ndarray) -> str | None:
    """Results more than ``ulps`` from ``w`` (NaN must be NaN, a zero keeps its sign)."""
    nan_a, nan_w = np.isnan(a), np.isnan(w)
    with np.errstate(invalid="ignore"):
        dist = np.abs(_ordinal(a) - _ordinal(w))
        bad = (nan_a != nan_w) | (~nan_a & ~nan_w & (dist > ulps))
        bad |= (a == 0) & (w == 0) & (np.signbit(a) != np.signbit(w))
    if not bad.any():
        return None
    idx = tuple(int(i[0]) for i in np.nonzero(bad))
    worst = int(np.max(np.where(bad & ~nan_a & ~nan_w, dist, 0)))
    return (
        f"{int(bad.sum())} of {bad.size} elements are off by more than {int(ulps.max())} ulp "
        f"(worst {worst} ulp); first at {idx}: got {a[idx]!r}, expected {w[idx]!r} "
        f"({int(dist[idx])} ulp)"
    )


def mismatch(actual, want: np.ndarray, arithmetic: np.ndarray) -> str | None:
    """Describe the first difference in bits (NaN payloads only where arithmetic), or None.

    With an integer ``arithmetic`` (a smooth kernel): the first result off by
    more than that many ulps.
    """
    if not isinstance(actual, np.ndarray | np.generic):
        return f"result is a {type(actual).__name__}, not a NumPy array or scalar"
    actual = np.asarray(actual)
    if actual.dtype != want.dtype or actual.shape != want.shape:
        return f"result {actual.dtype}{actual.shape}, expected {want.dtype}{want.shape}"
    a, w = np.ascontiguousarray(actual), np.ascontiguousarray(want)
    if np.asarray(arithmetic).dtype != bool:
        return _ulp_mismatch(a, w, np.broadcast_to(arithmetic, a.shape))
    both_nan = np.isnan(a) & np.isnan(w) & np.ascontiguousarray(arithmetic)
    bad = (_bits(a) != _bits(w)) & ~both_nan
    if not bad.any():
        return None
    idx = tuple(int(i[0]) for i in np.nonzero(bad))
    return (
        f"{int(bad.sum())} of {bad.size} elements differ; first at {idx}: "
        f"got {a[idx]!r} (bits {_bits(a)[idx]:#x}), expected {w[idx]!r} (bits {_bits(w)[idx]:#x})"
    )


# -- the smooth family: true values, and how far from them a result may be ----
#
# A smooth kernel's result must be within 1 ulp (float16, float32) or 2 ulp
# (float64) of the correctly rounded true value: ``expected`` returns that
# value (rounded to the dtype) and, in place of the arithmetic mask, the ulps
# allowed at each element (0 where the formula's branch is an input or a
# constant, which must come out exactly). The true values are computed in
# long double (x86-64's 80-bit format: 11 bits beyond float64), with the
# products whose rounding the function would magnify (an argument in an
# exponential's tail) carried exactly as pairs, and with mpmath near the
# roots of the derivatives, where the formulas cancel. float16 is computed
# in float32 and rounded once, so it may be 1 float16 ulp off (the float32
# result is within 1.5 float32 ulps of the true value, 2^-13 float16 ulps).

LD = np.longdouble
#: the ulps a smooth kernel may be off, by dtype
SMOOTH_ULPS = {np.dtype(np.float16): 1, np.dtype(np.float32): 1, np.dtype(np.float64): 2}
_SELU_SCALE = float.fromhex("0x1.0cfabd6a91132p+0")  # PyTorch's constants, as float64
_SELU_ALPHA = float.fromhex("0x1.ac5afad782cf1p+0")


def _ld_pair(value) -> tuple[np.longdouble, np.longdouble]:
    """An mpmath number as an unevaluated sum of two long doubles."""
    hi = LD(mp.nstr(value, 40))
    lo = LD(mp.nstr(value - mp.mpf(np.format_float_positional(hi, unique=True)), 30))
    return hi, lo


mp.mp.dps = 50
_C2 = _ld_pair(2 * mp.sqrt(2 / mp.pi))  # 2 sqrt(2/pi)
_K = _ld_pair(mp.mpf("0.044715"))
_INV_SQRT_2PI = LD(mp.nstr(1 / mp.sqrt(2 * mp.pi), 40))
_SQRT1_2 = LD(mp.nstr(1 / mp.sqrt(2), 40))
_TWO_SQRTPI = LD(mp.nstr(2 / mp.sqrt(mp.pi), 40))
_SQRT_PI = LD(mp.nstr(mp.sqrt(mp.pi), 40))
#: the roots of the derivatives (and the window around each where mpmath decides)
_ROOTS = {"gelu": -0.7517915246935645, "gelu_tanh": -0.7524614220710163,
          "silu": -1.2784645427610738, "mish": -1.1924312145154952}  # fmt: skip
_ROOT_WINDOW = 0.02


def _two_prod64(a, b):
    """a * b = p + e exactly, for float64 arrays (Dekker; no overflow)."""
    p = a * b
    s = 134217729.0
    ah = a * s - (a * s - a)
    bh = b * s - (b * s - b)
    return p, ((ah * bh - p) + ah * (b - bh) + (a - ah) * bh) + (a - ah) * (b - bh)


def _two_prod_ld(a, b):
    """a * b = p + e exactly, for long doubles (Veltkamp halves of 32 bits)."""
    p = a * b
    s = LD(4294967297)
    ah = a * s - (a * s - a)
    bh = b * s - (b * s - b)
    return p, ((ah * bh - p) + ah * (b - bh) + (a - ah) * bh) + (a - ah) * (b - bh)


def _sigmoid_ld(zh, zl=0):
    """sigmoid(z) and sigmoid(-z) for z = zh + zl (|zl| <= ulp(zh) / 2), long double
    (|zl| > 1 only where e^-|zh| is 0 anyway)."""
    e = np.exp(-np.abs(zh)) * np.exp(np.clip(np.where(zh < 0, zl, -zl), -1, 1))  # e^-|z|
    p, n = 1 / (1 + e), e / (1 + e)
    return np.where(zh < 0, n, p), np.where(zh < 0, p, n)


def _phi_ld(x):
    """Phi(x) and phi(x) for float64 x (long double, about 2^-59): erfc(|x|/sqrt2)
    by the Maclaurin series of erf below |x|/sqrt2 = 1, by its continued
    fraction above, with e^(-x^2/2) from the exact x^2."""
    p, e = _two_prod64(x, x)
    gauss = np.exp(-LD(0.5) * p.astype(LD)) * (1 - LD(0.5) * e.astype(LD))
    t = np.abs(x).astype(LD) * _SQRT1_2
    erfc = np.full(t.shape, LD(np.nan))
    part = t < 1
    ts = t[part]
    term, total = ts.copy(), ts.copy()
    for n in range(1, 40):
        term = -term * (ts * ts) / n
        total = total + term / (2 * n + 1)
    erfc[part] = 1 - _TWO_SQRTPI * total
    # the continued fraction converges faster the larger t: as many terms as
    # give 2^-63 (measured against mpmath) on each range
    for lo, hi, terms in ((1, 1.5, 300), (1.5, 2, 160), (2, 3, 80), (3, np.inf, 40)):
        part = (t >= lo) & ((t < hi) | (hi == np.inf))
        tb = t[part]
        frac = tb.copy()
        for n in range(terms, 0, -1):
            frac = tb + (LD(n) / 2) / frac
        erfc[part] = gauss[part] / (frac * _SQRT_PI)
    return np.where(x < 0, erfc / 2, 1 - erfc / 2), gauss * _INV_SQRT_2PI


def _gelu_tanh_ld(x):
    """sigmoid(z), sigmoid(-z) and w for gelu's tanh form: z = 2c x (1 + k x^2)
    exactly enough (pairs of long doubles: an error in z costs |z| ulps in the
    tail), w = 2c x (1 + 3k x^2)."""
    xc = np.clip(x, -40.0, 40.0)  # sigmoid(z) is 0 or 1 to far beyond float64 there
    p, e = _two_prod64(xc, xc)
    big_p, small_p = p.astype(LD), e.astype(LD)
    a1, a2 = _two_prod_ld(_K[0], big_p)
    b1 = a2 + _K[0] * small_p + _K[1] * big_p  # k x^2 = a1 + b1
    s = 1 + a1  # 1 + k x^2 = s + t
    bb = s - 1
    t = ((1 - (s - bb)) + (a1 - bb)) + b1
    xl = xc.astype(LD)
    v1, v2 = _two_prod_ld(xl, s)
    v2 = v2 + xl * t
    z1, z2 = _two_prod_ld(_C2[0], v1)
    z2 = z2 + _C2[0] * v2 + _C2[1] * v1
    sp, sn = _sigmoid_ld(z1 + z2, (z1 - (z1 + z2)) + z2)
    w = (_C2[0] * xl) * (1 + 3 * (_K[0] * (xl * xl)))
    return sp, sn, w


def _mp_derivative(name: str, x: float, params) -> mp.mpf:
    """The derivative at x by mpmath (near a root, where long double cancels)."""
    xm = mp.mpf(x)
    if name == "silu":
        s = 1 / (1 + mp.exp(-xm))
        return s * (1 + xm * (1 - s))
    if name == "mish":
        t = mp.tanh(mp.log1p(mp.exp(xm)))
        return t + xm * (1 - t * t) / (1 + mp.exp(-xm))
    if params[0] == "none":
        return mp.ncdf(xm) + xm * mp.npdf(xm)
    c, k = mp.sqrt(2 / mp.pi), mp.mpf("0.044715")
    z = 2 * c * (xm + k * xm**3)
    s = 1 / (1 + mp.exp(-z))
    return s * (1 + 2 * c * xm * (1 + 3 * k * xm**2) * (1 - s))


def _smooth_true(name: str, grad: bool, x: np.ndarray, params):
    """``f(x)`` or ``f'(x)`` (long double) for float64 ``x``; where that value is
    exactly an input or a constant; and where f' is the constant 0 (a limit at
    an infinite x, where the backward pass gives 0 whatever grad_out holds)."""
    xl = x.astype(LD)
    pos = x > 0
    exact = np.isinf(x)  # the limits are exact constants (but for selu(-inf))
    zero = np.isinf(x)
    if name in ("elu", "celu"):
        a = LD(params[0])
        z = xl if name == "elu" else xl / a
        # e^z beyond 11000 (celu, alpha < 0) is past float64 yet must stay finite: 0 e^z is 0
        neg = (
            (np.where(z == np.inf, z, np.exp(np.minimum(z, 11000))) * (a if name == "elu" else 1))
            if grad
            else a * np.expm1(z)
        )
        val = np.where(pos, LD(1) if grad else xl, neg)
        exact = exact | pos
    elif name == "selu":
        sa = LD(_SELU_SCALE) * LD(_SELU_ALPHA)
        neg = sa * (np.exp(xl) if grad else np.expm1(xl))
        val = np.where(pos, LD(_SELU_SCALE) * (1 if grad else xl), neg)
        exact = (exact & (pos | grad)) | (pos & grad)
    elif name == "sigmoid":
        sp, sn = _sigmoid_ld(xl)
        val = sp * sn if grad else sp
    elif name == "tanh":
        e = np.exp(-2 * np.abs(xl))
        val = 4 * e / ((1 + e) * (1 + e)) if grad else np.tanh(xl)
    elif name == "silu":
        if grad:  # e^x (1 + e^x + x) / (1 + e^x)^2 and its mirror: 1 + x is exact
            e = np.exp(-np.abs(xl))
            num = np.where(pos, 1 + e + np.minimum(xl, 1e4) * e, (1 + xl) + e)
            val = np.where(pos, num, e * num) / ((1 + e) * (1 + e))
        else:
            val = xl * _sigmoid_ld(xl)[0]
    elif name == "mish":
        e = np.exp(-np.abs(xl))
        n2, d2 = e + 2, e * (e + 2) + 2
        d1 = 1 + 2 * e + 2 * e * e
        t = np.where(pos, (1 + 2 * e) / d1, e * n2 / d2)
        if grad:
            xc = np.clip(xl, -1e4, 1e4)
            val = t + 4 * xc * np.where(pos, e * e * (1 + e) / (d1 * d1), e * (1 + e) / (d2 * d2))
        else:
            val = xl * t
    elif name == "softplus":
        beta, threshold = float(params[0]), float(params[1])
        zh, zl = _two_prod64(np.full(x.shape, beta), x)
        zl = np.where(np.isfinite(zl) & (np.abs(zh) > 1e-290), zl, 0.0).astype(LD)
        linear = (zh > threshold) | ((zh == threshold) & (zl > 0))
        sp = _sigmoid_ld(zh.astype(LD), zl)[0]
        if grad:
            val = np.where(linear, LD(1), sp)
        else:
            e = np.exp(-np.abs(zh).astype(LD)) * np.exp(np.clip(np.where(zh < 0, zl, -zl), -1, 1))
            lp = np.log1p(e) / LD(beta)
            val = np.where(linear, xl, np.where(zh > 0, xl + lp, lp))
        exact = linear | (zh == -np.inf) & np.isinf(x)
        zero = (zh == -np.inf) & np.isinf(x)
    elif name == "gelu":
        if params[0] == "none":
            cdf, pdf = _phi_ld(np.clip(x, -1e5, 1e5))
            val = cdf + np.clip(xl, -1e5, 1e5) * pdf if grad else xl * cdf
        else:
            sp, sn, w = _gelu_tanh_ld(x)
            val = sp * (1 + w * sn) if grad else xl * sp
    else:
        raise KeyError(name)
    if name in ("gelu", "silu", "mish"):
        # the limits at -inf are -0.0, approached from below, and so are the
        # values that underflow even in long double
        val = np.where(((x < 0) & (val == 0)) | (x == -np.inf), LD(-0.0), val)
        if grad:
            root = _ROOTS["gelu_tanh" if name == "gelu" and params[0] == "tanh" else name]
            for i in np.flatnonzero(np.abs(x - root) < _ROOT_WINDOW):
                val.flat[i] = LD(mp.nstr(_mp_derivative(name, float(x.flat[i]), params), 30))
    if name != "softplus":
        val = np.where(x == np.inf, _INF_LIMITS[name][grad], val)
    zero = zero & (val == 0)
    if grad and not (name == "elu" and params[0] == 0):
        # a derivative is 0 only as a limit (or elu's with alpha = 0): below
        # long double's range it is tiny
        tiny = np.copysign(np.finfo(LD).smallest_subnormal, val)
        val = np.where((val == 0) & ~zero, tiny, val)
    nan = np.isnan(x)
    return np.where(nan, LD(np.nan), val), exact & ~nan, zero & ~nan


#: f(inf) and f'(inf) of each activation, and whether they are exact constants
_SELU_INF = LD(_SELU_SCALE)
_INF_LIMITS = {
    "elu": (LD(np.inf), LD(1)), "selu": (LD(np.inf), _SELU_INF), "celu": (LD(np.inf), LD(1)),
    "sigmoid": (LD(1), LD(0)), "tanh": (LD(1), LD(0)), "silu": (LD(np.inf), LD(1)),
    "mish": (LD(np.inf), LD(1)), "gelu": (LD(np.inf), LD(1)), "softplus": (LD(np.inf), LD(1)),
}  # fmt: skip


def _round_ld(value: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A long double rounded to the dtype (float16 through float64: 2^-42 of a
    double rounding, against 2^-13 through float32)."""
    if dtype == np.float16:
        return value.astype(np.float64).astype(np.float16)
    return value.astype(dtype)


def _smooth_expected(kernel: str, x: np.ndarray, g, params):
    dt = x.dtype
    ct = compute_type(dt)
    name = kernel.removesuffix("_backward").removesuffix("_grad")
    # parameters as the kernels see them: in the compute type
    ps = tuple(p if isinstance(p, str) else float(ct(p)) for p in params)
    with np.errstate(all="ignore"):  # signalling NaNs are "invalid" in a cast
        x64 = x.astype(np.float64)
        val, exact, zero = _smooth_true(name, kernel != name, x64, ps)
        if kernel.endswith("_backward"):
            gl = g.astype(np.float64).astype(LD)
            one = exact & (val == 1)
            val = np.where(zero, LD(0), gl * val)
            exact = zero | one
        want = _round_ld(val, dt)
    return want, np.where(exact, 0, SMOOTH_ULPS[dt]).astype(np.int8)


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
