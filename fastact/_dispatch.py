"""Pick, per call, the backend and the serial or parallel kernel, and run it safely.

Safety rules, whatever the backend:

* a parallel runtime that is not thread-safe never runs two kernels at once:
  a call that finds it busy runs the serial kernel instead of waiting;
* a process forked after this one ran a parallel kernel only runs serial
  kernels (GNU OpenMP hangs such a child, Numba's ``omp`` layer kills it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from fastact import _backends, _config

#: below this many elements a parallel kernel does not pay for its threads
#: (float32 and float64 alike; see the README's dispatcher section)
PARALLEL_MIN_SIZE = 1 << 17
#: the largest call the compiled fast path of the public functions serves
fast_max_size = PARALLEL_MIN_SIZE - 1

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
_parallel_ran = False
_forked_after_parallel = False


def _after_fork_in_child() -> None:
    global _forked_after_parallel, _locks
    if _parallel_ran:
        _forked_after_parallel = True
    _locks = {}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


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
    for name in ("cython", "numpy"):
        if _backends.status(name) is None:
            return _backends.load(name)
    return _backends.load("numpy")


def execute(
    module: ModuleType,
    kernel: str,
    blocks: Sequence[tuple[np.ndarray, ...]],
    alpha: float,
    size: int,
) -> None:
    """Run ``kernel`` of backend ``module`` over ``blocks`` (from ``fastact._layout``)."""
    global _parallel_ran
    nthreads = _config.get_num_threads()
    runtime = module.PARALLEL_RUNTIME
    if (
        runtime is not None
        and nthreads > 1
        and size >= PARALLEL_MIN_SIZE
        and not _forked_after_parallel
    ):
        lock = None if module.PARALLEL_THREADSAFE else _runtime_lock(runtime)
        if lock is None or lock.acquire(blocking=False):
            try:
                _parallel_ran = True
                _run(module.get_kernel(kernel, True), blocks, alpha, nthreads)
            finally:
                if lock is not None:
                    lock.release()
            return
    _run(module.get_kernel(kernel, False), blocks, alpha, 1)


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
    return [
        "1. cython if its extension is built, else numpy (numba only when asked for)",
        f"2. parallel kernels from {PARALLEL_MIN_SIZE} elements when more than one thread is "
        "allowed, serial below",
        "3. a runtime that is not thread-safe runs one parallel call at a time; others run serial",
        "4. a process forked after parallel kernels ran uses serial kernels only",
    ]
