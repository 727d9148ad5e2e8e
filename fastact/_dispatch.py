"""Pick, per call, the backend and the serial or parallel kernel, and run it safely.

The rules ``backend="auto"`` follows (``rules()`` says them for ``show_config``):

* Cython when its extension is built: compiled ahead of time, it never makes
  a call wait. Without it, NumPy serves while Numba is imported and compiled
  (or loaded from its disk cache) in a background thread; Numba takes over
  once every kernel is ready. Numba is never imported by ``import fastact``.
* Calls on C-contiguous float arrays are served whole by the Cython
  extension's compiled fronts of the public functions (``fastact._api``),
  at every size; the rest take the general path through :func:`execute`.
* Small calls (under ``PARALLEL_MIN_SIZE``) run serially.
* Larger calls are timed: per backend, kernel, dtype size and power-of-two
  size bucket, serial and parallel are each estimated from their latest few
  timings (the lower median), the faster one runs, and the slower one is
  timed again from time to time, at most 1/``PROBE_FACTOR`` of the time once
  settled; they swap only on timings taken one after the other (see
  ``_Timing``). Parallel starts out favoured. On a machine whose other cores
  are busy, an OpenMP team waits for a descheduled thread (measured here:
  8 ms for a 50 us kernel); timing makes auto go serial then. The compiled
  fronts run the same policy in C (``_cy.Timing``).

Safety rules, whatever the backend:

* a parallel runtime that is not thread-safe never runs two kernels at once:
  a call that finds it busy runs the serial kernel instead of waiting;
* a process forked after this one ran a parallel kernel only runs serial
  kernels (GNU OpenMP hangs such a child, Numba's ``omp`` layer kills it).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from types import ModuleType

import numpy as np

from fastact import _backends, _config

#: Below this many elements parallel kernels are not tried.
#: Measured on a 2-core AMD EPYC (see README): from 65,536 elements two threads
#: beat one for every dtype (float16 is compute bound, float32 and float64 run
#: from L2); where they do not on another machine, timing goes serial.
PARALLEL_MIN_SIZE = 1 << 16


def _last_level_cache_bytes() -> int | None:
    """The size of CPU 0's level-3 cache as Linux reports it, or None."""
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index3/size") as f:
            text = f.read().strip()
    except OSError:
        return None
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    digits = text.rstrip("KMG")
    return int(digits) * scale if digits.isdigit() else None


#: From a result of this many bytes, the Cython loops write it with streaming
#: stores, which skip reading the lines they overwrite. Not in place (those
#: lines were just read), nor into a new array from a compiled front (its
#: pages are zeroed as first written: streaming lost 3-9% at 3e7 float32).
#: The size of the L3 cache: on the 2-core EPYC (32 MB L3), float32 relu and
#: leaky_relu_backward on 2 threads, plain time over streamed, in three runs:
#: 0.64-1.06 at 4e6 elements (16 MB results), 0.67-1.20 at 6e6, 1.12-1.25 at
#: 8e6 (32 MB), 1.13-1.54 at 1e7 and 1.22-1.33 at 3e7. 32 MiB where the cache
#: size is unknown.
STREAM_MIN_BYTES = _last_level_cache_bytes() or 32 << 20
#: New results of this many bytes or more are allocated through the result
#: cache (``fastact._backends._fa_cache.h``), which keeps freed ones (up to
#: ``fastact.get_result_cache_bytes()``) for the next result of their size.
#: Glibc's largest mmap threshold: from it on, malloc maps fresh pages for
#: every block and unmaps them at free, and the kernel zeroes each page as it
#: is first written (at 1e7 float32 here: 2.8 ms for a new result against
#: 1.2-1.3 ms into an existing one). Smaller blocks glibc reuses itself.
RESULT_CACHE_MIN_BYTES = 32 << 20
#: the slower of serial and parallel is timed again after the faster's calls
#: took this many times the faster's cost, doubling up to this many times the
#: slower's own cost (so its timing costs at most 1/PROBE_FACTOR); see _Timing
PROBE_FACTOR = 50.0
#: how many of the latest timings of each kernel its estimate (their lower median) takes
WINDOW = 4
#: how many calls in a row a timing of the slower kernel lasts
PROBE_CALLS = 4
#: how many times in a row a losing serial time taken while the parallel
#: threads still spin is retried (see _Timing)
SPIN_RETRIES = 256
#: the faster kernel's calls are timed one in this many: two clock readings
#: (~60 ns) are 3% of a 7e4 float32 call. Every other call is timed.
TIME_EVERY = 8
#: a serial call this soon after a parallel call ended may find its threads
#: still busy-waiting (for 0.1 to 0.3 ms here)
SPIN_GAP = 1e-3
#: what the latest timing of PROBE_CALLS calls was for (_Timing.stage): nothing
#: to decide; the slower's (a win has the faster timed again); one that leaves
#: both timed one after the other (the next comparison decides)
_NONE, _PROBED, _DECIDE = 0, 1, 2

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
_parallel_ran = False
_forked_after_parallel = False
_numba_state = "idle"  # idle -> warming -> ready | failed


class _Timing:
    """Serial against parallel in one size bucket: the policy of ``backend="auto"``.

    Each kernel's cost is estimated as the lower median of its latest
    :data:`WINDOW` timings (seconds per element; the second fastest of 4):
    one or two calls slowed by a descheduled thread do not condemn a kernel,
    one lucky call does not crown it, and a kernel that really became slower
    loses within three timings. The fastest of them, the estimate before, made
    the kernel whose times vary most look best: at 7e4 float32, with the other
    core shared, parallel took 2.0 to 2.8 us (median 2.26) against serial's
    2.13 to 2.18, and the fastest of 4 parallel times was below serial's in a
    third of the windows.

    The faster runs, timed one call in :data:`TIME_EVERY` (its other calls
    count at its estimate). The slower is timed again once the faster's
    calls since its last timing took :data:`PROBE_FACTOR` times the cost of
    one call at the faster's speed, a time that doubles with each timing
    that changes nothing, up to :data:`PROBE_FACTOR` times the cost of a
    timing (:data:`PROBE_CALLS` calls) at the slower's speed: there, timing
    it costs at most 1/:data:`PROBE_FACTOR` of the time, and right after the
    faster changed, a transient that made it change is soon undone. Time
    counts inside the calls only, not on a clock: a training loop's matrix
    products between activations do not bring the next timing closer. The
    doubling makes a slower estimate that came from a transient (the first
    parallel calls of a process took 8 to 20 ms each here, for a 3 us
    kernel) cost a few calls, not the 400 ms of calls that 50 times it would
    have.

    A timing lasts :data:`PROBE_CALLS` calls in a row, because the first
    calls of a kernel after the other ran are slow: at 7e4 float64, after
    20 ms of serial calls, parallel calls took 96, 6.0, 4.9 and 4.6 us
    (steady: 4.8), its threads asleep and then its data in the other core's
    cache. From one call and one retry, auto stayed serial at 7.7 us where
    parallel took 4.2. Serial calls made while the threads of the last
    parallel call still busy-wait (:data:`SPIN_GAP`) run up to 30% slower
    (7e4 float32: 3.0 us against 2.3, for 0.1 to 0.3 ms): a serial time
    taken then that loses is retried until one is taken after they slept,
    which replaces those taken while they spun; :data:`SPIN_RETRIES` times
    at most, each retry adding :data:`PROBE_FACTOR` times its cost to the
    budget. Without this, serial, timed only right after parallel calls,
    never won back a size where it had become the faster (auto ran 1.6
    times the serial kernel). A timing of parallel, the slower, also adds
    :data:`PROBE_FACTOR` times what its calls took beyond its estimate:
    the first wakes threads that slept through the serial calls (about
    0.1 ms against 3.6 us steady at 1e5 float32), which the budget, counted
    in estimates, did not see; where serial was a little faster, those
    wake-ups made auto 1.13-1.27 times the serial kernel.

    The faster changes only on times taken next to each other. When the
    slower wins its timing, the faster is timed again at once, and the
    slower becomes the faster only if it still wins; when the faster's
    estimate rises past the slower's older one, the slower is timed at once
    (as if the budget were spent), then as before. A shared machine's pace
    changes from one moment to the next (1e7 float32 calls took 1 to 2.5 ms
    within a second here), and switching on one fresh window against an old
    one ran serial for stretches: at 1e7 float32 ``relu_grad``, parallel
    1.1-1.25 times as fast, in 15 runs of 100 rounds of
    ``bench/auto_choices.py`` (or drafts of it) alternated with this rule,
    auto's timed call ran serial in 42 and 35 rounds of two runs (auto 1.06
    and 1.10 times ``cython-parallel``); with this rule, in at most 6
    (0.98-1.02 times).

    The compiled fronts run the same policy in C (``_cy.Timing``); tests hold
    the two to one script.
    """

    __slots__ = (
        "budget",
        "burst",
        "burst_parallel",
        "doublings",
        "parallel_times",
        "parallel_won",
        "serial_retries",
        "serial_spin_run",
        "serial_times",
        "spent",
        "stage",
        "timed",
        "untimed",
    )

    def __init__(self) -> None:
        self.serial_times: list[float] = []
        self.parallel_times: list[float] = []
        #: the winner's time (per element: a bucket's calls have about the same
        #: size) since the slower was last timed, and how much before the next
        self.spent = 0.0
        self.budget = 0.0
        #: which was faster at the last choice, and how often the budget doubled since
        self.parallel_won = False
        self.doublings = 0
        #: calls left in the timing under way, and of which kernel
        self.burst = 0
        self.burst_parallel = False
        #: what the timing under way (or just over) is for: _NONE, _PROBED or _DECIDE
        self.stage = _NONE
        #: how many of the latest serial times were taken while parallel
        #: threads spun, and how many serial calls were retried for that since
        #: the slower was last timed
        self.serial_spin_run = 0
        self.serial_retries = 0
        #: whether the chosen call is to be timed, and the faster's calls since
        #: it was last timed (modulo TIME_EVERY)
        self.timed = True
        self.untimed = 0

    @property
    def serial(self) -> float:
        """The serial estimate in seconds per element (0.0: never timed)."""
        return _estimate(self.serial_times)

    @property
    def parallel(self) -> float:
        """The parallel estimate in seconds per element (0.0: never timed)."""
        return _estimate(self.parallel_times)

    def choose_parallel(self) -> bool:
        """Whether the next call runs the parallel kernel; :attr:`timed` says whether to time it."""
        self.timed = True
        if self.burst:
            self.burst -= 1
            return self.burst_parallel
        serial, parallel = self.serial, self.parallel
        if parallel == 0.0:
            return self._time(True, _NONE)
        if serial == 0.0:
            # the first timings of both, one after the other: they decide at once
            return self._time(False, _DECIDE)
        faster = parallel < serial
        if self.serial_spin_run and faster and self.serial_retries < SPIN_RETRIES:
            self.serial_retries += 1
            self.budget += PROBE_FACTOR * serial
            return False
        stage, self.stage = self.stage, _NONE
        drifted = False
        if faster != self.parallel_won:
            if stage == _DECIDE:
                self.parallel_won = faster
                self.doublings = 0
                self.spent = 0.0  # the new slower was timed just now
            elif stage == _PROBED:
                # the slower won its timing: time the faster again next to it
                return self._time(self.parallel_won, _DECIDE)
            else:
                # the faster's recent times rose past the slower's older estimate
                drifted = True
        if drifted or self.spent >= self.budget:
            fast, slow = min(parallel, serial), max(parallel, serial)
            self.spent = 0.0
            self.budget = PROBE_FACTOR * min(fast * 2.0**self.doublings, PROBE_CALLS * slow)
            self.doublings = min(self.doublings + 1, 64)
            self.serial_retries = 0
            return self._time(not self.parallel_won, _PROBED)
        self.untimed = (self.untimed + 1) % TIME_EVERY
        self.timed = self.untimed == 0
        return self.parallel_won

    def _time(self, parallel: bool, stage: int) -> bool:
        # start a timing of PROBE_CALLS calls of one kernel
        self.burst = PROBE_CALLS - 1
        self.burst_parallel = parallel
        self.stage = stage
        return parallel

    def record_untimed(self) -> None:
        """Count a call that was not timed (the faster's) at the faster's estimate."""
        self.spent += self.parallel if self.parallel_won else self.serial

    def record_parallel(self, seconds_per_element: float) -> None:
        """Record a parallel call's time."""
        if not self.parallel_won and self.parallel_times and self.serial_times:
            # a timing of parallel as the slower also pays for its calls beyond
            # its estimate (waking the threads that slept through serial calls)
            self.budget += PROBE_FACTOR * max(0.0, seconds_per_element - self.parallel)
        _push(self.parallel_times, seconds_per_element)
        if self.parallel_won:
            self.spent += seconds_per_element

    def record_serial(self, seconds_per_element: float, spinning: bool) -> None:
        """Record a serial call's time (``spinning``: a parallel team still busy-waited)."""
        if not spinning and self.serial_spin_run:
            # a time taken after the threads slept replaces those taken while they spun
            del self.serial_times[-self.serial_spin_run :]
        _push(self.serial_times, seconds_per_element)
        if not self.parallel_won:
            self.spent += seconds_per_element
        self.serial_spin_run = min(self.serial_spin_run + 1, WINDOW) if spinning else 0


def _estimate(window: list[float]) -> float:
    """The lower median of a kernel's latest timings (0.0: none)."""
    return sorted(window)[(len(window) - 1) // 2] if window else 0.0


def _push(window: list[float], seconds_per_element: float) -> None:
    window.append(seconds_per_element)
    if len(window) > WINDOW:
        del window[0]


#: (backend module, kernel, itemsize, bit length of the size): each kernel is
#: timed apart (see the compiled front's table in _cy.pyx.tp for why)
_timings: dict[tuple[str, str, int, int], _Timing] = {}
_last_parallel_end = 0.0


def _after_fork_in_child() -> None:
    global _forked_after_parallel, _locks, _numba_state
    if _parallel_ran:
        _forked_after_parallel = True
    _locks = {}
    if _numba_state == "warming":
        # the warm-up thread did not survive the fork, and Numba may be half
        # set up: this child stays with what it can run now
        _numba_state = "failed"


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def parallel_started() -> None:
    """Record that a parallel runtime started here, for callers that bypass ``execute``.

    Every backend's OpenMP shares one runtime (GNU libgomp), so whichever
    started it makes parallel kernels of all backends unsafe in a forked child.
    """
    global _parallel_ran
    _parallel_ran = True


def parallel_allowed() -> bool:
    """Whether this process may run parallel kernels at all (False after an unsafe fork)."""
    return not _forked_after_parallel


def _runtime_lock(runtime: str) -> threading.Lock:
    lock = _locks.get(runtime)
    if lock is None:
        with _locks_guard:
            lock = _locks.setdefault(runtime, threading.Lock())
    return lock


def resolve(backend: str, kernel: str, dtype: np.dtype, size: int) -> ModuleType:
    """Return the backend module that serves this call.

    Raises
    ------
    RuntimeError
        If ``backend`` names a backend that cannot run here.
    """
    if backend != "auto":
        return _backends.load(backend)
    if _backends.status("cython") is None:
        return _backends.load("cython")
    if _numba_state == "ready":
        return _backends.load("numba")
    module = _backends.load("numpy")
    if _numba_state == "idle":
        # after loading NumPy's backend: the import of Numba holds the GIL for
        # most of its 0.1-0.2 s, and this call would wait for it at each turn
        _start_numba_warmup()
    return module


def _start_numba_warmup() -> None:
    global _numba_state
    with _locks_guard:
        if _numba_state != "idle":
            return
        _numba_state = "warming"
    threading.Thread(target=_warm_numba, name="fastact-numba-warmup", daemon=True).start()


def _warm_numba() -> None:
    global _numba_state
    try:
        _backends.load("numba").warmup()
    except Exception:  # numba missing or broken: auto keeps NumPy, show_config says why
        _numba_state = "failed"
    else:
        _numba_state = "ready"


def warmup(backend: str | None = None) -> None:
    """Compile every kernel now, so that no later call waits for a compile.

    The Cython kernels are compiled when fastact is installed and NumPy
    needs nothing; Numba compiles its kernels on first use (or loads them
    from its on-disk cache: all of them in 0.7 s here, against 40 s for a
    first compile).
    ``backend="auto"`` never makes a call wait for that: it serves calls
    with what is ready and takes Numba over once compiled in the background.
    Call this up front in programs that call ``backend="numba"``, or to have
    ``auto`` use Numba from its first call where Cython is not built.

    Parameters
    ----------
    backend : {None, "auto", "numba", "cython", "numpy"}, optional
        None: every backend that can run here. ``"auto"``: the backend
        ``auto`` would use (Numba when Cython is not built). A backend name:
        that backend.

    Raises
    ------
    ValueError
        If ``backend`` is not a backend name.
    RuntimeError
        If the backend named cannot run here.

    Examples
    --------
    >>> import fastact as fa
    >>> fa.warmup("cython")  # compiled ahead of time: returns at once
    """
    global _numba_state
    if backend is None:
        names = [name for name in _backends.BACKENDS if _backends.status(name) is None]
    elif _config.check_backend_name(backend) == "auto":
        # what resolve() serves auto with, once warm
        usable = [name for name in ("cython", "numba") if _backends.status(name) is None]
        names = usable[:1]
    else:
        _backends.load(backend)  # raises RuntimeError saying why it cannot run
        names = [backend]
    for name in names:
        module = _backends.load(name)
        if hasattr(module, "warmup"):
            module.warmup()
    if "numba" in names:
        with _locks_guard:
            _numba_state = "ready"


def execute(
    module: ModuleType,
    kernel: str,
    blocks: Sequence[tuple[np.ndarray, ...]],
    alpha: float,
    size: int,
) -> None:
    """Run ``kernel`` of backend ``module`` over ``blocks`` (from ``fastact._layout``)."""
    global _parallel_ran, _last_parallel_end
    nthreads = _config.get_num_threads()
    runtime = module.PARALLEL_RUNTIME
    if runtime is None or nthreads == 1 or size < PARALLEL_MIN_SIZE or _forked_after_parallel:
        _run(module.get_kernel(kernel, False), blocks, alpha, 1)
        return
    key = (module.__name__, kernel, blocks[0][-1].itemsize, size.bit_length())
    timing = _timings.get(key)
    if timing is None:
        timing = _timings.setdefault(key, _Timing())
    start = time.perf_counter()
    lock = None if module.PARALLEL_THREADSAFE else _runtime_lock(runtime)
    parallel = timing.choose_parallel()
    timed = timing.timed  # read now: other threads choose while the kernel runs
    if parallel and (lock is None or lock.acquire(blocking=False)):
        try:
            _parallel_ran = True
            _run(module.get_kernel(kernel, True), blocks, alpha, nthreads)
        finally:
            if lock is not None:
                lock.release()
    else:
        parallel = False
        _run(module.get_kernel(kernel, False), blocks, alpha, 1)
    if not timed:
        timing.record_untimed()
        return
    end = time.perf_counter()
    if parallel:
        timing.record_parallel((end - start) / size)
        _last_parallel_end = end
    else:
        timing.record_serial((end - start) / size, spinning=start - _last_parallel_end < SPIN_GAP)


def _run(
    fn: Callable[..., None],
    blocks: Sequence[tuple[np.ndarray, ...]],
    alpha: float,
    nthreads: int,
) -> None:
    for block in blocks:
        fn(*block, alpha, nthreads)


def rules() -> list[str]:
    """The rules ``backend="auto"`` follows, as sentences for ``show_config``."""
    if _backends.status("cython") is None:
        first = (
            "1. cython: compiled ahead of time, and as fast as numba at every size measured "
            "(README, Benchmarks)"
        )
    else:
        first = (
            f"1. cython cannot run; numpy serves until numba is compiled in the background "
            f"(numba: {_numba_state})"
        )
    lines = [
        first,
        "2. C-contiguous float arrays: the whole call in compiled code (the Cython "
        "extension's fronts), other layouts through Python",
        f"3. serial below {PARALLEL_MIN_SIZE} elements",
        "4. above: the faster of serial and parallel, timed per kernel, dtype and size bucket "
        f"(the lower median of each one's last {WINDOW} timings; the faster timed one call in "
        f"{TIME_EVERY}); the slower is timed again, {PROBE_CALLS} calls in a row, after the "
        f"faster's calls took {PROBE_FACTOR:g} times one call's cost, doubling up to "
        f"{PROBE_FACTOR:g} times the cost of the timing (a parallel timing's wake-up counted too); "
        "the faster changes only when the slower wins a timing and then the faster, timed "
        "again at once, loses",
        "5. a runtime that is not thread-safe runs one parallel call at a time; others go serial",
        "6. a process forked after parallel kernels ran uses serial kernels only",
    ]
    if _backends.status("cython") is None and _backends.load("cython").HAVE_STREAM:
        lines.append(
            f"7. cython writes a result of {STREAM_MIN_BYTES / (1 << 20):g} MiB or more (the L3 "
            "cache's size) with streaming stores, unless it is an input or a new array on "
            "fresh pages (not from the result cache) made by a compiled front"
        )
    measured = [
        (mod.rsplit(".", 1)[-1], kernel, itemsize, bucket, t.serial, t.parallel)
        for (mod, kernel, itemsize, bucket), t in _timings.items()
    ]
    if _backends.is_loaded("cython"):
        for kernel, itemsize, bucket, new, serial, parallel in _backends.load("cython").timings():
            name = "compiled front, fresh pages" if new else "compiled front"
            measured.append((name, kernel, itemsize, bucket, serial, parallel))
    if measured:
        lines.append("   timings so far (ns per element, serial / parallel):")
        for name, kernel, itemsize, bucket, serial, parallel in sorted(measured):
            lines.append(
                f"   {name}: {kernel} float{8 * itemsize} ~2^{bucket - 1} elements: "
                f"{serial * 1e9:.3f} / {parallel * 1e9:.3f}"
            )
    return lines
