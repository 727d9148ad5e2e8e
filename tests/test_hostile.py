"""Issue 19: the hostile-input cases found on ce46c9e, one test each (``test_case<N>_...``).

Each test asserts what the SPEC says, and each failed on ce46c9e where that
code had the bug (the report of issue 19 says how each was checked). Cases 5
and 6 are also rows of the bad-input table (``test_errors.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ALL_BACKENDS, require

import fastact as fa
from fastact import _backends, _config
from fastact._table import ACTIVATIONS

ROOT = Path(__file__).resolve().parents[1]
IN_MAIN_THREAD = threading.current_thread() is threading.main_thread()


def run_python(code: str, env: dict[str, str] | None = None, pythonpath: Path = ROOT):
    """Run ``code`` in a fresh interpreter that imports fastact from ``pythonpath``."""
    full_env = {**os.environ, **(env or {}), "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
        cwd=Path("/") if os.name != "nt" else None,  # never the source tree by accident
    )


# -- 1. an ndarray subclass as out ------------------------------------------------------


class _Tagged(np.ndarray):
    """A subclass with state: its kind and its tag must survive."""

    def __array_finalize__(self, obj):
        self.tag = getattr(obj, "tag", "kept")


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_case1_ndarray_subclass_out_is_written_whole_or_rejected(backend) -> None:
    require(backend)
    x = np.arange(-6.0, 6.0).reshape(3, 4)
    expected = np.maximum(x, 0)
    outs = {
        "matrix": np.matrix(np.full((3, 4), 9.0)),
        "strided matrix": np.matrix(np.full((3, 8), 9.0))[:, ::2],
        "fortran matrix": np.asmatrix(np.asfortranarray(np.full((3, 4), 9.0))),
        "tagged": np.full((3, 4), 9.0).view(_Tagged),
        "strided tagged": np.full((6, 4), 9.0).view(_Tagged)[::2],
    }
    for label, out in outs.items():
        kind, before = type(out), np.array(out)
        try:
            result = fa.relu(x, out=out, backend=backend)
        except (TypeError, ValueError):  # rejected: then before anything was written
            np.testing.assert_array_equal(np.asarray(out), before, err_msg=label)
            continue
        assert result is out, label
        assert type(out) is kind, label
        np.testing.assert_array_equal(np.asarray(out), expected, err_msg=label)
        if kind is _Tagged:
            assert out.tag == "kept", label


# -- 2. a huge FASTACT_NUM_THREADS -------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["99999999999999999999", "2147483648", "abc", "0", "-3", "1.5", "4,2"]
)
def test_case2_bad_thread_variable_never_breaks_import(value) -> None:
    code = """
        import os
        import warnings
        warnings.simplefilter("always")
        with warnings.catch_warnings(record=True) as caught:
            import fastact as fa
        import numpy as np
        from fastact import _config
        from fastact import _backends
        x = np.linspace(-1, 1, 400_000)[::2]
        runnable = [b for b in ("cython", "numpy") if _backends.status(b) is None]
        for backend in ("auto", *runnable):  # numba: case 3 covers it, without a compile here
            assert np.array_equal(fa.relu(x, backend=backend), np.maximum(x, 0)), backend
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        assert 1 <= fa.get_num_threads() <= cpus, fa.get_num_threads()
        print([str(w.message) for w in caught if w.category is RuntimeWarning])
    """
    done = run_python(code, {"FASTACT_NUM_THREADS": value})
    assert done.returncode == 0, done.stderr
    if not value.isdigit() or int(value) == 0:  # not a positive integer: warned and ignored
        assert "FASTACT_NUM_THREADS ignored" in done.stdout, done.stdout


# -- 3. set_num_threads with what later breaks calls --------------------------------------


@pytest.fixture
def restore_threads():
    names = [n for n in ("_num_threads", "_num_threads_source") if hasattr(_config, n)]
    saved = {n: getattr(_config, n) for n in names}
    yield
    for name, value in saved.items():
        setattr(_config, name, value)
    _config._changed()


@pytest.mark.usefixtures("restore_threads")
@pytest.mark.parametrize("n", [2**31, 2**32 + 1, 2**63, 2**64, 10**30])
def test_case3_set_num_threads_either_keeps_calls_working_or_changes_nothing(n) -> None:
    contiguous = np.linspace(-1, 1, 200_000)
    strided = np.linspace(-1, 1, 400_000)[::2]
    fa.set_num_threads(1)
    try:
        fa.set_num_threads(n)
    except (TypeError, ValueError, OverflowError):
        assert fa.get_num_threads() == 1, "a setter that raised changed the setting"
    for backend in ALL_BACKENDS:
        if backend != "auto" and _backends.status(backend) is not None:
            continue
        for x in (contiguous, strided):
            got = fa.relu(x, backend=backend)
            np.testing.assert_array_equal(got, np.maximum(x, 0), err_msg=backend)
    assert 1 <= fa.get_num_threads() <= _config.cpu_count()


# -- 4. KeyboardInterrupt inside use_backend ----------------------------------------------


def _loop_under_sigint(
    seconds: float, period: float = 0.0003, interrupts: int = 60, limit_s: float = 10.0
) -> tuple[int, int]:
    """Loop ``with fa.use_backend("numpy"): fa.relu(x)`` while another thread sends SIGINT,
    for ``seconds``, and on until ``interrupts`` signals have landed (a loaded
    machine delivers fewer) or ``limit_s`` has passed.

    The handler raises KeyboardInterrupt only while the loop body runs (the
    test must catch every one it gets); there it can land anywhere, inside
    ``use_backend``'s ``__enter__`` and ``__exit__`` included.
    """
    x = np.linspace(-1.0, 1.0, 64)
    armed = [False]

    def handler(signum, frame):
        if armed[0]:
            raise KeyboardInterrupt

    stop = threading.Event()

    def sender() -> None:
        pid = os.getpid()
        while not stop.is_set():
            os.kill(pid, signal.SIGINT)
            time.sleep(period)

    previous = signal.signal(signal.SIGINT, handler)
    completed = interrupted = 0
    thread = threading.Thread(target=sender, daemon=True)
    try:
        thread.start()
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < seconds or (
            interrupted < interrupts and elapsed < limit_s
        ):
            try:
                armed[0] = True
                with fa.use_backend("numpy"):
                    fa.relu(x)
                armed[0] = False
                completed += 1
            except KeyboardInterrupt:
                armed[0] = False
                interrupted += 1
    finally:
        armed[0] = False
        stop.set()
        thread.join()
        signal.signal(signal.SIGINT, previous)
    return completed, interrupted


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="POSIX signals")
@pytest.mark.skipif(not IN_MAIN_THREAD, reason="signal handlers run in the main thread")
def test_case4_keyboard_interrupt_in_use_backend_restores_everything(monkeypatch) -> None:
    assert fa.get_backend() == "auto" and _config.auto_everywhere
    # another thread opens and closes blocks meanwhile: its own, never interrupted
    stop = threading.Event()
    seen_in_worker: set[str] = set()

    def worker() -> None:
        while not stop.is_set():
            with fa.use_backend("cython"):
                seen_in_worker.add(fa.get_backend())
            seen_in_worker.add(fa.get_backend())

    other = threading.Thread(target=worker, daemon=True)
    other.start()
    try:
        completed, interrupted = _loop_under_sigint(1.0)
    finally:
        stop.set()
        other.join()
    assert interrupted > 50, f"the signals did not interrupt the loop ({interrupted})"
    assert completed > 0
    assert seen_in_worker == {"cython", "auto"}

    assert fa.get_backend() == "auto"
    assert _config.auto_everywhere is True
    in_new_thread = []
    checker = threading.Thread(target=lambda: in_new_thread.append(fa.get_backend()))
    checker.start()
    checker.join()
    assert in_new_thread == ["auto"]
    # the compiled fast path is back: a plain call never asks which backend this thread uses
    if _backends.status("cython") is None:
        asked = []
        real = _config.get_backend
        monkeypatch.setattr(_config, "get_backend", lambda: asked.append(1) or real())
        fa.relu(np.ones(8))
        assert asked == [], "the compiled fast path stayed off"


# -- 5. an out that overlaps itself --------------------------------------------------------


def _self_overlapping_outs():
    buf = np.zeros(16)
    strided = np.lib.stride_tricks.as_strided
    return {
        "zero stride": strided(buf, shape=(5,), strides=(0,), writeable=True),
        "half stride": strided(buf, shape=(5,), strides=(4,), writeable=True),
        "zero inner stride 2-d": strided(buf, shape=(5, 2), strides=(8, 0), writeable=True),
        "interleaved 2-d": strided(buf, shape=(5, 2), strides=(8, 16), writeable=True),
    }, buf


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_case5_self_overlapping_out_raises_before_writing(backend) -> None:
    require(backend)
    outs, buf = _self_overlapping_outs()
    for label, out in outs.items():
        x = np.linspace(-2.0, 2.0, out.size).reshape(out.shape)
        before = buf.copy()
        for fname, args in [("relu", (x,)), ("leaky_relu_backward", (x, x, 0.1))]:
            with pytest.raises(ValueError, match="overlaps itself"):
                getattr(fa, fname)(*args, out=out, backend=backend)
            np.testing.assert_array_equal(buf, before, err_msg=f"{label}, {fname}")


# -- 6. a parameter that overflows in the computation dtype --------------------------------


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_case6_parameter_overflowing_the_compute_dtype_raises(backend) -> None:
    require(backend)
    for dtype in (np.float16, np.float32):  # both compute in float32
        x = np.array([-1.0, 0.0, -0.0], dtype)
        with pytest.raises(ValueError, match="overflows in float32"):
            fa.leaky_relu(x, alpha=1e308, backend=backend)  # the reproducer
        for act in ACTIVATIONS.values():
            for param in [p for p in act.params if not p.choices]:  # every real parameter
                value = -1e39 if param.name == "min_val" else 1e39  # min_val <= max_val holds
                for kernel in act.kernels:
                    inputs = (x, x) if kernel == act.kernels[2] else (x,)
                    with pytest.raises(ValueError, match="overflows in float32"):
                        getattr(fa, kernel)(*inputs, **{param.name: value}, backend=backend)
        np.testing.assert_array_equal(x, np.array([-1.0, 0.0, -0.0], dtype))
    # the same values are finite in float64, the computation type of float64 arrays
    x64 = np.array([-1.0, 0.0, -0.0])
    got = fa.leaky_relu(x64, alpha=1e308, backend=backend)
    np.testing.assert_array_equal(got, [-1e308, 0.0, -0.0])
    assert np.signbit(got[2])


# -- 7. promotion: integers compute as float64 ---------------------------------------------


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_case7_integer_and_bool_inputs_compute_as_float64(backend) -> None:
    require(backend)
    g8 = np.array([1, -2, 3, 100], np.int8)
    x16 = np.array([-1.0, 2.0, 0.5, 3.0], np.float16)
    pairs = [(g8, x16), (x16, g8), (g8.astype(bool), x16.astype(np.float32))]
    for g, x in pairs:
        got = fa.relu_backward(g, x, backend=backend)
        assert got.dtype == np.float64, (g.dtype, x.dtype, got.dtype)
        g64, x64 = g.astype(np.float64), x.astype(np.float64)
        np.testing.assert_array_equal(got, np.where(x64 > 0, g64, 0.0))
    grad_x, grad_weight = fa.prelu_backward(g8[None], x16[None], 0.25, backend=backend)
    assert grad_x.dtype == np.float64 and np.asarray(grad_weight).dtype == np.float64
    # a Python number takes the array's dtype, as in NumPy's own arithmetic
    assert fa.relu_backward(2, x16, backend=backend).dtype == np.float16


def test_case7_backward_docstrings_say_integers_compute_as_float64() -> None:
    for act in ACTIVATIONS.values():
        backward = act.kernels[2]
        lines = [line.strip() for line in getattr(fa, backward).__doc__.splitlines()]
        start = lines.index("grad_out : array_like") + 1
        end = lines.index("x : array_like", start)
        grad_out = " ".join(lines[start:end])
        assert "integer" in grad_out and "float64" in grad_out, (
            f"{backward}: the grad_out entry does not say that bool and integer arrays "
            f"compute as float64 before the two dtypes promote:{grad_out}"
        )


# -- 8. bad Numba settings -----------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [{"NUMBA_DISABLE_JIT": "1"}, {"NUMBA_THREADING_LAYER": "tbb"}],
    ids=["NUMBA_DISABLE_JIT", "NUMBA_THREADING_LAYER-tbb"],
)
def test_case8_bad_numba_settings_work_serially_or_say_why(env) -> None:
    if env.get("NUMBA_THREADING_LAYER") == "tbb":
        try:
            import tbb  # noqa: F401

            pytest.skip("tbb is installed here: the layer loads")
        except ImportError:
            pass
    require("numba")
    code = """
        import json
        import numpy as np
        import fastact as fa
        outcomes = []
        for n in (1000, 70_000, 1_000_000):
            for x in (np.linspace(-1, 1, n), np.linspace(-1, 1, 2 * n)[::2]):
                expected = np.maximum(x, 0)
                assert np.array_equal(fa.relu(x, backend="auto"), expected)
                try:
                    got = fa.relu(x, backend="numba")
                except RuntimeError as exc:
                    outcomes.append("RuntimeError: " + str(exc))
                else:
                    assert np.array_equal(got, expected), n
                    outcomes.append("ok")
        assert np.array_equal(fa.relu(np.ones(5)), np.ones(5))  # auto, unaffected
        print(json.dumps(sorted(set(outcomes))))
    """
    done = run_python(code, env)
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(outcomes) == 1, outcomes  # one behaviour for every size and layout
    if outcomes != ["ok"]:
        assert "NUMBA" in outcomes[0], outcomes  # the RuntimeError names the setting


# -- 9. many dimensions ---------------------------------------------------------------------


def _many_dims() -> tuple[np.ndarray, np.ndarray]:
    """A 4M-element float64 array of 22 dimensions, axes permuted; a C-order ``out``."""
    base = np.random.default_rng(0).standard_normal(2**22)
    axes = tuple(np.random.default_rng(1).permutation(22))
    x = base.reshape((2,) * 22).transpose(axes)
    assert not x.flags.c_contiguous and not x.flags.f_contiguous
    return x, np.empty(x.shape)


class _TooManyCalls(Exception):
    pass


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_case9_many_dimensions_run_without_a_python_loop_per_row(backend) -> None:
    """Structural: one call makes a bounded number of Python-level calls.

    A loop over the 2**21 rows would make millions; the profiler stops it at
    the first thousand.
    """
    require(backend)
    x, out = _many_dims()
    fa.relu(x, out=out, backend=backend)  # compiles what Numba compiles on first use
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    calls = [0]

    def profile(frame, event, arg):
        if event in ("call", "c_call"):
            calls[0] += 1
            if calls[0] > 1000:
                raise _TooManyCalls

    out[...] = 7.0
    sys.setprofile(profile)
    try:
        fa.relu(x, out=out, backend=backend)
    except _TooManyCalls:
        pass
    finally:
        sys.setprofile(None)
    assert calls[0] <= 1000, f"more than 1000 Python-level calls for one call on {backend}"
    np.testing.assert_array_equal(out, np.maximum(x, 0))


@pytest.mark.parametrize("backend", ["cython", "auto"])
def test_case9_many_dimensions_within_10x_of_np_maximum(backend) -> None:
    """Timing, with a bound no noisy 2-core VM can break (measured 1.0-1.1x there)."""
    require(backend)
    x, out = _many_dims()

    def best(f) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            f()
            times.append(time.perf_counter() - start)
        return min(times)

    reference = best(lambda: np.maximum(x, 0, out=out))
    ours = best(lambda: fa.relu(x, out=out, backend=backend))
    assert ours < 10 * reference, f"{ours:.3f} s against np.maximum's {reference:.3f} s"


# -- 10. Ctrl-C during a call ---------------------------------------------------------------


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="POSIX signals")
@pytest.mark.skipif(not IN_MAIN_THREAD, reason="signal handlers run in the main thread")
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_case10_interrupted_call_leaves_out_all_old_or_all_new(backend) -> None:
    """SIGINT at ten moments spread over a large call: ``out`` is never half-written.

    The numpy backend computes the whole result before it writes ``out``;
    the compiled backends finish their loop before Python sees the signal.
    """
    require(backend)
    n = 4_000_000
    x = np.linspace(-1.0, 1.0, n)  # half negative: a two-pass kernel shows it
    expected = np.maximum(x, 0)
    out = np.empty(n)
    fa.relu(x, out=out, backend=backend)  # warm
    start = time.perf_counter()
    fa.relu(x, out=out, backend=backend)
    duration = time.perf_counter() - start

    armed = [False]

    def handler(signum, frame):
        if armed[0]:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    outcomes = []
    try:
        for fraction in np.linspace(0.05, 0.95, 10):
            out[...] = 7.0
            timer = threading.Timer(fraction * duration, os.kill, (os.getpid(), signal.SIGINT))
            try:
                armed[0] = True
                timer.start()
                fa.relu(x, out=out, backend=backend)
                timer.join()  # the signal lands here if the call was faster
                time.sleep(0.01)
                armed[0] = False
            except KeyboardInterrupt:
                armed[0] = False
            finally:
                armed[0] = False
                timer.cancel()
                timer.join()
            old, new = bool((out == 7.0).all()), np.array_equal(out, expected)
            written = int(np.count_nonzero(out != 7.0))
            assert old or new, f"{backend}: {written} of {n} elements written, then interrupted"
            outcomes.append("old" if old else "new")
    finally:
        signal.signal(signal.SIGINT, previous)


# -- 11. the message for a missing extension ------------------------------------------------


def _copy_package(dest: Path, installed: bool) -> Path:
    """``fastact`` without its compiled extension, as a source tree or as an installation."""
    skip = ["__pycache__", "*.so", "*.pyd"]
    if installed:  # what a wheel holds: pyproject's package data, without the generated C
        skip += ["_cy.c", "_cy.pyx"]
    shutil.copytree(ROOT / "fastact", dest / "fastact", ignore=shutil.ignore_patterns(*skip))
    if not installed:
        for name in ("setup.py", "pyproject.toml"):
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.mark.parametrize("installed", [False, True], ids=["source-tree", "installation"])
def test_case11_missing_extension_message_says_what_is_true(tmp_path, installed) -> None:
    where = _copy_package(tmp_path / "copy", installed)
    code = """
        import numpy as np
        import fastact as fa
        from fastact import _backends
        assert fa.relu(np.float64(-1.0), backend="numpy") == 0.0
        print(_backends.status("cython"))
    """
    done = run_python(code, pythonpath=where)
    assert done.returncode == 0, done.stderr[-3000:]
    reason = done.stdout.strip().splitlines()[-1]
    assert "_cy" in reason, reason
    if installed:
        assert "source" not in reason and "checkout" not in reason, reason
        assert "reinstall" in reason, reason
    else:
        assert "source" in reason, reason
        assert "build_ext --inplace" in reason, reason
