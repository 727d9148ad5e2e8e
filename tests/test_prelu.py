"""prelu: per-channel slopes, any axis, and a weight gradient with the same bits everywhere."""

from __future__ import annotations

import numpy as np
import pytest
from arrays import FLOAT_DTYPES, values
from oracle import mismatch, prelu_expected, prelu_grad_weight

import fastact as fa
from fastact._table import REDUCTION_BLOCK


def _case(dtype, shape, axis, seed=0):
    rng = np.random.default_rng(seed)
    x = values(dtype, int(np.prod(shape)), seed).reshape(shape)
    g = values(dtype, int(np.prod(shape)), seed + 1).reshape(shape)
    channels = 1 if axis is None else shape[axis]
    w = rng.uniform(-1, 1, channels) if axis is not None else 0.3
    return x, g, w


def _check(name, got, want, arithmetic=None) -> None:
    arith = np.ones(want.shape, bool) if arithmetic is None else arithmetic
    problem = mismatch(got, want, arith)
    assert problem is None, f"{name}: {problem}"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(
    ("shape", "axis"),
    [((4, 3, 5, 5), 1), ((6, 7), 0), ((2, 3, 4), -1), ((5, 9), None), ((2, 3, 4500), 1)],
)
def test_matches_the_oracle(dtype, shape, axis, backend) -> None:
    x, g, w = _case(dtype, shape, axis)
    ax = None if axis is None else axis % len(shape)
    forward, grad_x = prelu_expected(x, g, w, ax)
    _check("prelu", fa.prelu(x, w, axis if axis is not None else 1, backend=backend), forward)
    got_x, got_w = fa.prelu_backward(g, x, w, axis if axis is not None else 1, backend=backend)
    _check("grad_x", got_x, grad_x)
    channels = 1 if ax is None else shape[ax]
    want_w = prelu_grad_weight(x, g, channels, ax, REDUCTION_BLOCK)
    if ax is None:
        assert np.ndim(got_w) == 0
    _check("grad_weight", np.atleast_1d(np.asarray(got_w)), want_w)
    grad = fa.prelu_grad(x, w, axis if axis is not None else 1, backend=backend)
    wb = (
        np.asarray(w)
        if ax is None
        else np.asarray(w).reshape([-1 if i == ax else 1 for i in range(len(shape))])
    )
    ct = np.float32 if dtype != np.float64 else np.float64
    _check("prelu_grad", grad, np.where(x > 0, x.dtype.type(1), wb.astype(ct).astype(x.dtype)))


def test_layouts_in_place_and_broadcast_grad(backend) -> None:
    x, g, w = _case(np.float32, (3, 4, 6), 1)
    xt = np.asfortranarray(x)
    forward, _ = prelu_expected(x, g, w, 1)
    _check("F-order", fa.prelu(xt, w, backend=backend), forward)
    inplace = x.copy()
    assert fa.prelu(inplace, w, out=inplace, backend=backend) is inplace
    _check("in place", inplace, forward)
    gx, gw = fa.prelu_backward(np.float32(1.5), x, w, backend=backend)
    _, want = prelu_expected(x, np.full_like(x, 1.5), w, 1)
    _check("broadcast grad_out", gx, want)
    _check(
        "broadcast grad_w", gw, prelu_grad_weight(x, np.full_like(x, 1.5), 4, 1, REDUCTION_BLOCK)
    )


def test_the_weight_gradient_has_the_same_bits_for_every_thread_count() -> None:
    x, g, w = _case(np.float32, (8, 3, 70_000), 1, seed=5)
    results = []
    try:
        for threads in (1, 2, None):
            fa.set_num_threads(threads)
            for backend in ("auto", "numpy"):
                results.append(fa.prelu_backward(g, x, w, backend=backend))
    finally:
        fa.set_num_threads(None)
    for gx, gw in results[1:]:
        assert gx.tobytes() == results[0][0].tobytes()
        assert gw.tobytes() == results[0][1].tobytes()


@pytest.mark.parametrize(
    ("weight", "axis", "exc", "words"),
    [
        (np.ones(3), 1, ValueError, "4 channels"),
        (np.ones(4), 5, ValueError, "out of range"),
        (np.ones(4), 1.0, TypeError, "axis"),
        (np.array([0.1, np.nan, 0.1, 0.1]), 1, ValueError, "finite"),
        (True, 1, TypeError, "real number"),
        (np.ones((4, 1)), 1, TypeError, "1-D"),
        ("0.1", 1, TypeError, "real number"),
        (np.full(4, 1e39), 1, ValueError, "overflows"),
    ],
)
def test_bad_weights(weight, axis, exc, words) -> None:
    x = np.ones((2, 4), np.float32)
    before = x.copy()
    with pytest.raises(exc, match=words):
        fa.prelu_backward(x, x, weight, axis, out=x)
    assert x.tobytes() == before.tobytes()


def test_layer_learns_its_slopes() -> None:
    layer = fa.nn.PReLU(num_parameters=3, init=0.25)
    x, g, _ = _case(np.float64, (4, 3, 2), 1, seed=9)
    x, g = np.nan_to_num(x), np.nan_to_num(g)
    y = layer(x)
    _check("layer forward", y, prelu_expected(x, g, layer.weight, 1)[0])
    gx = layer.backward(g)
    _check("layer grad_x", gx, prelu_expected(x, g, layer.weight, 1)[1])
    _check("layer grad_weight", layer.grad_weight, prelu_grad_weight(x, g, 3, 1, REDUCTION_BLOCK))
    with pytest.raises(ValueError):
        fa.nn.PReLU(0)
