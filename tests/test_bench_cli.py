"""The ``fastact`` command: ``info``, ``--version``, and a tiny ``bench`` sweep's report."""

from __future__ import annotations

import doctest
import itertools
import json
import statistics
import subprocess
import sys

import pytest

import fastact
from fastact import __main__ as cli
from fastact.__main__ import main
from fastact._table import ACTIVATIONS, KERNELS
from fastact.bench import harness, registry, report

TINY = [
    "bench", "--functions", "leaky_relu,relu6_backward", "--impls", "fastact,np.where,numpy",
    "--sizes", "10,1e3", "--repeats", "3", "--no-cold-start",
]  # fmt: skip


def test_report_folder(tmp_path, capsys) -> None:
    assert main([*TINY, "--output", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "leaky_relu, float32 (speed-up vs np.where): median time per call" in printed
    assert all(len(line) <= report.WIDTH for line in printed.splitlines())
    assert printed.rstrip().splitlines()[-1].startswith("Verdict: ")
    text = (tmp_path / "report.md").read_text()
    # called as a function, the command is the console script's
    assert "`fastact bench --functions leaky_relu,relu6_backward" in text
    assert "| np.where (new) |" in text and "| fastact (out) |" in text
    assert "numba threading layer" in text and "fastact threads" in text
    assert "leaky_relu alpha=0.01" in text
    assert text.rstrip().splitlines()[-1].startswith("Verdict: ")
    tables = [line for line in text.splitlines() if line.startswith("|")]
    assert all(len(line) <= report.WIDTH for line in tables)
    data = json.loads((tmp_path / "results.json").read_text())
    assert {"machine", "versions", "command", "date", "results", "verdict"} <= set(data)
    functions = {r["function"] for r in data["results"]}
    assert functions == {"leaky_relu", "relu6_backward"}
    # each function's bandwidth references were timed in its own rounds
    references = {(r["function"], r["impl"]) for r in data["results"] if r["kind"] == "reference"}
    assert {("leaky_relu", "copy (numpy)"), ("relu6_backward", "add (numpy)")} <= references
    # no seed covers relu6: it has no np.where row, and its table says so
    measured = {(r["function"], r["impl"]) for r in data["results"]}
    assert ("relu6_backward", "np.where") not in measured
    assert "relu6_backward, float32 (no seed code to compare)" in text
    for r in data["results"]:
        assert len(r["rounds_s"]) == 3 and r["median_s"] > 0 and r["first_call_s"] > 0
    pytest.importorskip("matplotlib")
    assert (tmp_path / "throughput-float32.png").stat().st_size > 1000


def test_without_the_report_extra(tmp_path, capsys, monkeypatch) -> None:
    # None in sys.modules makes the import raise ImportError, as if not installed
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert main([*TINY, "--output", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "matplotlib is not installed: no plot" in captured.out
    assert "tqdm is not installed" in captured.out
    assert "[1/" in captured.err  # the plain-text progress
    assert (tmp_path / "report.md").exists() and not list(tmp_path.glob("*.png"))


def test_check_exits_non_zero_when_a_bar_fails(tmp_path, monkeypatch) -> None:
    args = [*TINY, "--output", str(tmp_path)]
    monkeypatch.setattr(report, "BAR_SMALL", 0.0)  # fastact cannot take no time
    monkeypatch.setattr(report, "BAR_AUTO", 1e9)
    assert main([*args, "--impls", "fastact,np.maximum"]) == 0
    assert main([*args, "--impls", "fastact,np.maximum", "--check"]) == 1
    verdict = (tmp_path / "report.md").read_text().rstrip().splitlines()[-1]
    assert "failed: fastact (out) time at most 0x np.maximum's (out): leaky_relu" in verdict


def test_warning_when_the_cython_extension_is_missing(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(harness, "cython_warning", lambda: "the Cython extension is not built")
    assert main([*TINY, "--output", str(tmp_path)]) == 0
    assert "WARNING: the Cython extension is not built" in capsys.readouterr().out
    text = (tmp_path / "report.md").read_text()
    assert "> **WARNING: the Cython extension is not built**" in text


def test_bad_arguments_are_refused(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["bench", "--functions", "softmax"])
    assert "unknown softmax" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "--sizes", "0.5"])


def _result(
    function: str, impl: str, size: int, mode: str, median: float, dtype: str = "float32"
) -> report.Result:
    reference = impl.startswith(report.reference_of(function) + " (")
    kind = "reference" if reference else registry.get(function, impl).kind
    nbytes = registry.bytes_moved(function, size, 4)
    return report.Result(
        function, impl, kind, dtype, size, mode, median, median, 0.0, 1, [median], nbytes
    )


def test_bars_compare_what_the_spec_says() -> None:
    result = _result
    checks = report.bars(
        [
            result("leaky_relu", "fastact", 10**5, "new", 1e-6),
            result("leaky_relu", "np.where", 10**5, "new", 20e-6),
            result("leaky_relu", "fastact", 10**7, "out", 1.0),
            result("leaky_relu", "copy (torch)", 10**7, "out", 0.95),
            # serial: not the SPEC's reference
            result("leaky_relu", "copy (numpy)", 10**7, "out", 0.5),
            result("leaky_relu", "fastact", 1000, "out", 0.7),
            result("leaky_relu", "np.maximum", 1000, "out", 1.0),
        ]
    )
    assert [(c.bar, c.ok) for c in checks] == [
        ("fastact (new) at least 25x faster than np.where", False),
        ("fastact (out) bandwidth at least 90% of a parallel copy", True),
        ("fastact (out) time at most 0.75x np.maximum's (out)", True),
    ]
    assert report.verdict(checks) == (
        "Verdict: 2 of 3 bars met; failed: fastact (new) at least 25x faster than np.where: "
        "leaky_relu float32 n=1e5."
    )


def test_the_smooth_family_is_held_to_its_formula_and_to_pytorch() -> None:
    """4x the NumPy formula from 1e5 to 1e7; no slower than PyTorch from 1e4, mode by mode."""
    result = _result
    checks = report.bars(
        [
            result("gelu", "fastact", 1000, "new", 1e-6),
            result("gelu", "torch", 1000, "new", 1e-6),
            result("gelu", "fastact", 10**4, "new", 1e-5),
            result("gelu", "torch", 10**4, "new", 2e-5),
            result("gelu", "fastact", 10**4, "out", 3e-5),
            result("gelu", "torch", 10**4, "out", 2e-5),
            result("gelu", "fastact", 10**5, "new", 1e-4),
            result("gelu", "numpy formula", 10**5, "new", 5e-4),
            result("gelu", "fastact", 10**7, "out", 1e-2),
            result("gelu", "numpy formula", 10**7, "new", 3e-2),
        ]
    )
    assert [(c.bar, c.size, c.ratio, c.ok) for c in checks] == [
        ("fastact (new) at least 4x faster than numpy formula", 10**5, "5x", True),
        ("fastact (out) at least 4x faster than numpy formula", 10**7, "3x", False),
        ("fastact (new) no slower than torch (new) from 1e4", 10**4, "0.5x", True),
        ("fastact (out) no slower than torch (out) from 1e4", 10**4, "1.5x", False),
    ]
    [(title, _, rows)] = report.tables(
        [
            result("gelu", "fastact", 10**5, "new", 1e-4),
            result("gelu", "numpy formula", 10**5, "new", 5e-4),
        ]
    )
    assert title == "gelu, float32 (speed-up vs numpy formula)"
    assert rows[0] == ["fastact (new)", "100 µs (5x)"]


def test_the_default_run_covers_every_activation_forward_and_backward() -> None:
    elementwise = [a for a in ACTIVATIONS.values() if a.kind == "elementwise"]
    forward_and_backward = {k for a in elementwise for k in (a.kernels[0], a.kernels[2])}
    assert set(harness.default_kernels()) == forward_and_backward


def test_auto_is_held_to_its_own_rows_on_every_dtype_and_cold_start_to_its_bars() -> None:
    checks = report.bars(
        [
            _result("relu", "fastact", 10, "out", 1.05e-7, "float64"),
            _result("relu", "fastact serial", 10, "out", 1e-7, "float64"),
            _result("relu", "numba", 10, "out", 2e-7, "float64"),
            _result("relu", "numpy", 10, "out", 0.5e-7, "float64"),  # not one of its own
            _result("relu", "fastact", 10**6, "out", 1.2e-4, "float32"),
            _result("relu", "cython", 10**6, "out", 1e-4, "float32"),
        ],
        {"auto": {"import_fastact_s": 0.01, "first_call_s": 0.03, "first_backward_s": 0.001}},
        ("leaky_relu", "leaky_relu_backward"),
    )
    bar = "fastact (out) within 1.1x of the fastest of fastact serial/cython/numba"
    assert [(c.bar, c.function, c.dtype, c.size, c.ratio, c.ok) for c in checks] == [
        (bar, "relu", "float64", 10, "1.05x", True),
        (bar, "relu", "float32", 10**6, "1.2x", False),
        ("cold start: import fastact (beyond numpy) under 50 ms", "leaky_relu", "float32",
         1000, "0.2x", True),
        ("cold start: first call under 20 ms", "leaky_relu", "float32", 1000, "1.5x", False),
        ("cold start: first call under 20 ms", "leaky_relu_backward", "float32", 1000, "0.05x",
         True),
    ]  # fmt: skip
    assert "(fastact serial)" in checks[0].measured


def test_bars_take_ratios_round_by_round() -> None:
    """Rounds interleave: each round's pair was timed in one state of the machine."""

    def timed(impl: str, rounds: list[float]) -> report.Result:
        result = _result("relu", impl, 10**7, "out", statistics.median(rounds), "float64")
        result.rounds_s = rounds
        return result

    # the machine switched speed between rounds: the medians are 1.2 and 1.0
    # apart, but auto took as long as the kernel in 3 of the 5 rounds
    auto = timed("fastact", [1.0, 1.2, 1.2, 1.2, 2.0])
    kernel = timed("cython", [1.0, 1.0, 1.0, 1.2, 2.0])
    [check] = report.bars([auto, kernel])
    assert (check.ratio, check.ok) == ("1x", True)
    assert report.paired_ratio(auto, kernel) == 1.0


def test_side_by_side_rounds_interleave_and_rotate() -> None:
    order: list[str] = []
    timings = harness.measure_side_by_side(
        [lambda: order.append("a"), lambda: order.append("b"), lambda: order.append("c")],
        rounds=4,
    )
    assert [len(t.rounds) for t in timings] == [4, 4, 4]
    # calibration of a, b and c, their settling calls, then 4 rounds that each
    # run every callable's warm-up and timed calls once, each round starting
    # one callable further on
    runs = [(name, len(list(calls))) for name, calls in itertools.groupby(order)]
    names = [name for name, _ in runs]
    calibration, settling, rounds = names[:3], runs[3:6], names[6:]
    assert calibration == ["a", "b", "c"]
    assert settling == [(name, harness.SETTLE_CALLS) for name in "abc"]
    assert rounds == ["a", "b", "c", "b", "c", "a", "c", "a", "b", "a", "b", "c"]


def test_side_by_side_runs_each_callable_in_its_setting() -> None:
    """``fastact serial``'s one thread holds while it is timed, and only then."""
    seen: list[tuple[str, int]] = []
    serial = registry.WithSetting(
        lambda: seen.append(("serial", fastact.get_num_threads())), registry.serial_threads
    )
    threads = fastact.get_num_threads()
    harness.measure_side_by_side(
        [serial, lambda: seen.append(("plain", fastact.get_num_threads()))], rounds=3
    )
    assert {n for name, n in seen if name == "serial"} == {1}
    assert {n for name, n in seen if name == "plain"} == {threads}
    assert fastact.get_num_threads() == threads


def test_cold_start_runs_in_a_fresh_process() -> None:
    figures = harness.cold_start("numpy")
    assert figures["first_call_s"] > 0 and figures["import_fastact_s"] > 0
    assert figures["first_backward_s"] > 0


def test_cold_start_measures_this_fastact_from_any_directory(tmp_path, monkeypatch) -> None:
    # from a folder with another fastact in it (a source checkout beside an
    # installed build), the fresh process must still import this one
    (tmp_path / "fastact").mkdir()
    (tmp_path / "fastact" / "__init__.py").write_text("raise ImportError('the other fastact')\n")
    monkeypatch.chdir(tmp_path)
    figures = harness.cold_start("numpy")
    assert "error" not in figures, figures
    assert figures["first_call_s"] > 0


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fastact", *args], capture_output=True, text=True, timeout=120
    )


def test_command_line_help_version_and_info() -> None:
    alone = _run()
    assert alone.returncode == 0 and alone.stdout.startswith("usage: python -m fastact ")
    assert "{info,bench}" in alone.stdout
    version = _run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"fastact {fastact.__version__}"
    info = _run("info")
    assert info.returncode == 0 and info.stdout.startswith("fastact ")
    assert all(len(line) <= cli.WIDTH for line in info.stdout.splitlines())
    bench = _run("bench", "--help")
    assert bench.returncode == 0 and "--quick" in bench.stdout and "--check" in bench.stdout
    assert "minutes for the table's" in " ".join(bench.stdout.split())


def test_the_console_script_calls_itself_fastact(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/fastact", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: fastact ")
    assert harness.format_command("fastact", ["bench", "--output", "a b"]) == (
        "fastact bench --output 'a b'"
    )


def test_the_default_sweep_covers_the_table() -> None:
    cases, _ = harness.plan(
        registry.FUNCTIONS, harness.DEFAULT_IMPLS, ["float32"], [10], ["new", "out"]
    )
    assert {c.impl.function for c in cases} == set(KERNELS)


@pytest.mark.parametrize("module", [harness, registry, report, cli], ids=lambda m: m.__name__)
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
