"""Every function x backend x dtype x layout x alpha, bit for bit against the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from arrays import ALPHAS, BIG, FLOAT_DTYPES, LAYOUTS, OTHER_DTYPES, Layout, describe, make
from oracle import BINARY, FUNCTIONS, USES_ALPHA, expected, mismatch

import fastact as fa


def call(name: str, x, g=None, alpha: float = 0.01, **kwargs):
    args = (g, x) if name in BINARY else (x,)
    if name in USES_ALPHA:
        args += (alpha,)
    return getattr(fa, name)(*args, **kwargs)


def native(a: np.ndarray, dtype=None) -> np.ndarray:
    """What the SPEC computes on: native float, bool/integers as float64."""
    a = np.asarray(a)
    if a.dtype.kind in "biu":
        a = a.astype(np.float64)
    a = a.astype(a.dtype.newbyteorder("="))
    return a if dtype is None else a.astype(dtype)


def check(result, name, x, g, alpha, context: str) -> None:
    xs = native(x)
    gs = None if g is None else native(g)
    if gs is not None and gs.dtype != xs.dtype:
        dt = np.result_type(gs, xs)
        xs, gs = xs.astype(dt), gs.astype(dt)
    want, arithmetic = expected(name, xs, gs, alpha)
    problem = mismatch(result, want, arithmetic)
    assert problem is None, f"{name} alpha={alpha} {context}: {problem}"


def alphas(name: str) -> tuple[float, ...]:
    return ALPHAS if name in USES_ALPHA else (0.0,)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda lay: lay.name)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + OTHER_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_out_of_place_and_out(name: str, dtype, layout: Layout, backend: str) -> None:
    x = make(dtype, layout, seed=1)
    g = make(dtype, layout, seed=2) if name in BINARY else None
    saved = [a.copy() for a in (x, g) if a is not None]
    context = f"backend={backend} {describe(x, layout)}"
    for alpha in alphas(name):
        result = call(name, x, g, alpha, backend=backend)
        check(result, name, x, g, alpha, context + " out=None")
        assert isinstance(result, np.ndarray), context
        out = np.full(x.shape, 7, dtype=native(x).dtype)
        assert call(name, x, g, alpha, out=out, backend=backend) is out
        check(out, name, x, g, alpha, context + " out=new")
    for before, after in zip(saved, [a for a in (x, g) if a is not None], strict=True):
        assert before.tobytes() == after.tobytes(), f"{context}: an input was modified"


@pytest.mark.parametrize("layout", [lay for lay in LAYOUTS if "byteswapped" not in lay.name],
                         ids=lambda lay: lay.name)  # fmt: skip
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_in_place(name: str, dtype, layout: Layout, backend: str) -> None:
    targets = ("x", "g") if name in BINARY else ("x",)
    for alpha in alphas(name):
        for target in targets:
            x = make(dtype, layout, seed=1)
            g = make(dtype, layout, seed=2) if name in BINARY else None
            x0, g0 = x.copy(), None if g is None else g.copy()
            out = x if target == "x" else g
            context = f"backend={backend} {describe(x, layout)} in place into {target}"
            assert call(name, x, g, alpha, out=out, backend=backend) is out, context
            check(out, name, x0, g0, alpha, context)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_large(name: str, dtype, backend: str) -> None:
    """A million elements: the sizes where parallel kernels run."""
    x = make(dtype, BIG, seed=3)
    g = make(dtype, BIG, seed=4) if name in BINARY else None
    context = f"backend={backend} {describe(x, BIG)}"
    check(call(name, x, g, 0.2, backend=backend), name, x, g, 0.2, context)
    x0 = x.copy()
    call(name, x, g, 0.2, out=x, backend=backend)
    check(x, name, x0, g, 0.2, context + " in place")


@pytest.mark.parametrize("name", sorted(BINARY))
def test_backward_mixed_layouts_and_dtypes(name: str, backend: str) -> None:
    x = make(np.float32, LAYOUTS[9], seed=5)  # transposed
    g = np.ascontiguousarray(make(np.float32, LAYOUTS[9], seed=6))
    check(call(name, x, g, 0.2, backend=backend), name, x, g, 0.2, "C grad_out, transposed x")
    for gd, xd in [(np.float32, np.float64), (np.float16, np.float32), (np.float32, np.int64)]:
        with np.errstate(all="ignore"):
            xm, gm = x.astype(xd), g.astype(gd)
        result = call(name, xm, gm, 0.2, backend=backend)
        assert result.dtype == np.result_type(gd, xd), (gd, xd)
        check(result, name, xm, gm, 0.2, f"grad_out {np.dtype(gd)} x {np.dtype(xd)}")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_scalars(name: str, dtype, backend: str) -> None:
    for value in (-2.5, -0.0, 0.0, 3.0, np.nan, -np.inf):
        x, g = dtype(value), dtype(1.5)
        result = call(name, x, g, 0.2, backend=backend)
        assert type(result) is np.dtype(dtype).type, (name, value, type(result))
        check(np.asarray(result), name, np.asarray(x), np.asarray(g), 0.2, f"scalar {value}")
    python = call(name, -3.0, 2.0, 0.2, backend=backend)
    assert type(python) is np.float64
    listed = call(name, [[-1, 2]], [[3, 4]], 0.2, backend=backend)
    assert listed.dtype == np.float64 and listed.shape == (1, 2)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_zero_d_array_stays_an_array(name: str, backend: str) -> None:
    x = np.array(-2.0, dtype=np.float32)
    result = call(name, x, np.array(1.0, np.float32), 0.5, backend=backend)
    assert isinstance(result, np.ndarray) and result.shape == ()


@pytest.mark.parametrize("name", FUNCTIONS)
def test_in_place_on_a_view_touches_nothing_else(name: str, backend: str) -> None:
    base = make(np.float32, LAYOUTS[7], seed=7).copy()  # 37 x 41
    before = base.copy()
    view = base[2:30:3, 40:1:-4]
    x0 = view.copy()
    g = make(np.float32, LAYOUTS[7], seed=8)[2:30:3, 40:1:-4] if name in BINARY else None
    call(name, view, g, 0.2, out=view, backend=backend)
    check(view, name, x0, g, 0.2, "strided view in place")
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
    call(name, x, g, 0.2, out=out, backend=backend)
    check(out, name, x0, g, 0.2, f"out overlaps x shifted by {shift}")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_zero_stride_input(name: str, backend: str) -> None:
    x = np.broadcast_to(np.array([-1.5, 0.0, 2.0], np.float32), (50, 3))
    g = np.broadcast_to(np.float32(3.0), (50, 3)) if name in BINARY else None
    check(call(name, x, g, 0.2, backend=backend), name, x, g, 0.2, "broadcast input")
