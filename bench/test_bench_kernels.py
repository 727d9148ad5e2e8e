"""pytest-benchmark: every kernel x implementation x dtype x size x mode.

The kernels are those of the activation table (``fastact._table``), the
implementations those of the registry ``fastact.bench.registry`` (the same
entries ``tests/test_impls.py`` holds to the oracle): ``fastact`` (the
default backend ``"auto"``), ``fastact serial`` (auto on one thread), each
backend through ``backend=``, the seeds' ``np.where`` code, the smooth
family's NumPy formulas, ``np.maximum``, PyTorch and numexpr where they have
the kernel, plus a copy and an add of the same arrays as bandwidth
references. Parameters are the table's defaults. An implementation that
cannot run here is skipped with the reason.

``FASTACT_BENCH`` picks the sweep (see ``bench/README.md``):

- ``default`` (unset): float32/float64/float16 at 10, 1000, 1e5 and 1e7
  elements;
- ``full``: also 100, 1e4, 1e6 and 3e7 elements;
- ``quick``: float32 at 10 and 1e5 elements, for CI with ``--benchmark-disable``.

``FASTACT_BENCH_TIME`` is the time each benchmark is given (seconds,
default 0.1): the rounds are sized to it, at least 5 of them.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from fastact.bench import harness, registry
from fastact.bench.report import format_size

SWEEPS: dict[str, dict[str, tuple]] = {
    "quick": {"dtypes": ("float32",), "sizes": (10, 10**5)},
    "default": {"dtypes": registry.DTYPES, "sizes": (10, 1000, 10**5, 10**7)},
    "full": {
        "dtypes": registry.DTYPES,
        "sizes": (10, 100, 1000, 10**4, 10**5, 10**6, 10**7, 3 * 10**7),
    },
}
SWEEP = os.environ.get("FASTACT_BENCH", "default").strip() or "default"
if SWEEP not in SWEEPS:
    raise pytest.UsageError(f"FASTACT_BENCH={SWEEP!r}: expected one of {', '.join(SWEEPS)}")
TIME_PER_BENCHMARK = float(os.environ.get("FASTACT_BENCH_TIME", "0.1"))
MIN_ROUNDS = 5


def _cases() -> list:
    """Sizes outermost, so that one set of input arrays serves a run of tests."""
    sweep = SWEEPS[SWEEP]
    cases = []
    for size in sweep["sizes"]:
        for dtype in sweep["dtypes"]:
            for function in (*registry.FUNCTIONS, *registry.REFERENCES):
                for impl in registry.registry(function):
                    for mode in registry.MODES:
                        if impl.unsupported(dtype, mode) is None:
                            case_id = f"{function}-{dtype}-{format_size(size)}-{mode}"
                            cases.append(
                                pytest.param(
                                    function, impl.name, dtype, size, mode,
                                    id=f"{case_id}-{impl.name}",
                                )
                            )  # fmt: skip
    return cases


_arrays: dict[tuple[int, str, int], tuple[np.ndarray, ...]] = {}


def _inputs(function: str, dtype: str, size: int) -> tuple[np.ndarray, ...]:
    """The inputs, then one output array, that every case of this dtype and size shares."""
    key = (registry.arity(function), dtype, size)
    if key not in _arrays:
        if any(k[1:] != key[1:] for k in _arrays):
            _arrays.clear()  # keep one size in memory: 3e7 float64 arrays are 240 MB each
        inputs = harness.input_arrays(function, dtype, size)
        _arrays[key] = (*inputs, registry.aligned_empty_like(inputs[0]))
    return _arrays[key]


@pytest.mark.parametrize(("function", "impl_name", "dtype", "size", "mode"), _cases())
def test_kernel(
    benchmark, record, function: str, impl_name: str, dtype: str, size: int, mode: str
) -> None:
    impl = registry.get(function, impl_name)
    reason = impl.unavailable()
    if reason is not None:
        pytest.skip(f"{impl.key} cannot run here: {reason}")
    *arrays, out = _inputs(function, dtype, size)
    if mode == "inplace":
        arrays = [a.copy() for a in arrays]  # the cached inputs stay as they are
    call, setting = registry.unwrap(impl.prepare(arrays, None, mode, out))
    nbytes = registry.bytes_moved(function, size, np.dtype(dtype).itemsize)
    # Group by dtype, size and function: a group's table compares implementations
    # and modes, and the copy/add references of the same dtype and size sort next to it.
    benchmark.group = f"{dtype} n={format_size(size)} {function}"
    benchmark.extra_info.update(
        function=function, impl=impl_name, kind=impl.kind, dtype=dtype, size=size, mode=mode,
        params=registry.params_text(function), bytes=nbytes, description=impl.description,
    )  # fmt: skip
    # a setting (fastact serial: one thread) holds for the whole benchmark,
    # outside the timed calls
    with setting():
        if benchmark.disabled:
            benchmark(call)
            return
        # Our own calibration, so that a sweep's duration is known in advance: the
        # first call (a JIT compile) is timed apart, rounds last at least 50 us.
        first, iterations, per_call = harness.calibrate(call)
        rounds = max(MIN_ROUNDS, math.floor(TIME_PER_BENCHMARK / (per_call * iterations)))
        benchmark.extra_info["first_call_s"] = first
        benchmark.pedantic(call, rounds=rounds, iterations=iterations, warmup_rounds=1)
    median = benchmark.stats.stats.median
    benchmark.extra_info.update(gbps=nbytes / median / 1e9, elements_per_s=size / median)
    record(function, impl, dtype, size, mode, median, first, iterations, nbytes)
