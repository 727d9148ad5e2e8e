"""Every kernel x backend x dtype x layout x parameter set against the oracle.

Bit for bit for the piecewise-linear family; within the SPEC's ulps of the
true value for the smooth family (the oracle says which, element by element).
"""

from __future__ import annotations

import numpy as np
import pytest
from arrays import BIG, FLOAT_DTYPES, LAYOUTS, OTHER_DTYPES, Layout, describe, make
from oracle import PARAM_SETS, expected, mismatch

import fastact as fa
from fastact import _config
from fastact._table import KERNELS, activation_of, is_backward

FUNCTIONS = KERNELS
BINARY = {k for k in KERNELS if is_backward(k)}


def param_sets(name: str) -> list[tuple[float, ...]]:
    return PARAM_SETS[activation_of(name).name]


def some_params(name: str) -> tuple[float, ...]:
    """A parameter set that is not the default, where there is one."""
    sets = param_sets(name)
    return sets[min(2, len(sets) - 1)]


#: the smallest array a team of two threads serves, and an odd tail
TEAM_OF_TWO = Layout(
    "2 * MIN_PER_THREAD + 7",
    2 * _config.MIN_PER_THREAD + 7,
    lambda f: f[: 2 * _config.MIN_PER_THREAD + 7],
)


def call(name: str, x, g=None, params=(), **kwargs):
    args = (g, x) if name in BINARY else (x,)
    return getattr(fa, name)(*args, *params, **kwargs)


def native(a: np.ndarray, dtype=None) -> np.ndarray:
    """What the SPEC computes on: native float, bool/integers as float64."""
    a = np.asarray(a)
    if a.dtype.kind in "biu":
        a = a.astype(np.float64)
    a = a.astype(a.dtype.newbyteorder("="))
    return a if dtype is None else a.astype(dtype)


def check(result, name, x, g, params, context: str) -> None:
    xs = native(x)
    gs = None if g is None else native(g)
    if isinstance(g, float | int):  # a Python scalar takes the array's dtype, as in NumPy
        gs = gs.astype(xs.dtype)
    if gs is not None and gs.dtype != xs.dtype:
        dt = np.result_type(gs, xs)
        xs, gs = xs.astype(dt), gs.astype(dt)
    if gs is not None:
        xs, gs = np.broadcast_arrays(xs, gs)
    want, arithmetic = expected(name, xs, gs, params)
    problem = mismatch(result, want, arithmetic)
    assert problem is None, f"{name} params={params} {context}: {problem}"


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda lay: lay.name)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + OTHER_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_out_of_place_and_out(name: str, dtype, layout: Layout, backend: str) -> None:
    x = make(dtype, layout, seed=1)
    g = make(dtype, layout, seed=2) if name in BINARY else None
    saved = [a.copy() for a in (x, g) if a is not None]
    context = f"backend={backend} {describe(x, layout)}"
    for params in param_sets(name):
        result = call(name, x, g, params, backend=backend)
        check(result, name, x, g, params, context + " out=None")
        assert isinstance(result, np.ndarray), context
        out = np.full(x.shape, 7, dtype=native(x).dtype)
        assert call(name, x, g, params, out=out, backend=backend) is out
        check(out, name, x, g, params, context + " out=new")
    for before, after in zip(saved, [a for a in (x, g) if a is not None], strict=True):
        assert before.tobytes() == after.tobytes(), f"{context}: an input was modified"


@pytest.mark.parametrize("layout", [lay for lay in LAYOUTS if "byteswapped" not in lay.name],
                         ids=lambda lay: lay.name)  # fmt: skip
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_in_place(name: str, dtype, layout: Layout, backend: str) -> None:
    targets = ("x", "g") if name in BINARY else ("x",)
    for params in param_sets(name):
        for target in targets:
            x = make(dtype, layout, seed=1)
            g = make(dtype, layout, seed=2) if name in BINARY else None
            x0, g0 = x.copy(), None if g is None else g.copy()
            out = x if target == "x" else g
            context = f"backend={backend} {describe(x, layout)} in place into {target}"
            assert call(name, x, g, params, out=out, backend=backend) is out, context
            check(out, name, x0, g0, params, context)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_large(name: str, dtype, backend: str) -> None:
    """A million elements: the sizes where parallel kernels run (for the smooth
    family, whose true values cost far more to compute, a team of two)."""
    size = BIG if activation_of(name).family == "exact" else TEAM_OF_TWO
    x = make(dtype, size, seed=3)
    g = make(dtype, size, seed=4) if name in BINARY else None
    context = f"backend={backend} {describe(x, size)}"
    check(
        call(name, x, g, some_params(name), backend=backend), name, x, g, some_params(name), context
    )
    x0 = x.copy()
    call(name, x, g, some_params(name), out=x, backend=backend)
    check(x, name, x0, g, some_params(name), context + " in place")


#: past the size from which a smooth kernel's compiled float32 and float16
#: loops write through a buffer (FA_BUFFERED_MIN, 2^21), with a tail that is
#: not a whole block
BUFFERED = Layout("2^21 + 1003", (1 << 21) + 1003, lambda f: f[: (1 << 21) + 1003])


@pytest.mark.parametrize("dtype", [np.float16, np.float32], ids=lambda d: np.dtype(d).name)
def test_buffered_loops_give_the_bits_of_the_plain_ones(dtype) -> None:
    """Every smooth kernel, on one thread so that one call of the loop sees
    all the elements: the same bits as calls on pieces below the threshold,
    out of place and in place."""
    x = make(dtype, BUFFERED, seed=8)
    g = make(dtype, BUFFERED, seed=9)
    cut = BUFFERED.n // 2
    try:
        fa.set_num_threads(1)
        for name in [k for k in FUNCTIONS if activation_of(k).family == "smooth"]:
            gk = g if name in BINARY else None
            params = some_params(name)
            whole = call(name, x, gk, params, backend="cython")
            parts = [
                call(name, x[a:b], None if gk is None else gk[a:b], params, backend="cython")
                for a, b in ((0, cut), (cut, BUFFERED.n))
            ]
            bits = f"u{np.dtype(dtype).itemsize}"
            assert (whole.view(bits) == np.concatenate(parts).view(bits)).all(), name
            inplace = x.copy()
            call(name, inplace, gk, params, out=inplace, backend="cython")
            assert (inplace.view(bits) == whole.view(bits)).all(), name
    finally:
        fa.set_num_threads(None)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_backward_mixed_layouts_and_dtypes(name: str, backend: str) -> None:
    x = make(np.float32, LAYOUTS[9], seed=5)  # transposed
    g = np.ascontiguousarray(make(np.float32, LAYOUTS[9], seed=6))
    check(
        call(name, x, g, some_params(name), backend=backend),
        name,
        x,
        g,
        some_params(name),
        "C grad_out, transposed x",
    )
    for gd, xd in [(np.float32, np.float64), (np.float16, np.float32), (np.float32, np.int64)]:
        with np.errstate(all="ignore"):
            xm, gm = x.astype(xd), g.astype(gd)
        result = call(name, xm, gm, some_params(name), backend=backend)
        assert result.dtype == np.result_type(gd, xd), (gd, xd)
        check(result, name, xm, gm, some_params(name), f"grad_out {np.dtype(gd)} x {np.dtype(xd)}")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_scalars(name: str, dtype, backend: str) -> None:
    for value in (-2.5, -0.0, 0.0, 3.0, np.nan, -np.inf):
        x, g = dtype(value), dtype(1.5)
        result = call(name, x, g, some_params(name), backend=backend)
        assert type(result) is np.dtype(dtype).type, (name, value, type(result))
        check(
            np.asarray(result),
            name,
            np.asarray(x),
            np.asarray(g),
            some_params(name),
            f"scalar {value}",
        )
    python = call(name, -3.0, 2.0, some_params(name), backend=backend)
    assert type(python) is np.float64
    listed = call(name, [[-1, 2]], [[3, 4]], some_params(name), backend=backend)
    assert listed.dtype == np.float64 and listed.shape == (1, 2)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_zero_d_array_stays_an_array(name: str, backend: str) -> None:
    x = np.array(-2.0, dtype=np.float32)
    result = call(name, x, np.array(1.0, np.float32), some_params(name), backend=backend)
    assert isinstance(result, np.ndarray) and result.shape == ()


@pytest.mark.parametrize("name", FUNCTIONS)
def test_in_place_on_a_view_touches_nothing_else(name: str, backend: str) -> None:
    base = make(np.float32, LAYOUTS[7], seed=7).copy()  # 37 x 41
    before = base.copy()
    view = base[2:30:3, 40:1:-4]
    x0 = view.copy()
    g = make(np.float32, LAYOUTS[7], seed=8)[2:30:3, 40:1:-4] if name in BINARY else None
    call(name, view, g, some_params(name), out=view, backend=backend)
    check(view, name, x0, g, some_params(name), "strided view in place")
    outside = np.ones(base.shape, bool)
    outside[2:30:3, 40:1:-4] = False
    np.testing.assert_array_equal(base.view(np.uint32)[outside], before.view(np.uint32)[outside])


@pytest.mark.parametrize("shift", [1, -1, 5])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_partial_overlap_gives_the_right_result(name: str, shift: int, backend: str) -> None:
    base = make(np.float64, LAYOUTS[6], seed=9).copy()  # 1000 values
    n = base.size - abs(shift)
    x = base[max(shift, 0) : max(shift, 0) + n]
    out = base[max(-shift, 0) : max(-shift, 0) + n]
    x0 = x.copy()
    g = make(np.float64, LAYOUTS[6], seed=10)[:n] if name in BINARY else None
    call(name, x, g, some_params(name), out=out, backend=backend)
    check(out, name, x0, g, some_params(name), f"out overlaps x shifted by {shift}")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_zero_stride_input(name: str, backend: str) -> None:
    x = np.broadcast_to(np.array([-1.5, 0.0, 2.0], np.float32), (50, 3))
    g = np.broadcast_to(np.float32(3.0), (50, 3)) if name in BINARY else None
    check(
        call(name, x, g, some_params(name), backend=backend),
        name,
        x,
        g,
        some_params(name),
        "broadcast input",
    )


def test_the_oracle_and_the_parameter_sets_cover_the_table() -> None:
    from oracle import KERNELS as ORACLE_KERNELS

    assert set(ORACLE_KERNELS) == set(KERNELS)
    elementwise = {n: a for n, a in fa.ACTIVATIONS.items() if a.kind == "elementwise"}
    assert set(PARAM_SETS) == set(elementwise)
    for name, act in elementwise.items():
        assert PARAM_SETS[name][0] == tuple(p.default for p in act.params), name


@pytest.mark.parametrize("name", sorted(BINARY))
def test_backward_broadcasts_as_numpy(name: str, backend: str) -> None:
    x = make(np.float32, LAYOUTS[7], seed=11)  # 37 x 41
    params = some_params(name)
    for g in (np.float32(2.5), 2.5, make(np.float32, LAYOUTS[7], seed=12)[:1], np.ones((3, 1, 1))):
        result = call(name, x, g, params, backend=backend)
        shape = np.broadcast_shapes(np.shape(g), x.shape)
        assert result.shape == shape, (np.shape(g), result.shape)
        assert result.dtype == (np.float64 if np.ndim(g) == 3 else np.float32)
        check(result, name, np.broadcast_to(x, shape), g, params, f"grad_out {np.shape(g)}")
    with pytest.raises(ValueError, match="broadcast"):
        call(name, x, np.ones(3), params, backend=backend)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_many_dimensions(name: str, backend: str) -> None:
    """32 dimensions, transposed, into a C-order out: no Python loop per row."""
    x = make(np.float64, LAYOUTS[6], seed=13)[:1000]
    x = np.resize(x, 2**16).reshape((2,) * 16).transpose(np.arange(16)[::-1])
    x = x.reshape(x.shape + (1,) * 16)
    assert x.ndim == 32
    g = np.ascontiguousarray(x[..., ::-1]) if name in BINARY else None
    out = np.empty(x.shape)
    call(name, x, g, some_params(name), out=out, backend=backend)
    check(out, name, x, g, some_params(name), "32-d transposed")
