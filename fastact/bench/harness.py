"""``python -m fastact bench``: time the registry of ``fastact._impls`` and write a report.

A shorter sweep than the pytest-benchmark suite in ``bench/``: it prints a
table of median times and speed-ups against the seeds' ``np.where`` code,
checks the SPEC's performance bars, and writes a folder with ``report.md``,
``results.json`` (every figure measured, the machine and the versions) and
one PNG plot per dtype of throughput against size. matplotlib and tqdm (the
``report`` extra) are optional: without them there is no plot and the
progress is plain text.

Timing rules: every measurement calls the prepared implementation once first
(the first-call time, JIT compile included, is kept as a figure of its own),
then calibrates how many calls make a round of at least
:data:`MIN_ROUND_S`, calls it :data:`SETTLE_CALLS` times more (``auto``
times serial and parallel kernels in its first calls of a size, as in any
program; the report is of what follows), and runs the timed rounds with
the garbage collector off, and reports the median time per call. The
implementations of one function, dtype and size are timed side by side:
round *r* of each (after an untimed warm-up of its own) runs before round
*r + 1* of any, so that a change in the
machine's load (other tenants of a shared VM move a 3e7-element call by 2x
within seconds) falls on all of them alike and the ratios the bars check
stay fair. The cold-start figures (``import fastact`` and the first calls of
each backend) are measured in fresh subprocesses.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import importlib.metadata
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fastact import _backends, _config, _impls

#: a timed round lasts at least this long, so the clock's resolution does not matter
MIN_ROUND_S = 50e-6
#: the least untimed running before each timed round of a side-by-side measurement
WARM_S = 10e-3
#: before the first timed round, each callable has made this many calls, or
#: calls for SETTLE_S: auto's first timings of a size (12 calls or more, serial
#: and parallel in turn) are behind it, as they are a few calls into a program
SETTLE_CALLS = 16
SETTLE_S = 0.2
#: what the seeds do today: every speed-up is measured against it
BASELINE = "np.where"
DEFAULT_IMPLS = (
    "numba-serial",
    "numba-parallel",
    "cython-serial",
    "cython-parallel",
    "numpy",
    "auto",
    "np.where",
    "listcomp",
    "np.maximum",
    "torch",
    "numexpr",
)
DEFAULT_SIZES = (1, 10, 100, 1000, 10**4, 10**5, 10**6, 10**7)
QUICK_SIZES = (10, 1000, 10**5, 10**6)
QUICK_FUNCTIONS = ("leaky_relu", "leaky_relu_backward")
ALPHA = 0.01
#: the SPEC's performance bars (float32)
BAR_SPEEDUP = 25.0
BAR_BANDWIDTH = 0.90
BAR_SMALL = 0.75
BAR_AUTO = 1.1
BAR_CYTHON = 1.25
BAR_IMPORT_S = 50e-3
BAR_FIRST_CALL_S = 20e-3


@dataclass
class Timing:
    """What one measurement found: seconds per call."""

    first_call_s: float
    iterations: int
    rounds: list[float]

    @property
    def median_s(self) -> float:
        """The median time per call over the timed rounds."""
        return statistics.median(self.rounds)


def calibrate(run: Callable[[], Any], min_round_s: float = MIN_ROUND_S) -> tuple[float, int, float]:
    """Call ``run`` until a round of ``min_round_s`` can be sized.

    Returns
    -------
    first_call_s : float
        The first call (a JIT compile, page faults of fresh buffers).
    iterations : int
        Calls per round so that a round lasts at least ``min_round_s``.
    per_call_s : float
        The time per call measured last.

    Examples
    --------
    >>> first, iterations, per_call = calibrate(lambda: None)
    >>> iterations > 1
    True
    """
    start = time.perf_counter()
    run()
    first = time.perf_counter() - start
    start = time.perf_counter()
    run()
    once = max(time.perf_counter() - start, 1e-9)
    iterations = 1
    # grow until a round is long enough, measuring instead of trusting one call
    while once * iterations < min_round_s:
        iterations = max(iterations * 2, math.ceil(min_round_s / once))
        start = time.perf_counter()
        for _ in range(iterations):
            run()
        once = max((time.perf_counter() - start) / iterations, 1e-9)
    return first, iterations, once


def measure_side_by_side(
    runs: Sequence[Callable[[], Any]], rounds: int, max_time_s: float = math.inf
) -> list[Timing]:
    """Time several callables side by side: first call, calibration, then timed rounds.

    Each callable is called once (the first-call time is kept apart), then
    calibrated to rounds of at least :data:`MIN_ROUND_S`, then called
    :data:`SETTLE_CALLS` times (at most :data:`SETTLE_S`). Round *r* of every
    callable runs before round *r + 1* of any, so that a change in the
    machine's speed during the measurement affects them alike, and each
    round starts one callable further on than the one before;
    each timed round follows an untimed one of at least :data:`WARM_S`, so
    that each is timed in its own steady state (its arrays in the caches),
    as when it is measured alone.
    Each stops early after ``max_time_s`` of its own timed rounds, but never
    before 3 rounds.

    Examples
    --------
    >>> fast, slow = measure_side_by_side([lambda: None, lambda: sum(range(1000))], rounds=3)
    >>> fast.median_s < slow.median_s
    True
    """
    calibrated = [calibrate(run) for run in runs]
    for run in runs:
        start = time.perf_counter()
        for _ in range(SETTLE_CALLS):
            run()
            if time.perf_counter() - start >= SETTLE_S:
                break
    # before each timed round, the callable runs untimed for a round and at
    # least WARM_S: its buffers come back into the caches the others evicted,
    # and the thread pools of the others (PyTorch's, Numba's) stop spinning
    warm = [max(iterations, math.ceil(WARM_S / per_call)) for _, iterations, per_call in calibrated]
    times: list[list[float]] = [[] for _ in runs]
    spent = [0.0] * len(runs)
    enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            # each round starts one callable further on: what runs before a
            # callable changes its speed (after ~10 ms of single-threaded
            # calls, a parallel kernel ran 25% slower here, its second core
            # not yet back to speed), so no callable may always follow the same
            for i in (*range(r % len(runs), len(runs)), *range(r % len(runs))):
                run = runs[i]
                if spent[i] >= max_time_s and len(times[i]) >= 3:
                    continue
                for _ in range(warm[i]):
                    run()
                iterations = calibrated[i][1]
                start = time.perf_counter()
                for _ in range(iterations):
                    run()
                elapsed = time.perf_counter() - start
                spent[i] += elapsed
                times[i].append(elapsed / iterations)
    finally:
        if enabled:
            gc.enable()
    return [
        Timing(first, iterations, t)
        for (first, iterations, _), t in zip(calibrated, times, strict=True)
    ]


@dataclass
class Result:
    """One measured case, as written to ``results.json``."""

    function: str
    impl: str
    kind: str
    dtype: str
    size: int
    mode: str
    median_s: float
    min_s: float
    first_call_s: float
    iterations: int
    rounds_s: list[float] = field(repr=False)
    bytes: int = 0

    @property
    def gbps(self) -> float:
        """Bytes that had to move (each input read once, the result written once) per ns."""
        return self.bytes / self.median_s / 1e9


def input_arrays(function: str, dtype: str, size: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Random normal inputs for ``function`` (as the SPEC's bars are measured), 64-byte aligned.

    Examples
    --------
    >>> [a.shape for a in input_arrays("relu_backward", "float32", 3)]
    [(3,), (3,)]
    """
    rng = np.random.default_rng(seed)
    arrays = []
    for _ in range(_impls.arity(function)):
        values = rng.standard_normal(size, dtype=np.float64).astype(dtype)
        aligned = _impls.aligned_empty_like(values)
        aligned[...] = values
        arrays.append(aligned)
    return tuple(arrays)


@dataclass(frozen=True)
class Case:
    """One cell of the sweep."""

    impl: _impls.Impl
    dtype: str
    size: int
    mode: str

    @property
    def label(self) -> str:
        """How the progress bar names it."""
        return f"{self.impl.function} {self.dtype} n={self.size} {self.impl.name} {self.mode}"


def reference_of(function: str) -> str:
    """The bandwidth reference of a function: ``copy`` for a unary one, ``add`` for a binary one.

    Each moves the bytes the function moves (one read and one write per
    element, or two reads and one write).

    Examples
    --------
    >>> reference_of("relu"), reference_of("relu_backward")
    ('copy', 'add')
    """
    return "copy" if _impls.arity(function) == 1 else "add"


def _in_group_of(impl: _impls.Impl, function: str) -> _impls.Impl:
    # a reference timed with function's own implementations, side by side, on
    # its arrays: the bandwidth bar compares times of the same rounds
    return dataclasses.replace(impl, function=function, name=f"{impl.function} ({impl.name})")


def plan(
    functions: Sequence[str],
    impls: Sequence[str],
    dtypes: Sequence[str],
    sizes: Sequence[int],
    modes: Sequence[str],
) -> tuple[list[Case], dict[str, str]]:
    """Return the cases to run and why requested ones were skipped.

    Each function's cases include its bandwidth references (:func:`reference_of`),
    named ``"copy (torch)"`` and so on, timed into ``out=`` on its arrays.

    Examples
    --------
    >>> cases, skipped = plan(["relu"], ["np.where"], ["float32"], [10], ["new", "out"])
    >>> sorted(c.impl.name for c in cases if c.impl.name in ("np.where", "copy (numpy)"))
    ['copy (numpy)', 'np.where']
    >>> {c.impl.function for c in cases}
    {'relu'}
    """
    cases, skipped = [], {}
    for size in sizes:
        for dtype in dtypes:
            for function in functions:
                candidates = [
                    *(i for i in _impls.registry(function) if i.name in impls),
                    *(
                        _in_group_of(i, function)
                        for i in _impls.registry(reference_of(function), kind="reference")
                    ),
                ]
                for impl in candidates:
                    reason = impl.unavailable()
                    if reason is not None:
                        skipped[impl.name] = reason
                        continue
                    for mode in modes if impl.kind != "reference" else ("out",):
                        if impl.unsupported(dtype, mode, size) is None:
                            cases.append(Case(impl, dtype, size, mode))
    return cases, skipped


def _tqdm() -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _progress(groups: list[list[Case]]) -> Iterator[list[Case]]:
    """Yield each group of cases, showing progress in cases."""
    total = sum(len(group) for group in groups)
    tqdm = _tqdm()
    if tqdm is not None:
        with tqdm(total=total, unit="case", file=sys.stderr, dynamic_ncols=True) as bar:
            for group in groups:
                bar.set_description(group[0].label, refresh=False)
                yield group
                bar.update(len(group))
        return
    step, done = max(1, total // 20), 0
    for group in groups:
        if done // step != (done + len(group)) // step or done == 0:
            print(f"[{done + 1}/{total}] {group[0].label}", file=sys.stderr, flush=True)
        yield group
        done += len(group)


def run_cases(cases: list[Case], rounds: int, max_time_s: float) -> list[Result]:
    """Measure every case; the cases of one function, dtype and size side by side.

    One set of input arrays, and one output array for the ``out`` cases,
    serves each group (an in-place case gets copies).
    """
    groups: dict[tuple[str, str, int], list[Case]] = {}
    for case in cases:
        groups.setdefault((case.impl.function, case.dtype, case.size), []).append(case)
    results = []
    for group in _progress(list(groups.values())):
        first = group[0]
        arrays = input_arrays(first.impl.function, first.dtype, first.size)
        out = _impls.aligned_empty_like(arrays[0])
        runs = [
            case.impl.prepare(
                tuple(a.copy() for a in arrays) if case.mode == "inplace" else arrays,
                ALPHA,
                case.mode,
                out,
            )
            for case in group
        ]
        timings = measure_side_by_side(runs, rounds, max_time_s)
        del runs  # the outputs of a 3e7 float64 group take gigabytes
        for case, timing in zip(group, timings, strict=True):
            impl = case.impl
            results.append(
                Result(
                    impl.function,
                    impl.name,
                    impl.kind,
                    case.dtype,
                    case.size,
                    case.mode,
                    timing.median_s,
                    min(timing.rounds),
                    timing.first_call_s,
                    timing.iterations,
                    timing.rounds,
                    _impls.bytes_moved(impl.function, case.size, np.dtype(case.dtype).itemsize),
                )
            )
    return results


_COLD_START = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
t1 = time.perf_counter()
import fastact as fa
t2 = time.perf_counter()
x = np.linspace(-1, 1, 1000, dtype=np.float32)
g = np.ones_like(x)
backend = None if sys.argv[1] == "auto" else sys.argv[1]
t3 = time.perf_counter()
fa.leaky_relu(x, 0.01, backend=backend)
t4 = time.perf_counter()
fa.leaky_relu(x, 0.01, backend=backend)
t5 = time.perf_counter()
fa.leaky_relu_backward(g, x, 0.01, backend=backend)
t6 = time.perf_counter()
print(json.dumps({"import_numpy_s": t1 - t0, "import_fastact_s": t2 - t1,
                  "first_call_s": t4 - t3, "second_call_s": t5 - t4,
                  "first_backward_s": t6 - t5}))
"""


def cold_start(backend: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``import fastact``, then the first ``leaky_relu`` (float32, 1000), a second one,
    and the first ``leaky_relu_backward``, in a fresh process.

    Returns the figures in seconds, or ``{"error": ...}``.
    """
    cmd = [sys.executable, "-c", _COLD_START, backend]
    # `python -c` imports from its working directory first: run it where the
    # fastact being measured lives, or a source checkout (the README's
    # command runs from one) would be measured instead of the installed build
    here = Path(__file__).resolve().parent.parent
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **(env or {})},
            cwd=here,
        )
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 300 s"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": last}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cold_starts() -> dict[str, dict[str, Any]]:
    """Cold-start figures for every backend that can run, and numba with an empty JIT cache."""
    figures = {}
    for name in ("auto", *_backends.BACKENDS):
        reason = None if name == "auto" else _backends.status(name)
        figures[name] = {"error": reason} if reason else cold_start(name)
    if _backends.status("numba") is None:
        # Numba's on-disk cache may hold the kernels already; this is the compile itself.
        with tempfile.TemporaryDirectory() as tmp:
            figures["numba (empty JIT cache)"] = cold_start("numba", {"NUMBA_CACHE_DIR": tmp})
    return figures


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return "unknown"
    return f"{pages / 2**30:.1f} GiB"


def _threading_layer() -> str:
    if _backends.status("numba") is not None:
        return "n/a (numba backend cannot run)"
    import numba

    try:
        return f"{numba.threading_layer()} (config: {numba.config.THREADING_LAYER})"
    except ValueError:
        return f"not launched in this run (config: {numba.config.THREADING_LAYER})"


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def environment(argv: Sequence[str]) -> dict[str, Any]:
    """The machine, the versions and the command line, for the report."""
    from fastact import __version__

    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = os.cpu_count() or 1
    return {
        "load_average": _load(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(argv),
        "machine": {
            "cpu": _cpu_model(),
            "logical_cpus": os.cpu_count(),
            "usable_cpus": affinity,
            "memory": _memory(),
            "os": platform.platform(),
        },
        "versions": {
            "python": platform.python_version(),
            "fastact": __version__,
            "numpy": np.__version__,
            "numba": _version("numba"),
            "llvmlite": _version("llvmlite"),
            "cython": _version("Cython"),
            "torch": _version("torch"),
            "numexpr": _version("numexpr"),
        },
        "numba_threading_layer": _threading_layer(),
        "fastact_threads": _config.get_num_threads(),
        "backends": {name: _backends.status(name) or "can run" for name in _backends.BACKENDS},
        "alpha": ALPHA,
        "data": "random normal",
    }


# --- the report ---------------------------------------------------------------------------


def format_time(seconds: float) -> str:
    """A duration with three significant digits and a unit.

    Examples
    --------
    >>> format_time(1.234e-7), format_time(0.0456)
    ('123 ns', '45.6 ms')
    """
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def format_size(n: int) -> str:
    """``10**k`` as ``1e{k}``, others as digits.

    Examples
    --------
    >>> format_size(100_000), format_size(30_000_000), format_size(17)
    ('1e5', '3e7', '17')
    """
    if n >= 10**4:
        mantissa, exponent = f"{n:.0e}".split("e")
        if int(mantissa) * 10 ** int(exponent) == n:
            return f"{mantissa}e{int(exponent)}"
    return str(n)


def _index(results: Iterable[Result]) -> dict[tuple[str, str, str, int, str], Result]:
    return {(r.function, r.impl, r.dtype, r.size, r.mode): r for r in results}


def tables(results: list[Result]) -> list[tuple[str, list[str], list[list[str]]]]:
    """One table per (function, dtype): rows are implementation (mode), columns sizes.

    Each cell is the median time per call and the speed-up against the seeds'
    ``np.where`` at that size.
    """
    index = _index(results)
    out = []
    for function in dict.fromkeys(r.function for r in results):
        for dtype in dict.fromkeys(r.dtype for r in results if r.function == function):
            rows_of = [r for r in results if r.function == function and r.dtype == dtype]
            sizes = sorted({r.size for r in rows_of})
            header = ["implementation", *(f"n={format_size(n)}" for n in sizes)]
            rows = []
            for impl, mode in dict.fromkeys((r.impl, r.mode) for r in rows_of):
                row = [f"{impl} ({mode})"]
                for n in sizes:
                    r = index.get((function, impl, dtype, n, mode))
                    base = index.get((function, BASELINE, dtype, n, "new"))
                    if r is None:
                        row.append("")
                    elif base is None or r.kind == "reference" or impl == BASELINE:
                        row.append(format_time(r.median_s))
                    else:
                        row.append(f"{format_time(r.median_s)} ({base.median_s / r.median_s:.3g}x)")
                rows.append(row)
            out.append((f"{function}, {dtype}", header, rows))
    return out


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub Markdown table.

    Examples
    --------
    >>> print(markdown_table(["a", "b"], [["1", "2"]]))
    | a | b |
    |---|---|
    | 1 | 2 |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table with aligned columns, for the terminal."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*r) for r in [header, *rows])


def _best_reference(
    index: dict, function: str, dtype: str, size: int, parallel_only: bool
) -> Result | None:
    serial = f"{reference_of(function)} (numpy)"
    found = [
        r
        for (f, impl, d, n, _), r in index.items()
        if f == function
        and r.kind == "reference"
        and d == dtype
        and n == size
        and not (parallel_only and impl == serial)
    ]
    return _fastest(found)


def _fastest(results: Iterable[Result | None]) -> Result | None:
    # the measured result with the lowest median (None if none was measured)
    return min((r for r in results if r), key=lambda r: r.median_s, default=None)


def paired_ratio(a: Result, b: Result) -> float:
    """The median over the rounds they share of ``a``'s time per call over ``b``'s.

    ``a`` and ``b`` must come from one group of :func:`run_cases` (one
    function, dtype and size), whose rounds interleave: round *r* of each was
    timed within a fraction of a second of the other's, so a change in the
    machine's speed between rounds (a shared VM's 1e7 float64 calls switch
    between 3 and 5 ms within seconds) cancels in each round's ratio.

    Examples
    --------
    >>> def timed(rounds):
    ...     return Result("relu", "x", "fastact", "float32", 10, "out", 0.0, 0.0, 0.0, 1, rounds)
    >>> paired_ratio(timed([2.0, 4.0, 2.0]), timed([1.0, 2.0, 1.0]))
    2.0
    """
    return statistics.median(x / y for x, y in zip(a.rounds_s, b.rounds_s, strict=False))


def _bar_row(
    bar: str, dtype: str, function: str, n: int, measured: str, ratio: str, ok: bool
) -> list[str]:
    return [bar, dtype, function, format_size(n), measured, ratio, "pass" if ok else "FAIL"]


def _times_row(
    bar: str,
    dtype: str,
    function: str,
    n: int,
    first_s: float,
    second_s: float,
    ok: bool,
    *,
    ratio: float,
    note: str = "",
) -> list[str]:
    """A bar row that compares two times per call."""
    measured = f"{format_time(first_s)} vs {format_time(second_s)}{note}"
    return _bar_row(bar, dtype, function, n, measured, f"{ratio:.3g}x", ok)


#: the implementations ``auto`` is held to: each backend's kernels, called directly
SINGLE_BACKENDS = ("numba-serial", "numba-parallel", "cython-serial", "cython-parallel", "numpy")
PARALLEL = ("serial", "parallel")


def bars(results: list[Result], colds: dict[str, dict[str, Any]] | None = None) -> list[list[str]]:
    """Check the performance bars on what was measured, one row per comparison.

    The SPEC's bars are checked on float32; ``auto`` against the fastest
    single backend on every dtype measured; the cold start of ``auto`` if
    ``colds`` (from :func:`cold_starts`) is given. Rows: bar, dtype,
    function, size, the two figures, the ratio, pass or fail. Ratios of two
    implementations of one group are :func:`paired_ratio`.
    """
    index = _index(results)
    rows = []
    functions = list(dict.fromkeys(r.function for r in results if r.function in _impls.FUNCTIONS))
    dtypes = list(dict.fromkeys(r.dtype for r in results))
    dtype = "float32"
    sizes = sorted({r.size for r in results if r.dtype == dtype})
    for function in functions:
        for n in (s for s in sizes if 10**5 <= s <= 10**7):
            # np.where allocates its result: "new" is the like-for-like comparison,
            # "out" what a caller that keeps its buffers gets
            for mode in ("new", "out"):
                auto = index.get((function, "auto", dtype, n, mode))
                base = index.get((function, BASELINE, dtype, n, "new"))
                if auto and base:
                    ratio = paired_ratio(base, auto)
                    rows.append(
                        _times_row(
                            f"auto ({mode}) vs np.where >= {BAR_SPEEDUP:g}x",
                            dtype,
                            function,
                            n,
                            auto.median_s,
                            base.median_s,
                            ratio >= BAR_SPEEDUP,
                            ratio=ratio,
                        )
                    )
    # from 10^7 float32 elements the arrays are far larger than the caches
    for function in functions:
        for n in (s for s in sizes if s >= 10**7):
            auto = index.get((function, "auto", dtype, n, "out"))
            ref = _best_reference(index, function, dtype, n, parallel_only=True)
            if auto and ref:
                ratio = paired_ratio(ref, auto)
                rows.append(
                    _bar_row(
                        f"auto (out) bandwidth vs parallel {reference_of(function)} "
                        f">= {BAR_BANDWIDTH:.0%}",
                        dtype,
                        function,
                        n,
                        f"{auto.gbps:.1f} vs {ref.gbps:.1f} GB/s ({ref.impl})",
                        f"{ratio:.0%}",
                        ratio >= BAR_BANDWIDTH,
                    )
                )
    for function in functions:
        for n in (s for s in sizes if s <= 1000):
            auto = index.get((function, "auto", dtype, n, "out"))
            for other in ("np.maximum", "torch"):
                ref = index.get((function, other, dtype, n, "out"))
                if auto and ref:
                    ratio = paired_ratio(auto, ref)
                    rows.append(
                        _times_row(
                            f"auto (out) time vs {other} (out) <= {BAR_SMALL:g}x",
                            dtype,
                            function,
                            n,
                            auto.median_s,
                            ref.median_s,
                            ratio <= BAR_SMALL,
                            ratio=ratio,
                        )
                    )
    for dt in dtypes:
        for function in functions:
            for n in sorted({r.size for r in results if r.dtype == dt}):
                auto = index.get((function, "auto", dt, n, "out"))
                best = _fastest(
                    index.get((function, impl, dt, n, "out")) for impl in SINGLE_BACKENDS
                )
                if auto and best:
                    ratio = paired_ratio(auto, best)
                    rows.append(
                        _times_row(
                            f"auto (out) vs fastest backend kernel <= {BAR_AUTO:g}x",
                            dt,
                            function,
                            n,
                            auto.median_s,
                            best.median_s,
                            ratio <= BAR_AUTO,
                            ratio=ratio,
                            note=f" ({best.impl})",
                        )
                    )
    for function in functions:
        for n in (s for s in sizes if s >= 10**4):
            cy = _fastest(index.get((function, f"cython-{p}", dtype, n, "out")) for p in PARALLEL)
            nb = _fastest(index.get((function, f"numba-{p}", dtype, n, "out")) for p in PARALLEL)
            if cy and nb:
                ratio = paired_ratio(cy, nb)
                rows.append(
                    _times_row(
                        f"cython vs numba (best of serial/parallel) <= {BAR_CYTHON:g}x",
                        dtype,
                        function,
                        n,
                        cy.median_s,
                        nb.median_s,
                        ratio <= BAR_CYTHON,
                        ratio=ratio,
                    )
                )
    auto_cold = (colds or {}).get("auto", {})
    if "first_call_s" in auto_cold:
        for what, key, limit in (
            ("import fastact (beyond numpy)", "import_fastact_s", BAR_IMPORT_S),
            ("first leaky_relu call", "first_call_s", BAR_FIRST_CALL_S),
            ("first leaky_relu_backward call", "first_backward_s", BAR_FIRST_CALL_S),
        ):
            took = auto_cold[key]
            rows.append(
                _bar_row(
                    f"cold start: {what} < {format_time(limit)}",
                    "float32",
                    "leaky_relu_backward" if "backward" in key else "leaky_relu",
                    1000,
                    format_time(took),
                    f"{took / limit:.2f}x",
                    took < limit,
                )
            )
    return rows


BAR_HEADER = ["bar", "dtype", "function", "n", "measured", "ratio", "result"]


def plot(results: list[Result], folder: Path) -> list[Path]:
    """One PNG per dtype: GB/s against size, log-log, a panel per function.

    One line per implementation (its ``out=`` mode where it has one, else out
    of place); the fastest parallel copy (or add, for the backward functions)
    is the ceiling, drawn dashed.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    index = _index(results)
    written = []
    for dtype in dict.fromkeys(r.dtype for r in results):
        mine = [r for r in results if r.dtype == dtype]
        functions = [f for f in dict.fromkeys(r.function for r in mine) if f in _impls.FUNCTIONS]
        if not functions:
            continue
        cols = min(3, len(functions))
        rows = math.ceil(len(functions) / cols)
        fig, axes = plt.subplots(
            rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False, sharey=True
        )
        for ax, function in zip(axes.flat, functions, strict=False):
            impls = dict.fromkeys(
                r.impl for r in mine if r.function == function and r.kind != "reference"
            )
            for impl in impls:
                points = []
                for n in sorted({r.size for r in mine}):
                    r = index.get((function, impl, dtype, n, "out")) or index.get(
                        (function, impl, dtype, n, "new")
                    )
                    if r is not None:
                        points.append((n, r.gbps, r.mode))
                if points:
                    style = "-" if impl.startswith(("auto", "cython", "numba")) else ":"
                    mode = points[-1][2]
                    ax.plot(
                        [p[0] for p in points],
                        [p[1] for p in points],
                        style,
                        marker="o",
                        markersize=3,
                        linewidth=2.5 if impl == "auto" else 1.2,
                        label=f"{impl} ({mode})",
                    )
            ceiling = [
                (n, ref.gbps)
                for n in sorted({r.size for r in mine})
                if (ref := _best_reference(index, function, dtype, n, parallel_only=True))
            ]
            ref_name = reference_of(function)
            if ceiling:
                ax.plot(
                    [c[0] for c in ceiling],
                    [c[1] for c in ceiling],
                    "k--",
                    linewidth=2,
                    label=f"fastest parallel {ref_name} (ceiling)",
                )
            serial = [
                (n, ref.gbps)
                for n in sorted({r.size for r in mine})
                if (ref := index.get((function, f"{ref_name} (numpy)", dtype, n, "out")))
            ]
            if serial:
                ax.plot(
                    [c[0] for c in serial],
                    [c[1] for c in serial],
                    color="0.5",
                    linestyle="--",
                    linewidth=1,
                    label=f"serial {ref_name} (NumPy)",
                )
            ax.set(xscale="log", yscale="log", title=f"{function} ({dtype})")
            ax.set_xlabel("elements")
            ax.grid(True, which="major", alpha=0.3)
            ax.legend(fontsize=6, loc="lower right")
        for ax in axes[:, 0]:
            ax.set_ylabel("GB/s (bytes read + written / time)")
        for ax in list(axes.flat)[len(functions) :]:
            ax.set_visible(False)
        fig.tight_layout()
        path = folder / f"throughput-{dtype}.png"
        _save_small_png(fig, path)
        plt.close(fig)
        written.append(path)
    return written


def _save_small_png(fig: Any, path: Path) -> None:
    """Save ``fig`` as a palette PNG: a few colours of lines, a fraction of the bytes."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    try:
        from PIL import Image  # a dependency of matplotlib
    except ImportError:
        path.write_bytes(buffer.getvalue())
        return
    with Image.open(buffer) as image:
        small = image.convert("RGB").quantize(colors=64)
        small.save(path, optimize=True)


def report_markdown(
    env: dict[str, Any],
    results: list[Result],
    colds: dict[str, dict[str, Any]],
    skipped: dict[str, str],
    plots: list[Path],
    notes: list[str],
) -> str:
    """The text of ``report.md``."""
    m, v = env["machine"], env["versions"]
    lines = [
        "# fastact benchmark report",
        "",
        f"- date: {env['date']}",
        f"- command: `{env['command']}`",
        f"- machine: {m['cpu']}, {m['logical_cpus']} logical CPUs ({m['usable_cpus']} usable), "
        f"{m['memory']} memory, {m['os']}",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- numba threading layer: {env['numba_threading_layer']}",
        f"- fastact threads: {env['fastact_threads']}",
        f"- load average (1, 5, 15 min) before: {env['load_before']}, after: {env['load_average']}",
        f"- data: {env['data']}, alpha = {env['alpha']}; times are medians per call",
        "",
    ]
    bar_rows = bars(results, colds)
    if bar_rows:
        lines += [
            "## Performance bars",
            "",
            "`measured`: the medians. `ratio`: the median over the timed rounds of the ratio "
            "of the two times in each round (the implementations of one function, dtype and "
            "size, its bandwidth references included, are timed in interleaved rounds).",
            "",
            markdown_table(BAR_HEADER, bar_rows),
            "",
        ]
    lines += [
        "## Median time per call (speed-up against the seeds' `np.where`)",
        "",
        "Modes: `new` out of place, `out` into a preallocated array, `inplace` into the input.",
        "",
    ]
    for title, header, rows in tables(results):
        lines += [f"### {title}", "", markdown_table(header, rows), ""]
    if colds:
        lines += [
            "## Cold start (fresh process, 1000 float32)",
            "",
            markdown_table(
                [
                    "backend",
                    "import fastact",
                    "first leaky_relu",
                    "second leaky_relu",
                    "then first leaky_relu_backward",
                ],
                [
                    [name, "", f["error"], "", ""]
                    if "error" in f
                    else [
                        name,
                        format_time(f["import_fastact_s"]),
                        format_time(f["first_call_s"]),
                        format_time(f["second_call_s"]),
                        format_time(f["first_backward_s"]),
                    ]
                    for name, f in colds.items()
                ],
            ),
            "",
        ]
    firsts = [r for r in results if r.kind == "fastact" and r.first_call_s > 10 * r.median_s]
    if firsts:
        slow = max(firsts, key=lambda r: r.first_call_s)
        lines += [
            "First calls in this process (JIT compile and page faults, excluded from the "
            f"medians) took up to {format_time(slow.first_call_s)} ({slow.impl}, "
            f"{slow.function}, {slow.dtype}, n={format_size(slow.size)}); every first call "
            "is in results.json.",
            "",
        ]
    if skipped or notes:
        lines += ["## Skipped", ""]
        lines += [f"- {name}: {reason}" for name, reason in skipped.items()]
        lines += [f"- {note}" for note in notes]
        lines.append("")
    for path in plots:
        lines += [f"![throughput]({path.name})", ""]
    return "\n".join(lines)


def _parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        value = float(part)
        if value < 1 or value != int(value):
            raise argparse.ArgumentTypeError(f"not a size: {part!r}")
        sizes.append(int(value))
    return sizes


def _parse_list(choices: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        if text == "all":
            return list(choices)
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in choices]
        if bad:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(bad)}; choose from {', '.join(choices)} or 'all'"
            )
        return items

    return parse


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to the subparsers ``sub`` of ``python -m fastact``."""
    p = sub.add_parser(
        "bench",
        help="time fastact against np.where and friends; write a report folder",
        description="Time every implementation in the registry (fastact._impls) and write "
        "report.md, results.json and PNG plots. Defaults take under a minute.",
    )
    sizes = ",".join(format_size(n) for n in DEFAULT_SIZES)
    options: list[tuple[str, dict[str, Any]]] = [
        ("--functions", {"type": _parse_list(_impls.FUNCTIONS),
                         "help": "comma-separated, or 'all' (default: all six)"}),
        ("--impls", {"type": _parse_list(_impls.names()),
                     "help": f"comma-separated, or 'all' (default: {','.join(DEFAULT_IMPLS)})"}),
        ("--dtypes", {"type": _parse_list(_impls.DTYPES),
                      "help": "comma-separated, or 'all' (default: float32)"}),
        ("--sizes", {"type": _parse_sizes,
                     "help": f"comma-separated element counts, 1e5 allowed (default: {sizes})"}),
        ("--modes", {"type": _parse_list(_impls.MODES),
                     "help": "comma-separated of new,out,inplace, or 'all' (default: new,out)"}),
        ("--repeats", {"type": int,
                       "help": "timed rounds per case, median reported (default 11, quick 5)"}),
        ("--max-time", {"type": float, "default": 1.0,
                        "help": "seconds of rounds per case before stopping (at least 3)"}),
        ("--threads", {"type": int, "help": "fastact thread count (default: get_num_threads())"}),
        ("--output", {"type": Path, "default": Path("fastact-report"),
                      "help": "report folder (default: fastact-report)"}),
        ("--no-cold-start", {"action": "store_true",
                             "help": "skip the cold-start subprocesses"}),
        ("--quick", {"action": "store_true",
                     "help": "for CI: leaky_relu and its backward, sizes 10..1e6, 5 rounds"}),
    ]  # fmt: skip
    for flag, kwargs in options:
        p.add_argument(flag, **kwargs)
    return p


def run(args: argparse.Namespace, argv: Sequence[str] | None = None) -> int:
    """Run the ``bench`` subcommand with parsed ``args``; return the exit status."""
    started = time.perf_counter()
    load_before = _load()
    if args.threads is not None:
        _config.set_num_threads(args.threads)
    functions = args.functions or (list(QUICK_FUNCTIONS) if args.quick else list(_impls.FUNCTIONS))
    impls = args.impls or list(DEFAULT_IMPLS)
    dtypes = args.dtypes or ["float32"]
    sizes = sorted(set(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)))
    modes = args.modes or ["new", "out"]
    rounds = args.repeats or (5 if args.quick else 11)
    cases, skipped = plan(functions, impls, dtypes, sizes, modes)
    print(
        f"fastact bench: {len(cases)} cases ({', '.join(functions)}; {', '.join(dtypes)}; "
        f"sizes {', '.join(format_size(n) for n in sizes)}; modes {', '.join(modes)}; "
        f"{rounds} rounds each; {_config.get_num_threads()} threads)",
        file=sys.stderr,
    )
    notes = []
    if _tqdm() is None:
        notes.append("tqdm is not installed: plain-text progress (pip install 'fastact[report]')")
    results = run_cases(cases, rounds, args.max_time)
    colds = {}
    if not args.no_cold_start:
        print("cold start: a fresh process per backend ...", file=sys.stderr)
        colds = cold_starts()
    env = environment(["python", "-m", "fastact", *(sys.argv[1:] if argv is None else argv)])
    env["load_before"] = load_before
    folder: Path = args.output
    folder.mkdir(parents=True, exist_ok=True)
    plots: list[Path] = []
    try:
        plots = plot(results, folder)
    except ImportError:
        notes.append("matplotlib is not installed: no plot (pip install 'fastact[report]')")
    text = report_markdown(env, results, colds, skipped, plots, notes)
    (folder / "report.md").write_text(text + "\n", encoding="utf-8")
    payload = {
        **env,
        "rounds": rounds,
        "min_round_s": MIN_ROUND_S,
        "cold_start": colds,
        "skipped": skipped,
        "results": [asdict(r) | {"gbps": r.gbps} for r in results],
    }
    (folder / "results.json").write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    bar_rows = bars(results, colds)
    if bar_rows:
        print("\nPerformance bars\n" + text_table(BAR_HEADER, bar_rows))
    for title, header, rows in tables(results):
        print(f"\n{title}: median time per call (speed-up vs np.where)")
        print(text_table(header, rows))
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    for note in notes:
        print(f"skipped: {note}")
    written = ", ".join(str(p) for p in [folder / "report.md", folder / "results.json", *plots])
    print(f"\nwrote {written} in {time.perf_counter() - started:.0f} s")
    return 0
