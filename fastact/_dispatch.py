"""Pick, per call, the backend and the serial or parallel kernel, and run it safely.

The rules ``backend="auto"`` follows (``rules()`` says them for ``show_config``):

* Cython when its extension is built: compiled ahead of time, it never makes
  a call wait. Without it, NumPy serves while Numba is imported and compiled
  (or loaded from its disk cache) in a background thread; Numba takes over
  once every kernel is ready. Numba is never imported by ``import fastact``.
* Small calls (under ``parallel_min_size``) run serially; for C-contiguous
  float arrays the public functions do that in one compiled call.
* Larger calls are timed: per backend, dtype size and power-of-two size
  bucket, the last serial and the last parallel time per element are kept,
  the faster one runs, and the slower one is timed again at most once a
  second. Parallel starts out favoured. On a machine whose other cores are
  busy, an OpenMP team waits for a descheduled thread (measured here: 8 ms
  for a 50 us kernel); timing makes auto go serial then, at the cost of one
  slow call a second at most.

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
from typing import Any

import numpy as np

from fastact import _backends, _config

#: Below this many elements parallel kernels are not tried.
#: Measured on a 2-core AMD EPYC (see README): from 65,536 elements two threads
#: beat one for every dtype (float16 is compute bound, float32 and float64 run
#: from L2); where they do not on another machine, timing goes serial.
PARALLEL_MIN_SIZE = 1 << 16
#: the largest call the compiled fast path of the public functions serves
fast_max_size = PARALLEL_MIN_SIZE - 1
#: how often the slower of serial and parallel is timed again (seconds)
PROBE_INTERVAL = 1.0

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
_parallel_ran = False
_forked_after_parallel = False
_numba_state = "idle"  # idle -> warming -> ready | failed


class _Timing:
    """The last serial and parallel seconds per element of one size bucket (0: unknown)."""

    __slots__ = ("parallel", "parallel_cold", "probe_after", "retrying", "serial")

    def __init__(self) -> None:
        self.serial = 0.0
        self.parallel = 0.0
        self.probe_after = 0.0
        #: the parallel time was taken with the threads asleep (and not on a retry)
        self.parallel_cold = False
        self.retrying = False

    def choose_parallel(self, now: float) -> bool:
        if self.parallel == 0.0:
            return True
        if self.serial == 0.0:
            self.probe_after = now + PROBE_INTERVAL
            return False
        faster = self.parallel < self.serial
        if self.parallel_cold and not faster:
            # A team that slept since its last call first has to wake up (on a
            # VM, 0.1 to 1 ms): a cold time that loses is retried at once,
            # warm if calls come close together; the retry counts as measured.
            self.parallel_cold = False
            self.retrying = True
            return True
        if now >= self.probe_after:
            self.probe_after = now + PROBE_INTERVAL
            return not faster
        return faster

    def record_parallel(self, seconds_per_element: float, cold: bool) -> None:
        self.parallel = seconds_per_element
        self.parallel_cold = cold and not self.retrying
        self.retrying = False


_timings: dict[tuple[str, int, int], _Timing] = {}
#: a parallel call this long after the previous one ended finds its threads asleep
COLD_GAP = 1e-3
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


def fast_path() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    """The Cython backend's ``(fast_unary, fast_binary)``, or None if it cannot run."""
    if _backends.status("cython") is not None:
        return None
    cy = _backends.load("cython")
    return cy.fast_unary, cy.fast_binary


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
    if _numba_state == "idle":
        _start_numba_warmup()
    return _backends.load("numpy")


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
    key = (module.__name__, blocks[0][-1].itemsize, size.bit_length())
    timing = _timings.get(key)
    if timing is None:
        timing = _timings.setdefault(key, _Timing())
    start = time.perf_counter()
    lock = None if module.PARALLEL_THREADSAFE else _runtime_lock(runtime)
    if timing.choose_parallel(start) and (lock is None or lock.acquire(blocking=False)):
        try:
            _parallel_ran = True
            _run(module.get_kernel(kernel, True), blocks, alpha, nthreads)
        finally:
            if lock is not None:
                lock.release()
        end = time.perf_counter()
        timing.record_parallel((end - start) / size, cold=start - _last_parallel_end > COLD_GAP)
        _last_parallel_end = end
    else:
        _run(module.get_kernel(kernel, False), blocks, alpha, 1)
        timing.serial = (time.perf_counter() - start) / size


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
        first = "1. cython: its kernels are compiled ahead of time"
    else:
        first = (
            f"1. cython cannot run; numpy serves until numba is compiled in the background "
            f"(numba: {_numba_state})"
        )
    lines = [
        first,
        f"2. serial below {PARALLEL_MIN_SIZE} elements (C-contiguous calls in one compiled step)",
        "3. above: the faster of serial and parallel, timed per size bucket; the slower is "
        f"timed again every {PROBE_INTERVAL:g} s",
        "4. a runtime that is not thread-safe runs one parallel call at a time; others go serial",
        "5. a process forked after parallel kernels ran uses serial kernels only",
    ]
    measured = sorted(_timings.items())
    if measured:
        lines.append("   timings so far (ns per element, serial / parallel):")
        for (mod, itemsize, bucket), t in measured:
            lines.append(
                f"   {mod.rsplit('.', 1)[-1]} float{8 * itemsize} ~2^{bucket - 1} elements: "
                f"{t.serial * 1e9:.3f} / {t.parallel * 1e9:.3f}"
            )
    return lines
