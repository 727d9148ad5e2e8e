"""What each backend adds to the contract: float16 bit patterns, conversions, ufuncs, Numba."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from conftest import require
from oracle import PARAM_SETS, expected, mismatch

import fastact as fa
from fastact._table import KERNELS, activation_of, is_backward

EVERY_HALF = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)


@pytest.mark.parametrize("name", KERNELS)
def test_float16_exhaustive(name: str, backend: str) -> None:
    """Every float16 bit pattern, NaN payloads and signalling NaNs included.

    The smooth kernels compute float16 in float32 and round once more: the
    float32 result is within 1.5 float32 ulps of the true value (2^-13 of a
    float16 ulp), so the float16 one is within 1 float16 ulp of the correctly
    rounded value, the bound the oracle allows them.
    """
    g = np.roll(EVERY_HALF, 12345) if is_backward(name) else None
    for params in PARAM_SETS[activation_of(name).name]:
        args = (g, EVERY_HALF) if g is not None else (EVERY_HALF,)
        got = getattr(fa, name)(*args, *params, backend=backend)
        problem = mismatch(got, *expected(name, EVERY_HALF, g, params))
        assert problem is None, f"{name} {params}: {problem}"


def test_cython_half_conversions_exhaustive_and_sampled() -> None:
    require("cython")
    from fastact._backends import _cy

    f = np.empty(1 << 16, np.float32)
    _cy._half_to_float(EVERY_HALF.view(np.uint16), f)
    assert np.array_equal(f.view(np.uint32), EVERY_HALF.astype(np.float32).view(np.uint32))
    # every float32 whose exponent is near the half range, with sampled mantissas
    rng = np.random.default_rng(2)
    exps = np.arange(100, 160, dtype=np.uint32) << 23
    mant = np.concatenate(
        [
            rng.integers(0, 1 << 23, 20000, dtype=np.uint32),
            np.arange(0, 1 << 23, 1 << 12, dtype=np.uint32),
            np.arange(0x1000 - 2, 0x1000 + 3, dtype=np.uint32) % (1 << 23),
        ]
    )
    src = (exps[:, None] | mant[None, :]).ravel()
    src = np.concatenate(
        [src, src | np.uint32(1 << 31), np.arange(0x7F800000, 0x7F801000, dtype=np.uint32)]
    ).view(np.float32)
    dst = np.empty(src.size, np.uint16)
    _cy._float_to_half(src, dst)
    with np.errstate(all="ignore"):
        assert np.array_equal(dst, src.astype(np.float16).view(np.uint16))


def test_numba_half_conversions_exhaustive() -> None:
    require("numba")
    from numba import njit

    from fastact._backends import _numba_half

    @njit
    def round_trip(h, f, back):
        for i in range(h.shape[0]):
            f[i] = _numba_half.half_to_float(h[i])
            back[i] = _numba_half.float_to_half(f[i])

    h = EVERY_HALF.view(np.uint16)
    f, back = np.empty(h.size, np.float32), np.empty(h.size, np.uint16)
    round_trip(h, f, back)
    assert np.array_equal(f.view(np.uint32), EVERY_HALF.astype(np.float32).view(np.uint32))
    assert np.array_equal(back, h)


def test_ufuncs_are_numpy_ufuncs_with_broadcast_parameters() -> None:
    require("cython")
    from fastact import ufunc

    assert set(ufunc.__all__) == set(KERNELS)
    for name in KERNELS:
        u = getattr(ufunc, name)
        assert isinstance(u, np.ufunc) and u.__name__ == name
        nparams = len(activation_of(name).params)
        assert u.nin == (2 if is_backward(name) else 1) + nparams and u.nout == 1
        assert pickle.loads(pickle.dumps(u)) is u
    x = np.array([-2.0, -0.5, 3.0], np.float32)
    alphas = np.array([[0.1], [0.5]], np.float32)
    got = ufunc.leaky_relu(x, alphas)
    assert got.shape == (2, 3) and got.dtype == np.float32
    want = np.where(x > 0, x, alphas * x)
    assert np.array_equal(got, want)
    # float16 computes with the parameter in float32, rounded once
    h = np.array([-3.0], np.float16)
    assert (
        ufunc.leaky_relu(h, 0.1).tobytes() == np.float16(np.float32(0.1) * np.float32(-3)).tobytes()
    )
    out = np.full(3, 9.0, np.float32)
    ufunc.relu(x, out=out, where=np.array([True, False, True]))
    assert out.tolist() == [0.0, 9.0, 3.0]


def test_ufuncs_serve_long_runs_in_parallel_and_odd_layouts_bit_exact() -> None:
    require("cython")
    from fastact import ufunc

    x = np.random.default_rng(0).standard_normal(300_001).astype(np.float32)
    for view in (x, x[::3], x[:300_000].reshape(600, 500).T):
        want, _ = expected("leaky_relu", view, params=(0.25,))
        assert ufunc.leaky_relu(view, 0.25).tobytes() == np.ascontiguousarray(want).tobytes()


def test_import_fastact_does_not_import_numba() -> None:
    code = "import sys, fastact; print('numba' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]


def test_numba_restores_the_callers_thread_count() -> None:
    require("numba")
    import numba

    numba.set_num_threads(1)
    try:
        x = np.random.default_rng(0).standard_normal(200_000).astype(np.float32)
        fa.relu(x, backend="numba")
        assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def test_numba_warmup_compiles_everything() -> None:
    require("numba")
    from fastact._backends import numba as nb

    fa.warmup("numba")
    assert all(nb.is_compiled(k, d) for k in KERNELS for d in (np.float16, np.float32, np.float64))
    assert nb.info()["compiled kernels"].startswith(f"{3 * len(KERNELS)}/")
