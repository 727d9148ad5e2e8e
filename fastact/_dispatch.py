"""The dispatcher: which backend serves a call, and on how many threads.

The rules ``backend="auto"`` follows (``rules()`` says them for ``show_config``):

1. Cython when its extension is built: compiled ahead of time, it never
   makes a call wait. Calls on C-contiguous arrays of one float dtype are
   served whole by its compiled fronts (``fastact._api``); every other layout
   goes through its NumPy ufuncs.
2. Without it, NumPy serves while Numba is imported and compiled in a
   background thread; Numba takes over once every kernel is ready. Numba is
   never imported by ``import fastact``.
3. Serial or parallel: from ``2 * MIN_PER_THREAD`` elements a call may run
   on a team (a thread for every ``MIN_PER_THREAD`` elements, up to
   ``fastact.get_num_threads``). The compiled kernels time both, per kernel,
   dtype and power-of-two size, and run the faster: where other processes
   hold the other cores, a team waits for a descheduled thread (5 ms against
   7.5 us measured on a 2-core VM), so they go serial there. The policy lives
   in C (``fa_run_timed`` in ``_cy.pyx.tp``); the Numba backend, which serves
   only where the extension is not built, takes the team size from here.
4. The fork rule (``fastact._config``): a child forked from a process that
   had threads runs serially.
"""

from __future__ import annotations

import os
import threading
from types import ModuleType

from fastact import _backends, _config

_numba_state = "idle"  # idle -> warming -> ready | failed
_state_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _numba_state, _state_lock
    _state_lock = threading.Lock()
    if _numba_state == "warming":
        # the warm-up thread did not survive the fork, and Numba may be half
        # set up: this child stays with what it can run now
        _numba_state = "failed"


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def resolve(backend: str) -> ModuleType:
    """Return the backend module that serves a call with ``backend`` (a checked name).

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
        _start_numba_warmup()
    return module


def execute(
    module: ModuleType,
    kernel: str,
    inputs: tuple,
    out: object,
    params: tuple[float, ...],
) -> None:
    """Run ``kernel`` of ``module`` with the team size the rules give."""
    if module.__name__.endswith(".numba"):
        module.run(kernel, inputs, out, params, _config.team_size(out.size))  # type: ignore[attr-defined]
    else:
        module.run(kernel, inputs, out, params)


def _start_numba_warmup() -> None:
    global _numba_state
    with _state_lock:
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
    needs nothing; Numba compiles its kernels on first use. ``backend="auto"``
    never makes a call wait for that: it serves calls with what is ready and
    takes Numba over once compiled in the background. Call this up front in
    programs that call ``backend="numba"``.

    Parameters
    ----------
    backend : {None, "auto", "cython", "numba", "numpy"}, optional
        None: every backend that can run here. ``"auto"``: the backend
        ``auto`` would use. A backend name: that backend.

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
        with _state_lock:
            _numba_state = "ready"


def rules() -> list[str]:
    """The rules ``backend="auto"`` follows, as sentences for ``show_config``."""
    if _backends.status("cython") is None:
        first = "cython: compiled ahead of time; other layouts through its NumPy ufuncs"
    else:
        first = f"cython cannot run: numpy serves until numba is compiled (numba: {_numba_state})"
    return [
        f"1. {first}",
        f"2. a thread for every {_config.MIN_PER_THREAD} elements, up to the thread count; "
        "compiled calls time serial against the team per kernel, dtype and size, and run "
        "the faster (the slower is timed again at most a few percent of the time)",
        "3. in a child forked from a process with threads: serial",
    ]
