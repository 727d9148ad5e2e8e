"""Collect the kernel benchmarks' medians and print the SPEC's performance bars at the end.

pytest-benchmark prints its tables per group; the bars need ratios across
groups (fastact against ``np.where``, against a parallel copy of the same
bytes, against ``np.maximum`` and PyTorch, against its own rows), which this
summary computes with the same code as ``fastact bench``
(``fastact.bench.report``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fastact.bench import registry, report

_results: list[report.Result] = []


@pytest.fixture
def record() -> Callable[..., None]:
    """Keep one benchmark's median for the summary."""

    def add(
        function: str,
        impl: registry.Impl,
        dtype: str,
        size: int,
        mode: str,
        median: float,
        first: float,
        iterations: int,
        nbytes: int,
    ) -> None:
        _results.append(
            report.Result(
                function, impl.name, impl.kind, dtype, size, mode,
                median, median, first, iterations, [median], nbytes,
            )
        )  # fmt: skip

    return add


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    checks = report.bars(_results)
    if not checks:
        return
    terminalreporter.section("fastact: performance bars (this run's medians)")
    for bar, rows in report.bar_tables(checks):
        terminalreporter.write_line("")
        terminalreporter.write_line(bar)
        for header, part in report.split_columns(report.BAR_HEADER, rows):
            terminalreporter.write_line(report.text_table(header, part))
    terminalreporter.write_line("")
    terminalreporter.write_line(report.wrap(report.verdict(checks)))
