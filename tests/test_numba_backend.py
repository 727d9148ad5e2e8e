"""Tests of the Numba backend through its kernel API (and the public API).

The expected values come from an independent NumPy formula below, written out
by hand rather than from ``fastact._kernels``, so a wrong formula string fails
here too. Every comparison is of bit patterns.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import numpy as np
import pytest
from conftest import run_forked

pytest.importorskip("numba")

nb = pytest.importorskip("fastact._backends.numba")
from fastact._backends import _numba_half  # noqa: E402

DTYPES = [np.float16, np.float32, np.float64]
UNARY = ["relu", "leaky_relu", "relu_grad", "leaky_relu_grad"]
BINARY = ["relu_backward", "leaky_relu_backward"]
ALPHAS = [0.01, 0.1, -0.5, 0.0, 3.0]
UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def compute_type(dtype):
    return np.float32 if np.dtype(dtype) == np.float16 else np.dtype(dtype).type


def expected(name, alpha, x, g=None):
    """The formula of ``name`` in NumPy, computed as the contract says."""
    dt = x.dtype.type
    ct = compute_type(dt)
    a = ct(alpha)
    with np.errstate(all="ignore"):
        if name == "relu":
            return np.where(x < 0, dt(0.0), x)
        if name == "leaky_relu":
            return np.where(x > 0, x, (a * x.astype(ct)).astype(dt))
        if name == "relu_grad":
            return np.where(x > 0, dt(1.0), dt(0.0))
        if name == "leaky_relu_grad":
            return np.where(x > 0, dt(1.0), dt(a))
        if name == "relu_backward":
            return np.where(x > 0, g, dt(0.0))
        if name == "leaky_relu_backward":
            return np.where(x > 0, g, (a * g.astype(ct)).astype(dt))
    raise AssertionError(name)


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(UINT[a.dtype.itemsize])


def assert_bits_equal(got, want):
    assert got.shape == want.shape
    gb, wb = bits(got), bits(want)
    bad = np.flatnonzero(gb != wb)
    assert bad.size == 0, (
        f"{bad.size} elements differ, first at flat {bad[0]}: "
        f"got {hex(int(gb.flat[bad[0]]))}, want {hex(int(wb.flat[bad[0]]))}"
    )


def special_values(dtype):
    """NaNs with payloads, infinities, signed zeros, subnormals, extremes, and noise."""
    dt = np.dtype(dtype)
    fi = np.finfo(dt)
    u = UINT[dt.itemsize]
    vals = np.array(
        [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, -np.nan, fi.max, -fi.max, fi.tiny,
         -fi.tiny, fi.smallest_subnormal, -fi.smallest_subnormal, fi.eps, 0.5, -2.0],
        dtype=dt,
    )  # fmt: skip
    mant = fi.nmant
    exp_all = ((1 << (dt.itemsize * 8 - 1)) - 1) ^ ((1 << mant) - 1)
    sign = 1 << (dt.itemsize * 8 - 1)
    payloads = np.array(
        [exp_all | 1, exp_all | (1 << (mant - 1)) | 5, sign | exp_all | 3, exp_all | 0x2A],
        dtype=u,
    ).view(dt)
    rng = np.random.default_rng(12345)
    noise = (rng.standard_normal(997) * 3).astype(dt)
    subn = (rng.uniform(-1, 1, 64) * float(fi.tiny)).astype(dt)
    return np.concatenate([vals, payloads, noise, subn])


def layouts(dtype):
    """(description, make(base) -> array) for many shapes and strides."""
    v = special_values(dtype)
    n = v.size  # 1082 = 2 * 541

    def strided_1d():
        return np.repeat(v, 3)[::3]

    return [
        ("1d", v.copy()),
        ("1d-neg", v[::-1]),
        ("1d-step", strided_1d()),
        ("2d-C", v.reshape(2, n // 2).copy()),
        ("2d-F", np.asfortranarray(v.reshape(2, n // 2))),
        ("2d-T", v.reshape(n // 2, 2).T),
        ("2d-slice", np.tile(v.reshape(2, n // 2), (2, 3))[1:4:2, 5 : 5 + n // 2]),
        ("2d-negneg", v.reshape(2, n // 2)[::-1, ::-1]),
        ("1xn", v.reshape(1, n)),
        ("nx1", v.reshape(n, 1)),
        ("1xn-strided", strided_1d().reshape(1, n)),
        ("nx1-strided", strided_1d().reshape(n, 1)),
    ]


def run_kernel(name, parallel, alpha, x, g=None, out=None, nthreads=2):
    k = nb.get_kernel(name, parallel)
    if out is None:
        out = np.empty_like(x)
    if g is None:
        k(x, out, alpha, nthreads)
    else:
        k(g, x, out, alpha, nthreads)
    return out


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", UNARY + BINARY)
def test_bit_exact_all_layouts(name, dtype, parallel):
    for desc, x in layouts(dtype):
        g = None
        if name in BINARY:
            g = (np.random.default_rng(7).standard_normal(x.shape) * 5).astype(dtype)
            g.flat[:17] = special_values(dtype)[:17]
        for alpha in ALPHAS:
            want = expected(name, alpha, x, g)
            got = run_kernel(name, parallel, alpha, x, g)
            try:
                assert_bits_equal(got, want)
            except AssertionError as exc:
                raise AssertionError(f"{name} {desc} alpha={alpha}: {exc}") from None


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", UNARY + BINARY)
def test_in_place_and_odd_outputs(name, dtype, parallel):
    x = special_values(dtype).reshape(2, -1)
    g = (np.random.default_rng(3).standard_normal(x.shape) * 5).astype(dtype)
    gg = g if name in BINARY else None
    want = expected(name, 0.1, x, gg)
    # in place into x
    xi = x.copy()
    assert_bits_equal(run_kernel(name, parallel, 0.1, xi, gg, out=xi), want)
    if name in BINARY:
        # in place into g
        gi = g.copy()
        assert_bits_equal(run_kernel(name, parallel, 0.1, x, gi, out=gi), want)
    # an F-ordered out for a C-ordered x, and a negatively strided out
    out = np.empty(x.shape, dtype, order="F")
    assert_bits_equal(run_kernel(name, parallel, 0.1, x, gg, out=out), want)
    out = np.empty(x.shape, dtype)[::-1, ::-1]
    assert_bits_equal(run_kernel(name, parallel, 0.1, x, gg, out=out), want)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_zero_stride_inputs(dtype):
    x = np.broadcast_to(np.array([-3.0, 2.0], dtype=dtype), (300, 2))
    g = np.broadcast_to(np.array(1.5, dtype=dtype), (300, 2))
    for parallel in (False, True):
        got = run_kernel("leaky_relu_backward", parallel, 0.1, x, g)
        assert_bits_equal(got, expected("leaky_relu_backward", 0.1, x, g))
        got = run_kernel("leaky_relu", parallel, 0.1, x)
        assert_bits_equal(got, expected("leaky_relu", 0.1, x))


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
def test_empty_and_one_element(parallel):
    for shape in [(0,), (0, 3), (3, 0), (1,), (1, 1)]:
        x = np.full(shape, -2.0, np.float32)
        got = run_kernel("leaky_relu", parallel, 0.5, x)
        assert_bits_equal(got, expected("leaky_relu", 0.5, x))


def test_half_to_float_exhaustive():
    from numba import njit

    @njit
    def convert(h, out):
        for i in range(h.shape[0]):
            out[i] = _numba_half.half_to_float(h[i])

    h = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    out = np.empty(h.size, np.float32)
    convert(h, out)
    assert_bits_equal(out, h.view(np.float16).astype(np.float32))


def test_float_to_half_rounding():
    from numba import njit

    @njit
    def convert(f, out):
        for i in range(f.shape[0]):
            out[i] = _numba_half.float_to_half(f[i])

    # Every half, the float32 midpoints between neighbours (ties), one ulp
    # either side of them and of every half, all NaN and infinity patterns
    # near the top, the subnormal range densely, and random bit patterns.
    halves = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    finite = np.sort(halves[np.isfinite(halves)].astype(np.float32))
    mids = ((finite[:-1].astype(np.float64) + finite[1:]) / 2).astype(np.float32)
    near = np.concatenate([finite, mids])
    near = np.concatenate(
        [near, np.nextafter(near, np.float32(np.inf)), np.nextafter(near, np.float32(-np.inf))]
    )
    rng = np.random.default_rng(0)
    extra = np.concatenate(
        [
            np.arange(0x7F7F0000, 0x7FC10000, 7, dtype=np.uint32),
            np.arange(0x33000000 - 4, 0x38800004, 3, dtype=np.uint32),
            rng.integers(0, 1 << 32, 1 << 22, dtype=np.uint64).astype(np.uint32),
        ]
    )
    extra = np.concatenate([extra, extra | np.uint32(0x80000000)]).view(np.float32)
    f = np.concatenate([near, extra])
    out = np.empty(f.size, np.uint16)
    convert(f, out)
    with np.errstate(all="ignore"):
        want = f.astype(np.float16).view(np.uint16)
    assert_bits_equal(out, want)


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("name", UNARY + BINARY)
def test_float16_exhaustive(name, parallel):
    x = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    g = np.roll(x, 12345) if name in BINARY else None
    for alpha in (0.01, -0.3, 1e-7, 70000.0):
        assert_bits_equal(run_kernel(name, parallel, alpha, x, g), expected(name, alpha, x, g))
        # the same patterns on the strided path
        xs, gs = x.reshape(256, 256).T, (g.reshape(256, 256).T if g is not None else None)
        assert_bits_equal(run_kernel(name, parallel, alpha, xs, gs), expected(name, alpha, xs, gs))


def test_alpha_rounding_per_dtype():
    # 0.1 is not a float32: float32 kernels must use float32(0.1), float64 the double.
    x = np.array([-1.0, -3.0, -7.0], np.float64)
    got64 = run_kernel("leaky_relu", False, 0.1, x)
    assert_bits_equal(got64, 0.1 * x)
    got32 = run_kernel("leaky_relu", False, 0.1, x.astype(np.float32))
    assert_bits_equal(got32, np.float32(0.1) * x.astype(np.float32))


def test_num_threads_restored():
    import numba

    numba.set_num_threads(1)
    try:
        x = np.random.default_rng(0).standard_normal(10_000).astype(np.float32)
        run_kernel("leaky_relu", True, 0.1, x, nthreads=2)
        assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    # more threads than Numba launched is clamped, not an error
    run_kernel("leaky_relu", True, 0.1, x, nthreads=64)


def test_parallel_splits_every_shape_evenly():
    # The parallel strided loop splits the flat range, so each of the two
    # chunks covers half the elements whatever the shape; check the seams.
    for shape in [(1, 1001), (1001, 1), (3, 7), (7, 3), (2, 2), (1, 2)]:
        x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) - 5
        xs = np.asfortranarray(x)[::-1]
        got = run_kernel("leaky_relu", True, 0.5, xs)
        assert_bits_equal(got, expected("leaky_relu", 0.5, xs))


def test_warmup_and_is_compiled():
    nb.warmup(names=["relu_grad"], dtypes=[np.float64])
    assert nb.is_compiled("relu_grad", np.float64)
    assert nb.is_compiled("relu_grad", "float64", parallel=True, layout="strided")
    with pytest.raises(TypeError):
        nb.is_compiled("relu_grad", np.int32)
    info = nb.info()
    assert info["numba"] and "threading layer" in info


def test_runtime_flags_are_honest():
    import numba

    run_kernel("relu", True, 0.0, np.ones(1000))
    layer = numba.threading_layer()
    assert nb.threading_layer() == layer
    if layer == "workqueue":
        assert nb.PARALLEL_THREADSAFE is False
    else:
        assert nb.PARALLEL_THREADSAFE is True


def _hammer(call, nthreads=8, seconds=3.0):
    """Run ``call(i)`` from ``nthreads`` threads for a while; collect errors."""
    errors = []
    stop = time.monotonic() + seconds

    def worker(i):
        try:
            while time.monotonic() < stop:
                call(i)
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def test_concurrent_parallel_kernels_guarded():
    # The dispatcher's rule: a runtime that is not thread-safe never runs two
    # parallel kernels at once; a call that finds it busy runs serially.
    lock = threading.Lock()
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal(200_000).astype(np.float32) for _ in range(8)]
    wants = [expected("leaky_relu_backward", 0.1, x, x) for x in xs]
    serial = nb.get_kernel("leaky_relu_backward", False)
    par = nb.get_kernel("leaky_relu_backward", True)
    nb.warmup(names=["leaky_relu_backward"], dtypes=[np.float32])

    def call(i):
        out = np.empty_like(xs[i])
        if nb.PARALLEL_THREADSAFE:
            par(xs[i], xs[i], out, 0.1, 2)
        elif lock.acquire(blocking=False):
            try:
                par(xs[i], xs[i], out, 0.1, 2)
            finally:
                lock.release()
        else:
            serial(xs[i], xs[i], out, 0.1, 1)
        assert_bits_equal(out, wants[i])

    _hammer(call)


def test_concurrent_public_api():
    fa = pytest.importorskip("fastact")
    if not hasattr(fa, "leaky_relu"):
        pytest.skip("public API not there yet")
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal(300_000).astype(np.float32) for _ in range(8)]
    wants = [expected("leaky_relu", 0.2, x) for x in xs]

    def call(i):
        assert_bits_equal(fa.leaky_relu(xs[i], 0.2, backend="numba"), wants[i])

    _hammer(call)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_after_parallel_kernel():
    x = np.random.default_rng(4).standard_normal(500_000).astype(np.float32)
    want = expected("leaky_relu", 0.1, x)
    assert_bits_equal(run_kernel("leaky_relu", True, 0.1, x), want)  # parent ran parallel

    def child():
        got = run_kernel("leaky_relu", True, 0.1, x)
        ok = np.array_equal(bits(got), bits(want))
        try:
            import fastact as fa

            if hasattr(fa, "leaky_relu"):
                ok = ok and np.array_equal(bits(fa.leaky_relu(x, 0.1, backend="numba")), bits(want))
        except ImportError:
            pass
        return ok

    run_forked(child)


def _subprocess(code, env_extra, timeout=300):
    env = dict(os.environ)
    env.update(env_extra)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


CHECK = """
    import warnings
    import numpy as np
    from fastact._backends import numba as nb
    x = np.array([-2.0, 0.0, 3.0], np.float32)
    out = np.empty_like(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nb.get_kernel("leaky_relu", False)(x, out, 0.5, 1)
    assert out.tolist() == [-1.0, 0.0, 3.0], out
    print("OK", len(caught))
"""


def test_unwritable_cache_dir_still_works():
    with tempfile.TemporaryDirectory() as tmp:
        # A path under a regular file can never be created, even by root, so
        # the user-provided cache locator fails; restricting Numba to that
        # locator leaves no cache location at all.
        blocker = os.path.join(tmp, "file")
        open(blocker, "w").close()
        env = {
            "NUMBA_CACHE_DIR": os.path.join(blocker, "cache"),
            "NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator",
        }
        res = _subprocess(CHECK, env)
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith("OK"), res.stdout
        if os.geteuid() != 0:
            # A real read-only directory (root would ignore the mode bits).
            ro = os.path.join(tmp, "ro")
            os.mkdir(ro, 0o555)
            res = _subprocess(CHECK, {"NUMBA_CACHE_DIR": ro, **env})
            assert res.returncode == 0, res.stderr


def test_import_fastact_does_not_import_numba():
    res = _subprocess("import sys, fastact; print('numba' in sys.modules)", {})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("name", ["leaky_relu", "leaky_relu_backward"])
def test_in_place_runs_the_loop_without_an_overlap_check(name, parallel):
    """In place, the aliased operand is read through ``out``: LLVM's overlap guard
    would otherwise send the loop to its scalar version (4x slower, measured)."""
    for target in ("g", "x") if name in BINARY else ("x",):
        impl = nb._IMPLS[(name, parallel)]["f"]
        impl.entries.pop(f"contig_{target}", None)
        arrays = {
            "x": np.random.default_rng(1).standard_normal((300, 700)).astype(np.float32),
            "g": np.random.default_rng(2).standard_normal((300, 700)).astype(np.float32),
        }
        want = expected(name, 0.2, arrays["x"], arrays["g"] if name in BINARY else None)
        operands = [arrays[op] for op in (("g", "x") if name in BINARY else ("x",))]
        out = arrays[target]
        nb.get_kernel(name, parallel)(*operands, out, 0.2, 2)
        assert_bits_equal(out, want)
        assert f"contig_{target}" in impl.entries, sorted(impl.entries)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_after_another_backends_parallel_kernel():
    """Cython's OpenMP and Numba's omp layer are one libgomp: the guard is shared."""
    cy = pytest.importorskip("fastact._backends.cython", reason="Cython backend not built")
    x = np.random.default_rng(5).standard_normal(500_000).astype(np.float32)
    want = expected("leaky_relu", 0.1, x)
    out = np.empty_like(x)
    cy.get_kernel("leaky_relu", True)(x, out, 0.1, 2)  # the parent starts libgomp via Cython
    from fastact import _dispatch

    _dispatch.parallel_started()  # as the dispatcher and the registry record it

    def child():
        return np.array_equal(bits(run_kernel("leaky_relu", True, 0.1, x)), bits(want))

    run_forked(child)
