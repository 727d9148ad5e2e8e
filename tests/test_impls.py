"""Every implementation the benchmarks time (``fastact._impls``) against the oracle.

fastact entries must match the SPEC bit for bit on data with NaN (payloads
included), infinities, -0.0 and subnormals, at a size that takes the
parallel kernels too. Baselines (the seeds' code, np.maximum, PyTorch,
numexpr) are checked on random normal data, where they agree with the SPEC's
formulas up to rounding and the sign of zero. References must copy or add.
Each mode must write where it says: a new array, the ``out`` it allocated, or
the first input.
"""

from __future__ import annotations

import numpy as np
import pytest
from arrays import values
from conftest import require
from oracle import expected, mismatch

from fastact import _dispatch, _impls

SIZES = (1, 17, 1000)
#: large enough that the parallel kernels (and the auto dispatcher) go parallel
BIG = 2 * _dispatch.PARALLEL_MIN_SIZE + 7
EXACT_ALPHAS = (0.01, -0.5)
BASELINE_ALPHA = 0.01  # np.maximum(x, alpha * x) needs 0 <= alpha <= 1


def _cases() -> list:
    cases = []
    for impl in _impls.registry():
        for dtype in _impls.DTYPES:
            for mode in _impls.MODES:
                if impl.unsupported(dtype, mode, 1) is None:
                    cases.append(pytest.param(impl, dtype, mode, id=f"{impl.key}-{dtype}-{mode}"))
    return cases


def _skip_unless_runs(impl: _impls.Impl) -> None:
    backend = impl.name.split("-")[0]
    if impl.kind == "fastact" and backend in ("numba", "cython"):
        require(backend)  # fails instead of skipping where CI requires the backend
    reason = impl.unavailable()
    if reason is not None:
        pytest.skip(f"{impl.key} cannot run here: {reason}")


def _as_array(result: object, dtype: np.dtype) -> np.ndarray:
    if isinstance(result, list):
        return np.asarray(result, dtype=np.float64)
    return np.asarray(result)


def _sizes(impl: _impls.Impl) -> tuple[int, ...]:
    return tuple(n for n in (*SIZES, BIG) if impl.max_size is None or n <= impl.max_size)


def _check_mode(result: object, inputs: tuple[np.ndarray, ...], before: list, mode: str) -> None:
    arr = np.asarray(result)
    if mode == "inplace":
        assert np.shares_memory(arr, inputs[0]), "in place did not write into the first input"
    else:
        assert not any(np.shares_memory(arr, a) for a in inputs), f"{mode} wrote into an input"
        for a, b in zip(inputs, before, strict=True):
            assert a.tobytes() == b, f"{mode} changed an input"


@pytest.mark.parametrize(("impl", "dtype", "mode"), _cases())
def test_impl(impl: _impls.Impl, dtype: str, mode: str) -> None:
    _skip_unless_runs(impl)
    dt = np.dtype(dtype)
    for n in _sizes(impl):
        if impl.kind == "fastact":
            for alpha in EXACT_ALPHAS:
                _check_exact(impl, dt, mode, n, alpha)
        elif impl.kind == "baseline":
            _check_baseline(impl, dt, mode, n)
        else:
            _check_reference(impl, dt, mode, n)


def _check_exact(impl: _impls.Impl, dt: np.dtype, mode: str, n: int, alpha: float) -> None:
    x = values(dt, n, seed=n)
    inputs = (x,) if _impls.arity(impl.function) == 1 else (values(dt, n, seed=n + 1), x)
    g = inputs[0] if len(inputs) == 2 else None
    want, arithmetic = expected(impl.function, x, g, alpha)
    before = [a.tobytes() for a in inputs]
    result = impl.prepare(inputs, alpha, mode)()
    _check_mode(result, inputs, before, mode)
    problem = mismatch(result, want, arithmetic)
    assert problem is None, f"{impl.key} {dt} n={n} alpha={alpha} {mode}: {problem}"
    # a second call on the same prepared arrays gives the same bits (out reused),
    # into an out given to prepare (what the benchmarks share in a group)
    if mode != "inplace":
        given = np.full_like(x, 7) if mode == "out" else None
        run = impl.prepare(inputs, alpha, mode, given)
        run()
        result = run()
        assert mismatch(result, want, arithmetic) is None
        if given is not None:
            assert result is given


def _normal(dt: np.dtype, n: int, seed: int) -> np.ndarray:
    data = np.random.default_rng(seed).standard_normal(n).astype(dt)
    data[data == 0] = 1  # where the seeds' x <= 0 and x >= 0 differ from x > 0
    return data


def _check_baseline(impl: _impls.Impl, dt: np.dtype, mode: str, n: int) -> None:
    x = _normal(dt, n, seed=n)
    inputs = (x,) if _impls.arity(impl.function) == 1 else (_normal(dt, n, seed=n + 1), x)
    g = inputs[0] if len(inputs) == 2 else None
    want, _ = expected(impl.function, x, g, BASELINE_ALPHA)
    before = [a.tobytes() for a in inputs]
    result = impl.prepare(inputs, BASELINE_ALPHA, mode)()
    _check_mode(result, inputs, before, mode)
    got = _as_array(result, dt)
    assert got.shape == want.shape, f"{impl.key}: shape {got.shape}, expected {want.shape}"
    # The seeds' derivatives are int64/float64 arrays: compare values, to x's
    # precision. float16 code that rounds alpha to float16 first (the seed's
    # leak * x) is off by a unit of the smallest subnormal near zero.
    info = np.finfo(dt)
    rtol, atol = 2 * float(info.eps), 2 * float(info.smallest_subnormal)
    np.testing.assert_allclose(
        got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol
    )


def _check_reference(impl: _impls.Impl, dt: np.dtype, mode: str, n: int) -> None:
    inputs = tuple(_normal(dt, n, seed=n + i) for i in range(_impls.arity(impl.function)))
    before = [a.tobytes() for a in inputs]
    result = impl.prepare(inputs, 0.0, mode)()
    _check_mode(result, inputs, before, mode)
    want = inputs[0] if impl.function == "copy" else np.add(*inputs)
    np.testing.assert_array_equal(_as_array(result, dt), want)


def test_registry_covers_the_benchmark_matrix() -> None:
    """Every function has each backend's forms, auto and the seed baseline."""
    for function in _impls.FUNCTIONS:
        names = {impl.name for impl in _impls.registry(function)}
        assert {"numba-serial", "numba-parallel", "cython-serial", "cython-parallel"} <= names
        assert {"numpy", "auto", "np.where", "listcomp"} <= names
    for function in _impls.REFERENCES:
        assert any(i.name != "numpy" for i in _impls.registry(function, kind="reference"))
    keys = [impl.key for impl in _impls.registry()]
    assert len(keys) == len(set(keys))


def test_unsupported_cases_are_refused() -> None:
    impl = _impls.get("leaky_relu", "np.where")
    x = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="no 'out' mode"):
        impl.prepare((x,), 0.1, "out")
    with pytest.raises(ValueError, match="takes 1 arrays"):
        impl.prepare((x, x), 0.1, "new")
    exact = _impls.get("leaky_relu", "numpy")
    for out in (np.zeros(4, np.float32), np.zeros(3, np.float64), np.zeros(6, np.float32)[::2]):
        with pytest.raises(ValueError, match="out must be C-contiguous and like the inputs"):
            exact.prepare((x,), 0.1, "out", out)
    with pytest.raises(KeyError, match="there are"):
        _impls.get("relu", "nonesuch")
