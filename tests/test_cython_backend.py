"""Tests of the Cython backend's compiled kernels, called directly.

The expected values come from an evaluation of the formulas written out here
with NumPy, independent of ``fastact._kernels`` and of the extension; results
are compared bit for bit (NaN payloads and signed zeros included).
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np
import pytest
from conftest import run_forked

from fastact._kernels import KERNELS

cy = pytest.importorskip("fastact._backends.cython", reason="Cython backend not built")
_cy = cy._cy

DTYPES = (np.float16, np.float32, np.float64)
ALPHAS = (0.0, 0.01, 0.2, math.exp(-2), 1.0, -0.5)
UINT = {np.float16: np.uint16, np.float32: np.uint32, np.float64: np.uint64}
BINARY = {name for name, k in KERNELS.items() if len(k.inputs) == 2}


def reference(name: str, g, x, alpha: float) -> np.ndarray:
    """The formulas of the spec, evaluated with NumPy in the compute type."""
    dt = x.dtype.type
    ct = np.float32 if dt is np.float16 else dt
    xc = x.astype(ct)
    gc = None if g is None else g.astype(ct)
    a = ct(alpha)
    zero, one = np.zeros_like(x), np.ones_like(x)
    with np.errstate(all="ignore"):
        if name == "relu":
            return np.where(xc < 0, zero, x)
        if name == "leaky_relu":
            return np.where(xc > 0, x, (a * xc).astype(dt))
        if name == "relu_grad":
            return np.where(xc > 0, one, zero)
        if name == "leaky_relu_grad":
            return np.where(xc > 0, one, np.full_like(x, a.astype(dt)))
        if name == "relu_backward":
            return np.where(xc > 0, g, zero)
        if name == "leaky_relu_backward":
            return np.where(xc > 0, g, (a * gc).astype(dt))
    raise AssertionError(name)


def special(dtype) -> np.ndarray:
    """Edge values: NaNs (quiet, signalling, negative, payloads), infs, zeros,
    denormals, extremes."""
    fi = np.finfo(dtype)
    u = UINT[dtype]
    nbits = np.dtype(dtype).itemsize * 8
    mant = fi.nmant
    exp_all = ((1 << (nbits - 1)) - 1) ^ ((1 << mant) - 1)
    nans = np.array(
        [exp_all | (1 << (mant - 1)), exp_all | 1, exp_all | 0b101 | (1 << (mant - 1))], dtype=u
    )
    nans = np.concatenate([nans, nans | u(1 << (nbits - 1))]).view(dtype)
    vals = [
        0.0,
        -0.0,
        np.inf,
        -np.inf,
        fi.max,
        -fi.max,
        fi.tiny,
        -fi.tiny,
        fi.smallest_subnormal,
        -fi.smallest_subnormal,
        1.0,
        -1.0,
        0.5,
        -3.25,
        1e-3,
        -1e-3,
    ]
    return np.concatenate([nans, np.array(vals, dtype=dtype)])


def data(dtype, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sp = special(dtype)
    x = rng.standard_normal(n).astype(dtype)
    x[: min(n, sp.size)] = sp[: min(n, sp.size)]
    return rng.permutation(x)


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(UINT[a.dtype.type])


def run(name, g, x, out, alpha, parallel=False, nthreads=2):
    k = cy.get_kernel(name, parallel)
    if name in BINARY:
        k(g, x, out, alpha, nthreads)
    else:
        k(x, out, alpha, nthreads)


def run_threads(worker, n=8, timeout=120.0):
    """Run ``worker(i)`` for i in range(n) in n threads at once; fail if one hangs."""
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads)


def check(name, g, x, alpha, out=None, parallel=False):
    expected = reference(name, g, x, alpha)
    if out is None:
        out = np.empty_like(x)
    run(name, g, x, out, alpha, parallel)
    np.testing.assert_array_equal(bits(out), bits(expected), err_msg=f"{name} a={alpha}")


def layouts(dtype, seed=0):
    """(label, x, g) pairs covering every layout the contract allows."""
    x1 = data(dtype, 301, seed)
    g1 = data(dtype, 301, seed + 1)
    x2 = data(dtype, 37 * 23, seed).reshape(37, 23)
    g2 = data(dtype, 37 * 23, seed + 1).reshape(37, 23)
    unaligned = np.frombuffer(b"\0" + x1.tobytes(), dtype=dtype, offset=1)
    yield "contiguous", x1, g1
    yield "strided", x1[::3][:100], g1[1::3][:100]
    yield "negative", x1[::-1], g1[::-1]
    yield "zero-stride", np.broadcast_to(x1[5], (40,)), np.broadcast_to(g1[7], (40,))
    yield "unaligned", unaligned, g1
    yield "2d", x2, g2
    yield "transposed", x2.T, g2.T
    yield "fortran", np.asfortranarray(x2), np.asfortranarray(g2)
    yield "mixed-order", x2, np.asfortranarray(g2)
    yield "row-slices", x2[:, 2:19], g2[:, 1:18]
    yield "2d-negative", x2[::-2, ::-1], g2[::2, ::-1]
    yield (
        "2d-zero-stride",
        np.broadcast_to(x2[3], (5, 23)),
        np.broadcast_to(g2[:, :1], (37, 23))[:5],
    )
    yield "column", x2[:, 4:5], g2[:, 6:7]
    yield "empty", x1[:0], g1[:0]


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(KERNELS))
def test_layouts_bit_exact(name, dtype, parallel):
    for label, x, g in layouts(dtype):
        for alpha in ALPHAS:
            gg = g if name in BINARY else None
            try:
                check(name, gg, x, alpha, parallel=parallel)
            except AssertionError as exc:
                raise AssertionError(f"layout {label}") from exc


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(KERNELS))
def test_out_layouts_and_in_place(name, dtype):
    x = data(dtype, 40 * 30).reshape(40, 30)
    g = data(dtype, 40 * 30, 5).reshape(40, 30)
    gg = g if name in BINARY else None
    for out in (
        np.empty_like(x, order="F"),
        np.empty((30, 40), dtype).T,
        np.empty((80, 60), dtype)[::2, ::2],
    ):
        check(name, gg, x, 0.2, out=out)
    expected = reference(name, gg, x, 0.2)
    inplace = x.copy()
    run(name, gg, inplace, inplace, 0.2)
    assert np.array_equal(bits(inplace), bits(expected))
    if name in BINARY:
        inplace = g.copy()
        run(name, inplace, x, inplace, 0.2)
        assert np.array_equal(bits(inplace), bits(expected))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(KERNELS))
@pytest.mark.parametrize("n", [32768 * 2 + 1, 32768 * 5 - 7])
def test_parallel_large(name, dtype, n):
    x = data(dtype, n, 3)
    g = data(dtype, n, 4) if name in BINARY else None
    check(name, g, x, 0.01, parallel=True)
    check(name, None if g is None else g[::-1], x[::-1], 0.01, parallel=True)
    x2 = x[: n // 7 * 7].reshape(7, -1)
    g2 = None if g is None else g[: n // 7 * 7].reshape(7, -1)
    check(name, None if g2 is None else g2.T, x2.T, -0.5, parallel=True)


@pytest.mark.parametrize("name", list(KERNELS))
def test_float16_exhaustive(name):
    every = np.arange(65536, dtype=np.uint16).view(np.float16)
    shuffled = np.random.default_rng(1).permutation(every)
    for alpha in ALPHAS:
        check(name, shuffled if name in BINARY else None, every, alpha)
        if name in BINARY:
            check(name, every, shuffled, alpha)


def test_half_conversions_exhaustive_and_sampled():
    h = np.arange(65536, dtype=np.uint16)
    f = np.empty(65536, np.float32)
    _cy._half_to_float(h, f)
    assert np.array_equal(f.view(np.uint32), h.view(np.float16).astype(np.float32).view(np.uint32))
    # float32 -> float16 was checked over all 2**32 patterns during development;
    # here: every float32 whose exponent is near the half range, sampled mantissas.
    rng = np.random.default_rng(2)
    exps = np.arange(100, 160, dtype=np.uint32) << 23
    mant = np.concatenate(
        [
            rng.integers(0, 1 << 23, 20000, dtype=np.uint32),
            np.arange(0, 1 << 23, 1 << 12, dtype=np.uint32),
            np.arange(0x1000 - 2, 0x1000 + 3, dtype=np.uint32) % (1 << 23),
            np.arange(0x2000 - 2, 0x2000 + 3, dtype=np.uint32),
        ]
    )
    src = (exps[:, None] | mant[None, :]).ravel()
    src = np.concatenate(
        [src, src | np.uint32(1 << 31), np.arange(0x7F800000, 0x7F801000, dtype=np.uint32)]
    )
    src = src.view(np.float32)
    dst = np.empty(src.size, np.uint16)
    _cy._float_to_half(src, dst)
    with np.errstate(all="ignore"):
        expected = src.astype(np.float16).view(np.uint16)
    assert np.array_equal(dst, expected)


@pytest.mark.parametrize("n", [1000, 3 * 65536 + 5])
def test_fast_paths(n):
    """The compiled fronts' common case, small (serial) and large (serial or parallel, timed)."""
    names = list(KERNELS)
    for dtype in DTYPES:
        x = data(dtype, n)
        g = data(dtype, n, 9)
        for i, name in enumerate(names):
            for alpha in ALPHAS:
                out = np.empty_like(x)
                if name in BINARY:
                    assert _cy.fast_binary(i, g, x, out, alpha) is out
                    fresh = _cy.fast_binary(i, g, x, None, alpha)
                    expected = reference(name, g, x, alpha)
                else:
                    assert _cy.fast_unary(i, x, out, alpha) is out
                    fresh = _cy.fast_unary(i, x, None, alpha)
                    expected = reference(name, None, x, alpha)
                assert np.array_equal(bits(out), bits(expected))
                assert fresh.dtype == x.dtype and np.array_equal(bits(fresh), bits(expected))


@pytest.fixture
def stream_everything():
    """Make every result that is not an input go through the streaming loops."""
    old = _cy.set_stream_min_bytes(0)
    try:
        yield
    finally:
        _cy.set_stream_min_bytes(old)


def test_stream_threshold_comes_from_the_dispatcher():
    from fastact import _dispatch

    old = _cy.set_stream_min_bytes(123)
    _cy.set_stream_min_bytes(old)
    assert old == _dispatch.STREAM_MIN_BYTES >= 1 << 20


@pytest.mark.usefixtures("stream_everything")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(KERNELS))
def test_streaming_loops_bit_exact(name, dtype):
    # Sizes around the 1 KB tile and offsets that move out (and x) off the
    # 64-byte line: the head, the streamed tiles and the tail all run.
    itemsize = np.dtype(dtype).itemsize
    tile = 1024 // itemsize
    pool_x = data(dtype, 3 * tile + 200, 11)
    pool_g = data(dtype, 3 * tile + 200, 12)
    buffer = np.empty(3 * tile + 200, dtype)
    for n in (0, 1, 31, tile - 1, tile, tile + 1, 2 * tile + 33, 3 * tile):
        for shift in (0, 1, 5, 64 // itemsize - 1):
            x = pool_x[shift : shift + n]
            g = pool_g[3 : 3 + n] if name in BINARY else None
            start = (3 * shift + 1) % (64 // itemsize)
            out = buffer[start : start + n]
            before = _cy.stream_runs()
            for parallel in (False, True):
                out[:] = 0
                try:
                    check(name, g, x, 0.2, out=out, parallel=parallel)
                except AssertionError as exc:
                    raise AssertionError(f"n={n} shift={shift} parallel={parallel}") from exc
            assert _cy.stream_runs() == before + (2 if n else 0)


@pytest.mark.usefixtures("stream_everything")
@pytest.mark.parametrize("name", list(KERNELS))
def test_streaming_large_parallel_and_fronts(name):
    # split over threads (and through the compiled front's timed path) with
    # every thread streaming its part; in place, or into a new array from a
    # front, nothing streams
    i = list(KERNELS).index(name)
    for dtype in DTYPES:
        n = 3 * 65536 + 77
        x = data(dtype, n, 21)
        g = data(dtype, n, 22)
        gg = g if name in BINARY else None
        expected = bits(reference(name, gg, x, 0.01))
        check(name, gg, x, 0.01, parallel=True)
        for out in (np.empty_like(x), None):
            before = _cy.stream_runs()
            if name in BINARY:
                got = _cy.fast_binary(i, g, x, out, 0.01)
            else:
                got = _cy.fast_unary(i, x, out, 0.01)
            assert np.array_equal(bits(got), expected)
            assert _cy.stream_runs() == before + (out is not None)
        before = _cy.stream_runs()
        inplace = x.copy()
        if name in BINARY:
            got = _cy.fast_binary(i, g, inplace, inplace, 0.01)
        else:
            got = _cy.fast_unary(i, inplace, inplace, 0.01)
        assert got is inplace and np.array_equal(bits(inplace), expected)
        # strided arrays take the element-by-element loop, which never streams
        check(name, None if gg is None else gg[::2], x[::2], 0.01, parallel=True)
        assert _cy.stream_runs() == before


@pytest.fixture
def small_cache():
    """An empty result cache of 64 KiB that takes every new result of 1 KiB or more."""
    import fastact as fa

    old_min = _cy.set_result_cache_min_bytes(1024)
    old_max = fa.get_result_cache_bytes()
    fa.set_result_cache_bytes(0)
    fa.set_result_cache_bytes(64 << 10)
    try:
        yield fa
    finally:
        fa.set_result_cache_bytes(0)
        fa.set_result_cache_bytes(old_max)
        _cy.set_result_cache_min_bytes(old_min)


def test_result_cache_threshold_and_size_come_from_fastact():
    import fastact as fa
    from fastact import _dispatch

    old = _cy.set_result_cache_min_bytes(123)
    _cy.set_result_cache_min_bytes(old)
    assert old == _dispatch.RESULT_CACHE_MIN_BYTES == 32 << 20
    assert _cy.result_cache()["max_bytes"] == fa.get_result_cache_bytes()


def test_result_cache_gives_a_freed_result_to_the_next_of_its_size(small_cache):
    fa = small_cache
    x = data(np.float32, 4096, 3)  # 16 KiB
    y = fa.relu(x)
    address = y.ctypes.data
    assert _cy.result_cache()["blocks"] == 0
    del y
    held = _cy.result_cache()
    assert (held["blocks"], held["bytes"]) == (1, x.nbytes)
    other = fa.relu(x[:4000])  # another size: a block of its own
    assert other.ctypes.data != address
    assert _cy.result_cache()["hits"] == held["hits"]
    again = fa.leaky_relu(x, 0.2)
    assert again.ctypes.data == address
    assert again.flags.owndata and again.flags.c_contiguous and again.base is None
    assert _cy.result_cache()["hits"] == held["hits"] + 1
    assert _cy.result_cache()["blocks"] == 0
    assert np.array_equal(bits(again), bits(reference("leaky_relu", None, x, 0.2)))
    # the general path (a strided input) allocates through the cache too
    del again
    strided = np.repeat(x, 2)[::2]
    assert fa.leaky_relu(strided, 0.2).ctypes.data == address
    # out= arrays are the caller's: never kept
    held = _cy.result_cache()
    out = np.empty_like(x)
    fa.relu(x, out=out)
    del out
    assert _cy.result_cache()["blocks"] == held["blocks"] == 1


def test_result_cache_holds_at_most_its_size_and_eight_blocks(small_cache):
    fa = small_cache
    x = data(np.float64, 2048, 4)  # 16 KiB
    results = [fa.relu(x) for _ in range(6)]
    addresses = [r.ctypes.data for r in results]
    while results:  # freed first to last
        results.pop(0)
    held = _cy.result_cache()
    assert (held["blocks"], held["bytes"]) == (4, 64 << 10)  # the oldest two were freed
    fa.set_result_cache_bytes(20_000)
    assert _cy.result_cache()["blocks"] == 1
    kept = fa.relu(x)
    assert kept.ctypes.data == addresses[-1]  # the newest stayed
    assert _cy.result_cache()["blocks"] == 0
    fa.set_result_cache_bytes(64 << 10)
    big = fa.relu(data(np.float64, 10_000, 5))  # 80 KiB: larger than the cache
    del big
    assert _cy.result_cache()["blocks"] == 0
    small = [fa.relu(x[:200]) for _ in range(10)]  # 1.6 KB each
    del small
    assert _cy.result_cache()["blocks"] == 8
    del kept  # evicts the oldest small block
    assert _cy.result_cache()["blocks"] == 8
    assert _cy.result_cache()["bytes"] == 7 * 1600 + x.nbytes
    fa.set_result_cache_bytes(0)
    assert _cy.result_cache()["bytes"] == 0
    off = fa.relu(x)
    del off
    assert _cy.result_cache()["blocks"] == 0


@pytest.mark.usefixtures("stream_everything")
@pytest.mark.parametrize("name", list(KERNELS))
def test_result_cache_results_bit_exact(small_cache, name):
    # serial and parallel fronts, streamed into blocks from the cache, and the
    # general path: every result equal to the reference
    fa = small_cache
    fa.set_result_cache_bytes(8 << 20)
    fn = getattr(fa, name)
    alpha = () if name in ("relu", "relu_grad", "relu_backward") else (0.2,)
    for dtype in DTYPES:
        for n in (700, 3 * 65536 + 77):
            x = data(dtype, n, 31)
            g = data(dtype, n, 32)
            args = (g, x) if name in BINARY else (x,)
            expected = bits(reference(name, g if name in BINARY else None, x, 0.2 if alpha else 0))
            for strided in (False, True):
                call = tuple(np.repeat(a, 2)[::2] for a in args) if strided else args
                fn(*call, *alpha)  # its block goes to the cache when freed
                hits = _cy.result_cache()["hits"]
                got = fn(*call, *alpha)
                assert _cy.result_cache()["hits"] == hits + 1
                assert got.dtype == dtype and np.array_equal(bits(got), expected), (dtype, n)


def test_result_cache_is_what_tracemalloc_sees_numpy_allocate(small_cache):
    import tracemalloc

    fa = small_cache
    x = data(np.float32, 8192, 6)  # 32 KiB
    fa.relu(x)  # freed at once: the cache holds a block of this size
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y = fa.relu(x)
        assert x.nbytes <= tracemalloc.get_traced_memory()[0] - base < x.nbytes + 4096
        del y  # in the cache: no longer counted
        assert tracemalloc.get_traced_memory()[0] - base < 4096
        assert _cy.result_cache()["blocks"] == 1
    finally:
        tracemalloc.stop()


def test_result_cache_block_can_be_resized(small_cache):
    fa = small_cache
    x = data(np.float32, 1024, 7)
    y = fa.relu(x)
    y.resize(3000, refcheck=False)  # reallocated by NumPy's handler
    assert np.array_equal(bits(y[:1024]), bits(reference("relu", None, x, 0)))
    del y
    assert _cy.result_cache()["bytes"] == 12000


def test_result_cache_from_threads(small_cache):
    # 8 threads allocating and freeing results of three sizes through one cache
    fa = small_cache
    errors = []
    inputs = [data(np.float32, n, 8 + n) for n in (1024, 2048, 4096)]
    expected = [bits(reference("leaky_relu", None, x, 0.2)) for x in inputs]

    def worker(i):
        try:
            for j in range(300):
                k = (i + j) % 3
                if not np.array_equal(bits(fa.leaky_relu(inputs[k], 0.2)), expected[k]):
                    errors.append((i, j))
        except Exception as exc:  # report, don't lose, a worker failure
            errors.append(exc)

    run_threads(worker)
    assert errors == []
    held = _cy.result_cache()
    assert held["blocks"] <= 8 and held["bytes"] <= 64 << 10 and held["hits"] > 0


@pytest.mark.skipif(sys.platform != "linux", reason="fork is a Linux concern here")
def test_result_cache_in_a_forked_child(small_cache):
    fa = small_cache
    x = data(np.float32, 4096, 9)
    fa.relu(x)  # freed at once, into the cache
    expected = bits(reference("relu", None, x, 0))

    def child():
        hits = _cy.result_cache()["hits"]
        results = [fa.relu(x) for _ in range(3)]
        del results
        ok = all(np.array_equal(bits(fa.relu(x)), expected) for _ in range(3))
        return ok and _cy.result_cache()["hits"] >= hits + 4

    run_forked(child, timeout=60)


def test_fast_paths_decline_all_but_the_common_case():
    x = np.linspace(-1, 1, 12, dtype=np.float32)
    sentinel = np.full_like(x, 7)
    declined = [
        (x.tolist(), np.empty_like(x), 0.1),
        (x, sentinel[::1].reshape(3, 4), 0.1),
        (x[::2], np.empty(6, np.float32), 0.1),
        (x[::2], None, 0.1),
        (x, np.empty(12, np.float64), 0.1),
        (x.astype(">f4"), np.empty(12, ">f4"), 0.1),
        (x.astype(">f4"), np.empty(12, np.float32), 0.1),
        (x.astype(">f4"), None, 0.1),
        (x.view(np.ndarray).view(type("Sub", (np.ndarray,), {})), np.empty_like(x), 0.1),
        (x, np.empty_like(x), 1),  # alpha not a float: the general path converts it
        (x, np.empty_like(x), np.float32(0.1)),
        (x, np.empty_like(x), float("nan")),
        (x, np.empty_like(x), float("inf")),
        (x.astype(np.int64), None, 0.1),
    ]
    for xx, out, alpha in declined:
        before = None if out is None else out.copy()
        assert _cy.fast_unary(1, xx, out, alpha) is None
        if out is not None:
            assert np.array_equal(out, before, equal_nan=True)
    ro = np.empty_like(x)
    ro.flags.writeable = False
    assert _cy.fast_unary(1, x, ro, 0.1) is None
    buf = np.zeros(20, np.float32)
    assert _cy.fast_unary(1, buf[:12], buf[4:16], 0.1) is None  # partial overlap
    assert not buf.any()
    inplace = x.copy()
    assert _cy.fast_unary(1, inplace, inplace, 0.1) is inplace
    assert np.array_equal(inplace, reference("leaky_relu", None, x, 0.1))
    assert _cy.fast_binary(5, x, x, np.empty_like(x), 0.1) is not None
    assert _cy.fast_binary(5, x, x[::-1], np.empty_like(x), 0.1) is None
    assert _cy.fast_binary(5, x, x[::-1], None, 0.1) is None
    with pytest.raises(ValueError):
        _cy.fast_unary(4, x, np.empty_like(x), 0.1)
    with pytest.raises(ValueError):
        _cy.fast_binary(1, x, x, np.empty_like(x), 0.1)


def test_threads_concurrently():
    # 8 threads, serial and parallel kernels, each checking its own results
    errors = []
    n = 200_000
    x = data(np.float32, n)
    expected = bits(reference("leaky_relu", None, x, 0.2))

    def worker(i):
        try:
            out = np.empty_like(x)
            for j in range(20):
                out[:] = 0
                run("leaky_relu", None, x, out, 0.2, parallel=(i + j) % 2 == 0)
                if not np.array_equal(bits(out), expected):
                    errors.append(i)
        except Exception as exc:  # report, don't lose, a worker failure
            errors.append(exc)

    run_threads(worker)
    assert errors == []


@pytest.mark.skipif(sys.platform != "linux", reason="fork is a Linux concern here")
def test_fork_after_parallel_kernels():
    # GNU OpenMP hangs a forked child that enters a parallel region if the
    # parent used one; the dispatcher must route such a child to serial code.
    fa = pytest.importorskip("fastact")
    x = np.linspace(-1, 1, 2_000_000, dtype=np.float32)
    run("leaky_relu", None, x, np.empty_like(x), 0.1, parallel=True)
    fa.leaky_relu(x, 0.1, backend="cython")

    def child():
        y = fa.leaky_relu(x, 0.1, backend="cython")
        return bool(y[0] == np.float32(-0.1) and y[-1] == 1)

    run_forked(child, timeout=60)


@pytest.mark.skipif(sys.platform != "linux", reason="the OpenMP requirement is for Linux")
def test_linux_build_has_openmp():
    assert cy.HAVE_OPENMP
    assert cy.PARALLEL_RUNTIME == "openmp"


def test_contract_surface():
    assert cy.PARALLEL_THREADSAFE is True
    assert tuple(_cy.KERNEL_NAMES) == tuple(KERNELS)
    info = cy.info()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in info.items())
    for name in KERNELS:
        assert callable(cy.get_kernel(name, False)) and callable(cy.get_kernel(name, True))
