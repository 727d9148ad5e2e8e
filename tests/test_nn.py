"""The layers of fastact.nn, against the seeds' np.where formulas."""

from __future__ import annotations

import numpy as np
import pytest

import fastact as fa


def where_leaky(x, a):
    return np.where(x > 0, x, a * x)


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.3])
def test_leaky_relu_layer(alpha, inplace, backend) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32))
    x0 = x.copy()
    layer = fa.nn.LeakyReLU(alpha, inplace=inplace, backend=backend)
    y = layer(x)
    np.testing.assert_array_equal(y, where_leaky(x0, alpha))
    assert (y is x) == inplace
    if not inplace:
        np.testing.assert_array_equal(x, x0)
    g = rng.standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(g), np.where(x0 > 0, g, alpha * g))
    out = np.empty_like(g)
    assert layer.backward(g, out=out) is out
    np.testing.assert_array_equal(out, np.where(x0 > 0, g, alpha * g))


def test_negative_alpha_layer_keeps_the_input(backend) -> None:
    x = np.array([-2.0, 3.0])
    layer = fa.nn.LeakyReLU(-0.5, backend=backend)
    np.testing.assert_array_equal(layer.forward(x), [1.0, 3.0])
    np.testing.assert_array_equal(layer.backward(np.ones(2)), [-0.5, 1.0])
    with pytest.raises(ValueError, match="alpha >= 0"):
        fa.nn.LeakyReLU(-0.5, inplace=True)


@pytest.mark.parametrize("inplace", [False, True])
def test_relu_layer(inplace, backend) -> None:
    x = np.array([[-1.0, 0.0, 2.0]], dtype=np.float32)
    layer = fa.nn.ReLU(inplace=inplace, backend=backend)
    y = layer.forward(x)
    np.testing.assert_array_equal(y, [[0.0, 0.0, 2.0]])
    assert (y is x) == inplace
    np.testing.assert_array_equal(layer.backward(np.full((1, 3), 5, np.float32)), [[0, 0, 5]])
    assert repr(layer) == f"ReLU(inplace={inplace})"


def test_layer_errors() -> None:
    with pytest.raises(RuntimeError, match="before forward"):
        fa.nn.ReLU().backward(np.ones(2))
    with pytest.raises(ValueError, match="finite"):
        fa.nn.LeakyReLU(float("nan"))
    with pytest.raises(TypeError, match="real number"):
        fa.nn.LeakyReLU("0.1")
    with pytest.raises(TypeError, match="dtype"):
        fa.nn.ReLU(inplace=True)(np.arange(3))
