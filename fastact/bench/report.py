"""What a benchmark run found, in words: the tables, the performance bars, the plots.

Everything here works on :class:`Result` records (one measured case each),
whether ``fastact bench`` measured them side by side (``fastact.bench.harness``)
or the pytest-benchmark suite one by one (``bench/conftest.py``). Tables are
at most :data:`WIDTH` characters wide, in the terminal and in Markdown: a
table with more sizes than fit is split into several with the same rows.
"""

from __future__ import annotations

import math
import statistics
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastact._table import activation_of
from fastact.bench import registry

#: the widest line a table or the verdict may take, terminal and Markdown alike
WIDTH = 100
#: what the seeds do today: speed-ups are measured against it where a seed has the function,
BASELINE = "np.where"
#: else against the NumPy formula (the smooth family's)
FORMULA = registry.NUMPY_FORMULA
#: the SPEC's performance bars (float32)
BAR_SPEEDUP = 25.0
BAR_FORMULA = 4.0
BAR_TORCH = 1.0
BAR_BANDWIDTH = 0.90
BAR_SMALL = 0.75
BAR_AUTO = 1.1
BAR_CYTHON = 1.25
BAR_IMPORT_S = 50e-3
BAR_FIRST_CALL_S = 20e-3
#: the rows ``fastact`` (auto) is held to: what it chooses between
OWN_ROWS = ("fastact serial", "cython", "numba")


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
    """``10**k`` (and its multiples) as ``1e{k}``, others as digits.

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


def reference_of(function: str) -> str:
    """The bandwidth reference of a function: ``copy`` for a unary one, ``add`` for a binary one.

    Each moves the bytes the function moves (one read and one write per
    element, or two reads and one write).

    Examples
    --------
    >>> reference_of("relu"), reference_of("relu_backward")
    ('copy', 'add')
    """
    return "copy" if registry.arity(function) == 1 else "add"


Index = dict[tuple[str, str, str, int, str], Result]


def index(results: Iterable[Result]) -> Index:
    """The results by ``(function, impl, dtype, size, mode)``.

    Examples
    --------
    >>> r = Result("relu", "fastact", "fastact", "float32", 10, "out", 1e-7, 1e-7, 0.0, 1, [1e-7])
    >>> list(index([r]))
    [('relu', 'fastact', 'float32', 10, 'out')]
    """
    return {(r.function, r.impl, r.dtype, r.size, r.mode): r for r in results}


# --- tables -------------------------------------------------------------------------------


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
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


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with aligned columns, for the terminal.

    Examples
    --------
    >>> print(text_table(["name", "n"], [["relu", "10"]]))
    name   n
    relu  10
    """
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*r).rstrip() for r in [header, *rows])


def _table_width(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> int:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    if markdown:
        return max(4 + sum(len(c) for c in r) + 3 * (len(r) - 1) for r in [header, *rows])
    return sum(widths) + 2 * (len(widths) - 1)


def split_columns(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    markdown: bool = False,
    width: int = WIDTH,
) -> list[tuple[list[str], list[list[str]]]]:
    """The table as several, each with the first column, no wider than ``width``.

    Examples
    --------
    >>> parts = split_columns(["impl", "a" * 60, "b" * 60], [["x", "1", "2"]])
    >>> [p[0][1:] for p in parts] == [["a" * 60], ["b" * 60]]
    True
    """
    parts: list[tuple[list[str], list[list[str]]]] = []
    columns: list[int] = []
    for c in range(1, len(header)):
        trial = [0, *columns, c]
        sub_header = [header[i] for i in trial]
        sub_rows = [[r[i] for i in trial] for r in rows]
        if columns and _table_width(sub_header, sub_rows, markdown) > width:
            parts.append(_columns(header, rows, [0, *columns]))
            columns = []
        columns.append(c)
    parts.append(_columns(header, rows, [0, *columns]))
    return parts


def _columns(
    header: Sequence[str], rows: Sequence[Sequence[str]], keep: list[int]
) -> tuple[list[str], list[list[str]]]:
    return [header[i] for i in keep], [[r[i] for i in keep] for r in rows]


def tables(results: list[Result]) -> list[tuple[str, list[str], list[list[str]]]]:
    """One table per (function, dtype): rows are implementation (mode), columns sizes.

    Each cell is the median time per call and, where the seeds' ``np.where``
    (else the NumPy formula) was measured, the speed-up against it at that size.

    Examples
    --------
    >>> def timed(impl, kind, mode, s):
    ...     return Result("relu", impl, kind, "float32", 10, mode, s, s, 0.0, 1, [s])
    >>> [(title, header, rows)] = tables(
    ...     [timed("fastact", "fastact", "out", 1e-7), timed("np.where", "baseline", "new", 2e-6)]
    ... )
    >>> title, header
    ('relu, float32 (speed-up vs np.where)', ['implementation', 'n=10'])
    >>> rows
    [['fastact (out)', '100 ns (20x)'], ['np.where (new)', '2 µs']]
    """
    idx = index(results)
    out = []
    for function in dict.fromkeys(r.function for r in results):
        for dtype in dict.fromkeys(r.dtype for r in results if r.function == function):
            rows_of = [r for r in results if r.function == function and r.dtype == dtype]
            measured = {r.impl for r in rows_of}
            baseline = next((b for b in (BASELINE, FORMULA) if b in measured), None)
            sizes = sorted({r.size for r in rows_of})
            header = ["implementation", *(f"n={format_size(n)}" for n in sizes)]
            rows = []
            for impl, mode in dict.fromkeys((r.impl, r.mode) for r in rows_of):
                row = [f"{impl} ({mode})"]
                for n in sizes:
                    r = idx.get((function, impl, dtype, n, mode))
                    base = idx.get((function, baseline, dtype, n, "new"))
                    if r is None:
                        row.append("")
                    elif base is None or r.kind == "reference" or impl == baseline:
                        row.append(format_time(r.median_s))
                    else:
                        row.append(f"{format_time(r.median_s)} ({base.median_s / r.median_s:.3g}x)")
                rows.append(row)
            title = f"{function}, {dtype} " + (
                f"(speed-up vs {baseline})" if baseline else "(no seed code to compare)"
            )
            out.append((title, header, rows))
    return out


# --- the performance bars -----------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One check of one performance bar on one case.

    Examples
    --------
    >>> Bar("b", "relu", "float32", 10**5, "1 µs vs 2 µs", "0.5x", False).row()
    ['relu', 'float32', '1e5', '1 µs vs 2 µs', '0.5x', 'FAIL']
    """

    bar: str
    function: str
    dtype: str
    size: int
    measured: str
    ratio: str
    ok: bool

    @property
    def where(self) -> str:
        """The case, in a few words."""
        return f"{self.function} {self.dtype} n={format_size(self.size)}"

    def row(self) -> list[str]:
        """The row of its table: function, dtype, n, measured, ratio, result."""
        return [
            self.function,
            self.dtype,
            format_size(self.size),
            self.measured,
            self.ratio,
            "pass" if self.ok else "FAIL",
        ]


#: the columns of a bar's table (:meth:`Bar.row`)
BAR_HEADER = ["function", "dtype", "n", "measured", "ratio", "result"]


def _fastest(results: Iterable[Result | None]) -> Result | None:
    # the measured result with the lowest median (None if none was measured)
    return min((r for r in results if r), key=lambda r: r.median_s, default=None)


def best_reference(idx: Index, function: str, dtype: str, size: int) -> Result | None:
    """The fastest parallel bandwidth reference timed with ``function`` (not NumPy's serial one).

    Examples
    --------
    >>> def ref(impl, s):
    ...     return Result("relu", impl, "reference", "float32", 10, "out", s, s, 0.0, 1, [s])
    >>> idx = index([ref("copy (numpy)", 1e-7), ref("copy (torch)", 5e-7)])
    >>> best_reference(idx, "relu", "float32", 10).impl
    'copy (torch)'
    """
    serial = f"{reference_of(function)} (numpy)"
    found = [
        r
        for (f, impl, d, n, _), r in idx.items()
        if f == function and r.kind == "reference" and d == dtype and n == size and impl != serial
    ]
    return _fastest(found)


def paired_ratio(a: Result, b: Result) -> float:
    """The median over the rounds they share of ``a``'s time per call over ``b``'s.

    ``a`` and ``b`` must come from one group of the harness (one function,
    dtype and size), whose rounds interleave: round *r* of each was timed
    within a fraction of a second of the other's, so a change in the
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


def _versus(bar: str, first: Result, second: Result, ratio: float, ok: bool, note: str = "") -> Bar:
    """A bar that compares two times per call."""
    measured = f"{format_time(first.median_s)} vs {format_time(second.median_s)}{note}"
    return Bar(bar, first.function, first.dtype, first.size, measured, f"{ratio:.3g}x", ok)


def bars(
    results: list[Result],
    colds: dict[str, dict[str, Any]] | None = None,
    cold_kernels: Sequence[str] = (),
) -> list[Bar]:
    """Check the performance bars on what was measured, one :class:`Bar` per comparison.

    The SPEC's bars are checked on float32; ``fastact`` (auto) against the
    fastest of its own rows (:data:`OWN_ROWS`) on every dtype and size
    measured; the cold start if ``colds`` (``harness.cold_starts``) is given,
    whose calls were of ``cold_kernels`` (a forward and a backward kernel).
    Ratios of two implementations of one group are :func:`paired_ratio`.

    Examples
    --------
    >>> def timed(impl, kind, s):
    ...     return Result("relu", impl, kind, "float32", 10, "out", s, s, 0.0, 1, [s])
    >>> [check] = bars([timed("fastact", "fastact", 1e-7), timed("cython", "fastact", 2e-6)])
    >>> check.bar, check.ratio, check.ok
    ('fastact (out) within 1.1x of the fastest of fastact serial/cython/numba', '0.05x', True)
    """
    idx = index(results)
    checks: list[Bar] = []
    functions = list(dict.fromkeys(r.function for r in results if r.function in registry.FUNCTIONS))
    dtypes = list(dict.fromkeys(r.dtype for r in results))
    dtype = "float32"
    sizes = sorted({r.size for r in results if r.dtype == dtype})
    for baseline, bar in ((BASELINE, BAR_SPEEDUP), (FORMULA, BAR_FORMULA)):
        for mode in ("new", "out"):
            # np.where and the formulas allocate their result: "new" is the
            # like-for-like comparison, "out" what a caller that keeps its buffers gets
            for function in functions:
                for n in (s for s in sizes if 10**5 <= s <= 10**7):
                    auto = idx.get((function, "fastact", dtype, n, mode))
                    base = idx.get((function, baseline, dtype, n, "new"))
                    if auto and base:
                        ratio = paired_ratio(base, auto)
                        checks.append(
                            _versus(
                                f"fastact ({mode}) at least {bar:g}x faster than {baseline}",
                                auto,
                                base,
                                ratio,
                                ratio >= bar,
                            )
                        )
    # from 10^7 float32 elements the arrays are far larger than the caches; the
    # SPEC holds the piecewise-linear family to the memory bandwidth (the smooth
    # family computes far more per element)
    for function in (f for f in functions if activation_of(f).family == "exact"):
        for n in (s for s in sizes if s >= 10**7):
            auto = idx.get((function, "fastact", dtype, n, "out"))
            ref = best_reference(idx, function, dtype, n)
            if auto and ref:
                ratio = paired_ratio(ref, auto)
                checks.append(
                    Bar(
                        f"fastact (out) bandwidth at least {BAR_BANDWIDTH:.0%} of a parallel "
                        f"{reference_of(function)}",
                        function,
                        dtype,
                        n,
                        f"{auto.gbps:.1f} vs {ref.gbps:.1f} GB/s ({ref.impl})",
                        f"{ratio:.0%}",
                        ratio >= BAR_BANDWIDTH,
                    )
                )
    for other in ("np.maximum", "torch"):
        for function in functions:
            for n in (s for s in sizes if s <= 1000):
                auto = idx.get((function, "fastact", dtype, n, "out"))
                ref = idx.get((function, other, dtype, n, "out"))
                if auto and ref:
                    ratio = paired_ratio(auto, ref)
                    checks.append(
                        _versus(
                            f"fastact (out) time at most {BAR_SMALL:g}x {other}'s (out)",
                            auto,
                            ref,
                            ratio,
                            ratio <= BAR_SMALL,
                        )
                    )
    for mode in ("new", "out"):
        # each mode PyTorch has, like for like, on PyTorch's threads set to fastact's count
        for function in functions:
            for n in (s for s in sizes if s >= 10**4):
                auto = idx.get((function, "fastact", dtype, n, mode))
                ref = idx.get((function, "torch", dtype, n, mode))
                if auto and ref:
                    ratio = paired_ratio(auto, ref)
                    checks.append(
                        _versus(
                            f"fastact ({mode}) no slower than torch ({mode}) from 1e4",
                            auto,
                            ref,
                            ratio,
                            ratio <= BAR_TORCH,
                        )
                    )
    for dt in dtypes:
        for function in functions:
            for n in sorted({r.size for r in results if r.dtype == dt}):
                auto = idx.get((function, "fastact", dt, n, "out"))
                best = _fastest(idx.get((function, impl, dt, n, "out")) for impl in OWN_ROWS)
                if auto and best:
                    ratio = paired_ratio(auto, best)
                    checks.append(
                        _versus(
                            f"fastact (out) within {BAR_AUTO:g}x of the fastest of "
                            + "/".join(OWN_ROWS),
                            auto,
                            best,
                            ratio,
                            ratio <= BAR_AUTO,
                            note=f" ({best.impl})",
                        )
                    )
    for function in functions:
        for n in (s for s in sizes if s >= 10**4):
            cy = idx.get((function, "cython", dtype, n, "out"))
            nb = idx.get((function, "numba", dtype, n, "out"))
            if cy and nb:
                ratio = paired_ratio(cy, nb)
                checks.append(
                    _versus(
                        f"cython (out) within {BAR_CYTHON:g}x of numba (out)",
                        cy,
                        nb,
                        ratio,
                        ratio <= BAR_CYTHON,
                    )
                )
    auto_cold = (colds or {}).get("auto", {})
    if "first_call_s" in auto_cold and cold_kernels:
        forward, backward = cold_kernels
        for what, kernel, key, limit in (
            ("import fastact (beyond numpy)", forward, "import_fastact_s", BAR_IMPORT_S),
            ("first call", forward, "first_call_s", BAR_FIRST_CALL_S),
            ("first call", backward, "first_backward_s", BAR_FIRST_CALL_S),
        ):
            took = auto_cold[key]
            checks.append(
                Bar(
                    f"cold start: {what} under {format_time(limit)}",
                    kernel,
                    "float32",
                    1000,
                    format_time(took),
                    f"{took / limit:.3g}x",
                    took < limit,
                )
            )
    return checks


def bar_tables(checks: list[Bar]) -> list[tuple[str, list[list[str]]]]:
    """The checks grouped by bar: ``(bar, rows)``, in the order the bars come.

    Examples
    --------
    >>> bar_tables([Bar("b", "relu", "float32", 10, "1 ns vs 2 ns", "0.5x", True)])
    [('b', [['relu', 'float32', '10', '1 ns vs 2 ns', '0.5x', 'pass']])]
    """
    grouped: dict[str, list[list[str]]] = {}
    for check in checks:
        grouped.setdefault(check.bar, []).append(check.row())
    return list(grouped.items())


def verdict(checks: list[Bar]) -> str:
    """``"N of M bars met"``, then the failed ones by bar.

    Examples
    --------
    >>> ok = Bar("b", "relu", "float32", 10, "", "", True)
    >>> verdict([ok, Bar("b", "relu6", "float32", 10**7, "", "", False)])
    'Verdict: 1 of 2 bars met; failed: b: relu6 float32 n=1e7.'
    """
    if not checks:
        return "Verdict: no bar applies to what was measured (0 of 0 bars met)."
    failed: dict[str, list[str]] = {}
    for check in checks:
        if not check.ok:
            failed.setdefault(check.bar, []).append(check.where)
    met = len(checks) - sum(len(v) for v in failed.values())
    text = f"Verdict: {met} of {len(checks)} bars met"
    if not failed:
        return text + "."
    return text + "; failed: " + "; ".join(f"{b}: {', '.join(w)}" for b, w in failed.items()) + "."


def wrap(text: str, width: int = WIDTH) -> str:
    """``text`` wrapped to ``width`` columns, continuation lines indented.

    Examples
    --------
    >>> print(wrap("a " * 6, width=6))
    a a a
      a a
      a
    """
    return "\n".join(
        textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False) or [""]
    )


# --- the Markdown report ------------------------------------------------------------------


def markdown(
    env: dict[str, Any],
    results: list[Result],
    checks: list[Bar],
    colds: dict[str, dict[str, Any]],
    cold_kernels: Sequence[str],
    skipped: dict[str, str],
    plots: list[Path],
    notes: list[str],
) -> str:
    """The text of ``report.md``: header, bars, tables, cold start, plots, then the verdict.

    Examples
    --------
    >>> from fastact.bench import harness
    >>> env = harness.environment("fastact bench") | {"load_before": "0.00 0.00 0.00"}
    >>> text = markdown(env, [], [], {}, (), {}, [], [])
    >>> text.splitlines()[-1]
    'Verdict: no bar applies to what was measured (0 of 0 bars met).'
    """
    m, v = env["machine"], env["versions"]
    lines = ["# fastact benchmark report", ""]
    if env.get("warning"):
        lines += [f"> **WARNING: {env['warning']}**", ""]
    lines += [
        f"- date: {env['date']}",
        f"- command: `{env['command']}`",
        f"- machine: {m['cpu']}, {m['logical_cpus']} logical CPUs ({m['usable_cpus']} usable), "
        f"{m['memory']} memory, {m['os']}",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- numba threading layer: {env['numba_threading_layer']}",
        f"- fastact threads: {env['fastact_threads']}",
        f"- load average (1, 5, 15 min) before: {env['load_before']}, after: {env['load_average']}",
        f"- data: {env['data']}; parameters: {env['parameters']}; times are medians per call",
        "",
    ]
    if checks:
        lines += [
            "## Performance bars",
            "",
            "`measured`: the medians. `ratio`: the median over the timed rounds of the ratio "
            "of the two times in each round (the implementations of one function, dtype and "
            "size, its bandwidth references included, are timed in interleaved rounds).",
            "",
        ]
        for bar, rows in bar_tables(checks):
            lines += [f"### {bar}", ""]
            for header, part in split_columns(BAR_HEADER, rows, markdown=True):
                lines += [markdown_table(header, part), ""]
    lines += [
        "## Median time per call (speed-up against the seeds' `np.where`, else the NumPy formula)",
        "",
        "Modes: `new` out of place, `out` into a preallocated array, `inplace` into the input.",
        "",
    ]
    for title, header, rows in tables(results):
        lines += [f"### {title}", ""]
        for sub_header, part in split_columns(header, rows, markdown=True):
            lines += [markdown_table(sub_header, part), ""]
    if colds:
        forward, backward = cold_kernels
        lines += [
            "## Cold start (fresh process, 1000 float32)",
            "",
            markdown_table(
                ["backend", "import fastact", f"first {forward}", "second", f"then {backward}"],
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
        lines += [f"![throughput, {path.stem.split('-')[-1]}]({path.name})", ""]
    lines += ["## Verdict", "", verdict(checks)]
    return "\n".join(lines)


# --- plots --------------------------------------------------------------------------------

_MARKERS = "os^vDPX*h<>p"


def _styles(impls: Sequence[str]) -> dict[str, dict[str, Any]]:
    """A colour, marker and line style per implementation, the same in every panel."""
    import matplotlib

    colours = matplotlib.colormaps["tab10"].colors + matplotlib.colormaps["Dark2"].colors
    styles = {}
    for i, impl in enumerate(impls):
        fastact = impl in registry.FASTACT
        styles[impl] = {
            "color": colours[i % len(colours)],
            "marker": _MARKERS[i % len(_MARKERS)],
            "linestyle": "-" if fastact else (0, (4, 2)),
            "linewidth": 2.4 if impl == "fastact" else 1.3,
            "markersize": 4,
        }
    return styles


def plot(results: list[Result], folder: Path) -> list[Path]:
    """One PNG per dtype: GB/s against size, log-log, a panel per function.

    One line per implementation (its ``out=`` mode where it has one, else out
    of place), styled alike in every panel, with one legend for the figure.
    The fastest parallel copy (or add, for the backward functions) is drawn
    dashed as the ceiling only at the sizes where it is one: where it moved
    the bytes at least as fast as every fastact row.

    Raises
    ------
    ImportError
        If matplotlib is not installed.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> r = Result("relu", "fastact", "fastact", "float32", 10, "out", 1e-7, 1e-7, 0, 1, [1e-7], 80)
    >>> [path.name for path in plot([r], Path(tempfile.mkdtemp()))]  # doctest: +SKIP
    ['throughput-float32.png']
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idx = index(results)
    written = []
    for dtype in dict.fromkeys(r.dtype for r in results):
        mine = [r for r in results if r.dtype == dtype]
        functions = [f for f in dict.fromkeys(r.function for r in mine) if f in registry.FUNCTIONS]
        if not functions:
            continue
        impls = list(dict.fromkeys(r.impl for r in mine if r.kind != "reference"))
        styles = _styles(impls)
        sizes = sorted({r.size for r in mine})
        cols = min(3, len(functions))
        rows = math.ceil(len(functions) / cols)
        fig, axes = plt.subplots(
            rows, cols, figsize=(5.0 * cols, 3.6 * rows + 1.2), squeeze=False, sharey=True
        )
        handles: dict[str, Any] = {}
        for ax, function in zip(axes.flat, functions, strict=False):
            for impl in impls:
                points = []
                for n in sizes:
                    r = idx.get((function, impl, dtype, n, "out")) or idx.get(
                        (function, impl, dtype, n, "new")
                    )
                    if r is not None:
                        points.append((n, r.gbps, r.mode))
                if points:
                    (line,) = ax.plot(
                        [p[0] for p in points], [p[1] for p in points], **styles[impl]
                    )
                    handles.setdefault(impl, line)
            ceiling = []
            for n in sizes:
                ref = best_reference(idx, function, dtype, n)
                own = _fastest(
                    r
                    for r in mine
                    if r.function == function and r.size == n and r.kind == "fastact"
                )
                real = ref is not None and (own is None or ref.gbps >= own.gbps)
                # NaN breaks the line: no ceiling is drawn across a size where it was none
                ceiling.append((n, ref.gbps if real else math.nan))
            if any(not math.isnan(c[1]) for c in ceiling):
                (line,) = ax.plot(
                    [c[0] for c in ceiling],
                    [c[1] for c in ceiling],
                    color="black",
                    linestyle="--",
                    linewidth=1.8,
                    marker="_",
                    markersize=10,
                )
                handles.setdefault("fastest parallel copy/add (ceiling where no row beat it)", line)
            ax.set(xscale="log", yscale="log", title=f"{function} ({dtype})")
            ax.set_xlabel("elements")
            ax.grid(True, which="major", alpha=0.3)
        for ax in axes[:, 0]:
            ax.set_ylabel("GB/s (bytes read + written / time)")
        for ax in list(axes.flat)[len(functions) :]:
            ax.set_visible(False)
        # placed in inches from the top: a fraction of a tall figure's height (30
        # panels: 37 inches) would put it over the first row's titles
        fig.suptitle(
            f"{dtype}: into out= where an implementation can, else a new array",
            size=10,
            y=1 - 0.1 / fig.get_figheight(),
            va="top",
        )
        fig.legend(
            list(handles.values()),
            list(handles.keys()),
            loc="lower center",
            ncol=min(4, len(handles)),
            fontsize=9,
            frameon=False,
        )
        legend_rows = math.ceil(len(handles) / min(4, len(handles)))
        height = fig.get_figheight()
        fig.tight_layout(rect=(0, (0.2 * legend_rows + 0.1) / height, 1, 1 - 0.3 / height))
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
        small = image.convert("RGB").quantize(colors=128)
        small.save(path, optimize=True)
