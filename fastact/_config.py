"""Backend and thread-count settings: the global default, per-thread overrides, env vars."""

from __future__ import annotations

import contextlib
import numbers
import os
import threading
import warnings
from collections.abc import Callable, Iterator

from fastact._backends import BACKENDS

#: every value ``backend=`` accepts
BACKEND_NAMES: tuple[str, ...] = ("auto", *BACKENDS)


def check_backend_name(name: object) -> str:
    """Return ``name`` if it names a backend, else raise ``ValueError``."""
    if name in BACKEND_NAMES and isinstance(name, str):
        return name
    valid = ", ".join(repr(n) for n in BACKEND_NAMES)
    raise ValueError(f"unknown fastact backend {name!r}; valid names are {valid} (or None)")


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _env_backend() -> str:
    # A bad variable must not make ``import fastact`` fail in every importer:
    # it is reported and ignored, as OpenMP does with OMP_NUM_THREADS.
    value = os.environ.get("FASTACT_BACKEND", "").strip()
    if not value:
        return "auto"
    try:
        return check_backend_name(value.lower())
    except ValueError as exc:
        warnings.warn(f"FASTACT_BACKEND ignored: {exc}", RuntimeWarning, stacklevel=2)
        return "auto"


#: the result cache's size when FASTACT_RESULT_CACHE_BYTES is not set
DEFAULT_RESULT_CACHE_BYTES = 256 << 20


def _count_words(least: int) -> str:
    # what a count of at least `least` (1 or 0) is called in messages
    return "a positive integer" if least == 1 else "a non-negative integer"


def _check_count(n: object, source: str, least: int) -> int:
    """``n`` as an int of at least ``least`` (1 or 0), else ``TypeError``/``ValueError``."""
    what = _count_words(least)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{source} must be {what}, got {n!r}")
    n = int(n)
    if n < least:
        raise ValueError(f"{source} must be {what}, got {n}")
    return n


def _env_count(name: str, least: int, default: Callable[[], int]) -> int:
    """Environment variable ``name`` checked by :func:`_check_count`, else ``default()``."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default()
    try:
        return _check_count(int(value), name, least)
    except ValueError:
        warnings.warn(
            f"{name} ignored: expected {_count_words(least)}, got {value!r}",
            RuntimeWarning,
            stacklevel=2,
        )
        return default()


_default_backend: str = _env_backend()
_overrides_active = 0  # use_backend blocks open in any thread
_overrides_lock = threading.Lock()
#: True while every call with ``backend=None`` means "auto" in every thread:
#: the public functions then take their compiled fast path without asking
#: which backend this thread uses.
auto_everywhere: bool = _default_backend == "auto"
_num_threads: int = _env_count("FASTACT_NUM_THREADS", 1, _cpu_count)
_result_cache_bytes: int = _env_count(
    "FASTACT_RESULT_CACHE_BYTES", 0, lambda: DEFAULT_RESULT_CACHE_BYTES
)
#: called without arguments after any setting changed: the compiled fronts of
#: the public functions (``fastact._api``) keep C copies of ``auto_everywhere``
#: and ``_num_threads``, which a call cannot afford to look up
change_hooks: list[Callable[[], None]] = []


def _changed() -> None:
    global auto_everywhere
    auto_everywhere = _default_backend == "auto" and _overrides_active == 0
    for hook in change_hooks:
        hook()


class _ThreadState(threading.local):
    # a class attribute as default: no AttributeError path on every call
    override: str | None = None


_local = _ThreadState()


def set_backend(name: str) -> None:
    """Set the backend that calls with ``backend=None`` use, in every thread.

    Parameters
    ----------
    name : {"auto", "numba", "cython", "numpy"}
        ``"auto"`` lets the dispatcher pick per call. A named backend that
        cannot run here raises ``RuntimeError`` at the next call that uses it.

    Raises
    ------
    ValueError
        If ``name`` is not one of the names above.

    Examples
    --------
    >>> import fastact as fa
    >>> fa.set_backend("numpy")
    >>> fa.get_backend()
    'numpy'
    >>> fa.set_backend("auto")
    """
    global _default_backend
    _default_backend = check_backend_name(name)
    _changed()


def get_backend() -> str:
    """Return the backend that calls with ``backend=None`` use in this thread.

    This is the innermost active :func:`use_backend` of the calling thread,
    else the value of :func:`set_backend`, else ``FASTACT_BACKEND``, else
    ``"auto"``.

    Examples
    --------
    >>> import fastact as fa
    >>> fa.get_backend()
    'auto'
    """
    override = _local.override
    return _default_backend if override is None else override


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[str]:
    """Use backend ``name`` for calls with ``backend=None`` inside a ``with`` block.

    The override is thread-local: other threads keep their own backend.
    Blocks nest, and the previous backend comes back on exit, exceptions
    included.

    Parameters
    ----------
    name : {"auto", "numba", "cython", "numpy"}

    Raises
    ------
    ValueError
        If ``name`` is not a backend name.

    Examples
    --------
    >>> import fastact as fa
    >>> with fa.use_backend("numpy"):
    ...     fa.relu([-1.0, 2.0])
    array([0., 2.])
    """
    global _overrides_active
    checked = check_backend_name(name)
    previous = _local.override
    _local.override = checked
    with _overrides_lock:
        _overrides_active += 1
        _changed()
    try:
        yield checked
    finally:
        _local.override = previous
        with _overrides_lock:
            _overrides_active -= 1
            _changed()


def set_num_threads(n: int) -> None:
    """Set the most threads any fastact kernel may use, in every thread.

    Parameters
    ----------
    n : int
        A positive integer. ``1`` makes every kernel serial.

    Raises
    ------
    TypeError
        If ``n`` is not an integer.
    ValueError
        If ``n < 1``.

    Examples
    --------
    >>> import fastact as fa
    >>> before = fa.get_num_threads()
    >>> fa.set_num_threads(1)
    >>> fa.get_num_threads()
    1
    >>> fa.set_num_threads(before)
    """
    global _num_threads
    _num_threads = _check_count(n, "the number of threads", 1)
    _changed()


def get_num_threads() -> int:
    """Return the most threads a fastact kernel may use.

    Defaults to ``FASTACT_NUM_THREADS`` if set, else the CPUs this process
    may run on.

    Examples
    --------
    >>> import fastact as fa
    >>> fa.get_num_threads() >= 1
    True
    """
    return _num_threads


def set_result_cache_bytes(n: int) -> None:
    """Set how many bytes of freed large results fastact may keep for reuse.

    A new result of 32 MiB or more (``out=None``) is allocated through
    fastact's result cache: when the array is freed, its memory is kept, up
    to ``n`` bytes in all (the oldest blocks go first), and the next new
    result of the same size takes it back. Fresh memory costs its page
    faults: the kernel zeroes each page as it is first written, which took
    as long as a 1e7-element float32 ``relu`` itself here. ``0`` turns the
    cache off and frees what it holds; smaller values free the oldest blocks
    beyond them. Memory of ``out=`` arrays is never kept.

    Parameters
    ----------
    n : int
        The most bytes kept, a non-negative integer. Defaults to
        ``FASTACT_RESULT_CACHE_BYTES`` if set, else 256 MiB.

    Raises
    ------
    TypeError
        If ``n`` is not an integer.
    ValueError
        If ``n < 0``.

    Examples
    --------
    >>> import fastact as fa
    >>> before = fa.get_result_cache_bytes()
    >>> fa.set_result_cache_bytes(0)  # keep nothing
    >>> fa.get_result_cache_bytes()
    0
    >>> fa.set_result_cache_bytes(before)
    """
    global _result_cache_bytes
    _result_cache_bytes = _check_count(n, "the result cache's size", 0)
    _changed()


def get_result_cache_bytes() -> int:
    """Return how many bytes of freed large results fastact may keep for reuse.

    See :func:`set_result_cache_bytes`. The cache needs the Cython
    extension; without it nothing is kept, whatever this says.

    Examples
    --------
    >>> import fastact as fa
    >>> fa.get_result_cache_bytes() >= 0
    True
    """
    return _result_cache_bytes
