"""``python -m fastact bench``: a tiny sweep writes the report, with and without the extras."""

from __future__ import annotations

import doctest
import itertools
import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

from fastact import _bench, _impls
from fastact.__main__ import main

TINY = [
    "bench", "--functions", "leaky_relu,relu_backward", "--impls", "auto,np.where,cython-serial",
    "--sizes", "10,1e3", "--repeats", "3", "--no-cold-start",
]  # fmt: skip


def test_report_folder(tmp_path, capsys) -> None:
    assert main([*TINY, "--output", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "leaky_relu, float32: median time per call" in printed
    report = (tmp_path / "report.md").read_text()
    assert "python -m fastact bench --functions leaky_relu,relu_backward" in report
    assert "| np.where (new) |" in report and "| auto (out) |" in report
    assert "numba threading layer" in report and "fastact threads" in report
    data = json.loads((tmp_path / "results.json").read_text())
    assert {"machine", "versions", "command", "date", "results"} <= set(data)
    functions = {r["function"] for r in data["results"]}
    assert functions == {"leaky_relu", "relu_backward"}
    # each function's bandwidth references were timed in its own rounds
    references = {(r["function"], r["impl"]) for r in data["results"] if r["kind"] == "reference"}
    assert {("leaky_relu", "copy (numpy)"), ("relu_backward", "add (numpy)")} <= references
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


def test_bad_arguments_are_refused(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["bench", "--functions", "softmax"])
    assert "unknown softmax" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "--sizes", "0.5"])


def _result(
    function: str, impl: str, size: int, mode: str, median: float, dtype: str = "float32"
) -> _bench.Result:
    reference = impl.startswith(_bench.reference_of(function) + " (")
    kind = "reference" if reference else _impls.get(function, impl).kind
    nbytes = _impls.bytes_moved(function, size, 4)
    return _bench.Result(
        function, impl, kind, dtype, size, mode, median, median, 0.0, 1, [median], nbytes
    )


def test_bars_compare_what_the_spec_says() -> None:
    result = _result

    rows = _bench.bars(
        [
            result("leaky_relu", "auto", 10**5, "new", 1e-6),
            result("leaky_relu", "np.where", 10**5, "new", 20e-6),
            result("leaky_relu", "auto", 10**7, "out", 1.0),
            result("leaky_relu", "copy (torch)", 10**7, "out", 0.95),
            # serial: not the SPEC's reference
            result("leaky_relu", "copy (numpy)", 10**7, "out", 0.5),
            result("leaky_relu", "auto", 1000, "out", 0.7),
            result("leaky_relu", "np.maximum", 1000, "out", 1.0),
        ]
    )
    assert [(r[0], r[-1]) for r in rows] == [
        ("auto (new) vs np.where >= 25x", "FAIL"),
        ("auto (out) bandwidth vs parallel copy >= 90%", "pass"),
        ("auto (out) time vs np.maximum (out) <= 0.75x", "pass"),
    ]


def test_auto_is_held_to_the_fastest_backend_on_every_dtype_and_cold_start_to_its_bars() -> None:
    rows = _bench.bars(
        [
            _result("relu", "auto", 10, "out", 1.05e-7, "float64"),
            _result("relu", "cython-serial", 10, "out", 1e-7, "float64"),
            _result("relu", "numba-serial", 10, "out", 2e-7, "float64"),
            _result("relu", "auto", 10**6, "out", 1.2e-4, "float32"),
            _result("relu", "cython-parallel", 10**6, "out", 1e-4, "float32"),
        ],
        {"auto": {"import_fastact_s": 0.01, "first_call_s": 0.03, "first_backward_s": 0.001}},
    )
    assert [(r[0], r[1], r[3], r[-2], r[-1]) for r in rows] == [
        ("auto (out) vs fastest backend kernel <= 1.1x", "float64", "10", "1.05x", "pass"),
        ("auto (out) vs fastest backend kernel <= 1.1x", "float32", "1e6", "1.2x", "FAIL"),
        ("cold start: import fastact (beyond numpy) < 50 ms", "float32", "1000", "0.20x", "pass"),
        ("cold start: first leaky_relu call < 20 ms", "float32", "1000", "1.50x", "FAIL"),
        ("cold start: first leaky_relu_backward call < 20 ms", "float32", "1000", "0.05x", "pass"),
    ]


def test_bars_take_ratios_round_by_round() -> None:
    """Rounds interleave: each round's pair was timed in one state of the machine."""

    def timed(impl: str, rounds: list[float]) -> _bench.Result:
        result = _result("relu", impl, 10**7, "out", statistics.median(rounds), "float64")
        result.rounds_s = rounds
        return result

    # the machine switched speed between rounds: the medians are 1.2 and 1.0
    # apart, but auto took as long as the kernel in 3 of the 5 rounds
    auto = timed("auto", [1.0, 1.2, 1.2, 1.2, 2.0])
    kernel = timed("cython-parallel", [1.0, 1.0, 1.0, 1.2, 2.0])
    [row] = _bench.bars([auto, kernel])
    assert (row[-2], row[-1]) == ("1x", "pass")
    assert _bench.paired_ratio(auto, kernel) == 1.0


def test_side_by_side_rounds_interleave_and_rotate() -> None:
    order: list[str] = []
    timings = _bench.measure_side_by_side(
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
    assert settling == [(name, _bench.SETTLE_CALLS) for name in "abc"]
    assert rounds == ["a", "b", "c", "b", "c", "a", "c", "a", "b", "a", "b", "c"]


def test_cold_start_runs_in_a_fresh_process() -> None:
    figures = _bench.cold_start("numpy")
    assert figures["first_call_s"] > 0 and figures["import_fastact_s"] > 0
    assert figures["first_backward_s"] > 0


def test_cold_start_measures_this_fastact_from_any_directory(tmp_path, monkeypatch) -> None:
    # from a folder with another fastact in it (a source checkout beside an
    # installed build), the fresh process must still import this one
    (tmp_path / "fastact").mkdir()
    (tmp_path / "fastact" / "__init__.py").write_text("raise ImportError('the other fastact')\n")
    monkeypatch.chdir(tmp_path)
    figures = _bench.cold_start("numpy")
    assert "error" not in figures, figures
    assert figures["first_call_s"] > 0


def test_auto_choices_script_counts_autos_serial_rounds() -> None:
    require("cython")
    script = Path(__file__).parents[1] / "bench" / "auto_choices.py"
    args = [sys.executable, str(script), "relu", "float32", "1e5", "--rounds", "5"]
    printed = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout
    lines = printed.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["cython-parallel", "cython-serial", "auto"]
    assert lines[4].startswith("auto / cython-parallel, median of the rounds' ratios: ")
    counted = lines[5].removeprefix("rounds in which auto's timed call ran serial: ")
    serial, of = counted.split(" of ")
    assert 0 <= int(serial) <= 5 and of == "5"


def test_installed_entry_point_help() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fastact", "bench", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "--quick" in proc.stdout


@pytest.mark.parametrize("module", [_bench, _impls], ids=lambda m: m.__name__)
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
