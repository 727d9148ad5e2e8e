"""Settings: the backend, the thread count, and the fork rule.

Whenever a setting changes, the functions registered with :func:`subscribe`
are called; the compiled extension takes its copies that way
(``fastact._api``), since a call cannot afford to look them up.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import threading
import warnings
import weakref
from collections.abc import Callable

from fastact._backends import BACKENDS

#: every value ``backend=`` accepts
BACKEND_NAMES: tuple[str, ...] = ("auto", *BACKENDS)
#: the fewest elements worth a thread of a team: on a 2-core AMD EPYC two
#: threads beat one from 65,536 elements for every dtype (float16 is compute
#: bound, float32 and float64 run from L2 there)
MIN_PER_THREAD = 32768


def check_backend_name(name: object) -> str:
    """Return ``name`` if it names a backend, else raise ``ValueError``."""
    if isinstance(name, str) and name in BACKEND_NAMES:
        return name
    valid = ", ".join(repr(n) for n in BACKEND_NAMES)
    raise ValueError(f"unknown fastact backend {name!r}; valid names are {valid} (or None)")


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity mask, which cgroup cpusets narrow)."""
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
#: weak references to the use_backend blocks open in any thread (see _Override)
_open_overrides: set[weakref.ref] = set()
#: serialises the updates of auto_everywhere and of the subscribers' copies
_changed_lock = threading.RLock()
#: True while every call with ``backend=None`` means "auto" in every thread
auto_everywhere: bool = _default_backend == "auto"
#: the value of auto_everywhere every subscriber has; None while an update runs
_published: bool | None = auto_everywhere
#: the user's thread count (set_num_threads, else FASTACT_NUM_THREADS), or
#: None for OpenMP's own count
_num_threads: int | None = _env_count("FASTACT_NUM_THREADS", 1, lambda: 0) or None
_num_threads_source = "FASTACT_NUM_THREADS"
#: set in a child forked from a process that had more than one thread
_forked_serial = False
_subscribers: list[Callable[[], None]] = []


def subscribe(callback: Callable[[], None]) -> None:
    """Call ``callback()`` now and after every change of a setting."""
    _subscribers.append(callback)
    callback()


def _any_override_open() -> bool:
    """Whether a use_backend block is open in any thread; forgets blocks that died."""
    found = False
    for ref in tuple(_open_overrides):  # tuple(): one C call, safe against other threads
        if ref() is None:
            _open_overrides.discard(ref)
        else:
            found = True
    return found


def _changed() -> None:
    """Recompute ``auto_everywhere`` from the settings and hand it to every subscriber.

    Idempotent: a call that a KeyboardInterrupt cut short leaves ``_published``
    None, and the next call (``get_backend`` makes one then) puts it right.
    """
    global auto_everywhere, _published
    with _changed_lock:  # a C lock: a signal cannot leave it held
        _published = None
        value = _default_backend == "auto" and not _any_override_open()
        auto_everywhere = value
        for callback in _subscribers:
            callback()
        _published = value


def _threads_in_process() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 2  # cannot tell: assume the worst


_threads_at_fork = 1


def _before_fork() -> None:
    global _threads_at_fork
    _threads_at_fork = _threads_in_process()


def _after_fork_in_child() -> None:
    # GNU OpenMP hangs, and Numba's layers die, when a child starts a team
    # after its parent had started one; any thread of the parent's may be
    # such a team's, so a child of a process with threads runs serially.
    global _forked_serial, _changed_lock
    # another thread of the parent may have held the lock; its blocks never close here
    _changed_lock = threading.RLock()
    mine = {ref for ref, _ in _local.stack}
    for ref in tuple(_open_overrides):
        if ref not in mine:
            _open_overrides.discard(ref)
    if _threads_at_fork > 1 and not _forked_serial:
        _forked_serial = True
    _changed()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


class _ThreadState(threading.local):
    # a class attribute as default: no AttributeError path on every call
    #: the use_backend blocks open in this thread, innermost last, as
    #: (weak reference to the block, backend name); a dead reference is a block
    #: that a KeyboardInterrupt kept from running its __exit__, and is ignored
    stack: tuple[tuple[weakref.ref, str], ...] = ()


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
    for ref, name in reversed(_local.stack):
        if ref() is not None:
            return name
    if _published is not auto_everywhere or (
        not auto_everywhere and _default_backend == "auto" and not _any_override_open()
    ):
        _changed()  # an update was cut short by a signal: finish it
    return _default_backend


class _Override:
    """The context manager :func:`use_backend` returns.

    A KeyboardInterrupt (any signal handler that raises) can arrive between
    any two calls, including at the first line of ``__enter__`` and
    ``__exit__``, so the state is built to survive one anywhere:

    - the thread's override is the stack ``_local.stack``, and the blocks
      open in all threads are ``_open_overrides``; both change by single
      stores, which CPython does not interrupt, and both hold *weak*
      references to the block. A block whose ``__exit__`` never ran dies with
      the interrupted ``with`` statement, and its entries stop counting;
    - ``__enter__`` undoes its stores if anything after them raises, and makes
      no call after them except the idempotent ``_changed``;
    - ``auto_everywhere`` (and the compiled copy of it) is recomputed from
      those sets under a lock; an update cut short is finished by the next
      ``get_backend`` (which every call with ``backend=None`` off the compiled
      fast path makes). Until then the fast path is merely off: never on
      while a block is open.

    There is no counter to leave wrong. Masking signals would not help: a
    process-directed SIGINT runs its handler in the main thread even when the
    main thread blocks it, if another thread does not.
    """

    __slots__ = ("__weakref__", "_name", "_ref", "_saved")

    def __init__(self, name: str) -> None:
        self._name = name
        self._ref = weakref.ref(self)
        self._saved: tuple[tuple[weakref.ref, str], ...] | None = None

    def __enter__(self) -> str:
        if self._saved is not None:
            raise RuntimeError("this use_backend block is already open; call use_backend again")
        ref = self._ref
        saved = tuple(entry for entry in _local.stack if entry[0]() is not None)
        self._saved = saved
        _local.stack = (*saved, (ref, self._name))
        # from here on no call is made outside this try: a signal cannot come between
        try:
            _open_overrides.add(ref)
            _changed()  # the compiled fast path off before the block runs
        except BaseException:
            _local.stack = saved
            self._saved = None
            _open_overrides.discard(ref)
            _changed()
            raise
        return self._name

    def __exit__(self, *exc_info: object) -> None:
        saved = self._saved
        if saved is None:
            return
        _local.stack = saved
        self._saved = None
        _open_overrides.discard(self._ref)
        try:
            _changed()
        except BaseException:
            _changed()  # a second try; else the next get_backend() finishes it
            raise


def use_backend(name: str) -> contextlib.AbstractContextManager[str]:
    """Use backend ``name`` for calls with ``backend=None`` inside a ``with`` block.

    The override is thread-local: other threads keep their own backend.
    Blocks nest, and the previous backend comes back on exit, exceptions
    included, KeyboardInterrupt at any moment too.

    Parameters
    ----------
    name : {"auto", "numba", "cython", "numpy"}

    Returns
    -------
    context manager
        Its ``with ... as`` target is ``name``.

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
    return _Override(check_backend_name(name))


def set_num_threads(n: int | None) -> None:
    """Set how many threads fastact's kernels may use, in every thread.

    Parameters
    ----------
    n : int or None
        A positive integer; ``1`` makes every kernel serial. A team never
        has more threads than the CPUs this process may run on, however
        large ``n`` is. ``None`` goes back to OpenMP's count (see
        :func:`get_num_threads`).

    Raises
    ------
    TypeError
        If ``n`` is not an integer or None.
    ValueError
        If ``n < 1``.

    Examples
    --------
    >>> import fastact as fa
    >>> fa.set_num_threads(1)
    >>> fa.get_num_threads()
    1
    >>> fa.set_num_threads(None)
    """
    global _num_threads, _num_threads_source
    _num_threads = None if n is None else _check_count(n, "the number of threads", 1)
    _num_threads_source = "set_num_threads"
    _changed()


def get_num_threads() -> int:
    """Return how many threads a large fastact call runs on now.

    :func:`set_num_threads`, else ``FASTACT_NUM_THREADS``, else what OpenMP
    would use (``OMP_NUM_THREADS``, or the limit of
    ``threadpoolctl.threadpool_limits``, else the CPUs this process may run
    on); never more than those CPUs, and 1 in a child forked from a process
    that had threads.

    Examples
    --------
    >>> import fastact as fa
    >>> fa.get_num_threads() >= 1
    True
    """
    return threads_and_source()[0]


def threads_and_source() -> tuple[int, str]:
    """The thread count a large call runs on, and where it comes from."""
    cpus = cpu_count()
    if _forked_serial:
        return 1, "1: this process was forked from one with threads (see the fork rule)"
    if _num_threads is not None:
        return min(
            _num_threads, cpus
        ), f"{_num_threads_source}={_num_threads}, capped at {cpus} CPUs"
    from fastact import _backends

    if _backends.is_loaded("cython"):
        n = _backends.load("cython").openmp_max_threads()
        source = "OpenMP's count (OMP_NUM_THREADS, threadpoolctl, else the CPUs)"
    else:
        n, source = _omp_num_threads() or cpus, "OMP_NUM_THREADS, else the CPUs"
    return min(n, cpus), f"{source}, capped at {cpus} CPUs"


def compiled_threads() -> int:
    """The thread setting the compiled kernels take: 0 asks OpenMP at each call."""
    if _forked_serial:
        return 1
    return 0 if _num_threads is None else min(_num_threads, cpu_count())


def _omp_num_threads() -> int | None:
    # OpenMP reads the first entry of a list such as "4,2"; a bad value is OpenMP's to report
    first = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(first) if first.isdigit() and int(first) > 0 else None


def team_size(n: int) -> int:
    """How many threads a call of ``n`` elements runs on (the backends without C use this).

    The rule is the compiled one (``fa_team`` in ``_backends/_fa_kernels.h``):
    a thread for every ``MIN_PER_THREAD`` elements, up to the thread count.
    """
    return max(1, min(get_num_threads(), n // MIN_PER_THREAD))
