"""Arrays beyond NumPy: dask (threads and a LocalCluster), xarray, masked arrays, the ufuncs.

Every result is compared bit for bit with fastact's own call on the plain
NumPy arrays: the containers change where and when the kernels run, never
what they compute. dask, distributed and xarray are test extras, so these
tests run in CI; elsewhere they skip where a library is missing.
"""

from __future__ import annotations

import doctest
import pickle
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from arrays import values

import fastact as fa
from fastact import _backends, _containers
from fastact._table import ACTIVATIONS, KERNELS, activation_of, is_backward

ufunc = pytest.importorskip("fastact.ufunc", reason="the Cython extension is not built")

DTYPES = (np.float16, np.float32, np.float64, np.int16)


def param_sets(kernel: str) -> list[tuple[object, ...]]:
    """The defaults and one other set, from the table (new activations come for free)."""
    params = activation_of(kernel).params
    defaults = tuple(p.default for p in params)
    other = tuple(
        p.choices[-1] if p.choices else 2 * p.default if p.default else 0.5 for p in params
    )
    return [defaults] if not params else [defaults, other]


def same_bits(actual: object, expected: np.ndarray) -> bool:
    actual = np.asarray(actual)
    return (
        actual.dtype == expected.dtype
        and actual.shape == expected.shape
        and np.ascontiguousarray(actual).tobytes() == np.ascontiguousarray(expected).tobytes()
    )


def operands(kernel: str, dtype, shape=(40, 25), seed: int = 0) -> tuple[np.ndarray, ...]:
    """``(x,)`` or ``(grad_out, x)``, with edge values (NaN payloads, -0.0, inf, ...)."""
    n = int(np.prod(shape))
    x = values(dtype, n, seed).reshape(shape)
    if not is_backward(kernel):
        return (x,)
    return (values(dtype, n, seed + 1).reshape(shape), x)


def run(kernel: str, *args, **kwargs):
    return getattr(fa, kernel)(*args, **kwargs)


# --- what is a container ---------------------------------------------------------------------


class Refuses:
    """A container whose ``__array_ufunc__`` handles nothing."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return NotImplemented

    def __array__(self, dtype=None, copy=None):
        return np.ones(3)


class OptsOut:
    """A class that opts out of NumPy's ufuncs altogether."""

    __array_ufunc__ = None

    def __array__(self, dtype=None, copy=None):
        return np.ones(3)


@pytest.mark.parametrize("kind", [Refuses, OptsOut])
def test_unsupported_containers_raise_type_error_naming_them(kind):
    with pytest.raises(TypeError, match=kind.__name__):
        fa.relu(kind())
    with pytest.raises(TypeError, match=kind.__name__):
        fa.leaky_relu_backward(np.ones(3), kind())
    out = np.full(3, 7.0)
    with pytest.raises(TypeError, match=kind.__name__):
        fa.relu(kind(), out=out)
    assert (out == 7.0).all()


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
def test_takes_only_containers():
    plain = [np.ones(3), 1.0, 2, True, [1.0], (1.0,), np.float32(1), np.matrix([[1.0]])]
    for value in plain:
        assert not _containers.takes((value,), None), type(value)
        assert not _containers.takes((value, value), None), type(value)
    assert _containers.takes((np.ones(3),), np.ma.masked_array(np.ones(3)))
    assert _containers.takes((np.ma.masked_array([1.0]),), None)
    assert _containers.takes((1.0, Refuses()), None)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
def test_ndarray_subclasses_without_ufunc_overrides_take_the_plain_path(tmp_path):
    """np.matrix and np.memmap are read as arrays; the result is an ndarray."""
    m = np.matrix([[-1.0, 2.0]])
    result = fa.relu(m)
    assert type(result) is np.ndarray
    assert same_bits(result, fa.relu(np.asarray(m)))
    mm = np.memmap(tmp_path / "x.bin", dtype=np.float32, mode="w+", shape=(5,))
    mm[:] = [-2, -1, 0, 1, 2]
    result = fa.leaky_relu(mm)
    assert type(result) is np.ndarray
    assert same_bits(result, fa.leaky_relu(np.array(mm)))
    # as out, written through and returned as itself
    assert fa.relu(np.ones(5, np.float32) * -1, out=mm) is mm
    assert (np.asarray(mm) == 0).all()


def test_docstring_examples():
    result = doctest.testmod(_containers, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# --- the ufuncs ------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_ufuncs_pickle_by_reference(kernel):
    uf = getattr(ufunc, kernel)
    assert isinstance(uf, np.ufunc)
    data = pickle.dumps(uf)
    assert b"fastact.ufunc" in data and len(data) < 100
    assert pickle.loads(data) is uf


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize(
    "kernel",
    [
        k
        for k in KERNELS
        if activation_of(k).params and not any(p.choices for p in activation_of(k).params)
    ],
)
def test_ufunc_parameters_broadcast(kernel, dtype):
    """One parameter per row: each row is the public function with that row's parameters."""
    args = operands(kernel, dtype, shape=(1, 64))
    ct = np.float64 if dtype == np.float64 else np.float32
    rows = [*param_sets(kernel), tuple(-p for p in param_sets(kernel)[-1])]
    rows = [r for r in rows if r == tuple(sorted(r)) or len(r) == 1]  # hardtanh: min <= max
    columns = [np.array([r[i] for r in rows], ct)[:, None] for i in range(len(rows[0]))]
    result = getattr(ufunc, kernel)(*args, *columns)
    assert result.shape == (len(rows), 64) and result.dtype == dtype
    for i, row in enumerate(rows):
        assert same_bits(result[i], run(kernel, *(a[0] for a in args), *row)), row


def test_ufunc_loops_follow_the_data_dtype():
    h = np.array([-1.5, 2.0], np.float16)
    assert ufunc.leaky_relu(h, np.float32(0.1)).dtype == np.float16
    assert ufunc.leaky_relu(h.astype(np.float32), np.float32(0.1)).dtype == np.float32
    assert ufunc.leaky_relu_backward(h, h, np.float32(0.1)).dtype == np.float16


# --- dask ------------------------------------------------------------------------------------

_counted = {"blocks": 0}
_counted_lock = threading.Lock()


def _count(block):
    with _counted_lock:
        _counted["blocks"] += 1
    return block


def counted(da, array: np.ndarray, chunks):
    """A dask array of ``array`` that counts its blocks as they are computed."""
    return da.from_array(array, chunks=chunks).map_blocks(_count, dtype=array.dtype)


def graph_functions(collection) -> list[object]:
    """The callables of every task of a dask collection's graph."""
    found: list[object] = []
    for task in dict(collection.__dask_graph__()).values():
        func = getattr(task, "func", None)
        if func is None and isinstance(task, tuple) and task and callable(task[0]):
            func = task[0]  # the tuple tasks of older dask
        if func is not None:
            found.append(func)
    return found


@pytest.fixture(scope="module")
def da():
    return pytest.importorskip("dask.array")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("kernel", KERNELS)
def test_dask_is_lazy_and_computes_fastact_per_chunk(da, kernel, dtype):
    for params in param_sets(kernel):
        args = operands(kernel, dtype)
        expected = run(kernel, *args, *params)
        dargs = [counted(da, a, (16, 10)) for a in args]
        _counted["blocks"] = 0
        result = run(kernel, *dargs, *params)
        assert isinstance(result, da.Array)
        assert _counted["blocks"] == 0, "computed at call time"
        assert result.dtype == expected.dtype and result.shape == expected.shape
        assert result.chunks == dargs[-1].chunks
        assert getattr(ufunc, kernel) in graph_functions(result)
        computed = result.compute(scheduler="threads")
        assert _counted["blocks"] == len(args) * 9  # 3 x 3 blocks of each input, once
        assert same_bits(computed, expected), (kernel, params)


@pytest.mark.parametrize("kernel", [k for k in KERNELS if is_backward(k)])
def test_dask_backward_is_chunk_aligned_with_x(da, kernel):
    g, x = operands(kernel, np.float32, shape=(30, 20))
    dx = da.from_array(x, chunks=(7, 20))
    result = run(kernel, da.from_array(g, chunks=(10, 5)), dx)
    assert result.chunks == dx.chunks
    assert same_bits(result.compute(), run(kernel, g, x))
    # grad_out broadcasts: a row, an ndarray, a Python scalar (which takes x's dtype)
    for grad in (da.from_array(g[:1], chunks=(1, 5)), g[:1], g, 2.0):
        result = run(kernel, grad, dx)
        assert isinstance(result, da.Array) and result.chunks == dx.chunks
        assert same_bits(result.compute(), run(kernel, grad, x)), type(grad)


def test_dask_mixed_dtypes_promote_as_numpy_does(da):
    g, x = operands("relu_backward", np.float16)
    result = fa.relu_backward(da.from_array(g.astype(np.float64), chunks=100), da.from_array(x))
    assert result.dtype == np.float64
    assert same_bits(result.compute(), fa.relu_backward(g.astype(np.float64), x))


@pytest.mark.parametrize("backend", ["numpy", "numba", "cython", "auto"])
def test_dask_honours_the_backend(da, backend):
    if backend in _backends.BACKENDS and _backends.status(backend) is not None:
        pytest.skip(f"{backend} cannot run here")
    for kernel in ("hardswish", "leaky_relu_backward"):
        args = operands(kernel, np.float32)
        result = run(kernel, *(da.from_array(a, chunks=(20, 25)) for a in args), backend=backend)
        functions = graph_functions(result)
        if backend in ("auto", "cython"):
            assert getattr(ufunc, kernel) in functions
        else:
            # each block goes through fastact's function with that backend
            assert any(
                getattr(f, "args", None)
                == (kernel, (0.01,) * len(activation_of(kernel).params), backend)
                for f in functions
            )
        assert same_bits(result.compute(), run(kernel, *args, backend=backend))


def test_dask_out_is_a_dask_array(da):
    x = operands("relu", np.float64)[0]
    dx = da.from_array(x, chunks=(20, 25))
    out = da.zeros_like(dx)
    assert fa.relu(dx, out=out) is out
    assert same_bits(out.compute(), fa.relu(x))
    source = counted(da, x, (20, 25))
    _counted["blocks"] = 0
    with pytest.raises(TypeError, match="out must be a dask array"):
        fa.relu(source, out=np.empty_like(x))
    assert _counted["blocks"] == 0
    with pytest.raises(TypeError, match="dtype"):
        fa.relu(dx, out=da.zeros(x.shape, dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        fa.relu(dx, out=da.zeros((3,)))


def test_dask_errors_come_at_call_time(da):
    with pytest.raises(TypeError, match="complex128"):
        fa.relu(da.ones(4, dtype=np.complex128))
    with pytest.raises(ValueError, match="overflows in float32"):
        fa.leaky_relu(da.ones(4, dtype=np.float32), 1e300)
    with pytest.raises(ValueError, match="do not broadcast"):
        fa.relu_backward(da.ones(4), da.ones(5))
    with pytest.raises(ValueError, match="backend"):
        fa.relu(da.ones(4), backend="fortran")


def test_dask_masked_chunks_keep_their_masks(da):
    x = operands("leaky_relu", np.float64)[0]
    mask = x < 0.5
    dx = da.ma.masked_array(da.from_array(x, chunks=(20, 25)), mask=mask)
    result = fa.leaky_relu(dx).compute()
    assert isinstance(result, np.ma.MaskedArray)
    assert (np.ma.getmaskarray(result) == mask).all()
    assert same_bits(result.data[~mask], fa.leaky_relu(x)[~mask])


@pytest.mark.parametrize("kernel", ["leaky_relu", "hardtanh_backward"])
def test_dask_graph_pickles_by_reference(da, kernel):
    """The graph holds the ufunc (by name) and NumPy scalars: plain pickle, no fastact code."""
    args = operands(kernel, np.float32)
    for backend in ("auto", "numpy"):
        result = run(kernel, *(da.from_array(a, chunks=(20, 25)) for a in args), backend=backend)
        graph = dict(result.__dask_graph__())
        data = pickle.dumps(graph)
        assert b"__main__" not in data
        assert (b"fastact.ufunc" if backend == "auto" else b"fastact._containers") in data
        restored = pickle.loads(data)
        import dask

        computed = dask.get(restored, result.__dask_keys__())
        assert same_bits(np.block(as_lists(computed)), run(kernel, *args, backend=backend))


def as_lists(blocks):
    """Nested tuples of blocks as the nested lists np.block takes."""
    return [as_lists(b) for b in blocks] if isinstance(blocks, tuple | list) else blocks


# --- dask.distributed ------------------------------------------------------------------------


def _load_example():
    # the example is a script, not part of the package: import it from its folder
    folder = str(Path(__file__).resolve().parent.parent / "examples")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    import dask_training_step

    return dask_training_step


@pytest.fixture(scope="module")
def client():
    """Two worker processes on the loopback interface, started once for this module."""
    pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    cluster = _load_example().start_local_cluster(workers=2, memory_limit="1GiB")
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_local_cluster_of_two_processes_computes_bit_identical(client, da):
    assert len(client.scheduler_info()["workers"]) == 2
    for dtype in (np.float16, np.float32, np.float64):
        for kernel in ("leaky_relu", "leaky_relu_backward", "hardswish", "hardswish_backward"):
            args = operands(kernel, dtype, shape=(64, 50), seed=3)
            dargs = [da.from_array(a, chunks=(16, 25)) for a in args]
            for backend in ("auto", "numpy"):
                params = param_sets(kernel)[-1]
                result = run(kernel, *dargs, *params, backend=backend)
                computed = client.compute(result).result()
                assert same_bits(computed, run(kernel, *args, *params)), (kernel, dtype, backend)
    # the chunks ran in the worker processes, through fastact's ufuncs
    on_workers = client.run(lambda: "fastact.ufunc" in sys.modules)
    assert len(on_workers) == 2 and all(on_workers.values())


def test_example_training_step_runs_on_the_cluster(client):
    example = _load_example()
    result = example.training_step(client, elements=300_000, chunk=40_000, alpha=0.1)
    assert result["wrong_y"] == 0 and result["wrong_grad_x"] == 0
    assert np.isfinite(result["sum_y"]) and np.isfinite(result["sum_grad_x"])


def test_example_main_prints_the_step(client, capsys):
    example = _load_example()
    address = client.scheduler.address
    example.main(["--elements", "1e5", "--chunk", "2e4", "--scheduler", address])
    printed = capsys.readouterr().out
    assert "elements unlike np.where: 0 (forward), 0 (backward)" in printed


# --- xarray ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xr():
    return pytest.importorskip("xarray")


def data_array(xr, array: np.ndarray, name: str = "h"):
    return xr.DataArray(
        array,
        dims=("batch", "unit"),
        coords={
            "batch": np.arange(array.shape[0]),
            "unit": [f"u{i}" for i in range(array.shape[1])],
        },
        attrs={"units": "volt", "layer": 3},
        name=name,
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("kernel", KERNELS)
def test_xarray_keeps_dims_coords_and_attrs(xr, kernel, dtype):
    args = operands(kernel, dtype)
    xargs = [data_array(xr, a) for a in args]
    for params in param_sets(kernel):
        result = run(kernel, *xargs, *params)
        assert isinstance(result, xr.DataArray)
        assert result.dims == xargs[-1].dims and result.attrs == xargs[-1].attrs
        assert result.name == "h"
        xr.testing.assert_identical(result.coords.to_dataset(), xargs[-1].coords.to_dataset())
        assert same_bits(result.values, run(kernel, *args, *params))


def test_xarray_backed_by_dask_stays_lazy(xr, da):
    x = operands("hardsigmoid", np.float32)[0]
    source = data_array(xr, counted(da, x, (10, 25)))
    _counted["blocks"] = 0
    result = fa.hardsigmoid(source)
    grad = fa.hardsigmoid_backward(result, source)
    assert isinstance(result.data, da.Array) and isinstance(grad.data, da.Array)
    assert _counted["blocks"] == 0
    assert result.attrs == source.attrs and grad.dims == source.dims
    assert same_bits(result.compute().values, fa.hardsigmoid(x))
    assert same_bits(grad.values, fa.hardsigmoid_backward(fa.hardsigmoid(x), x))


def test_xarray_datasets_and_alignment(xr):
    x = operands("relu", np.float32)[0]
    ds = xr.Dataset(
        {"a": data_array(xr, x), "n": data_array(xr, np.arange(x.size).reshape(x.shape))}
    )
    ds.attrs["run"] = 7
    result = fa.relu(ds)
    assert result.attrs == {"run": 7} and result["a"].attrs == ds["a"].attrs
    assert same_bits(result["a"].values, fa.relu(x))
    assert result["n"].dtype == np.float64  # integers compute as float64, as for ndarrays
    # grad_out and x align on their coordinates (xarray's arithmetic_join: inner)
    g = data_array(xr, np.ones_like(x))
    result = fa.relu_backward(g.isel(batch=slice(5, None)), data_array(xr, x))
    assert result.sizes["batch"] == x.shape[0] - 5
    assert same_bits(result.values, fa.relu_backward(np.ones_like(x[5:]), x[5:]))


def test_xarray_errors(xr):
    x = data_array(xr, np.ones((2, 2)))
    with pytest.raises(TypeError, match="out="):
        fa.relu(x, out=x)
    with pytest.raises(TypeError, match="complex128"):
        fa.relu(data_array(xr, np.ones((2, 2), np.complex128)))
    with pytest.raises(ValueError, match="backend"):
        fa.relu(x, backend="fortran")


def test_xarray_honours_the_backend(xr):
    x = operands("leaky_relu_backward", np.float64)
    result = fa.leaky_relu_backward(*(data_array(xr, a) for a in x), backend="numpy")
    assert same_bits(result.values, fa.leaky_relu_backward(*x, backend="numpy"))


# --- masked arrays ---------------------------------------------------------------------------


def masked(array: np.ndarray, seed: int) -> np.ma.MaskedArray:
    mask = np.random.default_rng(seed).random(array.shape) < 0.3
    return np.ma.masked_array(array, mask=mask)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("kernel", KERNELS)
def test_masked_arrays_keep_their_mask(kernel, dtype):
    args = operands(kernel, dtype)
    margs = [masked(a, seed=i) for i, a in enumerate(args)]
    want_mask = np.logical_or.reduce([np.ma.getmaskarray(m) for m in margs])
    for params in param_sets(kernel):
        expected = run(kernel, *args, *params)
        result = run(kernel, *margs, *params)
        assert type(result) is np.ma.MaskedArray
        assert (np.ma.getmaskarray(result) == want_mask).all()
        assert same_bits(result.data, expected)
        # one masked operand is enough
        if len(args) == 2:
            result = run(kernel, args[0], margs[1], *params)
            assert (np.ma.getmaskarray(result) == np.ma.getmaskarray(margs[1])).all()


@pytest.mark.parametrize("kernel", KERNELS)
def test_masked_out_leaves_its_masked_places_untouched(kernel):
    args = operands(kernel, np.float32)
    margs = [masked(a, seed=i) for i, a in enumerate(args)]
    in_mask = np.logical_or.reduce([np.ma.getmaskarray(m) for m in margs])
    expected = run(kernel, *args)
    out = masked(np.full(args[-1].shape, 42.0, np.float32), seed=9)
    out_mask = out.mask.copy()
    assert run(kernel, *margs, out=out) is out
    written = ~(in_mask | out_mask)
    assert same_bits(out.data[written], expected[written])
    assert (out.data[~written] == 42.0).all()
    assert (out.mask == (in_mask | out_mask)).all()
    # plain inputs: only out's mask decides
    out = masked(np.full(args[-1].shape, 42.0, np.float32), seed=9)
    run(kernel, *args, out=out)
    assert same_bits(out.data[~out_mask], expected[~out_mask])
    assert (out.data[out_mask] == 42.0).all() and (out.mask == out_mask).all()


def test_masked_in_place_and_errors_before_writing():
    x = np.ma.masked_array([-1.0, 2.0, -3.0], mask=[0, 1, 0])
    x.data[1] = -5.0
    assert fa.relu(x, out=x) is x
    assert x.data.tolist() == [0.0, -5.0, 0.0] and x.mask.tolist() == [False, True, False]
    out = np.full(3, 7.0)
    with pytest.raises(TypeError, match="masked array"):
        fa.relu(np.ma.masked_array([1.0, 2.0, 3.0]), out=out)
    bad = np.ma.masked_array(np.full(3, 7.0, np.float32))
    for call in (
        lambda: fa.relu(np.ma.masked_array([1.0, 2.0, 3.0]), out=bad),  # wrong dtype
        lambda: fa.relu(np.ma.masked_array([1.0, 2.0, 3.0], dtype=np.complex64), out=bad),
        lambda: fa.leaky_relu(np.ma.masked_array([1.0]), np.nan),
        lambda: fa.relu(np.ma.masked_array(np.ones(2, np.float32)), out=bad),  # shape
    ):
        with pytest.raises((TypeError, ValueError)):
            call()
        assert (bad.data == 7.0).all() and not bad.mask.any()


def test_masked_keeps_fill_value_and_integers_compute_as_float64():
    m = np.ma.masked_array([-2.0, 3.0], mask=[1, 0], fill_value=-9.0)
    assert fa.relu(m).fill_value == -9.0
    result = fa.leaky_relu(np.ma.masked_array([-2, 3], mask=[0, 1]), 0.5)
    assert result.dtype == np.float64 and result.mask.tolist() == [False, True]
    assert result[0] == -1.0
    assert fa.relu(np.ma.masked) is not np.ma.masked and fa.relu(np.ma.masked).mask


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_masked_honours_the_backend(backend):
    x = masked(operands("hardswish", np.float64)[0], seed=1)
    result = fa.hardswish(x, backend=backend)
    assert same_bits(result.data, fa.hardswish(x.data, backend=backend))


# --- prelu: a weight per channel, and a weight gradient ------------------------------------

CHANNEL_KERNELS = [k for a in ACTIVATIONS.values() if a.kind == "channel" for k in a.kernels]


def channel_data(dtype, shape=(6, 4, 10), exact: bool = False, seed: int = 5):
    """``grad_out, x`` and a weight for axis 1; ``exact``: multiples of 1/16, whose
    products and float64 sums are exact, so any summation order gives the same bits."""
    rng = np.random.default_rng(seed)
    if exact:
        g, x = (rng.integers(-64, 65, shape) / 16 for _ in range(2))
        return g.astype(dtype), x.astype(dtype), np.array([0.25, -0.5, 2.0, 0.0])
    n = int(np.prod(shape))
    g, x = (values(dtype, n, seed + i).reshape(shape) for i in range(2))
    x[np.isnan(x) | np.isinf(x)] = -1.5  # keep the sums finite: they are compared closely
    g[np.isnan(g) | np.isinf(g)] = 0.5
    return g, x, np.array([0.25, -0.5, 2.0, 0.0])


def call_channel(kernel, g, x, weight, axis=1, backend="auto"):
    inputs = (g, x) if is_backward(kernel) else (x,)
    return _containers.call_channel(kernel, inputs, weight, axis, None, backend)


def plain_channel(kernel, g, x, weight, axis=1, backend="auto"):
    inputs = (g, x) if is_backward(kernel) else (x,)
    return getattr(fa, kernel)(*inputs, weight, axis, backend=backend)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("kernel", CHANNEL_KERNELS)
def test_prelu_on_dask_is_lazy_and_bit_identical(da, kernel, dtype):
    for exact in (True, False):
        g, x, w = channel_data(dtype, exact=exact)
        for backend in ("auto", "numpy"):
            dx, dg = counted(da, x, (4, 3, 5)), da.from_array(g, chunks=(3, 2, 10))
            _counted["blocks"] = 0
            result = call_channel(kernel, dg, dx, w, backend=backend)
            expected = plain_channel(kernel, g, x, w, backend=backend)
            assert _counted["blocks"] == 0, "computed at call time"
            if not is_backward(kernel):
                assert isinstance(result, da.Array) and result.chunks == dx.chunks
                assert same_bits(result.compute(), expected)
                continue
            (gx, gw), (want_gx, want_gw) = result, expected
            assert isinstance(gx, da.Array) and isinstance(gw, da.Array)
            assert gx.chunks == dx.chunks and gw.shape == w.shape and gw.dtype == dtype
            assert same_bits(gx.compute(), want_gx)
            if exact:
                assert same_bits(gw.compute(), want_gw)
            else:
                # float64 sums in dask's order: the last place may differ, rounded once
                rtol = {np.float16: 1e-3, np.float32: 1e-6, np.float64: 1e-12}[dtype]
                np.testing.assert_allclose(gw.compute(), want_gw, rtol=rtol, atol=1e-300)


def test_prelu_on_dask_scalar_weight_and_broadcast_grad_out(da):
    g, x, _ = channel_data(np.float32, exact=True)
    dx = da.from_array(x, chunks=(2, 2, 5))
    gx, gw = call_channel("prelu_backward", g[:1], dx, 0.25)
    want_gx, want_gw = fa.prelu_backward(g[:1], x, 0.25)
    assert gw.shape == () and same_bits(gw.compute(), np.asarray(want_gw))
    assert same_bits(gx.compute(), want_gx)


def test_prelu_weight_must_not_be_a_container(da):
    x = da.ones((2, 3), chunks=1)
    with pytest.raises(TypeError, match="weight"):
        call_channel("prelu", None, x, da.ones(3))
    with pytest.raises(ValueError, match="slopes"):
        call_channel("prelu", None, x, np.ones(4))


def test_prelu_on_masked_arrays_skips_masked_places_in_grad_weight():
    g, x, w = channel_data(np.float64, exact=True)
    mg, mx = masked(g, seed=1), masked(x, seed=2)
    mask = mg.mask | mx.mask
    y = call_channel("prelu", None, mx, w)
    assert (y.mask == mx.mask).all() and same_bits(y.data, fa.prelu(x, w))
    gx, gw = call_channel("prelu_backward", mg, mx, w)
    assert (gx.mask == mask).all()
    assert same_bits(gx.data[~mask], fa.prelu_backward(g, x, w)[0][~mask])
    zeroed = [np.where(mask, 0.0, a) for a in (g, x)]
    assert same_bits(gw, fa.prelu_backward(*zeroed, w)[1])


def test_prelu_on_xarray_names_the_channel_by_its_dim(xr, da):
    g, x, w = channel_data(np.float32, exact=True)
    dx = xr.DataArray(x, dims=("batch", "channel", "time"), attrs={"units": "V"}, name="h")
    dx = dx.assign_coords(channel=["a", "b", "c", "d"])
    y = call_channel("prelu", None, dx, w)
    assert y.dims == dx.dims and y.attrs == dx.attrs and same_bits(y.values, fa.prelu(x, w))
    # grad_out laid out otherwise: aligned by name, the result laid out like x
    gx, gw = call_channel(
        "prelu_backward", data_like(xr, g, dx).transpose("time", "channel", "batch"), dx, w
    )
    want_gx, want_gw = fa.prelu_backward(g, x, w)
    assert gx.dims == dx.dims and same_bits(gx.values, want_gx) and same_bits(gw, want_gw)
    # dask-backed: lazy, and the weight gradient a dask array
    gx, gw = call_channel("prelu_backward", data_like(xr, g, dx), dx.chunk({"batch": 2}), w)
    assert isinstance(gx.data, da.Array) and isinstance(gw, da.Array)
    assert same_bits(gx.values, want_gx) and same_bits(gw.compute(), want_gw)
    with pytest.raises(TypeError, match="out="):
        _containers.call_channel("prelu", (dx,), w, 1, dx, "auto")


def data_like(xr, array, like):
    return xr.DataArray(array, dims=like.dims, coords=like.coords)


def test_public_prelu_functions_hand_containers_on(da):
    """fa.prelu* call call_channel for containers, as the elementwise functions call call()."""
    g, x, w = channel_data(np.float32, exact=True)
    dx = da.from_array(x, chunks=(2, 2, 5))
    assert same_bits(fa.prelu(dx, w).compute(), fa.prelu(x, w))
    assert same_bits(fa.prelu_grad(dx, w).compute(), fa.prelu_grad(x, w))
    gx, gw = fa.prelu_backward(da.from_array(g, chunks=2), dx, w)
    assert isinstance(gw, da.Array)
    assert same_bits(gx.compute(), fa.prelu_backward(g, x, w)[0])


def test_every_activation_is_covered():
    """The matrices above come from the table: a new entry is tested without edits here."""
    elementwise = {a.name for a in ACTIVATIONS.values() if a.kind == "elementwise"}
    assert {activation_of(k).name for k in KERNELS} == elementwise
    assert {a.kind for a in ACTIVATIONS.values()} <= {"elementwise", "channel"}
