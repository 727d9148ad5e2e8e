"""The NumPy reference backend: every kernel written out with NumPy ufuncs.

It is the plain twin of the compiled kernels: it serves wherever nothing
faster can run, and the benchmarks time it as the NumPy code a careful user
would write. Each function below is named after its kernel, takes the arrays
(already broadcast, any layout) and the parameters as scalars of the compute
type (float32 for float16 and float32 arrays, float64 for float64), and
returns the result in the arrays' dtype. Arithmetic happens in the compute
type and is rounded once; a result that is an input is that input's bits.

The smooth family is the exception: every dtype is computed by the float64
functions below (double-double arithmetic, the same operations as the C of
``_fa_math.h``, which Numba compiles too) and rounded once (float16 through
float32), block by block so that the temporaries stay in the cache.
"""

from __future__ import annotations

import types
from collections.abc import Callable

import numpy as np

from fastact._table import KERNELS, activation_of, is_backward

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


# ---------------------------------------------------------------------------
# The smooth family in float64: double-double arithmetic, written once.
#
# The functions below are the same IEEE operations, in the same order, as the
# C of ``_fa_math.h``: they run here on float64 arrays (one NumPy pass per
# operation) and, through the overloads of ``numba.py``, on scalars compiled
# by Numba, so that the three backends give the same bits. No operation may be
# fused or reordered (Numba compiles without fast-math; the C build uses
# -ffp-contract=off). Only +, -, *, /, comparisons, selects (``_sel``) and
# integer operations on the bits (``_bits``/``_dbl``) appear.
#
# Why double-double: each activation is a product or quotient of a few
# transcendental pieces, and rounding each piece to double would add up to
# several ulps (and far more in the tails, where an argument's rounding error
# is multiplied by the argument, or near a root of a derivative, where the
# pieces cancel). So every piece is carried as an unevaluated sum hi + lo,
# accurate to about 2^-58, and the result is rounded once. Pieces that reach
# the subnormal range are carried as a mantissa (hi + lo near 1) and an
# exponent k (in ``t = 0x1.8p52 + k``), and scaled by 2^k at the very end, so
# that a subnormal result is rounded once too. float32 (and float16) are
# computed by the same float64 functions and rounded once more: the float64
# result is within about 0.6 ulp, so the float32 one is within 1 float32 ulp.
# ---------------------------------------------------------------------------

_BEFORE_SHARED = set(globals())
_U = np.uint64
_U1, _U52, _U1023, _U2048 = _U(1), _U(52), _U(1023), _U(2048)
_ABS_BITS, _SIGN_BITS = _U(0x7FFFFFFFFFFFFFFF), _U(0x8000000000000000)


def _bits(x):
    """The bits of float64 ``x`` as uint64 (a view; Numba: a bit cast)."""
    return np.asarray(x, np.float64).view(np.uint64)


def _dbl(u):
    """The float64 whose bits are the uint64 ``u``."""
    return np.asarray(u, np.uint64).view(np.float64)


def _sel(c, a, b):
    """``a`` where ``c`` else ``b`` (the C's bit-mask blend)."""
    return np.where(c, a, b)


def _hex(s: str) -> float:
    return float.fromhex(s)


_SHIFT = _hex("0x1.8p52")  # x + SHIFT rounds x to an integer held in the low bits
_SHIFT_BITS = _U(0x4338000000000000)
_INVLN2 = _hex("0x1.71547652b82fep0")
_LN2HI = _hex("0x1.62e42fee00000p-1")  # 32 bits: k * LN2HI is exact for |k| < 2^21
_LN2LO = _hex("0x1.a39ef35793c76p-33")
_SPLIT = 134217729.0  # 2^27 + 1, Veltkamp's splitter
_TWO995 = _hex("0x1p995")  # Dekker's product is exact below this size ...
_TWOM968 = _hex("0x1p-968")  # ... and when the product is above this one
_BIG = _hex("0x1p1000")
_TWOM28 = _hex("0x1p-28")  # tanh x rounds to x below
_TWOM60 = _hex("0x1p-60")
_TINY = _hex("0x1p-1022")
_TWO100 = _hex("0x1p100")
_TWO52 = _hex("0x1p52")
_EXP_MASK = _U(0x7FF)
_NOT_EXP = _U(0x800FFFFFFFFFFFFF)
_ONE_BITS = _U(0x3FF0000000000000)
_SHIFT52_BITS = _U(0x4330000000000000)

# e^r = 1 + r + r^2/2 + r^3 Q3(r) on |r| <= 0.3474: the float64 exp kernel of
# _fa_math.h (Q = 1/2 + r Q3), its first coefficient split off so that r^2/2
# can be carried exactly
_QEXP = tuple(
    _hex(c)
    for c in (
        "0x1.5555555555557p-3",
        "0x1.5555555555556p-5",
        "0x1.1111111110034p-7",
        "0x1.6c16c16c15fe2p-10",
        "0x1.a01a01ac34650p-13",
        "0x1.a01a01a82952ap-16",
        "0x1.71de015a2bad2p-19",
        "0x1.27e4d7df15c9bp-22",
        "0x1.af4f85ef2463fp-26",
        "0x1.1f795adca3329p-29",
    )
)
# erf(x) = x + x E(x^2) for |x| <= 1 (_fa_math.h's small piece)
_ERF = tuple(
    _hex(c)
    for c in (
        "0x1.06eba8214db68p-3",
        "-0x1.812746b0379b4p-2",
        "0x1.ce2f21a040a5ep-4",
        "-0x1.b82ce311f49a9p-6",
        "0x1.565bccf8bd912p-8",
        "-0x1.c02db035571f1p-11",
        "0x1.f9a2ba5a675fap-14",
        "-0x1.f4ca4de40ff53p-17",
        "0x1.b97ffcd589cc3p-20",
        "-0x1.5c08c58c8ded0p-23",
        "0x1.d7298f0290a90p-27",
        "-0x1.abe1004c263f1p-31",
    )
)
# erfc(b) = exp(-b^2 + L(t)) / (b + 2), t = (b - 2)/(b + 2), for b >= 0.46875:
# L(t) = C0 + t (C1 + t L2(t)) (_fa_math.h's tail)
_ERFC_C0 = _hex("0x1.5dd960c996629p-6")
_ERFC_C1 = _hex("-0x1.5864b151b8571p-1")
_ERFC = tuple(
    _hex(c)
    for c in (
        "0x1.83d61c524153fp-5",
        "0x1.802b39089b15cp-5",
        "-0x1.43821ef9e86eap-7",
        "-0x1.212cf33f4e608p-7",
        "0x1.cd1808752d897p-10",
        "0x1.3378680bcd513p-9",
        "-0x1.32b3b512d814bp-13",
        "-0x1.6133a7090131dp-11",
        "-0x1.8926bc1e83e7ap-14",
        "0x1.6d8a78dc1fb99p-13",
        "0x1.2b76aba005b26p-14",
        "-0x1.0a4d7b78c1c58p-15",
        "-0x1.fa35e2d411317p-16",
        "-0x1.37ec16c0a9230p-23",
        "0x1.1dd7057816b24p-17",
        "0x1.919de88cf5e88p-19",
        "-0x1.4244259fca25cp-20",
        "-0x1.6e3ffc901504fp-20",
        "-0x1.d34f6fb49215bp-23",
        "0x1.aebcdbd3ec0fap-22",
        "0x1.1e55a99a4e5aap-23",
        "-0x1.8656e4725832fp-24",
    )
)
# fdlibm's log1p/log coefficients: log(1+f) = f - f^2/2 + s (f^2/2 + R(s^2))
_LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
_SQRT2 = _hex("0x1.6a09e667f3bcdp+0")
# constants as double-doubles (hi, lo): the exact values to about 2^-107
_SQRT1_2 = (_hex("0x1.6a09e667f3bcdp-1"), _hex("-0x1.bdd3413b26456p-55"))
_SQRT_PI_2 = (_hex("0x1.40d931ff62706p+0"), _hex("-0x1.a6a0d6f814637p-54"))
_INV_SQRT_2PI = (_hex("0x1.9884533d43651p-2"), _hex("-0x1.cbc0d30ebfd15p-56"))
_TWO_SQRTPI = _hex("0x1.20dd750429b6dp+0")
# gelu's tanh form, as PyTorch writes it: 0.5 x (1 + tanh(c (x + k x^3))) with
# c = sqrt(2/pi), k = 0.044715 (the decimal), here as x sigmoid(2 c (x + k x^3))
_GT_C2 = (_hex("0x1.9884533d43651p+0"), _hex("-0x1.cbc0d30ebfd15p-54"))  # 2c
_GT_K = (_hex("0x1.6e4e26d4801f7p-5"), _hex("0x1.441355475a31ap-59"))  # k
_GT_K3 = (_hex("0x1.12ba9d1f60179p-3"), _hex("0x1.f30e7ff583a54p-57"))  # 3k
# selu: PyTorch's constants rounded to double, and their exact product
SELU_SCALE = _hex("0x1.0cfabd6a91132p+0")  # 1.0507009873554804934193349852946
SELU_ALPHA = _hex("0x1.ac5afad782cf1p+0")  # 1.6732632423543772848170429916717
_SELU_SA = (_hex("0x1.c212cc640f030p+0"), _hex("0x1.092dbf6372048p-54"))
# near a root of a derivative, f'(x) = d Q(d), d = x - root (a double-double),
# Q fitted with mpmath on |d| <= 0.15 (tests/accuracy/root_polys.py)
_GELU_ROOT = tuple(_hex(c) for c in ("-0x1.80ead197f00b4p-1", "0x1.13e74c58cada8p-56"))
_GELU_Q = tuple(
    _hex(c)
    for c in (
        "0x1.b9d98fa5a3215p-2",
        "0x1.f7c1a23190c7cp-56",
        "0x1.8d9a941de3ac5p-2",
        "0x1.ab59698ddcb9dp-56",
        "-0x1.2a2ef9bb865aep-6",
        "-0x1.d2fa4c17c7e74p-4",
        "-0x1.e4088244f8f75p-7",
        "0x1.3e346def3c791p-6",
        "0x1.297b9d6fdd8e3p-8",
        "-0x1.258a6d6af78bdp-9",
        "-0x1.8680f6c3b8b81p-11",
        "0x1.86c7e9642cd96p-13",
        "0x1.695fc7f1f3255p-14",
        "-0x1.773af3c4b704cp-17",
        "-0x1.0299903587854p-17",
    )
)
_GELU_TANH_ROOT = tuple(_hex(c) for c in ("-0x1.81429f9e97e4dp-1", "0x1.4f523ed77dbdcp-55"))
_GELU_TANH_Q = tuple(
    _hex(c)
    for c in (
        "0x1.b8bacd2c96b91p-2",
        "0x1.7625a206be83dp-56",
        "0x1.8cd1a2b2fff32p-2",
        "0x1.faea4b6f1ad44p-56",
        "-0x1.029615edb077ap-6",
        "-0x1.d2b7734646fd3p-4",
        "-0x1.104a83edc0c7ap-6",
        "0x1.427996dbd99d1p-6",
        "0x1.58c9ed70b942dp-8",
        "-0x1.3d8d62b1aec71p-9",
        "-0x1.e63f26f7d3530p-11",
        "0x1.14bc4d297d804p-12",
        "0x1.0490c665fce40p-13",
        "-0x1.21a156b1c8d29p-15",
        "-0x1.08a654748d9d1p-16",
    )
)
_SILU_ROOT = tuple(_hex(c) for c in ("-0x1.474973c84120bp+0", "-0x1.f8d74bc9ac154p-54"))
_SILU_Q = tuple(
    _hex(c)
    for c in (
        "0x1.be1410460527fp-3",
        "-0x1.293eadc654938p-58",
        "0x1.2c563458cc0adp-3",
        "-0x1.ae2d91d788466p-57",
        "0x1.353eb573ca489p-6",
        "-0x1.f2d0e32bc2997p-7",
        "-0x1.b0f82c49a916fp-8",
        "0x1.098e92b90e84cp-13",
        "0x1.a2a7cb86b5224p-11",
        "0x1.8574d1209cceap-13",
        "-0x1.5726b0b751595p-15",
        "-0x1.f2d85c1bd5f99p-16",
        "-0x1.833299eca0c45p-19",
        "0x1.3a985c99b9a9ep-19",
    )
)
_MISH_ROOT = tuple(_hex(c) for c in ("-0x1.31432c0d12d84p+0", "-0x1.bf319154da210p-55"))
_MISH_Q = tuple(
    _hex(c)
    for c in (
        "0x1.115acb42500bbp-2",
        "0x1.19a79d7bbbb54p-56",
        "0x1.a34a251d8ad7bp-3",
        "0x1.0c89bfdeb63dep-58",
        "0x1.574f121a868f9p-5",
        "-0x1.4c222fe64d451p-6",
        "-0x1.03369d4ad08d3p-6",
        "-0x1.b87ddfb5c7aecp-9",
        "0x1.1e5e18a286a65p-10",
        "0x1.03799281d77f0p-10",
        "0x1.0a78df3a3b35dp-12",
        "-0x1.600a4df8bec4ep-15",
        "-0x1.d3c4813b0e4d5p-15",
        "-0x1.1ef033cf3bed6p-16",
    )
)


# -- double-double arithmetic (Dekker, Knuth; no FMA) -----------------------


def _two_sum(a, b):
    """a + b = s + e exactly."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _fast_two_sum(a, b):
    """a + b = s + e exactly, for |a| >= |b| (or a == 0)."""
    s = a + b
    return s, b - (s - a)


def _prod_err(a, b, p):
    """a * b - p exactly for p = fl(a * b) (Veltkamp splits; |a|, |b| < 2^995)."""
    ac = a * _SPLIT
    ah = ac - (ac - a)
    al = a - ah
    bc = b * _SPLIT
    bh = bc - (bc - b)
    bl = b - bh
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _two_prod(a, b):
    p = a * b
    return p, _prod_err(a, b, p)


def _dd_add(ah, al, bh, bl):
    s, e = _two_sum(ah, bh)
    return _two_sum(s, e + (al + bl))


def _dd_mul(ah, al, bh, bl):
    p, e = _two_prod(ah, bh)
    return p, e + (ah * bl + al * bh)


def _dd_mul_d(ah, al, b):
    p, e = _two_prod(ah, b)
    return p, e + al * b


def _dd_div(ah, al, bh, bl):
    q = ah / bh
    p, e = _two_prod(q, bh)
    return q, (((ah - p) - e) + (al - q * bl)) / bh


def _scales(t):
    """2^k = sa * sb, both normal, for t = SHIFT + k; k is clamped to
    [-2000, 2000], beyond which 2^k times a mantissa near 1 is 0 or inf."""
    t = _sel(t < _SHIFT - 2000.0, _SHIFT - 2000.0, _sel(t > _SHIFT + 2000.0, _SHIFT + 2000.0, t))
    kb = _bits(t) - _SHIFT_BITS + _U2048
    half = kb >> _U1
    return _dbl((half - _U1) << _U52), _dbl((kb - half - _U1) << _U52)


def _pow2(kd):
    """2^kd for an integer-valued kd in [-1022, 1023]."""
    return _dbl((_bits(kd + _SHIFT) - _SHIFT_BITS + _U1023) << _U52)


def _round_scaled(h, lo, t):
    """(h + lo) 2^k, rounded once (also into the subnormal range); a zero keeps its sign."""
    sa, sb = _scales(t)
    return (_sel(h == 0.0, h, h + lo) * sa) * sb


def _split(a):
    """a = m 2^e with m in [1, 2) (sign kept) for a finite nonzero a; m = a
    and e = 0 otherwise."""
    sub = np.abs(a) < _TINY
    a2 = _sel(sub, a * _TWO100, a)
    e = (_bits(a2) >> _U52) & _EXP_MASK
    ea = (_dbl(_SHIFT52_BITS | e) - _TWO52) - _sel(sub, 1123.0, 1023.0)
    finite = (np.abs(a) < np.inf) & (a != 0.0)
    return _sel(finite, _dbl((_bits(a2) & _NOT_EXP) | _ONE_BITS), a), _sel(finite, ea, 0.0)


def _mul_scaled(a, h, lo, t):
    """a (h + lo) 2^k, rounded about once: h + lo is a mantissa near 1 (or any
    double-double for t = SHIFT). Scaled by sa first, so that neither a huge
    ``a`` nor a tiny 2^k overflows or underflows before the last product.
    Where Dekker's product cannot be exact (huge or tiny operands) the plain
    product is used, within 1 ulp. ``a``'s exponent joins k first, so that
    2^k may be far beyond the range of a double while a 2^k is not."""
    a, ea = _split(a)
    sa, sb = _scales(t + ea)
    hs = h * sa
    ls = lo * sa
    p, e = _two_prod(hs, a)
    fine = (np.abs(a) < _TWO995) & (np.abs(hs) < _TWO995) & (np.abs(p) < _BIG)
    fine = fine & (np.abs(p) > _TWOM968)
    plain = _sel((np.abs(p) < np.inf) & (p != 0.0), p + ls * a, p)  # inf * 0, -0 + 0
    # an infinite a times a nonzero h 2^k (however tiny) is infinite; times 0 NaN
    infinite = a * _sel((h == 0.0) | (h != h), h, _copysign(1.0, h))
    return _sel(np.abs(a) == np.inf, infinite, _sel(fine, p + (e + ls * a), plain) * sb)


# -- the pieces ---------------------------------------------------------------


def _exp_reduce(x, xl):
    """x + xl = k ln2 + rh + rl, and r = rh + rl rounded, dr its error, and
    q(r) = e^r - 1 - r as uh + ul: uh = r^2/2 rounded (exact with ul's part),
    ul = the rest, with dr's first-order effect. x is clamped to [-3000, 3000]
    (NaN passes: e^x is then 0 or inf even times any double); xl must be
    finite where x is."""
    xc = _sel(x < -3000.0, -3000.0, _sel(x > 3000.0, 3000.0, x))
    xl = _sel(xc == x, xl, 0.0)
    t = xc * _INVLN2 + _SHIFT
    kd = t - _SHIFT
    rh = xc - kd * _LN2HI
    rl = xl - kd * _LN2LO
    r = rh + rl
    dr = (rh - r) + rl
    p2, p2e = _two_prod(r, r)
    q = _QEXP
    r2 = r * r
    qe = q[0] + r2 * (q[2] + r2 * (q[4] + r2 * (q[6] + r2 * q[8])))
    qo = q[1] + r2 * (q[3] + r2 * (q[5] + r2 * (q[7] + r2 * q[9])))
    uh = 0.5 * p2
    ul = (0.5 * p2e + (r * p2) * (qe + r * qo)) + dr * (r + uh)
    return t, kd, rh, rl, uh, ul


def _exp_mant(rh, rl, uh, ul):
    """e^(rh + rl) as a double-double near 1 (about 2^-59 relative)."""
    ph = 1.0 + rh
    pl = (1.0 - ph) + rh
    s, se = _fast_two_sum(ph, uh)
    return _fast_two_sum(s, (pl + se) + (rl + ul))


def _exp_core(x, xl):
    """e^(x + xl) = (mh + ml) 2^k, k in t."""
    t, _kd, rh, rl, uh, ul = _exp_reduce(x, xl)
    mh, ml = _exp_mant(rh, rl, uh, ul)
    return mh, ml, t


def _expm1_core(x, xl):
    """e^(x + xl) - 1 as (h + lo) 2^k: for x <= 40 a double-double (t = SHIFT),
    the terms (2^k - 1) + 2^k rh + 2^k r^2/2 summed exactly so that nothing is
    lost where they cancel; beyond, e^x's mantissa (the 1 is below 2^-57)."""
    xc = _sel(x < -50.0, -50.0, x)  # expm1 < -1 + 2^-72 there: -1 for any use
    xl = _sel(xc == x, xl, 0.0)
    t, kd, rh, rl, uh, ul = _exp_reduce(xc, xl)
    mh, ml = _exp_mant(rh, rl, uh, ul)
    s = _pow2(_sel(kd > 60.0, 60.0, kd))
    a, ae = _two_sum(s, -1.0)
    h, e = _fast_two_sum(a, s * rh)
    h2, e2 = _two_sum(h, s * uh)
    lo = (e + ae) + (e2 + s * (rl + ul))
    h3, l3 = _fast_two_sum(h2, lo)
    h3 = _sel(xc == 0.0, xc, h3)  # expm1(-0) = -0
    big = xc > 40.0
    return _sel(big, mh, h3), _sel(big, ml, l3), _sel(big, t, _SHIFT)


def _sigmoid_core(zh, zl):
    """The sigmoids of z = zh + zl: sigma(|z|) = ph + pl, sigma(-|z|) =
    (nh + nl) 2^k, with E = e^-|z| = eh + el (scaled; inexact only where it
    no longer matters, below 2^-1022) and 1 + E = dh + dl."""
    neg = zh < 0.0
    mh, ml, t = _exp_core(-np.abs(zh), _sel(neg, zl, -zl))
    sa, sb = _scales(t)
    eh = (mh * sa) * sb
    el = (ml * sa) * sb
    dh, dl = _fast_two_sum(1.0, eh)
    dl = dl + el
    ph, pl = _dd_div(1.0, 0.0, dh, dl)
    nh, nl = _dd_div(mh, ml, dh, dl)
    return ph, pl, nh, nl, t, mh, ml, eh, el, dh, dl


def _log1p_core(eh, el):
    """log(1 + E) for E = eh + el in [0, 1], as a double-double: fdlibm's
    log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)) with the large terms summed
    exactly, and 1 + E = U + c kept exact."""
    u = 1.0 + eh
    c = ((1.0 - u) + eh) + el
    up = u >= _SQRT2
    f = _sel(up, u * 0.5, u) - 1.0
    kd = _sel(up, 1.0, 0.0)
    f2, f2e = _two_prod(f, f)
    hf = 0.5 * f2
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    g = _LG
    r = z * (g[0] + w * (g[2] + w * (g[4] + w * g[6]))) + w * (g[1] + w * (g[3] + w * g[5]))
    s1, e1 = _two_sum(f, -hf)
    s2, e2 = _two_sum(kd * _LN2HI, s1)
    lo = ((e2 + e1) + (s * (hf + r) - 0.5 * f2e)) + (kd * _LN2LO + c / u)
    return _fast_two_sum(s2, lo)


def _root_poly(x, root, q):
    """f'(x) = d Q(d) near a root of f' (d = x - root, root a double-double):
    the pieces of the general formula cancel there. Q's first two
    coefficients are double-doubles, the rest doubles (fits of relative error
    below 2^-61 on |d| <= 0.15)."""
    dh, dl = _two_sum(x - root[0], -root[1])
    i = len(q) - 1
    rest = q[i]
    while i > 4:
        i -= 1
        rest = q[i] + dh * rest
    p1, p1e = _two_prod(dh, q[2])
    s, se = _two_sum(q[0], p1)
    lo = se + ((((q[1] + p1e) + dh * q[3]) + dl * q[2]) + (dh * dh) * rest)
    return _dd_mul(dh, dl, s, lo)


def _copysign(m, s):
    return _dbl((_bits(m) & _ABS_BITS) | (_bits(s) & _SIGN_BITS))


def _dd_scale(h, lo, a):
    """(h + lo) a as a double-double (the error term dropped where Dekker's
    product cannot be exact: a beyond 2^995)."""
    p, e = _two_prod(h, a)
    return p, _sel(np.abs(a) < _TWO995, e, 0.0) + lo * a


def _dd_div_d(h, lo, b):
    """(h + lo) / b as a double-double (plain where the remainder cannot be
    exact; no low part where the quotient overflows, so that h + lo stays infinite)."""
    q = h / b
    p, e = _two_prod(q, b)
    fine = (np.abs(q) < _TWO995) & (np.abs(b) < _TWO995) & (np.abs(p) > _TWOM968)
    plain = _sel(np.abs(q) < np.inf, lo / b, 0.0)
    return q, _sel(fine, (((h - p) - e) + lo) / b, plain)


def _backward(g, h, lo, t, zero):
    """grad_out * f'(x) from f'(x) = (h + lo) 2^k; 0 where f' is the constant 0
    (a limit at an infinite x), whatever grad_out holds."""
    return _sel(zero, 0.0, _mul_scaled(g, h, lo, t))


# -- the activations (x a float64, parameters as float64) ----------------------


def elu_f64(x, alpha):
    h, lo, t = _expm1_core(x, 0.0)
    return _sel(x > 0.0, x, _mul_scaled(alpha, h, lo, t))


def _elu_dx(x, alpha):
    mh, ml, t = _exp_core(x, 0.0)
    # alpha's exponent joins e^x's, so that e^x alpha is not rounded (or
    # clamped) at the ends of the range before grad_out scales it
    ma, ea = _split(alpha)
    dh, dl = _dd_scale(mh, ml, ma)
    t = t + ea
    pos = x > 0.0
    return _sel(pos, 1.0, dh), _sel(pos, 0.0, dl), _sel(pos, _SHIFT, t)


def elu_grad_f64(x, alpha):
    return _round_scaled(*_elu_dx(x, alpha))


def elu_backward_f64(g, x, alpha):
    return _backward(g, *_elu_dx(x, alpha), x == -np.inf)


def selu_f64(x):
    h, lo, _t = _expm1_core(x, 0.0)
    sh, sl = _dd_mul(_SELU_SA[0], _SELU_SA[1], h, lo)
    return _sel(x > 0.0, SELU_SCALE * x, _sel(sh == 0.0, sh, sh + sl))  # selu(-0) = -0


def _selu_dx(x):
    mh, ml, t = _exp_core(x, 0.0)
    dh, dl = _dd_mul(_SELU_SA[0], _SELU_SA[1], mh, ml)
    pos = x > 0.0
    return _sel(pos, SELU_SCALE, dh), _sel(pos, 0.0, dl), _sel(pos, _SHIFT, t)


def selu_grad_f64(x):
    return _round_scaled(*_selu_dx(x))


def selu_backward_f64(g, x):
    return _backward(g, *_selu_dx(x), x == -np.inf)


_TWOM900 = 2.0**-900
_TWO200 = 2.0**200


def _celu_z(x, alpha):
    """x / alpha as a double-double (its remainder dropped where it cannot be exact)."""
    # a tiny alpha: both scaled by 2^200 (exactly), so that the remainder is exact
    tiny = np.abs(alpha) < _TWOM900
    x = _sel(tiny, x * _TWO200, x)
    alpha = _sel(tiny, alpha * _TWO200, alpha)
    zh = x / alpha
    p, e = _two_prod(zh, alpha)
    fine = (np.abs(zh) < _TWO995) & (np.abs(alpha) < _TWO995) & (np.abs(p) > _TWOM968)
    return zh, _sel(fine, ((x - p) - e) / alpha, 0.0)


def celu_f64(x, alpha):
    zh, zl = _celu_z(x, alpha)
    h, lo, t = _expm1_core(zh, zl)
    # alpha expm1(z) = x (1 + z/2 ...) is x where |z| < 2^-60 (and z may underflow)
    return _sel((x > 0.0) | (np.abs(zh) < _TWOM60), x, _mul_scaled(alpha, h, lo, t))


def _celu_dx(x, alpha):
    zh, zl = _celu_z(x, alpha)
    mh, ml, t = _exp_core(zh, zl)
    mh = _sel(zh == np.inf, np.inf, mh)  # e^inf for alpha < 0 (0 * it is NaN)
    pos = x > 0.0
    return _sel(pos, 1.0, mh), _sel(pos, 0.0, ml), _sel(pos, _SHIFT, t)


def celu_grad_f64(x, alpha):
    return _round_scaled(*_celu_dx(x, alpha))


def celu_backward_f64(g, x, alpha):
    return _backward(g, *_celu_dx(x, alpha), (x == -np.inf) & (alpha > 0.0))


def sigmoid_f64(x):
    ph, pl, nh, nl, t = _sigmoid_core(x, 0.0)[:5]
    pos = x > 0.0
    return _round_scaled(_sel(pos, ph, nh), _sel(pos, pl, nl), _sel(pos, _SHIFT, t))


def _sigmoid_dx(z):
    ph, pl, nh, nl, t = _sigmoid_core(z, 0.0)[:5]
    h, lo = _dd_mul(ph, pl, nh, nl)
    return h, lo, t


def sigmoid_grad_f64(x):
    return _round_scaled(*_sigmoid_dx(x))


def sigmoid_backward_f64(g, x):
    return _backward(g, *_sigmoid_dx(x), np.abs(x) == np.inf)


def tanh_f64(x):
    a = np.abs(x)
    a = _sel(a > 20.0, 20.0, a)  # tanh rounds to 1 beyond 19.1
    h, lo = _expm1_core(a + a, 0.0)[:2]
    dh, dl = _two_sum(h, 2.0)
    qh, ql = _dd_div(h, lo, dh, dl + lo)
    return _sel(a < _TWOM28, x, _copysign(qh + ql, x))


def _tanh_dx(x):
    h, lo, t = _sigmoid_dx(x + x)
    return 4.0 * h, 4.0 * lo, t


def tanh_grad_f64(x):
    return _round_scaled(*_tanh_dx(x))


def tanh_backward_f64(g, x):
    return _backward(g, *_tanh_dx(x), np.abs(x) == np.inf)


def _xsig_dx(zh, zl, wh, wl):
    """d/dx [x sigmoid(z(x))] = sigmoid(z) (1 + w sigmoid(-z)), w = x z'(x):
    e^z (1 + e^z + w) / (1 + e^z)^2 for z < 0 (mantissa and 2^k), and
    (1 + E + w E) / (1 + E)^2 with E = e^-z otherwise; the cancellation of
    1 + e^z + w at the root of the derivative is exact in double-double."""
    core = _sigmoid_core(zh, zl)
    t, mh, ml, eh, el, dh, dl = core[4:]
    neg = zh < 0.0
    weh, wel = _dd_mul(wh, wl, eh, el)
    nuh, nul = _dd_add(dh, dl, _sel(neg, wh, weh), _sel(neg, wl, wel))
    d2h, d2l = _dd_mul(dh, dl, dh, dl)
    xh, xl = _dd_mul(_sel(neg, mh, 1.0), _sel(neg, ml, 0.0), nuh, nul)
    qh, ql = _dd_div(xh, xl, d2h, d2l)
    return qh, ql, _sel(neg, t, _SHIFT)


def _near(x, root):
    """Whether x is within the window of a root's polynomial."""
    return np.abs(x - root[0]) <= 0.15


def silu_f64(x):
    ph, pl, nh, nl, t = _sigmoid_core(x, 0.0)[:5]
    pos = x > 0.0
    xm = _sel(x < -800.0, -800.0, x)  # x sigmoid(x) is 0 below -745 (and at -inf)
    return _mul_scaled(xm, _sel(pos, ph, nh), _sel(pos, pl, nl), _sel(pos, _SHIFT, t))


def _silu_dx(x):
    xw = _sel(x < -1e5, -1e5, _sel(x > 1e5, 1e5, x))  # e^x is 0 beyond, times any g
    h, lo, t = _xsig_dx(x, 0.0, xw, 0.0)
    near = _near(x, _SILU_ROOT)
    rh, rl = _root_poly(_sel(near, x, _SILU_ROOT[0]), _SILU_ROOT, _SILU_Q)
    return _sel(near, rh, h), _sel(near, rl, lo), _sel(near, _SHIFT, t)


def silu_grad_f64(x):
    return _round_scaled(*_silu_dx(x))


def silu_backward_f64(g, x):
    return _backward(g, *_silu_dx(x), x == -np.inf)


def _gelu_tanh_z(x):
    """x clamped to [-40, 40], 2u = 2c x (1 + k x^2) and w = 2c x (1 + 3k x^2),
    both double-doubles (2u's rounding would cost |2u| ulps in the tails)."""
    xc = _sel(x < -40.0, -40.0, _sel(x > 40.0, 40.0, x))
    x2h, x2l = _two_prod(xc, xc)
    kh, kl = _dd_mul(_GT_K[0], _GT_K[1], x2h, x2l)
    oh, ol = _dd_add(1.0, 0.0, kh, kl)
    vh, vl = _dd_mul_d(oh, ol, xc)
    zh, zl = _dd_mul(_GT_C2[0], _GT_C2[1], vh, vl)
    k3h, k3l = _dd_mul(_GT_K3[0], _GT_K3[1], x2h, x2l)
    o3h, o3l = _dd_add(1.0, 0.0, k3h, k3l)
    v3h, v3l = _dd_mul_d(o3h, o3l, xc)
    wh, wl = _dd_mul(_GT_C2[0], _GT_C2[1], v3h, v3l)
    return xc, zh, zl, wh, wl


def _gelu_tanh(x):
    _xc, zh, zl = _gelu_tanh_z(x)[:3]
    ph, pl, nh, nl, t = _sigmoid_core(zh, zl)[:5]
    pos = zh > 0.0
    xm = _sel(x < -40.0, -40.0, x)
    return _mul_scaled(xm, _sel(pos, ph, nh), _sel(pos, pl, nl), _sel(pos, _SHIFT, t))


def _gelu_tanh_dx(x):
    _xc, zh, zl, wh, wl = _gelu_tanh_z(x)
    h, lo, t = _xsig_dx(zh, zl, wh, wl)
    near = _near(x, _GELU_TANH_ROOT)
    rh, rl = _root_poly(_sel(near, x, _GELU_TANH_ROOT[0]), _GELU_TANH_ROOT, _GELU_TANH_Q)
    return _sel(near, rh, h), _sel(near, rl, lo), _sel(near, _SHIFT, t)


def _gelu_parts(x):
    """For a = |x| (clamped at 60): phi(a) = (fh + fl) 2^k, the Mills ratio
    R(a) = Phi(-a) / phi(a) = sqrt(pi/2) e^L(t) / (b + 2) with b = a/sqrt(2)
    (the erfc tail of _fa_math.h, t's rounding corrected through L'(t)), and
    erf(b) = sh + sl for b < 0.5; ``tail`` where R is the one to use."""
    ac = np.abs(x)
    ac = _sel(ac > 60.0, 60.0, ac)  # phi(60) 2^1024 is 0
    x2h, x2l = _two_prod(ac, ac)
    mh, ml, t = _exp_core(-0.5 * x2h, -0.5 * x2l)
    fh, fl = _dd_mul(mh, ml, _INV_SQRT_2PI[0], _INV_SQRT_2PI[1])
    bh, bl = _dd_mul_d(_SQRT1_2[0], _SQRT1_2[1], ac)
    nh, nl = _two_sum(bh, -2.0)
    dh, dl = _two_sum(bh, 2.0)
    th, tl = _dd_div(nh, nl + bl, dh, dl + bl)
    c = _ERFC
    t2 = th * th
    pe = c[20]
    po = c[21]
    i = 20
    while i > 0:
        i -= 2
        pe = c[i] + t2 * pe
        po = c[i + 1] + t2 * po
    v2 = th * (pe + th * po)
    s1h = _ERFC_C1 + v2
    s1l = (_ERFC_C1 - s1h) + v2
    p1, p1e = _two_prod(th, s1h)
    lh = p1 + _ERFC_C0
    bw = lh - p1
    # L'(t) to a few per cent: enough for the correction of t's rounding
    dlt = _ERFC_C1 + th * (
        2.0 * c[0]
        + th
        * (
            3.0 * c[1]
            + th * (4.0 * c[2] + th * (5.0 * c[3] + th * (6.0 * c[4] + th * (7.0 * c[5]))))
        )
    )
    ll = ((p1 - (lh - bw)) + (_ERFC_C0 - bw)) + ((p1e + th * s1l) + dlt * tl)
    eh, el, et = _exp_core(lh, ll)
    sa, sb = _scales(et)
    ah, al = _dd_mul(_SQRT_PI_2[0], _SQRT_PI_2[1], (eh * sa) * sb, (el * sa) * sb)
    rh, rl = _dd_div(ah, al, dh, dl + bl)
    bs = _sel(bh > 0.5, 0.5, bh)
    y = bs * bs
    e = _ERF
    y2 = y * y
    ee = e[0] + y2 * (e[2] + y2 * (e[4] + y2 * (e[6] + y2 * (e[8] + y2 * e[10]))))
    eo = e[1] + y2 * (e[3] + y2 * (e[5] + y2 * (e[7] + y2 * (e[9] + y2 * e[11]))))
    sh, sl = _fast_two_sum(bs, bs * (ee + y * eo))
    sl = sl + bl * (_TWO_SQRTPI * ((1.0 - y) + 0.5 * y2))
    return ac, fh, fl, t, rh, rl, sh, sl, bh >= 0.46875


def _gelu_erf(x):
    _ac, fh, fl, t, rh, rl, sh, sl, tail = _gelu_parts(x)
    qh, ql = _dd_mul(fh, fl, rh, rl)  # Phi(-a) / 2^k
    sa, sb = _scales(t)
    oh, ol = _two_sum(1.0, -((qh * sa) * sb))
    ol = ol - (ql * sa) * sb  # Phi(a), a >= 0.66
    neg = x < 0.0
    mh, ml = _two_sum(0.5, 0.5 * _sel(neg, -sh, sh))
    ml = ml + 0.5 * _sel(neg, -sl, sl)  # Phi(x), |x| < 0.66
    h = _sel(tail, _sel(neg, qh, oh), mh)
    lo = _sel(tail, _sel(neg, ql, ol), ml)
    tt = _sel(tail & neg, t, _SHIFT)
    return _mul_scaled(_sel(x < -60.0, -60.0, x), h, lo, tt)


def _gelu_erf_dx(x):
    ac, fh, fl, t, rh, rl, sh, sl, tail = _gelu_parts(x)
    neg = x < 0.0
    # tail: phi (R - a) for x < 0, 1 + phi (a - R) for x > 0
    dh, dl = _two_sum(rh, -ac)
    dh, dl = _sel(neg, dh, -dh), _sel(neg, dl + rl, -(dl + rl))
    ph, pl = _dd_mul(fh, fl, dh, dl)
    sa, sb = _scales(t)
    oh, ol = _two_sum(1.0, (ph * sa) * sb)
    ol = ol + (pl * sa) * sb
    # small: Phi(x) + x phi(x)
    mh, ml = _two_sum(0.5, 0.5 * _sel(neg, -sh, sh))
    ml = ml + 0.5 * _sel(neg, -sl, sl)
    xh, xl = _dd_mul_d((fh * sa) * sb, (fl * sa) * sb, x)
    mh, ml = _dd_add(mh, ml, xh, xl)
    near = _near(x, _GELU_ROOT)
    qh, ql = _root_poly(_sel(near, x, _GELU_ROOT[0]), _GELU_ROOT, _GELU_Q)
    h = _sel(near, qh, _sel(tail, _sel(neg, ph, oh), mh))
    lo = _sel(near, ql, _sel(tail, _sel(neg, pl, ol), ml))
    return h, lo, _sel(near, _SHIFT, _sel(tail & neg, t, _SHIFT))


def gelu_f64(x, approximate):
    if approximate == 0.0:
        return _gelu_erf(x)
    return _gelu_tanh(x)


def _gelu_dx(x, approximate):
    if approximate == 0.0:
        return _gelu_erf_dx(x)
    return _gelu_tanh_dx(x)


def gelu_grad_f64(x, approximate):
    return _round_scaled(*_gelu_dx(x, approximate))


def gelu_backward_f64(g, x, approximate):
    return _backward(g, *_gelu_dx(x, approximate), x == -np.inf)


def _mish_parts(x):
    """E = e^-|x| (scaled) and its mantissa m 2^k; tanh(softplus(x)) is
    m (E + 2) / (E (E + 2) + 2) 2^k for x <= 0 and (1 + 2E) / (1 + 2E + 2E^2)
    for x > 0 (both e^x (e^x + 2) / (e^x (e^x + 2) + 2))."""
    mh, ml, t = _exp_core(-np.abs(x), 0.0)
    sa, sb = _scales(t)
    eh = (mh * sa) * sb
    el = (ml * sa) * sb
    n2h, n2l = _two_sum(eh, 2.0)
    n2l = n2l + el
    q1h, q1l = _dd_mul(eh, el, n2h, n2l)
    d2h, d2l = _dd_add(q1h, q1l, 2.0, 0.0)
    n1h, n1l = _two_sum(1.0, 2.0 * eh)
    n1l = n1l + 2.0 * el
    e2h, e2l = _dd_mul(eh, el, eh, el)
    d1h, d1l = _dd_add(n1h, n1l, 2.0 * e2h, 2.0 * e2l)
    return mh, ml, t, eh, el, n2h, n2l, d2h, d2l, n1h, n1l, e2h, e2l, d1h, d1l


def mish_f64(x):
    mh, ml, t, _eh, _el, n2h, n2l, d2h, d2l, n1h, n1l, _e2h, _e2l, d1h, d1l = _mish_parts(x)
    ah, al = _dd_mul(mh, ml, n2h, n2l)
    nh, nl = _dd_div(ah, al, d2h, d2l)
    ph, pl = _dd_div(n1h, n1l, d1h, d1l)
    pos = x > 0.0
    xm = _sel(x < -800.0, -800.0, x)
    return _mul_scaled(xm, _sel(pos, ph, nh), _sel(pos, pl, nl), _sel(pos, _SHIFT, t))


def _mish_dx(x):
    mh, ml, t, eh, el, n2h, n2l, d2h, d2l, n1h, n1l, e2h, e2l, d1h, d1l = _mish_parts(x)
    # x <= 0: m ((E + 2) D2 + 4x (1 + E)) / D2^2, D2 = E (E + 2) + 2
    xm = _sel(x < -1e5, -1e5, x)  # e^x is 0 beyond, times any g
    oh, ol = _two_sum(1.0, eh)
    ol = ol + el
    ah, al = _dd_mul(n2h, n2l, d2h, d2l)
    bh, bl = _dd_mul_d(oh, ol, 4.0 * xm)
    ch, cl = _dd_add(ah, al, bh, bl)
    ch, cl = _dd_mul(mh, ml, ch, cl)
    sh, sl = _dd_mul(d2h, d2l, d2h, d2l)
    nh, nl = _dd_div(ch, cl, sh, sl)
    # x > 0: T + 4x E^2 (1 + E) / D1^2, D1 = 1 + 2E + 2E^2
    xp = _sel(x > 1e5, 1e5, x)
    fh, fl = _dd_mul(e2h, e2l, oh, ol)
    fh, fl = _dd_mul_d(fh, fl, 4.0 * xp)
    sh, sl = _dd_mul(d1h, d1l, d1h, d1l)
    fh, fl = _dd_div(fh, fl, sh, sl)
    th, tl = _dd_div(n1h, n1l, d1h, d1l)
    ph, pl = _dd_add(th, tl, fh, fl)
    pos = x > 0.0
    near = _near(x, _MISH_ROOT)
    rh, rl = _root_poly(_sel(near, x, _MISH_ROOT[0]), _MISH_ROOT, _MISH_Q)
    h = _sel(near, rh, _sel(pos, ph, nh))
    lo = _sel(near, rl, _sel(pos, pl, nl))
    return h, lo, _sel(pos | near, _SHIFT, t)


def mish_grad_f64(x):
    return _round_scaled(*_mish_dx(x))


def mish_backward_f64(g, x):
    return _backward(g, *_mish_dx(x), x == -np.inf)


def _softplus_z(x, beta, threshold):
    """z = beta x exactly (zh + zl; zl dropped where Dekker's product cannot be
    exact), and whether the linear branch applies: beta x > threshold, decided
    on the exact product."""
    zh, ze = _two_prod(beta, x)
    fine = (np.abs(beta) < _TWO995) & (np.abs(x) < _TWO995) & (np.abs(zh) < _BIG)
    zl = _sel(fine & (np.abs(zh) > _TWOM968), ze, 0.0)
    return zh, zl, (zh > threshold) | ((zh == threshold) & (zl > 0.0))


def softplus_f64(x, beta, threshold):
    zh, zl, linear = _softplus_z(x, beta, threshold)
    # log1p(e^-|z|): a double-double for |z| <= 40, e^-|z|'s mantissa beyond
    mh, ml, t = _exp_core(-np.abs(zh), _sel(zh < 0.0, zl, -zl))
    sa, sb = _scales(t)
    lh, ll = _log1p_core((mh * sa) * sb, (ml * sa) * sb)
    deep = np.abs(zh) > 40.0
    qh, ql = _dd_div_d(_sel(deep, mh, lh), _sel(deep, ml, ll), beta)
    # z > 0: (z + log1p(e^-z)) / beta = x + q
    sh, sl = _dd_add(x, 0.0, qh, ql)
    small = _round_scaled(qh, ql, _sel(deep, t, _SHIFT))
    # q overflows only for a subnormal beta (x + q is then q); below z = -1500,
    # log1p(e^z) / beta < 2^-2164 / 2^-1074 rounds to 0, which e^z's clamped
    # exponent would not give for a tiny beta
    total = (zh > 0.0) & (np.abs(qh) < np.inf)
    small = _sel(zh < -1500.0, _copysign(0.0, beta), small)
    return _sel(linear | (zh > 40.0), x, _sel(total, sh + sl, small))


def _softplus_dx(x, beta, threshold):
    zh, zl, linear = _softplus_z(x, beta, threshold)
    ph, pl, nh, nl, t = _sigmoid_core(zh, zl)[:5]
    pos = zh > 0.0
    h = _sel(linear, 1.0, _sel(pos, ph, nh))
    lo = _sel(linear, 0.0, _sel(pos, pl, nl))
    # the constant 0 only at an infinite x (beta x may overflow for a finite one)
    return h, lo, _sel(linear | pos, _SHIFT, t), (zh == -np.inf) & (np.abs(x) == np.inf)


def softplus_grad_f64(x, beta, threshold):
    return _round_scaled(*_softplus_dx(x, beta, threshold)[:3])


def softplus_backward_f64(g, x, beta, threshold):
    return _backward(g, *_softplus_dx(x, beta, threshold))


#: the functions of this section, which ``numba.py`` also compiles for scalars
#: (``_bits``, ``_dbl`` and ``_sel`` get scalar versions there)
SHARED = tuple(
    v
    for k, v in globals().items()
    if k not in _BEFORE_SHARED and isinstance(v, types.FunctionType) and k not in ("_hex",)
)

# -- the smooth kernels: the float64 functions above, rounded to the dtype ------

_BLOCK = 1 << 13  # elements per pass, so that the many temporaries stay in the cache


def _smooth(fn, arrays, params):
    """``fn`` (a float64 function above) on ``arrays`` (alike in shape and dtype),
    block by block, rounded once to their dtype (float16 through float32, as
    the compiled kernels round)."""
    like = arrays[-1]
    flat = [np.asarray(a, np.float64).reshape(-1) for a in arrays]
    out = np.empty(like.size)
    ps = tuple(float(p) for p in params)
    for i in range(0, like.size, _BLOCK):
        out[i : i + _BLOCK] = fn(*(f[i : i + _BLOCK] for f in flat), *ps)
    out = out.reshape(like.shape)
    if like.dtype == np.float16:
        out = out.astype(np.float32)
    out = out.astype(like.dtype, copy=False)
    np.copyto(out, like, where=np.isnan(like))  # a NaN x comes out as itself, as in C
    return out


def _smooth_kernel(kernel: str) -> Callable[..., np.ndarray]:
    """The kernel of the smooth family: its float64 function above, on arrays."""
    f64 = globals()[f"{kernel}_f64"]
    if is_backward(kernel):
        return lambda g, x, *params: _smooth(f64, (g, x), params)
    return lambda x, *params: _smooth(f64, (x,), params)


for _kernel in KERNELS:
    if activation_of(_kernel).family == "smooth":
        globals()[_kernel] = _smooth_kernel(_kernel)


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
