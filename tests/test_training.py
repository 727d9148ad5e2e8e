"""fastact's layers in a NumPy training loop: the same weights as the np.where code, bit for bit.

The model is ``examples/train_mlp.py`` (loaded from the checkout by path, since
``examples/`` is not part of the installed package). Only the digits tests need
scikit-learn (the ``examples`` extra); the others train on synthetic data.
Every activation of ``fa.ACTIVATIONS`` is trained against its plain-NumPy
layer in the example, so a new table entry is covered once it has one.
"""

from __future__ import annotations

import doctest
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np
import pytest
from conftest import require

import fastact as fa
from fastact._table import REDUCTION_BLOCK

# the example is a script, not part of the package: import it from its folder
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import train_mlp


def _one_blas_thread() -> AbstractContextManager[object]:
    """Limit BLAS to one thread if threadpoolctl is installed (it comes with scikit-learn).

    The matrices here are tiny, so BLAS threads gain nothing; on a busy machine
    their spin-waiting can stretch a millisecond step to seconds.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(1, user_api="blas")


def _synthetic_data(n: int, dtype: type[np.floating]) -> tuple[np.ndarray, np.ndarray]:
    """Digit-like inputs: integers 0..16 scaled to [0, 1], most of them 0, some rows all 0.

    The zeros matter: an all-zero row gives a pre-activation of exactly 0 in
    the first layer (biases start at 0), where the derivative conventions
    (``x <= 0`` against ``x > 0``) meet.
    """
    rng = np.random.default_rng(1234)
    x = rng.integers(0, 17, size=(n, 64)) * (rng.random((n, 64)) < 0.4) / 16
    x[::7] = 0
    y = (x[:, :32].sum(axis=1) > x[:, 32:].sum(axis=1)).astype(np.intp) + 2 * (x[:, 0] > 0)
    return x.astype(dtype), y


def _train(
    activations: str,
    *,
    inplace: bool,
    alpha: float,
    dtype: type[np.floating],
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    width: int = 48,
    batch_size: int = 32,
    lr: float = 0.2,
    activation: str = "leaky_relu",
) -> list[np.ndarray]:
    model = train_mlp.MLP(
        (x.shape[1], width, width, 10),
        activations=activations,
        alpha=alpha,
        inplace=inplace,
        dtype=dtype,
        seed=7,
        activation=activation,
    )
    opt = train_mlp.SGD(model.params, lr=lr, momentum=0.9)
    rng = np.random.default_rng(7)
    with _one_blas_thread():
        for _ in range(epochs):
            train_mlp.train_epoch(model, opt, x, y, batch_size, rng)
    return model.params


def _assert_bit_identical(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.dtype == w.dtype, (i, g.dtype, w.dtype)
        # bytes, not values: assert_array_equal would let -0.0 == 0.0 pass
        assert g.tobytes() == w.tobytes(), f"parameter {i} differs"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("inplace", [False, True], ids=["out_of_place", "inplace"])
@pytest.mark.parametrize("alpha", [0.01, 0.2, 0.0], ids=["leaky0.01", "leaky0.2", "relu"])
def test_weights_bit_identical_to_np_where(alpha, inplace, dtype, backend) -> None:
    # alpha == 0 trains fa.nn.ReLU, which gives +0.0 for negative inputs where
    # the seed's 0 * x gives -0.0: a zero's sign never changes a sum that has
    # a non-zero term, and the biases start at +0.0, so the weights still agree.
    x, y = _synthetic_data(320, dtype)
    want = _train("numpy", inplace=False, alpha=alpha, dtype=dtype, x=x, y=y, epochs=3)
    with fa.use_backend(backend):
        got = _train("fastact", inplace=inplace, alpha=alpha, dtype=dtype, x=x, y=y, epochs=3)
    for p in want:
        assert p.dtype == dtype  # the np.where path did not promote to float64
    initial = train_mlp.MLP((64, 48, 48, 10), alpha=alpha, dtype=dtype, seed=7).params
    assert not any(np.array_equal(p, q) for p, q in zip(want, initial, strict=True))
    _assert_bit_identical(got, want)


def test_every_activation_has_a_plain_numpy_layer() -> None:
    # what makes the test below cover a new table entry: the example must
    # write out its formulas in NumPy (and fastact.nn must have its layer)
    missing = set(fa.ACTIVATIONS) - set(train_mlp.WHERE_LAYERS)
    assert not missing, f"examples/train_mlp.py has no plain-NumPy layer for {sorted(missing)}"
    for name, entry in fa.ACTIVATIONS.items():
        layer = train_mlp.make_activation("fastact", activation=name, channels=4)
        assert type(layer) is getattr(fa.nn, entry.layer)
        where = train_mlp.make_activation("numpy", activation=name, channels=4)
        assert isinstance(where, train_mlp.WHERE_LAYERS[name])


def _inplace_choices(name: str) -> list[bool]:
    """Out of place, and in place where the fastact layer allows it (its output tells f')."""
    try:
        train_mlp.make_activation("fastact", inplace=True, activation=name)
    except ValueError:
        return [False]
    return [False, True]


#: the smooth family's tolerance, in eps of the dtype (see its use below)
SMOOTH_TOL = 100


# Numba compiles each kernel for each dtype on first use (about 2.5 s on this
# machine): for every activation that is over a minute, so the table-wide test
# runs the backends that cost nothing to start. Numba trains Leaky ReLU and
# ReLU in test_weights_bit_identical_to_np_where above, and its kernels are
# held to the same bits as the others by tests/test_conformance.py.
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("backend_name", ["cython", "numpy"])
@pytest.mark.parametrize("name", list(fa.ACTIVATIONS))
def test_every_activation_trains_to_the_plain_numpy_weights(name, backend_name, dtype) -> None:
    require(backend_name)
    if name not in train_mlp.WHERE_LAYERS:
        pytest.skip(f"no plain-NumPy layer for {name} (the test above fails for it)")
    if name == "gelu":
        pytest.importorskip("scipy")  # the plain-NumPy GELU's erfc (scipy comes with scikit-learn)
    x, y = _synthetic_data(160, dtype)
    kw = {"alpha": 0.01, "dtype": dtype, "x": x, "y": y, "epochs": 2, "width": 32}
    want = _train("numpy", inplace=False, activation=name, **kw)
    initial = train_mlp.MLP((64, 32, 32, 10), dtype=dtype, seed=7, activation=name).params
    changed = [not np.array_equal(p, q) for p, q in zip(want, initial, strict=True)]
    assert all(changed), changed  # every parameter (PReLU's slopes included) trained
    for inplace in _inplace_choices(name):
        with fa.use_backend(backend_name):
            got = _train("fastact", inplace=inplace, activation=name, **kw)
        if fa.ACTIVATIONS[name].family == "exact":
            _assert_bit_identical(got, want)
        else:
            # The smooth family is accurate to 1-2 ulp, not bit-exact to a
            # NumPy formula: its weights can only agree to a tolerance. Measured
            # here, every activation and dtype needs at most 3.4 eps; 1000 eps
            # (1.2e-4 in float32) would be too loose: the tanh GELU trained
            # against the exact one needs 1400 eps, a derivative 1e-4 off
            # 400 eps. 100 eps keeps a wide margin for other platforms' libm.
            tol = SMOOTH_TOL * np.finfo(dtype).eps
            for g, w in zip(got, want, strict=True):
                np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("elu", (0.5,)),
        ("celu", (2.5,)),
        ("celu", (-0.5,)),
        ("gelu", ("tanh",)),
        ("softplus", (0.5, 3.0)),
        ("softplus", (-2.0, 4.0)),
    ],
)
def test_smooth_layers_at_other_parameters_match_fastact(name, params, dtype) -> None:
    # the MLP trains every activation at its defaults only: the other
    # branches of the plain-NumPy layers (the tanh GELU...) are checked here
    x = np.concatenate([np.linspace(-8, 8, 2001), [-0.0, 1e-30]]).astype(dtype)
    g = np.random.default_rng(5).uniform(-2, 2, x.size).astype(dtype)
    layer = train_mlp.WHERE_LAYERS[name](*params)
    got_y, got_g = layer(x), layer.backward(g)
    assert got_y.dtype == got_g.dtype == dtype
    # 1 - tanh(u)**2 cancels in the tanh GELU's derivative: 20 eps from fastact at most
    tol = SMOOTH_TOL * np.finfo(dtype).eps
    want_y = getattr(fa, name)(x, *params)
    np.testing.assert_allclose(got_y, want_y, rtol=tol, atol=tol)
    want_g = getattr(fa, f"{name}_backward")(g, x, *params)
    np.testing.assert_allclose(got_g, want_g, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prelu_slopes_learn_per_unit(dtype) -> None:
    x, y = _synthetic_data(160, dtype)
    model = train_mlp.MLP((64, 32, 32, 10), dtype=dtype, seed=7, activation="prelu")
    slopes = model.params[-2:]
    assert [s.shape for s in slopes] == [(32,), (32,)]
    assert all(s.dtype == np.float64 and (s == 0.25).all() for s in slopes)  # as fa.nn.PReLU
    opt = train_mlp.SGD(model.params, lr=0.2, momentum=0.9)
    with _one_blas_thread():
        for _ in range(2):
            train_mlp.train_epoch(model, opt, x, y, 32, np.random.default_rng(7))
    for layer, s in zip(model.activations, slopes, strict=True):
        assert layer.weight is s  # updated in place, so the layer computes with the new slopes
        assert (s != 0.25).sum() > 16 and len(np.unique(s)) > 16, s  # one slope per unit
        assert layer.grad_weight.dtype == dtype


def test_plain_numpy_prelu_sums_in_fastacts_order() -> None:
    # The MLP's PReLU rows hold one element each; here rows span several
    # blocks, so the block order of the weight gradient matters. float64
    # products from 1e-6 to 1e6 make a sum in another order (np.sum adds
    # pairwise) round differently, as the last assertion checks; float32
    # would hide the difference in its final rounding.
    rng = np.random.default_rng(3)
    shape = (3, 2, 2 * REDUCTION_BLOCK + 5)
    x = -np.exp(rng.uniform(-7, 7, shape)) * (rng.random(shape) < 0.8)
    x[0, 0, :9] = -0.0
    g = rng.standard_normal(shape)
    for weight in (np.array([0.5, 0.125]), np.array([0.5])):
        layer = train_mlp.WherePReLU(weight.size)
        layer.weight[:] = weight
        layer(x)
        got_x = layer.backward(g)
        want_x, want_w = fa.prelu_backward(g, x, weight if weight.size > 1 else weight[0])
        assert got_x.tobytes() == want_x.tobytes()
        assert layer.grad_weight.tobytes() == np.atleast_1d(want_w).tobytes()
    assert np.where(x <= 0, g * x, 0.0).sum() != layer.grad_weight[0]


def test_layers_hit_the_derivative_at_zero() -> None:
    # The exactness test above means something at x == 0 only if the training
    # there really meets pre-activations that are exactly zero.
    x, _ = _synthetic_data(320, np.float32)
    model = train_mlp.MLP((64, 48, 48, 10), activations="numpy", dtype=np.float32, seed=7)
    model.forward(x)
    layer = model.activations[0]
    assert (layer._x == 0).any()
    assert (layer._x < 0).any() and (layer._x > 0).any()


def test_seed_derivative_promotes_float32_to_float64() -> None:
    # Why WhereLeakyReLU casts leak and 1 to x's dtype: the tutorial's
    # derivative, as written, is float64 whatever x is.
    x = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
    assert np.where(x <= 0, 0.01, 1).dtype == np.float64
    layer = train_mlp.WhereLeakyReLU(0.01)
    layer.forward(x)
    assert layer.backward(np.ones_like(x)).dtype == np.float32
    fa_layer = fa.nn.LeakyReLU(0.01)
    fa_layer.forward(x)
    assert fa_layer.backward(np.ones_like(x)).tobytes() == layer.backward(np.ones_like(x)).tobytes()


def test_numpy_activations_refuse_inplace() -> None:
    with pytest.raises(ValueError, match="in-place"):
        train_mlp.make_activation("numpy", 0.01, inplace=True)
    with pytest.raises(ValueError, match="activations must be"):
        train_mlp.make_activation("torch", 0.01, inplace=False)
    with pytest.raises(ValueError, match="activation must be one of relu, leaky_relu"):
        train_mlp.make_activation("fastact", activation="swish")
    with pytest.raises(ValueError, match="no in-place form"):
        train_mlp.make_activation("fastact", inplace=True, activation="prelu")
    with pytest.raises(ValueError, match="does not tell the derivative"):
        train_mlp.make_activation("fastact", inplace=True, activation="hardswish")
    with pytest.raises(ValueError, match="float32 or float64"):
        train_mlp.MLP((4, 4, 2), dtype=np.float16)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 1 / (1 + exp(-z)) overflows in exp for large negative z; this form cannot
    return np.exp(-np.logaddexp(0.0, -z))


@pytest.mark.parametrize("activations", ["fastact", "numpy"])
def test_seed_000_leaky_relu_net_with_sigmoid_output_learns(activations) -> None:
    """The StackOverflow question's 4-sample task, fixed as its answer says.

    The question put Leaky ReLU on the output of a one-layer net trained with
    ``y - output`` errors, and also added the bias to the weights
    (``X @ (W + b)``) and sized ``W`` with a tuple. The fix: Leaky ReLU on the
    hidden units, a sigmoid output read as a probability, the cross-entropy
    gradient ``p - y``, and a separate bias per layer.
    """
    x = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64)
    y = np.array([[0, 1, 0, 1]], dtype=np.float64).T
    rng = np.random.default_rng(1)
    w1, b1 = rng.uniform(-1, 1, (3, 8)), np.zeros(8)
    w2, b2 = rng.uniform(-1, 1, (8, 1)), np.zeros(1)
    act = train_mlp.make_activation(activations, alpha=0.01, inplace=False)
    lr = 0.5
    for _ in range(500):
        h = act.forward(x @ w1 + b1)
        p = _sigmoid(h @ w2 + b2)
        grad_z2 = (p - y) / len(x)  # binary cross-entropy through the sigmoid
        grad_z1 = act.backward(grad_z2 @ w2.T)
        w2 -= lr * (h.T @ grad_z2)
        b2 -= lr * grad_z2.sum(axis=0)
        w1 -= lr * (x.T @ grad_z1)
        b1 -= lr * grad_z1.sum(axis=0)
    p = _sigmoid(act.forward(x @ w1 + b1) @ w2 + b2)
    np.testing.assert_array_equal(p > 0.5, y == 1)
    assert np.all(np.abs(p - y) < 0.1), p.ravel()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_digits_reach_95_percent_with_the_same_weights(dtype) -> None:
    pytest.importorskip("sklearn")
    x_train, y_train, x_test, y_test = train_mlp.load_digits_split(dtype, seed=0)
    results = {}
    for activations, inplace in [("numpy", False), ("fastact", True)]:
        model = train_mlp.MLP(
            (64, 256, 256, 10),
            activations=activations,
            inplace=inplace,
            dtype=dtype,
            seed=0,
        )
        opt = train_mlp.SGD(model.params, lr=0.05, momentum=0.9)
        rng = np.random.default_rng(0)
        with _one_blas_thread():
            for _ in range(3):
                train_mlp.train_epoch(model, opt, x_train, y_train, 32, rng)
            results[activations] = (model.params, train_mlp.accuracy(model, x_test, y_test))
    _assert_bit_identical(results["fastact"][0], results["numpy"][0])
    assert results["fastact"][1] == results["numpy"][1] >= 0.95


def test_example_docstrings() -> None:
    pytest.importorskip("scipy")  # WhereGELU's example (the example's extra installs scikit-learn)
    result = doctest.testmod(train_mlp, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_example_command_line(capsys) -> None:
    pytest.importorskip("sklearn")
    threads = fa.get_num_threads()
    args = ["--epochs", "1", "--width", "32", "--dtype", "float64", "--threads", "1"]
    acc = train_mlp.main([*args, "--inplace"])
    out = capsys.readouterr().out
    assert "epoch   1" in out and "test accuracy" in out and "ms" in out
    assert fa.get_num_threads() == threads  # --threads 1 was undone
    with pytest.raises(SystemExit):
        train_mlp.main(["--activations", "numpy", "--inplace"])
    assert "np.where always allocates" in capsys.readouterr().err
    assert 0.5 < acc <= 1.0
    # --activation: the same accuracy from both codes (the weights are the same)
    prelu = [*args, "--activation", "prelu"]
    assert train_mlp.main([*prelu, "--activations", "numpy"]) == train_mlp.main(prelu) > 0.5
    assert "WherePReLU(num_parameters=32)" in capsys.readouterr().out
    for bad, message in [
        (["--activation", "hardswish", "--inplace"], "does not tell the derivative"),
        (["--activation", "relu6", "--alpha", "0.1"], "--alpha is Leaky ReLU's slope"),
    ]:
        with pytest.raises(SystemExit):
            train_mlp.main(bad)
        assert message in capsys.readouterr().err
