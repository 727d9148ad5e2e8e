"""The auto dispatcher: what it picks, how it times serial against parallel, what it allocates."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc

import numpy as np
import pytest
from conftest import REQUIRED, require

import fastact as fa
from fastact import _backends, _dispatch


class FakeBackend:
    """A backend whose parallel kernel is slow (or counts how many run at once)."""

    __name__ = "fake"
    PARALLEL_RUNTIME = "fake-runtime"

    def __init__(
        self, threadsafe: bool = True, parallel_delay: float = 0.0, serial_delay: float = 0.0
    ) -> None:
        self.PARALLEL_THREADSAFE = threadsafe
        self.delay = parallel_delay
        self.serial_delay = serial_delay
        self.calls: list[str] = []
        self.running = 0
        self.most_at_once = 0
        self.guard = threading.Lock()

    def get_kernel(self, name: str, parallel: bool):
        def kernel(x, out, alpha, nthreads):
            self.calls.append("parallel" if parallel else "serial")
            if not parallel:
                time.sleep(self.serial_delay)
            if parallel:
                with self.guard:
                    self.running += 1
                    self.most_at_once = max(self.most_at_once, self.running)
                time.sleep(self.delay)
                with self.guard:
                    self.running -= 1
            np.copyto(out, x)

        return kernel


def _big() -> tuple[np.ndarray, np.ndarray]:
    x = np.ones(_dispatch.PARALLEL_MIN_SIZE, np.float32)
    return x, np.empty_like(x)


def _policies() -> list:
    """The timing policy's implementations: the Python reference, and the compiled one."""
    policies = [pytest.param(_dispatch._Timing, id="python")]
    if _backends.status("cython") is None:
        policies.append(pytest.param(_backends.load("cython")._cy.Timing, id="compiled"))
    elif "cython" in REQUIRED:
        pytest.fail(f"the cython backend is required here: {_backends.status('cython')}")
    return policies


FAST, SLOW = 1e-9, 4e-9  # seconds per element


def _run_script(timing, script, calls: int) -> list[str]:
    """Feed ``timing`` calls that take the times ``script(kind, call)`` says.

    ``script`` is asked about the calls the policy times only. It returns the
    seconds per element and, for a serial call, whether a parallel team
    still busy-waited (ignored for a parallel one). Returns the kernel each
    call ran.
    """
    ran = []
    for call in range(calls):
        parallel = timing.choose_parallel()
        kind = "parallel" if parallel else "serial"
        if not timing.timed:
            timing.record_untimed()
        elif parallel:
            timing.record_parallel(script(kind, call)[0])
        else:
            timing.record_serial(*script(kind, call))
        ran.append(kind)
    return ran


def test_policy_implementations_agree_call_by_call() -> None:
    """The compiled policy is the Python one: same choices, same estimates, every call."""
    policies = _policies()
    if len(policies) < 2:
        pytest.skip("the compiled policy needs the Cython extension")
    python, compiled = (p.values[0]() for p in policies)
    rng = np.random.default_rng(0)
    for call in range(20_000):
        choice = python.choose_parallel()
        assert (choice, python.timed) == (compiled.choose_parallel(), compiled.timed), call
        if not python.timed:
            python.record_untimed()
            compiled.record_untimed()
        else:
            # times that change regime now and then, flags at random
            seconds = FAST * (1 + (call // 3000) % 3) * rng.uniform(0.8, 3.0)
            flag = bool(rng.random() < 0.2)
            for timing in (python, compiled):
                if choice:
                    timing.record_parallel(seconds)
                else:
                    timing.record_serial(seconds, flag)
        assert (python.serial, python.parallel) == (compiled.serial, compiled.parallel), call


@pytest.mark.parametrize("policy", _policies())
def test_policy_times_the_slower_ever_less_often_up_to_a_fiftieth_of_the_time(policy) -> None:
    def script(kind, call):
        return (SLOW if kind == "parallel" else FAST), False

    ran = _run_script(policy(), script, 4000)
    # a timing is 4 calls in a row: parallel first, then serial; the first
    # comparison has no budget yet, so parallel is timed again at once. Then
    # serial, and parallel (4x serial) is timed again after 50, 100, 200,
    # 400, 800, 800, ... serial calls: 50 times one call's cost at the
    # faster's speed, doubling, up to 50 times the 4 calls' at the slower's.
    # Time counts in the calls only: what the program does between them does
    # not bring a timing closer, so these scripts have no clock.
    calls = _dispatch.PROBE_CALLS
    assert ran[: 3 * calls] == (["parallel"] * calls + ["serial"] * calls + ["parallel"] * calls)
    starts = [i for i in range(1, len(ran)) if ran[i] == "parallel" and ran[i - 1] == "serial"]
    assert all(ran[i : i + calls] == ["parallel"] * calls for i in starts)
    gaps = [b - a - calls for a, b in itertools.pairwise(starts)]
    expected = [50, 100, 200, 400, 800, 800]
    assert len(gaps) >= 6  # (give or take one call: sums of floats)
    assert all(abs(gap - want) <= 1 for gap, want in zip(gaps, expected, strict=False))


@pytest.mark.parametrize("policy", _policies())
def test_policy_ignores_two_slow_calls_but_not_a_slow_window(policy) -> None:
    # the lower median of 4 timings turns slow with the third slow one
    turn = _dispatch.WINDOW - 1
    timed = []  # (call, kind) of each call the policy timed

    def script(kind, call):
        timed.append((call, kind))
        if kind == "serial":
            return 3 * FAST, False
        nth = sum(k == "parallel" for _, k in timed)
        if nth in (10, 11) or nth >= 14:  # a descheduled thread twice; the core busy from 14 on
            return 5 * FAST, False
        return FAST, False

    ran = _run_script(policy(), script, 300)
    parallel_timings = [call for call, kind in timed if kind == "parallel"]
    second_slow, switch = parallel_timings[10], parallel_timings[13 + turn - 1]
    # the two slow timings changed nothing: parallel went on, serial was at
    # most timed (as the loser); from the 14th, every parallel timing is slow,
    # and the third of them has serial timed; it wins, parallel is timed
    # again at once, loses again, and serial runs on
    assert ran[second_slow + 1] == "parallel"
    calls = _dispatch.PROBE_CALLS
    assert ran[3 * calls : switch + 1].count("serial") <= calls
    after = ran[switch + 1 :]
    assert after[: 3 * calls] == ["serial"] * calls + ["parallel"] * calls + ["serial"] * calls
    assert after.count("parallel") <= len(after) // 10


def _machine_speed_script(speed):
    """Parallel 1.3 times as fast as serial, both scaled by ``speed(call)``: the machine's pace."""

    def script(kind, call):
        return (FAST if kind == "parallel" else 1.3 * FAST) * speed(call), False

    return script


@pytest.mark.parametrize("policy", _policies())
def test_policy_does_not_switch_on_a_timing_taken_while_the_machine_was_fast(policy) -> None:
    """The slower wins its timing in a fast moment: the faster, timed next to it, wins again."""
    calls = _dispatch.PROBE_CALLS
    steady = _run_script(policy(), _machine_speed_script(lambda call: 1.0), 1000)
    timing = next(i for i in range(200, 1000) if steady[i - 1 : i + 1] == ["parallel", "serial"])
    # the machine runs twice as fast for the serial timing and the calls after it
    lucky = _machine_speed_script(lambda call: 0.5 if timing <= call < timing + 3 * calls else 1.0)
    ran = _run_script(policy(), lucky, 1000)
    assert ran[:timing] == steady[:timing]
    # serial won its timing against parallel's older times; parallel, timed
    # again at once in the same fast moment, beat it, so there was no switch.
    # Serial's lucky estimate is undone by one more timing, once parallel's
    # times at the normal pace are back above it; switching to serial cost 36
    # serial calls here.
    assert ran[timing : timing + 2 * calls] == ["serial"] * calls + ["parallel"] * calls
    assert ran[timing : timing + 100].count("serial") == 2 * calls


@pytest.mark.parametrize("policy", _policies())
def test_policy_does_not_switch_when_the_machine_slows_down(policy) -> None:
    """The faster's times rise past the slower's old estimate: the slower is timed, not run."""
    slow = range(1000, 1200)
    ran = _run_script(
        policy(), _machine_speed_script(lambda call: 2.0 if call in slow else 1.0), 1200
    )
    # one timing of serial, at the slow pace too, and parallel goes on
    # (switching to serial at once ran 32 serial calls in those 200 here)
    assert ran[slow.start : slow.stop].count("serial") == _dispatch.PROBE_CALLS


@pytest.mark.parametrize("policy", _policies())
def test_policy_times_one_call_of_the_faster_in_time_every(policy) -> None:
    asked = []

    def script(kind, call):
        asked.append(kind)
        return (SLOW if kind == "parallel" else FAST), False

    ran = _run_script(policy(), script, 800)
    # the slower's calls are timings, all timed; the faster's are timed one in TIME_EVERY
    assert asked.count("parallel") == ran.count("parallel")
    assert abs(asked.count("serial") - ran.count("serial") / _dispatch.TIME_EVERY) <= 3


@pytest.mark.parametrize("policy", _policies())
def test_policy_is_not_won_by_one_lucky_call(policy) -> None:
    """A kernel whose times vary is judged by its typical time, not its best."""
    parallel_timings = itertools.count()

    def script(kind, call):
        if kind == "serial":
            return 2 * FAST, False
        lucky = next(parallel_timings) % 4 == 0  # one parallel timing in 4 is fast
        return (FAST if lucky else 3 * FAST), False

    ran = _run_script(policy(), script, 400)
    assert ran[100:].count("parallel") <= 8  # serial, but for the rare timing of parallel


@pytest.mark.parametrize("policy", _policies())
def test_policy_times_past_the_slow_first_calls_after_the_other_kernel(policy) -> None:
    """Threads asleep, then data in the other core's cache: the steady cost decides."""
    previous = []

    def script(kind, call):
        if kind == "serial":
            previous.append(kind)
            return 2 * FAST, False
        # parallel's first call after serial ones wakes its threads, its second
        # finds half the data in the other core's cache; then it is fast
        after = previous[-2:].count("serial") if previous else 2
        previous.append(kind)
        return (20 * FAST, 3 * FAST, FAST)[2 - after], False

    ran = _run_script(policy(), script, 400)
    assert ran[200:].count("serial") <= 8  # parallel, but for the rare timing of serial


@pytest.mark.parametrize("policy", _policies())
def test_policy_charges_waking_the_threads_to_the_timing(policy) -> None:
    """Serial a little faster: timing parallel must not cost more than its share."""
    last_parallel = -2

    def script(kind, call):
        # parallel's first call after serial ones wakes its threads (here
        # parallel is timed whenever it runs: serial is the faster)
        nonlocal last_parallel
        if kind == "serial":
            return 2 * FAST, False
        woke = call - 1 != last_parallel
        last_parallel = call
        return (30 if woke else 2.2) * FAST, False

    ran = _run_script(policy(), script, 20_000)
    cost = [
        2 * FAST if kind == "serial" else (2.2 if ran[i - 1] == "parallel" else 30) * FAST
        for i, kind in enumerate(ran)
    ]
    # each timing of parallel costs about 29 serial calls' worth more than
    # serial would have: charged to the budget, it comes 50 times as rarely
    # (counted at 4 calls of 2.2, the waits would cost 6% of the time)
    assert sum(cost[2000:]) <= 1.03 * 18_000 * 2 * FAST


@pytest.mark.parametrize("policy", _policies())
def test_policy_retries_a_serial_time_taken_while_the_threads_spin(policy) -> None:
    """Serial timed right after parallel calls must still win back a size where it is faster."""
    last_parallel = -1

    def script(kind, call):
        nonlocal last_parallel
        if kind == "parallel":
            last_parallel = call
            return 2 * FAST, False
        # the team busy-waits for 6 calls after a parallel one, slowing serial
        return (3 * FAST, True) if call - last_parallel <= 6 else (FAST, False)

    ran = _run_script(policy(), script, 400)
    calls = _dispatch.PROBE_CALLS
    # parallel, then serial timed while the team spun: serial lost, and was
    # retried until a time was taken after the team slept; with it, it wins
    assert ran[: 2 * calls + 3] == ["parallel"] * calls + ["serial"] * (calls + 3)
    # from then on serial, but for the rare timing of parallel; the serial
    # times right after those are slow again but do not undo the decision
    assert ran[2 * calls :].count("parallel") <= 3 * calls
    assert ran[-20:] == ["serial"] * 20


@pytest.mark.parametrize("policy", _policies())
def test_policy_retries_spinning_serial_times_a_bounded_number_of_times(policy) -> None:
    """A team that always spins (other sizes keep it busy): serial's slow time is its cost."""
    retries, calls = _dispatch.SPIN_RETRIES, _dispatch.PROBE_CALLS

    def script(kind, call):
        return (2 * FAST, False) if kind == "parallel" else (3 * FAST, True)

    ran = _run_script(policy(), script, 20_000 + retries)
    start = 2 * calls + retries  # parallel timed, then serial and its retries
    assert ran[: start + 1] == ["parallel"] * calls + ["serial"] * (calls + retries) + ["parallel"]
    # each retry was paid for with PROBE_FACTOR times its cost of parallel
    # calls before serial is timed again: 50 * 256 * 3 / 2 = 19200 calls
    probe = ran.index("serial", start)
    assert abs(probe - start - _dispatch.PROBE_FACTOR * retries * 3 / 2) <= 2


def test_execute_times_serial_against_parallel(monkeypatch) -> None:
    monkeypatch.setattr(_dispatch, "_timings", {})
    fake = FakeBackend(parallel_delay=0.01)
    x, out = _big()
    for _ in range(16):
        _dispatch.execute(fake, "relu", [(x, out)], 0.0, x.size)
    # parallel timed first, then serial, parallel once more, then serial stays
    calls = _dispatch.PROBE_CALLS
    assert fake.calls == (["parallel"] * calls + ["serial"] * calls) * 2 + ["serial"] * (
        16 - 4 * calls
    )
    assert any("fake: relu float32" in line for line in _dispatch.rules())


def test_each_kernel_is_timed_apart(monkeypatch) -> None:
    """Forward and backward calls of one size cost different amounts: no shared timings."""
    monkeypatch.setattr(_dispatch, "_timings", {})
    slow_parallel, fast_parallel = FakeBackend(parallel_delay=0.01), FakeBackend()
    x, out = _big()
    for _ in range(16):
        _dispatch.execute(slow_parallel, "relu", [(x, out)], 0.0, x.size)
    for _ in range(16):
        _dispatch.execute(fast_parallel, "relu_backward", [(x, out)], 0.0, x.size)
    assert slow_parallel.calls[-4:] == ["serial"] * 4
    # a bucket of its own: timed from the start, parallel first
    assert fast_parallel.calls[: _dispatch.PROBE_CALLS] == ["parallel"] * _dispatch.PROBE_CALLS
    if _backends.status("cython") is None:
        big = np.ones(2 * _dispatch.PARALLEL_MIN_SIZE, np.float32)
        fa.leaky_relu(big, out=np.empty_like(big))
        fa.leaky_relu_backward(big, big, out=np.empty_like(big))
        kernels = {row[0] for row in _backends.load("cython").timings()}
        assert {"leaky_relu", "leaky_relu_backward"} <= kernels


def test_small_calls_never_go_parallel(monkeypatch) -> None:
    fake = FakeBackend()
    x = np.ones(_dispatch.PARALLEL_MIN_SIZE - 1, np.float32)
    _dispatch.execute(fake, "relu", [(x, np.empty_like(x))], 0.0, x.size)
    assert fake.calls == ["serial"]


def test_a_runtime_that_is_not_threadsafe_runs_one_parallel_call_at_a_time(monkeypatch) -> None:
    monkeypatch.setattr(_dispatch, "_timings", {})
    fake = FakeBackend(threadsafe=False, parallel_delay=0.02)
    x, _ = _big()
    start = threading.Barrier(8)

    def work() -> None:
        out = np.empty_like(x)
        start.wait()
        for _ in range(5):
            _dispatch.execute(fake, "relu", [(x, out)], 0.0, x.size)
            np.testing.assert_array_equal(out, x)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(fake.calls) == 40
    assert fake.most_at_once == 1
    assert "serial" in fake.calls  # the busy runtime made others go serial, not wait


def test_auto_takes_cython_when_it_is_built() -> None:
    require("cython")
    module = _dispatch.resolve("auto", "relu", np.dtype(np.float32), 10)
    assert module is _backends.load("cython")


NO_CYTHON = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    sys.modules["fastact._backends._cy"] = None  # as if the extension were not built
    import fastact as fa
    from fastact import _backends, _dispatch
    assert "_cy" in _backends.status("cython")
    x = np.linspace(-1, 1, 1000, dtype=np.float32)
    first = _dispatch.resolve("auto", "leaky_relu", x.dtype, x.size).__name__
    y = fa.leaky_relu(x, 0.1)
    assert np.array_equal(y, np.where(x > 0, x, np.float32(0.1) * x))
    deadline = time.monotonic() + 240
    while _dispatch._numba_state == "warming" and time.monotonic() < deadline:
        time.sleep(0.1)
    later = _dispatch.resolve("auto", "leaky_relu", x.dtype, x.size).__name__
    assert np.array_equal(fa.leaky_relu(x, 0.1), y)
    print(first, _dispatch._numba_state, later)
    """
)


def test_without_cython_numpy_serves_while_numba_warms_up() -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_CYTHON], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    first, state, later = done.stdout.split()
    assert first == "fastact._backends.numpy"  # never waits for a JIT compile
    if _backends.status("numba") is None:
        assert (state, later) == ("ready", "fastact._backends.numba")
    else:
        assert (state, later) == ("failed", "fastact._backends.numpy")


def test_loading_one_backend_does_not_wait_for_another(monkeypatch) -> None:
    """auto's first call without Cython loads NumPy's backend while Numba is imported."""
    importing = threading.Event()
    release = threading.Event()
    real_import = _backends.importlib.import_module

    def slow_import(name: str):
        if name == "fastact._backends.numba":
            importing.set()
            release.wait(10)  # a Numba import that takes long
            raise ImportError("numba import stopped by the test")
        return real_import(name)

    monkeypatch.setattr(_backends.importlib, "import_module", slow_import)
    monkeypatch.setattr(_backends, "_modules", {})
    monkeypatch.setattr(_backends, "_errors", {})
    worker = threading.Thread(target=_backends.status, args=("numba",))
    worker.start()
    try:
        assert importing.wait(30)
        start = time.perf_counter()
        assert _backends.load("numpy").__name__ == "fastact._backends.numpy"
        assert time.perf_counter() - start < 5
    finally:
        release.set()
        worker.join(30)
    assert "stopped by the test" in _backends._errors["numba"]


def test_warmup_compiles_what_can_run_and_hands_auto_to_numba(monkeypatch) -> None:
    monkeypatch.setattr(_dispatch, "_numba_state", "warming")
    warmed = []

    class Compiles:
        def warmup(self) -> None:
            warmed.append("numba")

    monkeypatch.setitem(_backends._modules, "numba", Compiles())
    fa.warmup("numba")
    assert warmed == ["numba"] and _dispatch._numba_state == "ready"
    fa.warmup()  # every backend that runs: the others have nothing to compile
    assert warmed == ["numba", "numba"]
    fa.warmup("numpy")
    fa.warmup("auto")  # cython if it is built (nothing to do), else numba
    assert len(warmed) == (2 if _backends.status("cython") is None else 3)
    with pytest.raises(ValueError, match="valid names"):
        fa.warmup("cuda")


def test_warmup_of_a_backend_that_cannot_run_says_why(monkeypatch) -> None:
    monkeypatch.setitem(_backends._errors, "numba", "ImportError: No module named 'numba'")
    monkeypatch.delitem(_backends._modules, "numba", raising=False)
    with pytest.raises(RuntimeError, match="No module named 'numba'"):
        fa.warmup("numba")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_during_numba_warmup_leaves_the_child_on_what_runs(monkeypatch) -> None:
    # every global the fork hook sets is restored by monkeypatch afterwards
    monkeypatch.setattr(_dispatch, "_numba_state", "warming")
    monkeypatch.setattr(_dispatch, "_forked_after_parallel", False)
    monkeypatch.setattr(_dispatch, "_locks", {})
    _dispatch._after_fork_in_child()
    assert _dispatch._numba_state == "failed"


def _traced_peak(fn) -> int:
    fn()  # warm: first calls may bind the fast path or fill caches
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("n", [10, 100_000, 1_000_003])
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_memory_out_allocates_nothing_and_out_of_place_only_the_result(n, layout) -> None:
    rng = np.random.default_rng(0)
    base = rng.standard_normal(2 * n).astype(np.float32)
    x = base[:n] if layout == "contiguous" else base[::2]
    g = np.ones_like(x)
    out = np.empty_like(x)
    nbytes = x.nbytes
    slack = 4096  # Python objects of the general path (views, tuples), never array data
    assert _traced_peak(lambda: fa.leaky_relu(x, 0.1, out=out)) < slack
    assert _traced_peak(lambda: fa.leaky_relu_backward(g, x, 0.1, out=out)) < slack
    assert _traced_peak(lambda: fa.leaky_relu(x, 0.1)) < nbytes + slack
    assert _traced_peak(lambda: fa.relu_backward(g, x)) < nbytes + slack
