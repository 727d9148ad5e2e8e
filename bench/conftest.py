"""Collect the kernel benchmarks' medians and print the SPEC's performance bars at the end.

pytest-benchmark prints its tables per group; the bars need ratios across
groups (fastact against ``np.where``, against a parallel copy of the same
bytes, against ``np.maximum`` and PyTorch), which this summary computes with
the same code as ``python -m fastact bench``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fastact import _bench, _impls

_results: list[_bench.Result] = []


@pytest.fixture
def record() -> Callable[..., None]:
    """Keep one benchmark's median for the summary."""

    def add(
        function: str,
        impl: _impls.Impl,
        dtype: str,
        size: int,
        mode: str,
        median: float,
        first: float,
        iterations: int,
        nbytes: int,
    ) -> None:
        _results.append(
            _bench.Result(
                function, impl.name, impl.kind, dtype, size, mode,
                median, median, first, iterations, [median], nbytes,
            )
        )  # fmt: skip

    return add


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    rows = _bench.bars(_results)
    if not rows:
        return
    terminalreporter.section("fastact: SPEC performance bars (float32, this run)")
    terminalreporter.write_line(_bench.text_table(_bench.BAR_HEADER, rows))
