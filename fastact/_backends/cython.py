"""The Cython backend: compiled C loops, vectorised and parallel with OpenMP.

The work happens in the extension ``fastact._backends._cy`` (rendered by
``setup.py`` from ``_cy.pyx.tp`` and the formulas in ``fastact._kernels``);
this module only adapts it to the backend contract of ``fastact._backends``.
Importing it raises ImportError when the extension was not built, which makes
the backend "cannot run" with that reason.

Besides ``get_kernel`` it offers ``bind``, which returns the compiled fronts
of the public functions (see ``fastact._api``): C functions that serve the
common call (plain C-contiguous ndarrays of one native float dtype) whole,
serial or parallel as the compiled timing policy says, and pass every other
call to the Python function; and ``timings`` for ``show_config``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastact import _dispatch
from fastact._kernels import KERNELS

try:
    from fastact._backends import _cy
except ImportError as exc:
    from pathlib import Path  # only here: import fastact loads this module

    here = Path(__file__).resolve().parent
    hint = (
        " (this is a source checkout: the extension is built by `pip install .`, "
        "which installs elsewhere; run from another directory, or build in place "
        "with `python setup.py build_ext --inplace`)"
        if (here / "_cy.pyx.tp").exists() and not any(here.glob("_cy.*.so"))
        else ""
    )
    raise ImportError(f"the Cython extension is not built: {exc}{hint}") from exc

from fastact._backends._cy import (
    HAVE_OPENMP,
    HAVE_STREAM,
    bind,
    empty_like,
    result_cache,
    timings,
)

__all__ = [
    "HAVE_OPENMP",
    "HAVE_STREAM",
    "PARALLEL_RUNTIME",
    "PARALLEL_THREADSAFE",
    "bind",
    "empty_like",
    "get_kernel",
    "info",
    "result_cache",
    "timings",
]

# The extension was rendered from the formulas; a stale build would compute
# old formulas, so refuse it rather than give wrong numbers (or time with
# another policy than the dispatcher's reference).
if tuple(KERNELS) != tuple(_cy.KERNEL_NAMES) or _cy.TIMING_WINDOW != _dispatch.WINDOW:
    raise ImportError(
        f"fastact._backends._cy was built from other kernels ({_cy.KERNEL_NAMES}) or "
        f"another timing window ({_cy.TIMING_WINDOW}); rebuild it (pip install . or "
        "python setup.py build_ext --inplace)"
    )

#: OpenMP runs the parallel kernels; without it they are the serial ones
PARALLEL_RUNTIME: str | None = "openmp" if HAVE_OPENMP else None
#: every call owns its OpenMP team, so concurrent calls from threads are safe
PARALLEL_THREADSAFE = True

_SERIAL = {name: getattr(_cy, f"{name}_serial") for name in KERNELS}
_PARALLEL = {name: getattr(_cy, f"{name}_parallel") for name in KERNELS}


def get_kernel(name: str, parallel: bool) -> Callable[..., None]:
    """Return the compiled kernel ``name``.

    Parameters
    ----------
    name : str
        A key of ``fastact._kernels.KERNELS``.
    parallel : bool
        Whether the kernel may use up to ``nthreads`` OpenMP threads (it
        stays on one thread for arrays too small to gain from more).

    Returns
    -------
    callable
        ``k(x, out, alpha, nthreads)`` or ``k(g, x, out, alpha, nthreads)``.
    """
    return (_PARALLEL if parallel else _SERIAL)[name]


def info() -> dict[str, str]:
    """Describe this backend for ``show_config``.

    Returns
    -------
    dict of str to str
        Build (Cython, compiler, flags, OpenMP) and runtime (vector ISA) facts.
    """
    return {
        "cython": _cy.BUILD_CYTHON,
        "compiler": _cy.BUILD_COMPILER,
        "cflags": _cy.BUILD_CFLAGS,
        "threading": "OpenMP" if HAVE_OPENMP else "none (built without OpenMP: serial only)",
        "vector ISA": _cy.cpu_level(),
        "streaming stores": "yes" if HAVE_STREAM else "no (GCC or Clang on x86-64 only)",
    }
