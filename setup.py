"""Build the Cython backend of fastact (all other metadata is in pyproject.toml).

``fastact/_backends/_cy.pyx.tp`` is rendered with the kernels of the
activation table (``fastact/_table.py``): Tempita stamps out each kernel's
loops around its element function in ``_fa_elem.h``. The build probes the
compiler for OpenMP (without it the kernels run serially, and the build says
so loudly) and for GCC ``target_clones`` (AVX2/AVX-512 copies of the
contiguous loops, chosen when the module loads, so that one portable build
still uses the wide vectors of the machine it runs on).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
BACKENDS = HERE / "fastact" / "_backends"

# -O3 for the vectoriser. Never -ffast-math/-Ofast, and no contraction of
# a * b + c into one fused rounding: results must be the formulas' bits. Never
# -march=native: the wheel must run on any x86-64 (target_clones instead).
UNIX_FLAGS = ["-O3", "-ffp-contract=off"]
MSVC_FLAGS = ["/O2", "/fp:precise"]


def _load_table():
    """Import ``fastact/_table.py`` by path: the package itself needs NumPy."""
    spec = importlib.util.spec_from_file_location("_fastact_table", HERE / "fastact" / "_table.py")
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while creating classes
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


class _Attrs(dict):
    """A dict whose keys the template reads as attributes."""

    __getattr__ = dict.__getitem__


class _Type:
    """One dtype's loops: C types, NumPy type codes, and how an element is computed."""

    def __init__(self, suffix: str, ctype: str, ptype: str, npy: str, npy_param: str):
        self.suffix, self.ctype, self.ptype = suffix, ctype, ptype
        #: the dtype index of the loop tables: float16, float32, float64
        self.index = ("f16", "f32", "f64").index(suffix)
        self.npy, self.npy_param = npy, npy_param

    def load(self, element: str) -> str:
        """C for an element's value in the compute type."""
        return f"fa_h2f({element})" if self.suffix == "f16" else element

    def elem(self, k: _Attrs, i: str, g: str = "g", x: str = "x") -> str:
        """C for ``f(g[i], x[i], p)``; float16 goes through float32, rounded once."""
        return self.elem_named(k.name, i, g, x, k.backward)

    def elem_named(self, name: str, i: str, g: str, x: str, backward: bool = True) -> str:
        """C for kernel ``name``'s element function at index ``i``."""
        ops = [self.load(f"{g}[{i}]")] * backward + [self.load(f"{x}[{i}]")]
        if self.suffix == "f16":
            return f"fa_f2h(fa_{name}_f32({', '.join(ops)}, p))"
        return f"fa_{name}_{self.suffix}({', '.join(ops)}, p)"


TYPES = [
    _Type("f16", "npy_half", "float", "NPY_HALF", "NPY_FLOAT"),
    _Type("f32", "float", "float", "NPY_FLOAT", "NPY_FLOAT"),
    _Type("f64", "double", "double", "NPY_DOUBLE", "NPY_DOUBLE"),
]


def render_kernels() -> Path:
    """Render ``_cy.pyx`` from its template; rewrite it only when it changes."""
    from Cython import __version__ as cython_version
    from Cython.Tempita import Template

    table = _load_table()
    kernels = []
    for name in table.KERNELS:
        act = table.activation_of(name)
        backward = table.is_backward(name)
        arrays = ["grad_out", "x"] if backward else ["x"]
        names = [p.name for p in act.params]
        defaults = [f"{p.name}={p.literal}" for p in act.params]
        # the front passes a choice on as its index, or None (the general path decides)
        passed = [f"_choice({p.name}, {p.choices!r})" if p.choices else p.name for p in act.params]
        if any(p.choices for p in act.params[1:]):
            raise ValueError(f"{name}: only the first parameter may be a choice")
        kernels.append(
            _Attrs(
                index=len(kernels),
                name=name,
                backward=backward,
                arity=len(arrays),
                nparams=len(act.params),
                nin=len(arrays) + len(act.params),
                signature=", ".join(arrays + defaults),
                call=", ".join(arrays + names),
                g=arrays[0],
                # what the front checks before it serves a call (else the general
                # path raises): the table's requires, and nonzero parameters
                guard=" and ".join(
                    ([f"({act.requires[0]})"] if act.requires else [])
                    + [f"{p.name} != 0" for p in act.params if p.nonzero]
                )
                or "True",
                p0=passed[0] if passed else "None",
                # a choice comes first (the loops are stamped once per value)
                choices=len(act.params[0].choices) if act.params else 0,
                smooth=act.family == "smooth",
                p1=passed[1] if len(passed) > 1 else "None",
            )
        )
    template = BACKENDS / "_cy.pyx.tp"
    text = Template(template.read_text(), name=str(template)).substitute(
        kernels=kernels,
        types=TYPES,
        cython_version=cython_version,
    )
    target = BACKENDS / "_cy.pyx"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target


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
_NO_OPENMP = """
**********************************************************************
WARNING: fastact is being built WITHOUT OpenMP: this C compiler cannot
build OpenMP code, so every kernel will run on one thread. Install a
compiler with OpenMP (gcc, or clang with libomp) and reinstall to use
all cores. `fastact info` shows how the installed package was built.
**********************************************************************
"""


def _warn_loudly(text: str) -> None:
    """Print ``text`` on stderr and, when that is not a terminal, on the terminal too.

    pip captures a build's output and shows it only with ``-v`` or when the
    build fails (PEP 517 gives a backend no channel for warnings), so a
    warning on stderr alone is never seen by ``pip install``. The
    controlling terminal, where there is one, is outside that capture.
    """
    print(text, file=sys.stderr, flush=True)
    if os.name != "posix" or sys.stderr.isatty():
        return
    try:
        with open("/dev/tty", "w") as tty:
            tty.write(text)
    except OSError:  # no controlling terminal (CI, cron, ...): stderr is all there is
        pass


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
                "MSVC Build Tools on Windows) and retry, or install a binary wheel."
            )
        cflags = list(MSVC_FLAGS if msvc else UNIX_FLAGS)
        ldflags = []
        omp = ["/openmp"] if msvc else ["-fopenmp"]
        if _compiles(compiler, _OPENMP, omp, link=True):
            cflags += omp
            ldflags += [] if msvc else omp
        else:
            self.warn("fastact: the Cython backend is built without OpenMP (serial only)")
            _warn_loudly(_NO_OPENMP)
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
    headers = ("_fa_half.h", "_fa_kernels.h", "_fa_elem.h", "_fa_math.h")
    ext = Extension(
        "fastact._backends._cy",
        [str((BACKENDS / "_cy.pyx").relative_to(HERE))],
        include_dirs=[numpy.get_include(), str(BACKENDS.relative_to(HERE))],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_25_API_VERSION")],
        depends=[str((BACKENDS / h).relative_to(HERE)) for h in headers] + ["fastact/_table.py"],
    )
    return cythonize([ext], compiler_directives={"language_level": 3})


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
