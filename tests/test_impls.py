"""Every implementation the benchmarks time (``fastact.bench.registry``) against the oracle.

fastact entries must match the SPEC bit for bit on data with NaN (payloads
included), infinities, -0.0 and subnormals, at a size that takes the
parallel kernels too, with every parameter set the oracle tests. Baselines
(the seeds' code, the smooth family's NumPy formulas, np.maximum, PyTorch,
numexpr) are checked on random normal data at the table's default parameters,
where they agree with the SPEC's formulas up to rounding and the sign of zero
(the NumPy formulas and PyTorch's smooth kernels also at every parameter set
the oracle tests). References must copy or add.
Each mode must write where it says: a new array, the ``out`` it allocated,
or the first input.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools

import numpy as np
import oracle
import pytest
from arrays import values
from conftest import require

import fastact as fa
from fastact import _config
from fastact._table import ACTIVATIONS, KERNELS, activation_of
from fastact.bench import registry

SIZES = (1, 17, 1000)
#: how far a baseline of the smooth family may be from the true value, in units
#: of the dtype's eps times the size of its terms (see ``_assert_smooth_close``);
#: the NumPy formulas and PyTorch came within 2 on a 20,000-element sample
SMOOTH_TOLERANCE = 4
#: large enough that auto runs a team of two threads (where there are two CPUs)
BIG = 2 * _config.MIN_PER_THREAD + 7


def _cases() -> list:
    cases = []
    for impl in registry.registry():
        for dtype in registry.DTYPES:
            for mode in registry.MODES:
                if impl.unsupported(dtype, mode) is None:
                    cases.append(pytest.param(impl, dtype, mode, id=f"{impl.key}-{dtype}-{mode}"))
    return cases


def _param_sets(function: str) -> list[registry.Params]:
    """The oracle's parameter sets for the kernel's activation (the defaults first)."""
    act = activation_of(function)
    defaults = registry.default_params(function)
    sets = getattr(oracle, "PARAM_SETS", {}).get(act.name, [defaults])
    return [tuple(s) for s in sets]


def _expected(function: str, x: np.ndarray, g: np.ndarray | None, params: registry.Params):
    """The oracle's ``(result, arithmetic)``; skip a kernel it does not know yet."""
    if function not in getattr(oracle, "KERNELS", KERNELS):
        pytest.skip(f"tests/oracle.py has no formula for {function} yet")
    return oracle.expected(function, x, g, params)


def _skip_unless_runs(impl: registry.Impl) -> None:
    if impl.kind == "fastact" and impl.name in ("numba", "cython"):
        require(impl.name)  # fails instead of skipping where CI requires the backend
    reason = impl.unavailable()
    if reason is not None:
        pytest.skip(f"{impl.key} cannot run here: {reason}")


def _check_mode(result: object, inputs: tuple[np.ndarray, ...], before: list, mode: str) -> None:
    arr = np.asarray(result)
    if mode == "inplace":
        assert np.shares_memory(arr, inputs[0]), "in place did not write into the first input"
    else:
        assert not any(np.shares_memory(arr, a) for a in inputs), f"{mode} wrote into an input"
        for a, b in zip(inputs, before, strict=True):
            assert a.tobytes() == b, f"{mode} changed an input"


@pytest.mark.parametrize(("impl", "dtype", "mode"), _cases())
def test_impl(impl: registry.Impl, dtype: str, mode: str) -> None:
    _skip_unless_runs(impl)
    dt = np.dtype(dtype)
    if impl.kind == "fastact":
        for params in _param_sets(impl.function):
            for n in SIZES:
                _check_exact(impl, dt, mode, n, params)
        _check_exact(impl, dt, mode, BIG, registry.default_params(impl.function))
    elif impl.kind == "baseline":
        for n in (*SIZES, BIG):
            _check_baseline(impl, dt, mode, n)
    else:
        for n in (*SIZES, BIG):
            _check_reference(impl, dt, mode, n)


def _check_exact(
    impl: registry.Impl, dt: np.dtype, mode: str, n: int, params: registry.Params
) -> None:
    x = values(dt, n, seed=n)
    inputs = (x,) if registry.arity(impl.function) == 1 else (values(dt, n, seed=n + 1), x)
    g = inputs[0] if len(inputs) == 2 else None
    want, arithmetic = _expected(impl.function, x, g, params)
    before = [a.tobytes() for a in inputs]
    result = impl.prepare(inputs, params, mode)()
    _check_mode(result, inputs, before, mode)
    problem = oracle.mismatch(result, want, arithmetic)
    assert problem is None, f"{impl.key} {dt} n={n} params={params} {mode}: {problem}"
    # a second call on the same prepared arrays gives the same bits (out reused),
    # into an out given to prepare (what the benchmarks share in a group)
    if mode != "inplace":
        given = np.full_like(x, 7) if mode == "out" else None
        run = impl.prepare(inputs, params, mode, given)
        run()
        result = run()
        assert oracle.mismatch(result, want, arithmetic) is None
        if given is not None:
            assert result is given


def _normal(dt: np.dtype, n: int, seed: int) -> np.ndarray:
    data = np.random.default_rng(seed).standard_normal(n).astype(dt)
    data[data == 0] = 1  # where the seeds' x <= 0 and x >= 0 differ from x > 0
    return data


def _check_baseline(impl: registry.Impl, dt: np.dtype, mode: str, n: int) -> None:
    x = _normal(dt, n, seed=n)
    inputs = (x,) if registry.arity(impl.function) == 1 else (_normal(dt, n, seed=n + 1), x)
    g = inputs[0] if len(inputs) == 2 else None
    params = registry.default_params(impl.function)
    want, _ = _expected(impl.function, x, g, params)
    before = [a.tobytes() for a in inputs]
    result = impl.prepare(inputs, None, mode)()
    _check_mode(result, inputs, before, mode)
    got = np.asarray(result)
    assert got.shape == want.shape, f"{impl.key}: shape {got.shape}, expected {want.shape}"
    if activation_of(impl.function).family == "smooth":
        _assert_smooth_close(impl, got, want, x, g)
        return
    # The seeds' derivatives are int64/float64 arrays: compare values, to x's
    # precision. float16 code that rounds alpha to float16 first (the seed's
    # leak * x) is off by a unit of the smallest subnormal near zero, and
    # PyTorch's float64 hardsigmoid_backward multiplies by a float32 1/6.
    info = np.finfo(dt)
    rtol = max(2 * float(info.eps), float(np.finfo(np.float32).eps))
    atol = 2 * float(info.smallest_subnormal)
    np.testing.assert_allclose(
        got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol
    )


def _assert_smooth_close(
    impl: registry.Impl, got: np.ndarray, want: np.ndarray, x: np.ndarray, g: np.ndarray | None
) -> None:
    """``got`` is ``want`` (the true value, rounded) up to the rounding of a formula.

    A formula that rounds each operation is off by a few units of eps of
    each term: of the result, and where terms cancel (``1 - t**2`` as
    ``tanh`` tends to 1, ``1 + erf`` in the tail) of ``|grad| * (1 + |x|)``.
    A wrong constant or term is off by far more. The dtype must be x's: a
    float64 constant would promote a float32 formula and run at another speed.
    """
    dt = x.dtype
    assert got.dtype == dt, f"{impl.key}: {got.dtype} result for {dt} inputs"
    x64, g64 = x.astype(np.float64), np.abs(1.0 if g is None else g.astype(np.float64))
    scale = np.abs(want.astype(np.float64)) + g64 * (1 + np.abs(x64))
    error = np.abs(got.astype(np.float64) - want.astype(np.float64)) / (scale * np.finfo(dt).eps)
    worst = int(np.argmax(error))
    assert error[worst] <= SMOOTH_TOLERANCE, (
        f"{impl.key} {dt}: at x={x.flat[worst]!r} got {got.flat[worst]!r}, expected "
        f"{want.flat[worst]!r} ({error[worst]:.3g} eps of its terms)"
    )


def _check_reference(impl: registry.Impl, dt: np.dtype, mode: str, n: int) -> None:
    inputs = tuple(_normal(dt, n, seed=n + i) for i in range(registry.arity(impl.function)))
    before = [a.tobytes() for a in inputs]
    result = impl.prepare(inputs, None, mode)()
    _check_mode(result, inputs, before, mode)
    want = inputs[0] if impl.function == "copy" else np.add(*inputs)
    np.testing.assert_array_equal(np.asarray(result), want)


def test_registry_covers_the_table() -> None:
    """Every kernel has the fastact rows; the seeds' activations have np.where."""
    assert registry.FUNCTIONS == KERNELS
    for function in KERNELS:
        names = [impl.name for impl in registry.registry(function)]
        assert names[: len(registry.FASTACT)] == list(registry.FASTACT)
        assert ("np.where" in names) == (activation_of(function).name in registry.SEEDS)
        smooth = activation_of(function).family == "smooth"
        assert (registry.NUMPY_FORMULA in names) == smooth, function
        assert set(names) <= set(registry.names())
    for function in registry.REFERENCES:
        assert any(i.name != "numpy" for i in registry.registry(function, kind="reference"))
    keys = [impl.key for impl in registry.registry()]
    assert len(keys) == len(set(keys))


def test_torch_rows_follow_pytorch_by_name() -> None:
    """A torch row where PyTorch has the function by name; none for the derivatives."""
    torch = pytest.importorskip("torch")
    for act in ACTIVATIONS.values():
        forward, grad, _ = act.kernels
        if forward not in KERNELS:
            continue  # not an elementwise activation: not in the benchmarks
        has = hasattr(torch.nn.functional, act.name)
        assert bool(registry.registry(forward, "torch")) == has, forward
        assert not registry.registry(grad, "torch"), grad


def _smooth_baselines() -> list:
    return [
        pytest.param(impl, id=impl.key)
        for impl in registry.registry(kind="baseline")
        if activation_of(impl.function).family == "smooth"
        and impl.name in (registry.NUMPY_FORMULA, "torch")
    ]


@pytest.mark.parametrize("impl", _smooth_baselines())
def test_smooth_baselines_at_every_parameter_set(impl: registry.Impl) -> None:
    """The NumPy formulas and PyTorch compute the SPEC's functions, gelu's tanh form included."""
    _skip_unless_runs(impl)
    for dtype in registry.DTYPES:
        dt = np.dtype(dtype)
        x = _normal(dt, 1000, seed=1)
        g = _normal(dt, 1000, seed=2) if registry.arity(impl.function) == 2 else None
        for params in _param_sets(impl.function):
            want, _ = _expected(impl.function, x, g, params)
            inputs = (x,) if g is None else (g, x)
            got = np.asarray(impl.prepare(inputs, params, "new")())
            _assert_smooth_close(impl, got, want, x, g)


def _wrong(formula: registry.Formula, **change) -> registry.Formula:
    return dataclasses.replace(formula, **change)


@pytest.mark.parametrize(
    ("function", "formula"),
    [
        # PyTorch's selu constants to 5 digits
        (
            "selu_backward",
            _wrong(
                registry.FORMULAS["selu"],
                derivative=lambda x: 1.0507 * np.where(x > 0, 1, 1.67326 * np.exp(x)),
            ),
        ),
        # tanh' written as 1 - tanh
        ("tanh_grad", _wrong(registry.FORMULAS["tanh"], derivative=lambda x: 1 - np.tanh(x))),
        # silu's derivative without its x term
        ("silu_grad", _wrong(registry.FORMULAS["silu"], derivative=lambda x: 1 / (1 + np.exp(-x)))),
        # softplus' derivative with the sign of the exponent flipped
        (
            "softplus_backward",
            _wrong(
                registry.FORMULAS["softplus"],
                derivative=lambda x, b, t: np.where(b * x > t, 1, 1 / (1 + np.exp(b * x))),
            ),
        ),
        # a float64 constant: right values, promoted dtype
        (
            "sigmoid",
            _wrong(
                registry.FORMULAS["sigmoid"], forward=lambda x: 1 / (1 + np.exp(-x * np.float64(1)))
            ),
        ),
    ],
    ids=["selu-constants", "tanh_grad", "silu_grad", "softplus_backward", "float64-promotion"],
)
def test_a_wrong_formula_fails_the_check(function: str, formula: registry.Formula) -> None:
    right = registry.get(function, registry.NUMPY_FORMULA)
    _check_baseline(right, np.dtype(np.float32), "new", 1000)
    factory = registry._formula_factory(function, formula.forward, formula.derivative)
    wrong = dataclasses.replace(right, factory=factory)
    with pytest.raises(AssertionError):
        _check_baseline(wrong, np.dtype(np.float32), "new", 1000)


def test_torch_backward_rows_are_what_autograd_runs() -> None:
    """Each backward row calls the fused ATen op autograd runs, with autograd's arguments.

    The op is the one the profiler sees autograd call, and the row's result
    has the bits of ``torch.autograd.grad`` (sigmoid and tanh: from the
    forward's output, as autograd saves it).
    """
    torch = pytest.importorskip("torch")
    for act in ACTIVATIONS.values():
        backward = act.kernels[2]
        if backward not in KERNELS or not registry.registry(backward, "torch"):
            continue
        impl = registry.get(backward, "torch")
        op = impl.description.split("(")[0]
        assert op.startswith("aten.") and op.endswith("_backward"), impl.description
        for params, dtype in itertools.product(_param_sets(backward), ("float32", "float64")):
            numbers = [v for p, v in zip(act.params, params, strict=True) if not p.choices]
            choices = {p.name: v for p, v in zip(act.params, params, strict=True) if p.choices}
            x = _normal(np.dtype(dtype), 1000, seed=3) * 3
            g = _normal(np.dtype(dtype), 1000, seed=4)
            x_req = torch.from_numpy(x).requires_grad_()
            y = getattr(torch.nn.functional, act.name)(x_req, *numbers, **choices)
            with torch.profiler.profile() as profile:
                (want,) = torch.autograd.grad(y, x_req, torch.from_numpy(g))
            ran = {event.name for event in profile.events()}
            assert op.replace("aten.", "aten::") in ran, (impl.key, sorted(ran))
            for mode in impl.modes:
                got = impl.prepare((g, x), params, mode)()
                assert torch.equal(got, want), (impl.key, params, dtype, mode)


def test_the_exact_gelu_formula_needs_scipy(monkeypatch) -> None:
    """scipy is no dependency of fastact: without it the gelu rows are skipped, saying why."""
    requires = registry.FORMULAS["gelu"].requires
    for kernel in ACTIVATIONS["gelu"].kernels:
        assert registry.get(kernel, registry.NUMPY_FORMULA).requires is requires
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "scipy" else find_spec(name, *a),
    )
    assert requires.__wrapped__() == "scipy is not installed"  # the uncached check


def test_torch_rows_run_on_fastacts_thread_count() -> None:
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        with registry.serial_threads():
            registry.get("gelu", "torch").prepare((np.zeros(3, np.float32),))
            assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_serial_row_runs_on_one_thread_and_restores_the_setting() -> None:
    seen = []

    def spy() -> None:
        seen.append(fa.get_num_threads())

    run = registry.WithSetting(spy, registry.serial_threads)
    before = (_config._num_threads, fa.get_num_threads())
    run()
    assert seen == [1]
    assert (_config._num_threads, fa.get_num_threads()) == before
    impl = registry.get("relu", "fastact serial")
    x = np.array([-1.0, 2.0])
    call, setting = registry.unwrap(impl.prepare((x,)))
    assert isinstance(impl.prepare((x,)), registry.WithSetting)
    with setting():
        assert fa.get_num_threads() == 1
        np.testing.assert_array_equal(call(), [0.0, 2.0])
    assert (_config._num_threads, fa.get_num_threads()) == before


def test_unsupported_cases_are_refused() -> None:
    impl = registry.get("leaky_relu", "np.where")
    x = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="no 'out' mode"):
        impl.prepare((x,), None, "out")
    with pytest.raises(ValueError, match="takes 1 arrays"):
        impl.prepare((x, x), None, "new")
    with pytest.raises(ValueError, match="takes 1 parameters, got 2"):
        impl.prepare((x,), (0.1, 0.2), "new")
    exact = registry.get("leaky_relu", "numpy")
    for out in (np.zeros(4, np.float32), np.zeros(3, np.float64), np.zeros(6, np.float32)[::2]):
        with pytest.raises(ValueError, match="out must be C-contiguous and like the inputs"):
            exact.prepare((x,), None, "out", out)
    with pytest.raises(KeyError, match="there are"):
        registry.get("relu", "nonesuch")
