"""Build the Cython backend of fastact (all other metadata is in pyproject.toml).

The kernels are rendered from ``fastact/_backends/_cy.pyx.tp`` with the element
formulas of ``fastact/_kernels.py``, so that each formula is written once. The
build probes the compiler for OpenMP (the parallel kernels degrade to serial
without it, with a warning) and for GCC ``target_clones`` (AVX2/AVX-512 copies
of the contiguous loops, chosen when the module loads, so that the default
build is portable and still uses the wide vectors of the machine it runs on).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
BACKENDS = HERE / "fastact" / "_backends"

# -O3 for the vectoriser; never -ffast-math/-Ofast (results must be
# bit-identical to the formulas) and never -march=native (the wheel must run
# on any x86-64; target_clones provides the wide-vector code instead).
UNIX_FLAGS = ["-O3"]
MSVC_FLAGS = ["/O2"]


def _load_kernels():
    """Import ``fastact/_kernels.py`` by path (the package itself needs numpy)."""
    spec = importlib.util.spec_from_file_location(
        "_fastact_kernels", BACKENDS.parent / "_kernels.py"
    )
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while creating classes
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


# The formulas are pasted into C as written; this keeps them to the subset
# that means the same in Python and C (see fastact/_kernels.py).
_TOKEN = re.compile(r"\s*(?:([xga])\b|([01])\b|([*()<>]))")


def _check_c_expr(expr: str) -> str:
    pos = 0
    while pos < len(expr.rstrip()):
        match = _TOKEN.match(expr, pos)
        if match is None:
            raise SystemExit(f"fastact: formula {expr!r} is not in the C-compatible subset")
        pos = match.end()
    return expr


def _half_operand(expr: str) -> str:
    """C code for one side of a float16 formula, as half bits."""
    if expr.strip() in ("x", "g"):
        return expr.strip() + "b"  # a bare operand is copied as bits
    return f"fa_f2h((float)({expr}))"


def render_kernels() -> Path:
    """Render ``_cy.pyx`` from its template; rewrite it only when it changes."""
    from Cython import __version__ as cython_version
    from Cython.Tempita import Template

    formulas = _load_kernels()
    kernels = []
    for index, k in enumerate(formulas.KERNELS.values()):
        for expr in (k.cond, k.then, k.other):
            _check_c_expr(expr)
        kernels.append(
            {
                "index": index,
                "name": k.name,
                "binary": len(k.inputs) == 2,
                "uses_alpha": k.uses_alpha,
                "cond": k.cond,
                "then": k.then,
                "other": k.other,
                "then_h": _half_operand(k.then),
                "other_h": _half_operand(k.other),
            }
        )
    types = [
        {"suffix": "f16", "ctype": "uint16_t", "atype": "float"},
        {"suffix": "f32", "ctype": "float", "atype": "float"},
        {"suffix": "f64", "ctype": "double", "atype": "double"},
    ]
    template = BACKENDS / "_cy.pyx.tp"
    text = Template(template.read_text(), name=str(template)).substitute(
        kernels=[_Attrs(k) for k in kernels],
        types=[_Attrs(t) for t in types],
        cython_version=cython_version,
        default_alpha=repr(float(formulas.DEFAULT_ALPHA)),
    )
    target = BACKENDS / "_cy.pyx"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target


class _Attrs(dict):
    """A dict whose keys the template reads as attributes."""

    __getattr__ = dict.__getitem__


def _compiles(compiler, source: str, extra: list[str], link: bool = False) -> bool:
    """Whether ``compiler`` builds ``source`` (as a shared object if ``link``)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(source)
        try:
            objects = compiler.compile([src], output_dir=tmp, extra_postargs=extra)
            if link:
                compiler.link_shared_object(
                    objects, os.path.join(tmp, "probe.so"), extra_postargs=extra
                )
        except Exception:  # any compiler or linker failure means "no"
            return False
    return True


_PLAIN = "int fa_probe(int x) { return x + 1; }\n"
_OPENMP = """#include <omp.h>
int fa_probe(int n) {
    int s = 0;
    #pragma omp parallel for reduction(+:s)
    for (int i = 0; i < n; i++) s += omp_get_thread_num() >= 0;
    return s;
}
"""
_CLONES = """__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void fa_probe(const float *x, float *y, long n) { for (long i = 0; i < n; i++) y[i] = 2 * x[i]; }
int fa_probe_level(void) { __builtin_cpu_init(); return __builtin_cpu_supports("x86-64-v3"); }
"""


class BuildExt(build_ext):
    """build_ext that probes the compiler before building the kernels."""

    def build_extensions(self):
        compiler = self.compiler
        msvc = compiler.compiler_type == "msvc"
        if not _compiles(compiler, _PLAIN, []):
            raise SystemExit(
                "fastact: no working C compiler was found, and the Cython backend "
                "must be compiled from source. Install one (for example gcc, or "
                "'apt-get install build-essential'; Xcode command line tools on macOS; "
                "MSVC Build Tools on Windows) and retry."
            )
        cflags = list(MSVC_FLAGS if msvc else UNIX_FLAGS)
        ldflags = []
        omp = ["/openmp"] if msvc else ["-fopenmp"]
        if _compiles(compiler, _OPENMP, omp, link=True):
            cflags += omp
            ldflags += [] if msvc else omp
        else:
            self.warn(
                "fastact: this C compiler cannot build OpenMP code; the Cython backend "
                "is built without it and its parallel kernels will run serially"
            )
            print(
                "WARNING: fastact's Cython backend is built WITHOUT OpenMP (serial only)",
                file=sys.stderr,
            )
        clones = not msvc and _compiles(compiler, _CLONES, ["-Werror"], link=True)
        for ext in self.extensions:
            ext.extra_compile_args = cflags + list(ext.extra_compile_args or [])
            ext.extra_link_args = ldflags + list(ext.extra_link_args or [])
            if clones:
                ext.define_macros.append(("FASTACT_TARGET_CLONES", "1"))
            ext.define_macros.append(("FASTACT_CFLAGS", '"' + " ".join(cflags) + '"'))
        super().build_extensions()


def _extensions() -> list[Extension]:
    import numpy
    from Cython.Build import cythonize

    render_kernels()
    ext = Extension(
        "fastact._backends._cy",
        [str((BACKENDS / "_cy.pyx").relative_to(HERE))],
        include_dirs=[numpy.get_include(), str(BACKENDS.relative_to(HERE))],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_25_API_VERSION")],
        depends=[str((BACKENDS / h).relative_to(HERE)) for h in ("_fa_half.h", "_fa_cache.h")],
    )
    return cythonize([ext], compiler_directives={"language_level": 3})


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
