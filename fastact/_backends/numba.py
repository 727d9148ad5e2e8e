"""The Numba backend: kernels generated from the formulas in ``fastact._kernels``.

For every kernel, dtype and serial/parallel choice this module writes the
source of a loop around the kernel's formula, compiles it with ``exec`` and
hands it to ``numba.njit(nogil=True, cache=True)``. Nothing is compiled at
import: each (kernel, dtype, parallel, layout) signature is compiled (or
loaded from Numba's on-disk cache) the first time a call needs it, and
:func:`warmup` does all of them, for the dispatcher to call from a background
thread. :func:`is_compiled` tells whether a call would wait for a compile.

Layouts. A call whose arrays are all C-contiguous (or all F-contiguous) runs
the 1-D contiguous loop on flat views, which LLVM vectorises to SIMD. Anything
else (slices, transposes, negative or zero strides) runs the 2-D strided loop,
with the axes ordered so that the output is walked in memory order. The
parallel kernels split the flat element range into ``nthreads`` equal chunks,
so shapes such as ``(1, n)`` and ``(n, 1)`` are split evenly too.

Values. The select is branch-free (both sides are computed, then one is
chosen) and nothing is compiled with fastmath, so every result is the formula
evaluated in IEEE arithmetic of the compute type. float16 arrays are seen as
``uint16`` (Numba 0.68 cannot type float16 on the CPU) and converted element by
element with the bit-exact code in ``_numba_half``: no float32 temporary.

Threads. A parallel kernel sets Numba's thread count (per calling thread)
to ``nthreads`` for the duration of the call and restores it afterwards.
Which threading layer Numba picks is Numba's (and the user's) choice; this
module never sets it. :data:`PARALLEL_RUNTIME` and :data:`PARALLEL_THREADSAFE`
describe the layer Numba has picked or will pick. In a process forked after
any fastact parallel kernel ran (``fastact._dispatch.parallel_allowed``), the
parallel kernels run their serial versions, because GNU OpenMP (Numba's "omp"
layer, the same libgomp as the Cython backend's) cannot run a parallel region
in such a child.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import threading
from collections.abc import Callable, Iterable
from typing import Any

import numba
import numpy as np
from numba import types
from numba.np.ufunc import parallel as _numba_parallel

from .. import _dispatch
from .._kernels import KERNELS, Kernel
from . import _numba_half

#: dtype character -> (short name, Numba element type of the arrays as seen by
#: the kernel, NumPy name of the compute type)
_DTYPES: dict[str, tuple[str, Any, str]] = {
    "e": ("f16", types.uint16, "float32"),
    "f": ("f32", types.float32, "float32"),
    "d": ("f64", types.float64, "float64"),
}
#: "contig" and "strided" loops, and in-place contiguous loops "contig_x" and
#: "contig_g" (out is x, or g): those read the aliased operand through ``out``
#: itself. Given ``x`` and ``out`` as two arguments, LLVM guards the vector
#: loop with a runtime overlap check, which in place fails, and the scalar loop
#: ran 4x slower (measured at 1e5 float32).
_LAYOUTS = ("contig", "strided", "contig_x", "contig_g")


def _layouts_of(kernel: Kernel) -> tuple[str, ...]:
    return tuple(lay for lay in _LAYOUTS if "_" not in lay or lay[-1] in kernel.inputs)


#: the threads Numba launched; a kernel never asks for more
_MAX_THREADS: int = int(numba.config.NUMBA_NUM_THREADS)


def _predict_threading_layer() -> str:
    """Return the threading layer Numba uses, without launching it if it is not yet.

    Launching it here would fix the layer before the user's own code had a
    chance to choose one, so until then this repeats Numba's selection rule.
    """
    if _numba_parallel._is_initialized:
        return str(numba.threading_layer())
    wanted = str(numba.config.THREADING_LAYER).lower()
    order = {
        "default": list(numba.config.THREADING_LAYER_PRIORITY),
        "safe": ["tbb"],
        "threadsafe": ["tbb", "omp"],
        "forksafe": ["tbb", "workqueue"],
    }.get(wanted, [wanted])
    for layer in order:
        try:
            if layer == "tbb":
                _numba_parallel._check_tbb_version_compatible()
                from numba.np.ufunc import tbbpool  # noqa: F401
            elif layer == "omp":
                from numba.np.ufunc import omppool  # noqa: F401
            return layer
        except ImportError:
            continue
    return "unknown"


def _runtime_of(layer: str) -> tuple[str, bool]:
    """Map a Numba threading layer to (``PARALLEL_RUNTIME``, ``PARALLEL_THREADSAFE``)."""
    if layer == "omp":
        # Numba's omp layer runs on the process's OpenMP runtime (GNU libgomp
        # on Linux), shared with any other OpenMP code, and Numba documents it
        # as thread safe.
        return "openmp", True
    if layer == "tbb":
        return "tbb", True
    # workqueue aborts the process when two threads launch kernels at once.
    return f"numba-{layer}", False


_LAYER = _predict_threading_layer()
#: the threading runtime the parallel kernels use
PARALLEL_RUNTIME: str | None
#: whether parallel kernels may run from several threads at once
PARALLEL_THREADSAFE: bool
PARALLEL_RUNTIME, PARALLEL_THREADSAFE = _runtime_of(_LAYER)


# --------------------------------------------------------------------------
# Source generation
# --------------------------------------------------------------------------


class _Rename(ast.NodeTransformer):
    """Rename the formula's operands and literals to the kernel's locals."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        names = {"x": "xv", "g": "gv", "a": "av"}
        return ast.copy_location(ast.Name(id=names[node.id], ctx=ast.Load()), node)

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        # Literals become constants of the compute type, so that 0/1 are
        # +0.0/1.0 in float32 or float64 and never widen the arithmetic.
        return ast.copy_location(ast.Name(id=f"c{node.value}", ctx=ast.Load()), node)


def _render(expr: str) -> str:
    return ast.unparse(_Rename().visit(ast.parse(expr, mode="eval")))


def _body(kernel: Kernel, short: str, idx: str, indent: str, alias: str | None) -> str:
    """The statements that compute one element at index ``idx``.

    The operand named ``alias`` (in place) is read from ``out``.
    """
    lines = []
    for name in kernel.inputs:
        array = "out" if name == alias else name
        if short == "f16":
            lines.append(f"{name}b = {array}[{idx}]")
            lines.append(f"{name}v = half_to_float({name}b)")
        else:
            lines.append(f"{name}v = {array}[{idx}]")
    sides = []
    for side in (kernel.then, kernel.other):
        side = side.strip()
        if short == "f16":
            # A bare operand is copied as bits; a literal is a half constant;
            # anything else is computed in float32 and rounded once.
            if side in kernel.inputs:
                sides.append(f"{side}b")
            elif side in ("0", "1"):
                sides.append(f"h{side}")
            else:
                sides.append(f"float_to_half({_render(side)})")
        else:
            sides.append(_render(side))
    lines.append(f"tv = {sides[0]}")
    lines.append(f"ov = {sides[1]}")
    lines.append(f"out[{idx}] = tv if {_render(kernel.cond)} else ov")
    return "".join(f"{indent}{line}\n" for line in lines)


def _source(
    kernel: Kernel, short: str, compute: str, layout: str, parallel: bool, fname: str
) -> str:
    """The Python source of one kernel function called ``fname``.

    A parallel kernel calls ``loop1d`` (the serial 1-D loop, compiled from
    ``_source(..., "contig", False, ...)``) on slices: Numba compiles an
    element loop written directly in a ``prange`` body to scalar code about
    ten times slower than the same loop in a function of its own, which LLVM
    vectorises.
    """
    args = ", ".join((*kernel.inputs, "out", "alpha", "nthreads"))
    head = f"def {fname}({args}):\n"
    alias = layout.partition("_")[2] or None
    if parallel:

        def call(idx: str) -> str:
            operands = ", ".join(f"{name}[{idx}]" for name in (*kernel.inputs, "out"))
            return f"loop1d({operands}, alpha, 1)\n"

        if layout.startswith("contig"):
            return head + (
                "    n = out.shape[0]\n"
                "    for c in prange(nthreads):\n"
                "        lo = c * n // nthreads\n"
                "        hi = (c + 1) * n // nthreads\n"
                "        " + call("lo:hi")
            )
        # Split the flat (row-major) range, so that every shape, (1, n) and
        # (n, 1) included, gives each thread an equal share.
        return head + (
            "    n0 = out.shape[0]\n"
            "    n1 = out.shape[1]\n"
            "    total = n0 * n1\n"
            "    for c in prange(nthreads):\n"
            "        lo = c * total // nthreads\n"
            "        hi = (c + 1) * total // nthreads\n"
            "        r = lo // n1\n"
            "        j0 = lo - r * n1\n"
            "        k = lo\n"
            "        while k < hi:\n"
            "            m = min(n1 - j0, hi - k)\n"
            "            " + call("r, j0:j0 + m") + "            k += m\n"
            "            r += 1\n"
            "            j0 = 0\n"
        )
    head += f"    av = np.{compute}(alpha)\n"
    head += f"    c0 = np.{compute}(0.0)\n    c1 = np.{compute}(1.0)\n"
    if short == "f16":
        head += "    h0 = np.uint16(0x0000)\n    h1 = np.uint16(0x3C00)\n"
    if layout.startswith("contig"):
        loop = "    for i in range(out.shape[0]):\n" + _body(kernel, short, "i", " " * 8, alias)
    else:
        loop = (
            "    for r in range(out.shape[0]):\n        for j in range(out.shape[1]):\n"
        ) + _body(kernel, short, "r, j", " " * 12, alias)
    return head + loop


def _helpers_digest() -> str:
    """A digest of the code a generated kernel depends on besides its own source.

    Numba's cache checks only the source file named by the function (this
    one); folding the helper module's text into the function name makes a
    change there miss the cache instead of loading stale machine code.
    """
    h = hashlib.sha256()
    for path in (_numba_half.__file__,):
        with open(path, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


_HELPERS_DIGEST = _helpers_digest()


def _signature(kernel: Kernel, dtype_char: str, layout: str) -> tuple[Any, ...]:
    elem = _DTYPES[dtype_char][1]
    ndim, lay = (1, "C") if layout.startswith("contig") else (2, "A")
    inp = types.Array(elem, ndim, lay, readonly=True)
    return (*(inp for _ in kernel.inputs), types.Array(elem, ndim, lay), types.float64, types.intp)


class _Impl:
    """One (kernel, dtype, parallel) kernel: its dispatcher and compiled entries."""

    def __init__(self, kernel: Kernel, dtype_char: str, parallel: bool) -> None:
        self.kernel = kernel
        self.dtype_char = dtype_char
        self.parallel = parallel
        self.entries: dict[str, Callable[..., None]] = {}
        self._dispatchers: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _dispatcher(self, layout: str) -> Any:
        short, _, compute = _DTYPES[self.dtype_char]
        mode = "par" if self.parallel else "ser"
        stem = f"{self.kernel.name}_{short}_{layout}_{mode}"
        probe = _source(self.kernel, short, compute, layout, self.parallel, stem)
        # the parallel kernel runs the serial loop of the same layout on chunks
        loop_layout = layout if layout.startswith("contig") else "contig"
        loop_src = _source(self.kernel, short, compute, loop_layout, False, f"{stem}_loop1d")
        digest = hashlib.sha256((probe + loop_src + _HELPERS_DIGEST).encode()).hexdigest()[:12]
        fname = f"{stem}_{digest}"
        src = _source(self.kernel, short, compute, layout, self.parallel, fname)
        namespace: dict[str, Any] = {
            "np": np,
            "prange": numba.prange,
            "half_to_float": _numba_half.half_to_float,
            "float_to_half": _numba_half.float_to_half,
            "__name__": __name__,
        }
        # Compiling under this file's name gives Numba's cache a real source
        # file to locate and stamp; the digest in the name keeps one cache
        # entry per distinct generated source.
        if self.parallel:
            exec(compile(loop_src, __file__, "exec"), namespace)
            # Compiled into the parallel kernel (and cached with it).
            namespace["loop1d"] = numba.njit(nogil=True)(namespace[f"{stem}_loop1d"])
        exec(compile(src, __file__, "exec"), namespace)
        func = namespace[fname]
        options = {"nogil": True, "parallel": self.parallel}
        try:
            return numba.njit(cache=True, **options)(func)
        except RuntimeError:
            # No writeable cache directory anywhere: compile in memory only.
            return numba.njit(cache=False, **options)(func)

    def entry(self, layout: str) -> Callable[..., None]:
        """Return the compiled entry point for ``layout``, compiling it if needed."""
        fn = self.entries.get(layout)
        if fn is not None:
            return fn
        with self._lock:
            if layout not in self.entries:
                disp = self._dispatcher(layout)
                sig = _signature(self.kernel, self.dtype_char, layout)
                disp.compile(sig)
                # The compiled entry point skips the dispatcher's type lookup
                # (about 0.5 us a call). It trusts its arguments' dtype and
                # ndim, which the wrappers below guarantee; it also lets
                # float16 arrays in as uint16 without a view.
                self._dispatchers[layout] = disp
                self.entries[layout] = disp.overloads[tuple(sig)].entry_point
        return self.entries[layout]


_IMPLS: dict[tuple[str, bool], dict[str, _Impl]] = {
    (name, parallel): {ch: _Impl(kernel, ch, parallel) for ch in _DTYPES}
    for name, kernel in KERNELS.items()
    for parallel in (False, True)
}


# --------------------------------------------------------------------------
# Calling conventions
# --------------------------------------------------------------------------


def _strided(arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Views of ``arrays`` (out last) as 2-D, walking ``out`` in memory order."""
    if arrays[0].ndim == 1:
        arrays = tuple(a[np.newaxis, :] for a in arrays)
    rows, cols = arrays[-1].shape
    s0, s1 = arrays[-1].strides
    # Make the inner loop the long one when the other axis has length 1, and
    # otherwise the one along which ``out`` is densest.
    if cols == 1 or (rows > 1 and abs(s0) < abs(s1)):
        arrays = tuple(a.T for a in arrays)
    return arrays


def _threads(nthreads: int, size: int) -> int:
    return max(1, min(nthreads, _MAX_THREADS, size))


def _make_kernel(name: str, parallel: bool) -> Callable[..., None]:
    impls = _IMPLS[(name, parallel)]
    serial = _IMPLS[(name, False)]
    inputs = KERNELS[name].inputs

    def contig_layout(arrays: tuple[np.ndarray, ...]) -> str:
        # in place (the output is one of the inputs): the loop without an alias check
        for operand, a in zip(inputs, arrays, strict=False):
            if a is arrays[-1]:
                return f"contig_{operand}"
        return "contig"

    def pick(dtype_char: str, layout: str, n: int) -> tuple[Callable[..., None], int]:
        # the dispatcher's fork guard, also for callers of get_kernel (the registry)
        if parallel and n > 1 and _dispatch.parallel_allowed():
            _dispatch.parallel_started()
            return impls[dtype_char].entry(layout), n
        return serial[dtype_char].entry(layout), 1

    def run(*arrays: np.ndarray, alpha: float, nthreads: int) -> None:
        out = arrays[-1]
        size = out.size
        if size == 0:
            return
        n = _threads(nthreads, size)
        if all(a.flags.c_contiguous for a in arrays):
            layout = contig_layout(arrays)
            if out.ndim != 1:
                arrays = tuple(a.reshape(-1) for a in arrays)
        elif all(a.flags.f_contiguous for a in arrays):
            layout = contig_layout(arrays)
            arrays = tuple(a.T.reshape(-1) for a in arrays)
        else:
            arrays = _strided(arrays)
            layout = "strided"
        fn, n = pick(out.dtype.char, layout, n)
        if n == 1:
            fn(*arrays, alpha, 1)
            return
        # Numba's thread count is per calling thread: set it for this call
        # only (restoring what the caller's own Numba code had), and the
        # kernel gives each of the n threads one equal chunk. Setting it
        # inside the jitted kernel would make it uncacheable.
        saved = numba.get_num_threads()
        numba.set_num_threads(n)
        try:
            fn(*arrays, alpha, n)
        finally:
            numba.set_num_threads(saved)

    if len(KERNELS[name].inputs) == 1:
        fast = serial

        def unary(x: np.ndarray, out: np.ndarray, alpha: float, nthreads: int) -> None:
            # The common small call (serial, 1-D, contiguous) takes the
            # shortest path; everything else goes through run().
            if not parallel and x.ndim == 1 and x.flags.c_contiguous and out.flags.c_contiguous:
                fn = fast[x.dtype.char].entries.get("contig_x" if x is out else "contig")
                if fn is not None:
                    fn(x, out, alpha, 1)
                    return
            run(x, out, alpha=alpha, nthreads=nthreads)

        kernel = unary
    else:
        fast = serial

        def binary(
            g: np.ndarray, x: np.ndarray, out: np.ndarray, alpha: float, nthreads: int
        ) -> None:
            if (
                not parallel
                and x.ndim == 1
                and g.flags.c_contiguous
                and x.flags.c_contiguous
                and out.flags.c_contiguous
            ):
                layout = "contig_g" if g is out else "contig_x" if x is out else "contig"
                fn = fast[x.dtype.char].entries.get(layout)
                if fn is not None:
                    fn(g, x, out, alpha, 1)
                    return
            run(g, x, out, alpha=alpha, nthreads=nthreads)

        kernel = binary
    kernel.__name__ = f"{name}_{'parallel' if parallel else 'serial'}"
    kernel.__qualname__ = kernel.__name__
    kernel.__doc__ = f"The Numba {'parallel' if parallel else 'serial'} {name} kernel."
    return kernel


_KERNELS: dict[tuple[str, bool], Callable[..., None]] = {}
_kernels_lock = threading.Lock()


def get_kernel(name: str, parallel: bool) -> Callable[..., None]:
    """Return the kernel ``name`` (see ``fastact._backends`` for the contract).

    Parameters
    ----------
    name : str
        A key of ``fastact._kernels.KERNELS``.
    parallel : bool
        Whether to return the multi-threaded kernel.

    Returns
    -------
    callable
        ``k(x, out, alpha, nthreads)`` or ``k(g, x, out, alpha, nthreads)``.
        It compiles (or loads from cache) the signature it needs on first use.
    """
    key = (name, bool(parallel))
    fn = _KERNELS.get(key)
    if fn is None:
        if name not in KERNELS:
            raise KeyError(f"unknown kernel {name!r}")
        with _kernels_lock:
            fn = _KERNELS.setdefault(key, _make_kernel(name, bool(parallel)))
    return fn


def _dtype_char(dtype: Any) -> str:
    ch = np.dtype(dtype).char
    if ch not in _DTYPES:
        raise TypeError(f"the numba backend has no kernels for dtype {np.dtype(dtype)}")
    return ch


def is_compiled(
    name: str,
    dtype: Any,
    parallel: bool | None = None,
    layout: str | None = None,
) -> bool:
    """Whether a call would run without waiting for a JIT compile or cache load.

    Parameters
    ----------
    name : str
        A key of ``fastact._kernels.KERNELS``.
    dtype : dtype-like
        float16, float32 or float64.
    parallel : bool, optional
        Only the parallel (True) or serial (False) kernel; both when None.
        A parallel kernel also needs its serial twin (small or forked calls).
    layout : {"contig", "strided", "contig_x", "contig_g"}, optional
        Only this loop; both when None.

    Returns
    -------
    bool
    """
    ch = _dtype_char(dtype)
    modes = (False, True) if parallel is None else (False, bool(parallel))
    layouts = _layouts_of(KERNELS[name]) if layout is None else (layout,)
    return all(lay in _IMPLS[(name, p)][ch].entries for p in modes for lay in layouts)


def warmup(
    names: Iterable[str] | None = None,
    dtypes: Iterable[Any] | None = None,
    parallel: Iterable[bool] = (False, True),
    layouts: Iterable[str] = _LAYOUTS,
) -> None:
    """Compile (or load from Numba's cache) every kernel signature.

    Safe to call from a background thread while kernels are being called:
    each signature is compiled once, under a lock. float32 goes first, then
    float64, then float16, as that is the likely order of need.

    Parameters
    ----------
    names : iterable of str, optional
        Kernels to compile; all when None.
    dtypes : iterable of dtype-like, optional
        Dtypes to compile; float32, float64 and float16 when None.
    parallel : iterable of bool
        Which of the serial (False) and parallel (True) kernels to compile.
    layouts : iterable of str
        Which loops to compile (see ``_LAYOUTS``); in-place loops only for
        kernels that have the aliased operand.
    """
    chars = ["f", "d", "e"] if dtypes is None else [_dtype_char(d) for d in dtypes]
    names = list(KERNELS) if names is None else list(names)
    for ch in chars:
        for lay in layouts:
            for par in parallel:
                for name in names:
                    if lay in _layouts_of(KERNELS[name]):
                        _IMPLS[(name, par)][ch].entry(lay)


def threading_layer() -> str:
    """The Numba threading layer in use (or the one Numba will pick)."""
    return _predict_threading_layer()


def info() -> dict[str, str]:
    """What ``show_config()`` prints for this backend.

    Returns
    -------
    dict of str to str
    """
    compiled = sum(len(impl.entries) for per in _IMPLS.values() for impl in per.values())
    total = sum(len(_layouts_of(k)) for k in KERNELS.values()) * 2 * len(_DTYPES)
    layer = threading_layer()
    if not _numba_parallel._is_initialized:
        layer += " (not launched yet)"
    return {
        "numba": numba.__version__,
        "llvmlite": importlib.metadata.version("llvmlite"),
        "threading layer": layer,
        "parallel runtime": f"{PARALLEL_RUNTIME} (threadsafe: {PARALLEL_THREADSAFE})",
        "max threads": str(_MAX_THREADS),
        "cache dir": str(numba.config.CACHE_DIR or "next to the source (__pycache__)"),
        "compiled signatures": f"{compiled}/{total}",
        "float16": "computed in float32 via bit-exact uint16 conversion",
    }
