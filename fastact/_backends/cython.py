"""The Cython backend: compiled C loops, vectorised and parallel with OpenMP.

The work happens in the extension ``fastact._backends._cy``, rendered by
``setup.py`` from ``_cy.pyx.tp`` and the activation table. Its NumPy ufuncs
serve every call that reaches this module: NumPy's iterator walks any layout
and ``ndim``, and hands long contiguous runs to the compiled loops whole,
which split them over an OpenMP team. Importing this module raises
ImportError when the extension is missing, which makes the backend "cannot
run" with that reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fastact._table import KERNELS

try:
    from fastact._backends import _cy
except ImportError as exc:
    # an installation holds _cy.pyx.tp too (package data); a source tree has setup.py
    # beside the package
    if (Path(__file__).resolve().parents[2] / "setup.py").is_file():
        hint = (
            "this is fastact's source tree, where the extension is not built: "
            "`pip install .` builds and installs it elsewhere (run from another "
            "directory), `python setup.py build_ext --inplace` builds it here"
        )
    else:
        hint = "this installation lacks its compiled extension: reinstall fastact"
    raise ImportError(f"the Cython extension is not available ({exc}); {hint}") from exc

# A build from another table would compute other kernels: refuse it.
if tuple(KERNELS) != tuple(_cy.KERNEL_NAMES):
    raise ImportError(
        "fastact._backends._cy was built from another activation table; rebuild it "
        "(pip install . or python setup.py build_ext --inplace)"
    )

#: OpenMP runs the parallel loops; without it every call is serial
PARALLEL_RUNTIME: str | None = "openmp" if _cy.HAVE_OPENMP else None
#: what OpenMP would use now on the calling thread
openmp_max_threads = _cy.openmp_max_threads
#: the ufunc of every kernel, by name
UFUNCS: dict[str, np.ufunc] = _cy.ufuncs()


def run(kernel: str, inputs: tuple[np.ndarray, ...], out: np.ndarray, params: tuple) -> None:
    """Compute ``kernel`` of ``inputs`` into ``out`` (see ``fastact._backends``).

    The team size comes from the settings ``fastact._config`` handed the
    extension (``_cy.configure``), as for every compiled call.
    """
    ct = np.float64 if out.dtype == np.float64 else np.float32
    UFUNCS[kernel](*inputs, *(np.asarray(p, ct) for p in params), out=out, casting="no")


#: the fused prelu backward pass (see ``fastact._api.prelu_backward``)
prelu_backward = _cy.prelu_backward


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
        "threading": "OpenMP" if _cy.HAVE_OPENMP else "none (built without OpenMP: serial only)",
        "vector ISA": _cy.cpu_level(),
    }
