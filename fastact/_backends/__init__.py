"""The registry of backends, and the contract every backend module keeps.

A backend is a module ``fastact._backends.<name>`` imported on first use, never
by ``import fastact``. If importing it fails, the backend "cannot run" and the
error text is kept as the reason. A backend module provides:

``run(kernel, inputs, out, params[, nthreads])``
    Compute the kernel of that name (``fastact._table.KERNELS``) into
    ``out``. The caller (``fastact._api``) has checked everything: ``inputs``
    (``(x,)``, or ``(grad_out, x)`` for a backward kernel) are arrays of
    ``out``'s shape (broadcast views included) and native dtype (float16,
    float32 or float64), any layout and ``ndim``; ``out`` is writeable, does
    not overlap itself, and is either an input itself or overlaps none;
    ``params`` are finite Python floats, finite in the compute type, in
    table order. ``nthreads`` (backends whose ``PARALLEL_RUNTIME`` is not
    None) is the team size the dispatcher chose; 1 means serial.

``PARALLEL_RUNTIME: str | None``
    What the parallel kernels run on, or None when the backend is serial.

``info() -> dict[str, str]``
    What ``show_config()`` prints for this backend.

The fork rule, for every backend: a process forked from one that had more
than one thread runs every kernel serially (``fastact._config``), because GNU
OpenMP and Numba's layers cannot start a team there.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

#: every backend name, in the order ``show_config`` lists them
BACKENDS: tuple[str, ...] = ("cython", "numba", "numpy")

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
