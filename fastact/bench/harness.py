"""``fastact bench``: time the registry of ``fastact.bench.registry`` and write a report.

A shorter sweep than the pytest-benchmark suite in ``bench/``: it prints a
table of median times and speed-ups against the seeds' ``np.where`` code (the
smooth family: against its NumPy formula), checks the SPEC's performance
bars, and writes a folder with ``report.md``, ``results.json`` (every figure
measured, the machine and the versions) and one PNG plot per dtype of
throughput against size. matplotlib and tqdm (the ``report`` extra) are
optional: without them there is no plot and the progress is plain text.

Timing rules: every measurement calls the prepared implementation once first
(the first-call time, JIT compile included, is kept as a figure of its own),
then calibrates how many calls make a round of at least :data:`MIN_ROUND_S`,
calls it :data:`SETTLE_CALLS` times more, and runs the timed rounds with the
garbage collector off, and reports the median time per call. The
implementations of one function, dtype and size are timed side by side:
round *r* of each (after an untimed warm-up of its own) runs before round
*r + 1* of any, so that a change in the machine's load (other tenants of a
shared VM move a 3e7-element call by 2x within seconds) falls on all of them
alike and the ratios the bars check stay fair. An implementation that runs
under a setting (``fastact serial``: one thread) enters it around its calls,
outside the timed part. The cold-start figures (``import fastact`` and the
first calls of each backend) are measured in fresh subprocesses.
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fastact import _backends, _config
from fastact._table import ACTIVATIONS, activation_of
from fastact.bench import registry, report
from fastact.bench.report import Result, format_size, format_time

#: a timed round lasts at least this long, so the clock's resolution does not matter
MIN_ROUND_S = 50e-6
#: the least untimed running before each timed round of a side-by-side measurement
WARM_S = 10e-3
#: before the first timed round, each callable has made this many calls, or
#: calls for SETTLE_S: first-touch page faults and lazy set-up are behind it,
#: as they are a few calls into a program
SETTLE_CALLS = 16
SETTLE_S = 0.2
#: the default run: fastact (auto and serial), the backends that can serve
#: auto, and every baseline, at the sizes of the bars (1e4: where the bar
#: against PyTorch starts), for the forward and backward kernels
#: (``--functions all`` adds the derivatives)
DEFAULT_IMPLS = tuple(
    name for name in (*registry.FASTACT, *registry.BASELINES) if name not in ("numpy",)
)
DEFAULT_SIZES = (10, 1000, 10**4, 10**5, 10**6, 10**7)
QUICK_SIZES = (10, 1000, 10**5, 10**6)
#: the activation of ``--quick`` and of the cold start: its forward and backward
#: kernels, called with the table's default parameter
SAMPLE = "leaky_relu"
#: the default run as measured once (``fastact bench``: 30 kernels in 1623 s on a
#: shared 2-core Xeon VM, load average 4 from other work; the 12 piecewise-linear
#: kernels took 641 s of it, the 18 smooth ones 963 s): seconds per kernel of
#: the table, and seconds of ``--quick`` on the same machine
DEFAULT_RUN_S_PER_KERNEL = 54.0
QUICK_RUN_S = 32.0


def default_kernels() -> tuple[str, ...]:
    """The kernels of the default run: every forward and backward pass of the table.

    Examples
    --------
    >>> default_kernels()[:2]
    ('relu', 'relu_backward')
    """
    return tuple(k for k in registry.FUNCTIONS if not k.endswith("_grad"))


def sample_kernels() -> tuple[str, str]:
    """The forward and backward kernels ``--quick`` and the cold start call.

    Examples
    --------
    >>> sample_kernels()
    ('leaky_relu', 'leaky_relu_backward')
    """
    act = ACTIVATIONS.get(SAMPLE) or next(iter(ACTIVATIONS.values()))
    return act.kernels[0], act.kernels[2]


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
    runs: Sequence[registry.Prepared], rounds: int, max_time_s: float = math.inf
) -> list[Timing]:
    """Time several prepared callables side by side: first call, calibration, timed rounds.

    Each callable is called once (the first-call time is kept apart), then
    calibrated to rounds of at least :data:`MIN_ROUND_S`, then called
    :data:`SETTLE_CALLS` times (at most :data:`SETTLE_S`). Round *r* of every
    callable runs before round *r + 1* of any, so that a change in the
    machine's speed during the measurement affects them alike, and each
    round starts one callable further on than the one before; each timed
    round follows an untimed one of at least :data:`WARM_S`, so that each is
    timed in its own steady state (its arrays in the caches), as when it is
    measured alone. A callable with a setting (``registry.WithSetting``)
    runs each of these stretches inside it. Each stops early after
    ``max_time_s`` of its own timed rounds, but never before 3 rounds.

    Examples
    --------
    >>> fast, slow = measure_side_by_side([lambda: None, lambda: sum(range(1000))], rounds=3)
    >>> fast.median_s < slow.median_s
    True
    """
    unwrapped = [registry.unwrap(run) for run in runs]
    calibrated = []
    for call, setting in unwrapped:
        with setting():
            calibrated.append(calibrate(call))
    for call, setting in unwrapped:
        with setting():
            start = time.perf_counter()
            for _ in range(SETTLE_CALLS):
                call()
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
                call, setting = unwrapped[i]
                if spent[i] >= max_time_s and len(times[i]) >= 3:
                    continue
                iterations = calibrated[i][1]
                with setting():
                    for _ in range(warm[i]):
                        call()
                    start = time.perf_counter()
                    for _ in range(iterations):
                        call()
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


def input_arrays(function: str, dtype: str, size: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Random normal inputs for ``function`` (as the SPEC's bars are measured), 64-byte aligned.

    Examples
    --------
    >>> [a.shape for a in input_arrays("relu_backward", "float32", 3)]
    [(3,), (3,)]
    """
    rng = np.random.default_rng(seed)
    arrays = []
    for _ in range(registry.arity(function)):
        values = rng.standard_normal(size, dtype=np.float64).astype(dtype)
        aligned = registry.aligned_empty_like(values)
        aligned[...] = values
        arrays.append(aligned)
    return tuple(arrays)


@dataclass(frozen=True)
class Case:
    """One cell of the sweep."""

    impl: registry.Impl
    dtype: str
    size: int
    mode: str

    @property
    def label(self) -> str:
        """How the progress bar names it."""
        return f"{self.impl.function} {self.dtype} n={self.size} {self.impl.name} {self.mode}"


def _in_group_of(impl: registry.Impl, function: str) -> registry.Impl:
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

    Each function's cases include its bandwidth references
    (``report.reference_of``), named ``"copy (torch)"`` and so on, timed
    into ``out=`` on its arrays.

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
                    *(i for i in registry.registry(function) if i.name in impls),
                    *(
                        _in_group_of(i, function)
                        for i in registry.registry(report.reference_of(function), kind="reference")
                    ),
                ]
                for impl in candidates:
                    reason = impl.unavailable()
                    if reason is not None:
                        skipped[impl.name] = reason
                        continue
                    for mode in modes if impl.kind != "reference" else ("out",):
                        if impl.unsupported(dtype, mode) is None:
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
    serves each group (an in-place case gets copies). Parameters are the
    table's defaults.
    """
    groups: dict[tuple[str, str, int], list[Case]] = {}
    for case in cases:
        groups.setdefault((case.impl.function, case.dtype, case.size), []).append(case)
    results = []
    for group in _progress(list(groups.values())):
        first = group[0]
        arrays = input_arrays(first.impl.function, first.dtype, first.size)
        out = registry.aligned_empty_like(arrays[0])
        runs = [
            case.impl.prepare(
                tuple(a.copy() for a in arrays) if case.mode == "inplace" else arrays,
                None,
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
                    registry.bytes_moved(impl.function, case.size, np.dtype(case.dtype).itemsize),
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
forward, backward = getattr(fa, sys.argv[2]), getattr(fa, sys.argv[3])
x = np.linspace(-1, 1, 1000, dtype=np.float32)
g = np.ones_like(x)
backend = None if sys.argv[1] == "auto" else sys.argv[1]
t3 = time.perf_counter()
forward(x, backend=backend)
t4 = time.perf_counter()
forward(x, backend=backend)
t5 = time.perf_counter()
backward(g, x, backend=backend)
t6 = time.perf_counter()
print(json.dumps({"import_numpy_s": t1 - t0, "import_fastact_s": t2 - t1,
                  "first_call_s": t4 - t3, "second_call_s": t5 - t4,
                  "first_backward_s": t6 - t5}))
"""


def cold_start(backend: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``import fastact``, then the first call of :func:`sample_kernels`'s forward
    kernel (float32, 1000, default parameters), a second one, and the first of
    the backward kernel, in a fresh process.

    Returns the figures in seconds, or ``{"error": ...}``.

    Examples
    --------
    >>> figures = cold_start("numpy")
    >>> sorted(figures)
    ['first_backward_s', 'first_call_s', 'import_fastact_s', 'import_numpy_s', 'second_call_s']
    """
    cmd = [sys.executable, "-c", _COLD_START, backend, *sample_kernels()]
    # `python -c` imports from its working directory first: run it where the
    # fastact being measured lives, or a source checkout (the README's
    # command runs from one) would be measured instead of the installed build
    here = Path(__file__).resolve().parents[2]
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
    """Cold-start figures for every backend that can run, and numba with an empty JIT cache.

    Examples
    --------
    >>> figures = cold_starts()  # doctest: +SKIP
    >>> list(figures)  # doctest: +SKIP
    ['auto', 'cython', 'numba', 'numpy', 'numba (empty JIT cache)']
    """
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


def _cython_version() -> str:
    """The Cython that built the extension, which is what the figures depend on."""
    if _backends.status("cython") is not None:
        return "extension not built"
    return _backends.load("cython")._cy.BUILD_CYTHON


def cython_warning() -> str | None:
    """A warning for the report when the Cython extension cannot run, else None.

    Examples
    --------
    >>> warning = cython_warning()
    >>> warning is None or warning.startswith("the Cython extension is not available")
    True
    """
    reason = _backends.status("cython")
    if reason is None:
        return None
    return (
        "the Cython extension is not available, so fastact runs on Numba or NumPy here and "
        f"these figures are not those of a built fastact ({reason})"
    )


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


def _parameters(functions: Sequence[str]) -> str:
    acts = dict.fromkeys(activation_of(f).name for f in functions if f in registry.FUNCTIONS)
    given = [f"{a} {registry.params_text(a)}" for a in acts if registry.params_text(a)]
    return "the table's defaults" + (f" ({'; '.join(given)})" if given else "")


def environment(command: str, functions: Sequence[str] = ()) -> dict[str, Any]:
    """The machine, the versions and the command line, for the report.

    Examples
    --------
    >>> env = environment("fastact bench --quick", ["leaky_relu"])
    >>> env["command"], env["parameters"]
    ('fastact bench --quick', "the table's defaults (leaky_relu alpha=0.01)")
    """
    from fastact import __version__

    return {
        "load_average": _load(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "machine": {
            "cpu": _cpu_model(),
            "logical_cpus": os.cpu_count(),
            "usable_cpus": _config.cpu_count(),
            "memory": _memory(),
            "os": platform.platform(),
        },
        "versions": {
            "python": platform.python_version(),
            "fastact": __version__,
            "numpy": np.__version__,
            "numba": _version("numba"),
            "llvmlite": _version("llvmlite"),
            "cython (built with)": _cython_version(),
            "torch": _version("torch"),
            "numexpr": _version("numexpr"),
        },
        "warning": cython_warning(),
        "numba_threading_layer": _threading_layer(),
        "fastact_threads": _config.get_num_threads(),
        "backends": {name: _backends.status(name) or "can run" for name in _backends.BACKENDS},
        "parameters": _parameters(functions),
        "data": "random normal",
    }


# --- the command line ---------------------------------------------------------------------


def _parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a size: {part!r}") from None
        if not 1 <= value < 2**62 or value != int(value):
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


def _duration_text() -> str:
    """What the help says of the default run's duration, from the measured figures."""
    kernels = len(default_kernels())
    minutes = DEFAULT_RUN_S_PER_KERNEL * kernels / 60
    return (
        f"The default run (forward and backward kernels, float32, sizes 10 to 1e7, new and "
        f"out=, cold start) takes about {minutes:.0f} minutes for the table's {kernels}: "
        f"it took {DEFAULT_RUN_S_PER_KERNEL:.0f} s a kernel on a shared 2-core VM. "
        f"--quick took {QUICK_RUN_S:.0f} s there."
    )


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to the subparsers ``sub`` of the ``fastact`` command.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="fastact")
    >>> bench = add_parser(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["bench", "--sizes", "1e3,10"]).sizes
    [1000, 10]
    """
    p = sub.add_parser(
        "bench",
        help="time fastact against np.where and friends; write a report folder",
        description="Time every implementation of every kernel in the registry "
        "(fastact.bench.registry) side by side and write report.md, results.json and "
        "PNG plots. " + _duration_text(),
    )
    sizes = ",".join(format_size(n) for n in DEFAULT_SIZES)
    quick = ",".join(format_size(n) for n in QUICK_SIZES)
    forward, backward = sample_kernels()
    options: list[tuple[str, dict[str, Any]]] = [
        ("--functions", {"type": _parse_list(registry.FUNCTIONS), "metavar": "KERNELS",
                         "help": "kernels, comma-separated, or 'all' (default: the "
                                 f"{len(default_kernels())} forward and backward kernels of "
                                 "the table; 'all' adds the derivatives)"}),
        ("--impls", {"type": _parse_list(registry.names()), "metavar": "IMPLS",
                     "help": f"comma-separated, or 'all' (default: all: {', '.join(DEFAULT_IMPLS)}"
                             "; quote the names with spaces)"}),
        ("--dtypes", {"type": _parse_list(registry.DTYPES),
                      "help": "comma-separated, or 'all' (default: float32)"}),
        ("--sizes", {"type": _parse_sizes,
                     "help": f"comma-separated element counts, 1e5 allowed (default: {sizes})"}),
        ("--modes", {"type": _parse_list(registry.MODES),
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
                     "help": f"for CI: {forward} and {backward}, sizes {quick}, 5 rounds"}),
        ("--check", {"action": "store_true",
                     "help": "exit with status 1 if a performance bar is not met"}),
    ]  # fmt: skip
    for flag, kwargs in options:
        p.add_argument(flag, **kwargs)
    return p


def run(args: argparse.Namespace, command: str) -> int:
    """Run the ``bench`` subcommand with parsed ``args``; return the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        From the parser :func:`add_parser` added.
    command : str
        The command line as run, for the report (``"fastact bench --quick"``).

    Returns
    -------
    int
        0, or 1 with ``--check`` when a performance bar is not met.

    Examples
    --------
    >>> import argparse, tempfile
    >>> parser = argparse.ArgumentParser(prog="fastact")
    >>> _ = add_parser(parser.add_subparsers(dest="command"))
    >>> argv = ["bench", "--functions", "relu", "--impls", "fastact", "--sizes", "10",
    ...         "--repeats", "3", "--no-cold-start", "--output", tempfile.mkdtemp()]
    >>> run(parser.parse_args(argv), "fastact " + " ".join(argv))  # doctest: +SKIP
    0
    """
    started = time.perf_counter()
    load_before = _load()
    if args.threads is not None:
        _config.set_num_threads(args.threads)
    functions = args.functions or (
        list(sample_kernels()) if args.quick else list(default_kernels())
    )
    impls = args.impls or list(DEFAULT_IMPLS)
    dtypes = args.dtypes or ["float32"]
    sizes = sorted(set(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)))
    modes = args.modes or ["new", "out"]
    rounds = args.repeats or (5 if args.quick else 11)
    warning = cython_warning()
    if warning:
        print(report.wrap(f"WARNING: {warning}"), file=sys.stderr)
    cases, skipped = plan(functions, impls, dtypes, sizes, modes)
    print(
        report.wrap(
            f"fastact bench: {len(cases)} cases ({', '.join(functions)}; {', '.join(dtypes)}; "
            f"sizes {', '.join(format_size(n) for n in sizes)}; modes {', '.join(modes)}; "
            f"{rounds} rounds each; {_config.get_num_threads()} threads)"
        ),
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
    env = environment(command, functions)
    env["load_before"] = load_before
    folder: Path = args.output
    folder.mkdir(parents=True, exist_ok=True)
    plots: list[Path] = []
    try:
        plots = report.plot(results, folder)
    except ImportError:
        notes.append("matplotlib is not installed: no plot (pip install 'fastact[report]')")
    checks = report.bars(results, colds, sample_kernels())
    text = report.markdown(env, results, checks, colds, sample_kernels(), skipped, plots, notes)
    (folder / "report.md").write_text(text + "\n", encoding="utf-8")
    payload = {
        **env,
        "rounds": rounds,
        "min_round_s": MIN_ROUND_S,
        "cold_start": colds,
        "skipped": skipped,
        "bars": [asdict(c) for c in checks],
        "verdict": report.verdict(checks),
        "results": [asdict(r) | {"gbps": r.gbps} for r in results],
    }
    (folder / "results.json").write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    for title, header, rows in report.tables(results):
        print(f"\n{title}: median time per call")
        for sub_header, part in report.split_columns(header, rows):
            print(report.text_table(sub_header, part))
    if checks:
        print("\nPerformance bars")
        for bar, rows in report.bar_tables(checks):
            print(f"\n{bar}")
            for sub_header, part in report.split_columns(report.BAR_HEADER, rows):
                print(report.text_table(sub_header, part))
    print()
    for name, reason in skipped.items():
        print(report.wrap(f"skipped {name}: {reason}"))
    for note in notes:
        print(report.wrap(f"skipped: {note}"))
    written = ", ".join(str(p) for p in [folder / "report.md", folder / "results.json", *plots])
    print(report.wrap(f"wrote {written} in {time.perf_counter() - started:.0f} s"))
    if warning:
        print(report.wrap(f"WARNING: {warning}"))
    print(report.wrap(report.verdict(checks)))
    return 1 if args.check and not all(c.ok for c in checks) else 0


def format_command(prog: str, argv: Sequence[str]) -> str:
    """The command line as a shell would take it.

    Examples
    --------
    >>> format_command("fastact", ["bench", "--output", "my report"])
    "fastact bench --output 'my report'"
    """
    return " ".join([prog, *(shlex.quote(a) for a in argv)])


__all__ = [
    "Case",
    "Result",
    "Timing",
    "add_parser",
    "calibrate",
    "cold_start",
    "cold_starts",
    "environment",
    "format_time",
    "input_arrays",
    "measure_side_by_side",
    "plan",
    "run",
    "run_cases",
]
