"""The registry of backends, and the contract every backend module keeps.

A backend is a module ``fastact._backends.<name>`` imported on first use, never
by ``import fastact``. If importing it fails, the backend "cannot run" and the
error text is kept as the reason. A backend module provides:

``get_kernel(name: str, parallel: bool) -> Callable``
    The kernel called ``name`` in ``fastact._kernels.KERNELS``. Unary kernels
    are called ``k(x, out, alpha, nthreads)``, binary ones
    ``k(g, x, out, alpha, nthreads)``. The caller (``fastact._api``) has
    already checked everything: all arrays have the same shape and the same
    native dtype (float16, float32 or float64), ``ndim`` is 1 or 2 with any
    strides (negative and zero strides included for inputs), ``out`` is
    writeable and is either one of the inputs itself (in place, identical
    view) or overlaps none of them; ``alpha`` is a finite Python float (0.0
    for kernels that do not use it); ``nthreads >= 1`` bounds the threads a
    parallel kernel may use (serial kernels ignore it). Kernels return None.

``PARALLEL_RUNTIME: str | None``
    The name of the threading runtime the parallel kernels use (for example
    ``"openmp"``), or None when ``parallel=True`` gives the serial kernels.

``PARALLEL_THREADSAFE: bool``
    Whether parallel kernels may run from several threads at once. When False
    the dispatcher never lets two of them run concurrently.

``info() -> dict[str, str]``
    What ``show_config()`` prints for this backend (versions, build flags,
    threading layer).
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

#: every backend name, in the order ``show_config`` lists them
BACKENDS: tuple[str, ...] = ("numba", "cython", "numpy")

_modules: dict[str, ModuleType] = {}
_errors: dict[str, str] = {}
#: one lock a backend: while a thread imports Numba (0.1-0.2 s), loading the
#: NumPy backend for a call of auto's must not wait for it
_locks = {name: threading.Lock() for name in BACKENDS}


def load(name: str) -> ModuleType:
    """Import backend ``name`` (once) and return its module.

    Raises
    ------
    RuntimeError
        If the backend cannot run here; the message says why.
    """
    if name in _modules:
        return _modules[name]
    with _locks[name]:
        if name in _modules:
            return _modules[name]
        if name not in _errors:
            try:
                _modules[name] = importlib.import_module(f"fastact._backends.{name}")
                return _modules[name]
            except Exception as exc:  # any import failure makes the backend unusable
                _errors[name] = f"{type(exc).__name__}: {exc}"
    raise RuntimeError(f"fastact backend {name!r} cannot run here: {_errors[name]}")


def status(name: str) -> str | None:
    """Return None if backend ``name`` can run, else the reason it cannot."""
    try:
        load(name)
    except RuntimeError:
        return _errors[name]
    return None


def is_loaded(name: str) -> bool:
    """Whether backend ``name`` has been imported successfully already."""
    return name in _modules
