"""Agreement with PyTorch (CPU), bit for bit, except where the SPEC names a difference.

The named exceptions:
- the derivative at NaN: fastact's formulas give their ``else`` branch,
  PyTorch passes ``grad_out`` (or 1) through;
- signed zeros in clamps (relu6, hardtanh at -0.0): PyTorch's scalar and
  vectorised paths disagree with each other there;
- hardsigmoid's float64 derivative: PyTorch multiplies by float32's 1/6;
- prelu's weight gradient: PyTorch sums in another order (fastact's order is
  fixed so that every thread count gives the same bits), so it agrees to
  rounding only.
"""

from __future__ import annotations

import numpy as np
import pytest
from arrays import values

import fastact as fa

torch = pytest.importorskip("torch")
F = torch.nn.functional

#: fastact activation -> (PyTorch function, parameters as PyTorch takes them)
PEERS = {
    "relu": (F.relu, {}),
    "leaky_relu": (F.leaky_relu, {"negative_slope": 0.01}),
    "relu6": (F.relu6, {}),
    "hardtanh": (F.hardtanh, {"min_val": -1.0, "max_val": 1.0}),
    "hardsigmoid": (F.hardsigmoid, {}),
    "hardswish": (F.hardswish, {}),
}
CLAMPS = {"relu6", "hardtanh"}
DTYPES = (np.float16, np.float32, np.float64)


def _torch_forward_backward(name, x, g):
    fn, kwargs = PEERS[name]
    t = torch.from_numpy(x.copy()).requires_grad_(True)
    y = fn(t, **kwargs)
    y.backward(torch.from_numpy(g.copy()))
    return y.detach().numpy(), t.grad.numpy()


def _compare(ours, theirs, keep, what) -> None:
    a, b = ours[keep], theirs[keep]
    both_nan = np.isnan(a) & np.isnan(b)
    bad = (a.view(f"u{a.itemsize}") != b.view(f"u{b.itemsize}")) & ~both_nan
    assert not bad.any(), f"{what}: {bad.sum()} differ, e.g. {a[bad][:3]} vs {b[bad][:3]}"


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(PEERS))
def test_forward_and_backward_agree_with_pytorch(name, dtype) -> None:
    x = values(dtype, 5000, seed=1)
    x[:64] = np.linspace(-7, 7, 64)  # the branch points and both sides of them
    g = values(dtype, 5000, seed=2)
    g[np.isnan(g) | np.isinf(g)] = 1.5  # PyTorch lets them through zero derivatives
    params = tuple(PEERS[name][1].values())
    y_t, gx_t = _torch_forward_backward(name, x, g)
    keep = ~(np.isnan(x))
    if name in CLAMPS:
        keep &= x != 0
    _compare(getattr(fa, name)(x, *params), y_t, keep, f"{name} forward")
    gx = getattr(fa, f"{name}_backward")(g, x, *params)
    if name == "hardsigmoid" and dtype == np.float64:
        np.testing.assert_allclose(gx[keep], gx_t[keep], rtol=1e-7, atol=1e-300)
    else:
        _compare(gx, gx_t, keep, f"{name} backward")


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: np.dtype(d).name)
def test_prelu_agrees_with_pytorch(dtype) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 8, 8)).astype(dtype)
    g = rng.standard_normal((4, 3, 8, 8)).astype(dtype)
    w = rng.uniform(0, 0.5, 3).astype(dtype)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    wt = torch.from_numpy(w.copy()).requires_grad_(True)
    y = F.prelu(xt, wt)
    y.backward(torch.from_numpy(g.copy()))
    _compare(fa.prelu(x, w), y.detach().numpy(), np.ones(x.shape, bool), "prelu forward")
    gx, gw = fa.prelu_backward(g, x, w)
    _compare(gx, xt.grad.numpy(), np.ones(x.shape, bool), "prelu grad_x")
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_the_named_exceptions_are_real() -> None:
    """Each exception above is a real difference: if PyTorch changes, this says so."""
    x = np.array([np.nan], np.float32)
    _, gx_t = _torch_forward_backward("relu", x, np.ones(1, np.float32))
    assert fa.relu_backward(np.ones(1, np.float32), x)[0] == 0 and gx_t[0] != 0
