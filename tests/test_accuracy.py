"""The smooth family's accuracy: within 1 ulp (float32) and 2 ulp (float64) of the truth.

- float32: every 4099th bit pattern (1,047,809 inputs, NaNs, infinities and
  subnormals included) against the oracle's true values (Numba and NumPy on
  every 4th of them), at the default parameters;
- float64: a few thousand inputs per kernel with every edge (signed zeros,
  infinities, NaN, subnormals, the branch points and the switches between
  formulas, the overflow and underflow points, the roots of the derivatives,
  each with its neighbours) against mpmath at 50 digits, on every backend,
  with ``grad_out`` from tiny to huge for the backward passes;
- the backends give the same float64 bits (they run the same operations).

float16 is checked exhaustively by ``test_backends.py::test_float16_exhaustive``
(within 1 float16 ulp: float32 within 1 ulp, rounded once more). All 2^32
float32 inputs: ``tests/accuracy/check_f32.py``.

``python tests/test_accuracy.py`` prints the largest errors measured, kernel
by kernel and backend by backend.
"""

from __future__ import annotations

import math
import sys
import zlib
from functools import cache

import mpmath as mp
import numpy as np
import pytest
from conftest import REQUIRED, require
from oracle import PARAM_SETS, SMOOTH, _ordinal, expected, mismatch

import fastact as fa
from fastact import _backends

KERNELS = [f"{n}{part}" for n in SMOOTH for part in ("", "_grad", "_backward")]
BACKENDS = ("cython", "numba", "numpy")
SELU_SCALE = float.fromhex("0x1.0cfabd6a91132p+0")
SELU_ALPHA = float.fromhex("0x1.ac5afad782cf1p+0")


def _base(kernel: str) -> str:
    return kernel.removesuffix("_backward").removesuffix("_grad")


def _call(kernel: str, x, g, params, backend: str):
    args = (g, x) if kernel.endswith("_backward") else (x,)
    with np.errstate(all="ignore"):
        return getattr(fa, kernel)(*args, *params, backend=backend)


def _runnable() -> list[str]:
    return [b for b in BACKENDS if _backends.status(b) is None]


def _backends_here() -> list[str]:
    """The backends to check: those that run here (and those CI requires)."""
    return [require(b) for b in BACKENDS if _backends.status(b) is None or b in REQUIRED]


# -- float32: a stride through every bit pattern, against the oracle -----------


@cache
def _float32_inputs() -> tuple[np.ndarray, np.ndarray]:
    bits = np.arange(0, 1 << 32, 4099, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    # grad_out: other patterns of the same stride, tamed to [-4, 4] (and the
    # special values where x has them, so that they meet every branch)
    g = np.roll(bits, 7919).view(np.float32)
    with np.errstate(all="ignore"):
        g = np.where(np.isfinite(g), np.sign(g) * np.exp2(np.fmod(np.abs(g), 5.0) - 3.0), g)
        return x, g.astype(np.float32)


def _float32_params(name: str) -> list[tuple]:
    """The defaults (the float64 test covers the other parameter sets), both gelus."""
    return PARAM_SETS[name][: 2 if name == "gelu" else 1]


@pytest.mark.parametrize("kernel", KERNELS)
def test_float32_strided_within_1_ulp(kernel: str) -> None:
    x, g = _float32_inputs()
    g = g if kernel.endswith("_backward") else None
    for params in _float32_params(_base(kernel)):
        want, ulps = expected(kernel, x, g, params)
        for backend in _backends_here():
            # the scalar backends on every 4th of those inputs (a stride of 16396)
            step = 1 if backend == "cython" else 4
            xs, gs = x[::step], None if g is None else g[::step]
            problem = mismatch(_call(kernel, xs, gs, params, backend), want[::step], ulps[::step])
            assert problem is None, f"{kernel}{params} float32 {backend}: {problem}"


# -- float64: sampled, with every edge, against mpmath --------------------------


#: a value far below float64's range, for the tails that mpmath need not compute
_TINY = mp.mpf(2) ** -100000


def _sigmoid(z):
    return 1 / (1 + mp.exp(-z)) if z >= 0 else mp.exp(z) / (1 + mp.exp(z))


def _true(name: str, grad: bool, x: float, params) -> mp.mpf:
    """f(x) or f'(x) by mpmath (x finite)."""
    X = mp.mpf(x)
    pos = X > 0
    if name in ("elu", "celu", "selu"):
        a = mp.mpf(SELU_ALPHA if name == "selu" else params[0])
        s = mp.mpf(SELU_SCALE if name == "selu" else 1)
        if pos:
            return s if grad else s * X
        z = X / a if name == "celu" else X
        if name == "celu" and z > 12000:  # far past float64, yet finite
            return mp.mpf(2) ** 20000 if grad else -(mp.mpf(2) ** 20000)
        if grad:
            return s * (1 if name == "celu" else a) * mp.exp(z)
        return s * a * mp.expm1(z)
    if name == "sigmoid":
        return _sigmoid(X) * _sigmoid(-X) if grad else _sigmoid(X)
    if name == "tanh":
        return 1 / mp.cosh(X) ** 2 if grad else mp.tanh(X)
    if name in ("silu", "gelu"):
        if name == "silu":
            s, w = _sigmoid(X), X
            z = X
        elif params[0] == "none":
            if abs(X) > 1e4:  # Phi is 0 or 1 far beyond float64 there (signed tiny)
                return (mp.mpf(1) if grad else X) if pos else _TINY * (-1 if grad else X)
            return mp.ncdf(X) + X * mp.npdf(X) if grad else X * mp.ncdf(X)
        else:
            c, k = mp.sqrt(2 / mp.pi), mp.mpf("0.044715")
            if abs(X) > 1e4:
                return (mp.mpf(1) if grad else X) if pos else _TINY * (-1 if grad else X)
            z = 2 * c * (X + k * X**3)
            s, w = _sigmoid(z), 2 * c * X * (1 + 3 * k * X**2)
        return s * (1 + w * _sigmoid(-z)) if grad else X * s
    if name == "mish":
        sp = mp.log1p(mp.exp(X)) if X < 0 else X + mp.log1p(mp.exp(-X))
        t = mp.tanh(sp)
        return t + X * (1 - t * t) * _sigmoid(X) if grad else X * t
    if name == "softplus":
        beta, threshold = mp.mpf(params[0]), mp.mpf(params[1])
        z = beta * X
        if z > threshold:
            return mp.mpf(1) if grad else X
        if grad:
            return _sigmoid(z)
        sp = mp.log1p(mp.exp(z)) if z < 0 else z + mp.log1p(mp.exp(-z))
        return sp / beta
    raise KeyError(name)


#: f(+-inf) and f'(+-inf): the limits (as floats)
def _limit(name: str, grad: bool, sign: int, params) -> float:
    if sign > 0:
        if name == "selu":
            return SELU_SCALE if grad else math.inf
        if name in ("sigmoid", "tanh"):
            return 0.0 if grad else 1.0
        return 1.0 if grad else math.inf
    if name in ("elu", "celu"):
        a = params[0]
        if name == "celu" and a < 0:
            return math.inf if grad else -math.inf
        return 0.0 * a if grad else -a
    if name == "selu":
        return 0.0 if grad else -SELU_SCALE * SELU_ALPHA
    if name == "sigmoid":
        return 0.0
    if name == "tanh":
        return 0.0 if grad else -1.0
    return -0.0  # gelu, silu, mish: 0 approached from below


def _round(v: mp.mpf) -> float:
    """The float64 nearest to v (mpmath's own rounding, to nearest even)."""
    if v == 0:
        return 0.0
    with mp.workprec(53):
        r = +v
    m, e = mp.frexp(r)
    if e > 1024:
        return math.copysign(math.inf, float(m))
    if e < -1021:  # subnormal: round to a multiple of 2^-1074
        return float(mp.nint(mp.ldexp(v, 1074))) * 2.0**-1074
    return float(r)


def true_float64(kernel: str, x: float, g: float | None, params) -> float:
    """The correctly rounded float64 value of a smooth kernel (mpmath, 50 digits)."""
    name, backward = _base(kernel), kernel.endswith("_backward")
    grad = kernel != name
    if math.isnan(x):
        return math.nan
    if name == "softplus" and math.isinf(x):
        z = params[0] * x
        value: float | mp.mpf = (
            (1.0 if grad else x) if z > params[1] else (0.0 if grad else 0.0 * params[0])
        )
    elif math.isinf(x):
        value = _limit(name, grad, 1 if x > 0 else -1, params)
    else:
        with mp.workdps(50):
            value = _true(name, grad, x, params)
            if value == 0 and x == 0:  # f(+-0) = +-0 f'(0) (mpmath has no -0)
                value = math.copysign(0.0, x * float(_true(name, True, x, params)))
    if backward:
        if value == 0 and math.isinf(x):
            return 0.0  # the derivative is the constant 0 there: grad_out does not matter
        if math.isnan(g):
            return math.nan
        if g == 0 and not math.isinf(value):  # +-0 f'(x), the sign of the product
            return math.copysign(0.0, math.copysign(1.0, g) * float(mp.sign(value)))
        if math.isinf(g):
            return math.nan if value == 0 else math.copysign(math.inf, g * float(mp.sign(value)))
        with mp.workdps(50):
            value = mp.mpf(g) * value
    if isinstance(value, float):
        return value
    r = _round(value)
    if r == 0:  # an underflow keeps the sign of the true value
        return math.copysign(0.0, float(mp.sign(value)) or (-1.0 if x < 0 else 1.0))
    return r


def _edges(kernel: str, params) -> list[float]:
    """The inputs where something happens for this kernel, each with neighbours."""
    name = _base(kernel)
    points = [0.0, 5e-324, 2.2250738585072014e-308, 1e-300, 1e-200, 2.0**-60, 2.0**-28, 1e-8,
              0.5, 1.0, 2.0, 20.0, 37.5, 40.0, 50.0, 708.0, 709.78, 745.13, 800.0, 1500.0,
              3000.0, 1e5, 1e300, 1.7976931348623157e308]  # fmt: skip
    points += {
        "gelu": [0.46875 * math.sqrt(2), 0.7517915246935645, 0.7524614220710163, 38.5, 60.0],
        "silu": [1.2784645427610738, 0.15 + 1.2784645427610738, 1.1284645427610738],
        "mish": [1.1924312145154952, 1.3424312145154952, 1.0424312145154952],
        "tanh": [0.625, 19.06],
        "softplus": [
            params[1] / params[0] if name == "softplus" else 0.0,
            40.0 / abs(params[0]) if name == "softplus" else 0.0,
        ],
    }.get(name, [])
    out = []
    for p in points:
        for s in (p, -p):
            with np.errstate(over="ignore"):  # the largest double's neighbour is inf
                out += [s, np.nextafter(s, math.inf), np.nextafter(s, -math.inf)]
                out.append(np.nextafter(out[-2], math.inf))
    return [float(v) for v in out] + [math.inf, -math.inf, math.nan, -0.0]


@cache
def _float64_case(kernel: str, params: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs, grad_out and the true values for a kernel (mpmath: computed once)."""
    rng = np.random.default_rng(zlib.crc32(repr((kernel, params)).encode()))  # the same every run
    n = 600
    x = np.concatenate(
        [
            np.array(_edges(kernel, params)),
            rng.uniform(-3, 3, n),
            rng.uniform(-40, 40, n // 2),
            np.exp(rng.uniform(-745, 709, n // 2)) * rng.choice([-1, 1], n // 2),
            rng.uniform(-1600, 10, n // 6),
        ]
    )
    g = np.exp(rng.uniform(-700, 700, x.size)) * rng.choice([-1, 1], x.size)
    g[: x.size // 2] = rng.standard_normal(x.size // 2)
    specials = [0.0, -0.0, math.inf, -math.inf, math.nan, 1.7976931348623157e308, 5e-324]
    g[rng.choice(x.size, 12, replace=False)] = [*specials, -1e-310, 2.0, -2.0, 1e300, -1e-300]
    backward = kernel.endswith("_backward")
    gs = [float(v) if backward else None for v in g]
    want = np.array(
        [true_float64(kernel, float(v), gv, params) for v, gv in zip(x, gs, strict=True)]
    )
    return x, g, want


def _worst(got: np.ndarray, want: np.ndarray) -> tuple[int, np.ndarray]:
    """The largest distance in ulps, and where a result is off (NaN, or a zero's sign)."""
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    dist = np.where(nan_g | nan_w, 0, np.abs(_ordinal(got) - _ordinal(want)))
    bad = (nan_g != nan_w) | ((got == 0) & (want == 0) & (np.signbit(got) != np.signbit(want)))
    return int(dist.max()), bad


def _float64_params(name: str) -> list[tuple]:
    sets = PARAM_SETS[name]
    return sets if name in ("gelu", "softplus") else sets[:2]


@pytest.mark.parametrize("kernel", KERNELS)
def test_float64_sampled_within_2_ulp_of_mpmath(kernel: str) -> None:
    for params in _float64_params(_base(kernel)):
        x, g, want = _float64_case(kernel, params)
        results = {}
        for backend in _backends_here():
            got = results[backend] = _call(kernel, x, g, params, backend)
            worst, bad = _worst(got, want)
            i = int(
                np.argmax(
                    np.abs(_ordinal(got) - _ordinal(want)) * ~(np.isnan(got) | np.isnan(want))
                )
            )
            assert worst <= 2, (
                f"{kernel}{params} float64 {backend}: {worst} ulp at x={x[i]!r}"
                f" g={g[i]!r}: got {got[i]!r}, want {want[i]!r}"
            )
            j = np.flatnonzero(bad)
            assert not bad.any(), f"{kernel}{params} {backend}: x={x[j[0]]!r} got {got[j[0]]!r}"
        # the same operations in the same order on every backend: the same bits
        first, ref = next(iter(results.items()))
        for backend, got in results.items():
            same = (got.view(np.uint64) == ref.view(np.uint64)) | (np.isnan(got) & np.isnan(ref))
            assert same.all(), f"{kernel}{params}: {backend} and {first} differ at {x[~same][:3]}"


#: parameters at the ends of the float64 range, where a product with the
#: parameter leaves the normal range before the result does
EXTREME_PARAMS = {
    "elu": [(5e-324,), (-1e-310,), (1e300,)],
    "celu": [(5e-324,), (-1e-310,), (1e300,)],
    "softplus": [(5e-324, 20.0), (-1e-310, 20.0), (1e300, 20.0)],
}


@pytest.mark.parametrize("kernel", [k for k in KERNELS if _base(k) in EXTREME_PARAMS], ids=str)
def test_float64_extreme_parameters(kernel: str) -> None:
    """Within 2 ulp of mpmath and the same bits on every backend (hypothesis
    found elu_backward(59, 0, alpha=5e-324) 3 ulp off: e^x alpha was rounded
    in the subnormal range before grad_out scaled it)."""
    rng = np.random.default_rng(7)
    x = np.concatenate([[0.0, -0.0, -0.5, 0.5, -3.0, 3.0, -700.0, 1e-300, -1e300],
                        rng.uniform(-40, 40, 24)])  # fmt: skip
    g = np.concatenate([[59.0, 1e300, -1e-300], rng.standard_normal(x.size - 3)])
    backward = kernel.endswith("_backward")
    for params in EXTREME_PARAMS[_base(kernel)]:
        want = np.array(
            [true_float64(kernel, float(v), float(gv) if backward else None, params)
             for v, gv in zip(x, g, strict=True)]
        )  # fmt: skip
        results = {b: _call(kernel, x, g, params, b) for b in _backends_here()}
        for backend, got in results.items():
            worst, bad = _worst(got, want)
            assert worst <= 2 and not bad.any(), (kernel, params, backend, worst, got, want)
        first = next(iter(results.values()))
        for backend, got in results.items():
            same = (got.view(np.uint64) == first.view(np.uint64)) | (
                np.isnan(got) & np.isnan(first)
            )
            assert same.all(), (kernel, params, backend, x[~same])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("kernel", KERNELS)
def test_a_nan_x_comes_out_as_itself(kernel: str, dtype) -> None:
    """Sign and payload kept, on every backend, contiguous or strided (the
    arithmetic's NaN would depend on the vector width)."""
    bits = {np.float16: [0x7E01, 0xFE01, 0x7E00, 0xFC01 | 0x200],
            np.float32: [0x7FC00001, 0xFFC00001, 0x7FC00000, 0xFFFFFFFF],
            np.float64: [0x7FF8000000000001, 0xFFF8000000000001, 0x7FF8000000000000,
                         0xFFFFFFFFFFFFFFFF]}[dtype]  # fmt: skip
    itype = f"u{np.dtype(dtype).itemsize}"
    nans = np.array(bits, itype).view(dtype)
    x = np.tile(np.concatenate([nans, np.array([-1.5, 0.5], dtype)]), 40)  # past a vector's width
    g = np.full(x.shape, 3.0, dtype)
    params = PARAM_SETS[_base(kernel)][0]
    for backend in _backends_here():
        for xs, gs in ((x, g), (x[::3], g[::3])):
            got = _call(kernel, xs, gs if kernel.endswith("_backward") else None, params, backend)
            where = np.isnan(xs)
            assert (got.view(itype)[where] == xs.view(itype)[where]).all(), (backend, xs.strides)


def _report() -> None:
    """Print the largest float32 and float64 errors measured, kernel by backend."""
    x32, g32 = _float32_inputs()
    for kernel in KERNELS:
        line = [f"{kernel:18s}"]
        for backend in _runnable():
            worst32 = worst64 = 0
            for params in _float32_params(_base(kernel)):
                g = g32 if kernel.endswith("_backward") else None
                want, _ = expected(kernel, x32, g, params)
                worst32 = max(worst32, _worst(_call(kernel, x32, g, params, backend), want)[0])
            for params in _float64_params(_base(kernel)):
                x, g, want = _float64_case(kernel, params)
                worst64 = max(worst64, _worst(_call(kernel, x, g, params, backend), want)[0])
            line.append(f"{backend}: f32 {worst32} f64 {worst64}")
        print("  ".join(line), flush=True)


if __name__ == "__main__":
    sys.exit(_report())
