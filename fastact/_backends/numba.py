"""The Numba backend: the element functions as plain Python, compiled by Numba.

Each kernel of ``fastact._table`` has an element function below, under its
name, written once for every dtype: ``like(x, c)`` is the constant ``c`` in
``x``'s type, so that float32 stays float32 and a side that is an operand
keeps its bits (NaN payloads, the sign of zero). Around each, Numba compiles
a contiguous loop, and a parallel one that runs it on chunks; float16 arrays
are seen as ``uint16`` (Numba cannot type float16) and converted element by
element with the bit-exact code of ``_numba_half``, computing in float32.

Nothing is compiled at import. Each (kernel, dtype) loop is compiled the
first time a call needs it; :func:`warmup` compiles them all, for the
dispatcher to call from a background thread. Arrays that are not contiguous
alike are copied to contiguous ones first (one NumPy pass each way).

Threads: a parallel loop sets Numba's thread count (per calling thread) for
the call and restores it after. Which threading layer Numba uses is Numba's
and the user's choice; a layer that cannot load makes parallel calls raise
``RuntimeError`` saying so.
"""

from __future__ import annotations

import importlib.metadata
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload, register_jitable

from fastact._table import KERNELS, activation_of, is_backward

from . import _numba_half
from . import numpy as _npb

if numba.config.DISABLE_JIT:
    # numba.njit then returns the Python functions: loops at Python speed
    raise ImportError(
        "Numba's compiler is switched off (NUMBA_DISABLE_JIT=1), so its kernels would "
        "run as Python loops; unset NUMBA_DISABLE_JIT to use this backend"
    )

#: this backend's parallel loops run on Numba's threading layer
PARALLEL_RUNTIME: str | None = "numba"


def like(x, value):
    """``value`` in the type of ``x`` (inside jitted code)."""
    return type(x)(value)


@overload(like, inline="always")
def _like(x, value):
    kind = x
    return lambda x, value: kind(value)


_jit = numba.njit(inline="always")


@_jit
def relu(x, p):
    return like(x, 0) if x < 0 else x


@_jit
def relu_grad(x, p):
    return like(x, 1) if x > 0 else like(x, 0)


@_jit
def relu_backward(g, x, p):
    return g if x > 0 else like(g, 0)


@_jit
def leaky_relu(x, p):
    return x if x > 0 else p[0] * x


@_jit
def leaky_relu_grad(x, p):
    return like(x, 1) if x > 0 else p[0]


@_jit
def leaky_relu_backward(g, x, p):
    return g if x > 0 else p[0] * g


@_jit
def relu6(x, p):
    return like(x, 0) if x < 0 else (like(x, 6) if x > 6 else x)


@_jit
def relu6_grad(x, p):
    return like(x, 1) if (x > 0) & (x < 6) else like(x, 0)


@_jit
def relu6_backward(g, x, p):
    return g if (x > 0) & (x < 6) else like(g, 0)


@_jit
def hardtanh(x, p):
    return p[0] if x < p[0] else (p[1] if x > p[1] else x)


@_jit
def hardtanh_grad(x, p):
    return like(x, 1) if (x > p[0]) & (x < p[1]) else like(x, 0)


@_jit
def hardtanh_backward(g, x, p):
    return g if (x > p[0]) & (x < p[1]) else like(g, 0)


@_jit
def hardsigmoid(x, p):
    t = x + like(x, 3)
    return (like(x, 0) if t < 0 else (like(x, 6) if t > 6 else t)) / like(x, 6)


@_jit
def hardsigmoid_grad(x, p):
    return like(x, 1) / like(x, 6) if (x > -3) & (x < 3) else like(x, 0)


@_jit
def hardsigmoid_backward(g, x, p):
    return g * (like(g, 1) / like(g, 6)) if (x > -3) & (x < 3) else like(g, 0)


@_jit
def hardswish(x, p):
    t = x + like(x, 3)
    return (x * (like(x, 0) if t < 0 else (like(x, 6) if t > 6 else t))) / like(x, 6)


@_jit
def hardswish_grad(x, p):
    if x <= -3:
        return like(x, 0)
    return x / like(x, 3) + like(x, 0.5) if x < 3 else like(x, 1)


@_jit
def hardswish_backward(g, x, p):
    if x <= -3:
        return like(g, 0)
    return g * (x / like(x, 3) + like(x, 0.5)) if x < 3 else g


# The smooth family: the float64 functions of the NumPy backend (double-double
# arithmetic, the same operations as the C of _fa_math.h, so the same bits),
# compiled here for scalars. Their three array primitives get scalar versions;
# every other function is registered as is. float32 calls the float64
# function and rounds once (``like``); float16 goes through float32, as in C.


@intrinsic
def _bitcast_u64(typingctx, x):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.uint64(types.float64), codegen


@intrinsic
def _bitcast_f64(typingctx, u):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.uint64), codegen


@overload(_npb._bits)
def _bits(x):
    return lambda x: _bitcast_u64(np.float64(x))


@overload(_npb._dbl)
def _dbl(u):
    return lambda u: _bitcast_f64(np.uint64(u))


@overload(_npb._sel)
def _sel(c, a, b):
    return lambda c, a, b: np.float64(a) if c else np.float64(b)


for _f in _npb.SHARED:
    if _f not in (_npb._bits, _npb._dbl, _npb._sel):
        # IEEE division (x / 0 is inf or NaN, as in C), not Python's exception
        register_jitable(error_model="numpy")(_f)


@_jit
def _d(v):
    return np.float64(v)


@_jit
def _nan_x(x, r):
    # a NaN x comes out as itself, as in the C kernels
    return x if x != x else r


def _smooth_element(kernel: str) -> Any:
    """The element function of a smooth kernel: its float64 function, rounded once."""
    f64 = getattr(_npb, f"{kernel}_f64")
    nparams = len(activation_of(kernel).params)
    if is_backward(kernel):
        if nparams == 0:
            return _jit(lambda g, x, p: _nan_x(x, like(g, f64(_d(g), _d(x)))))
        if nparams == 1:
            return _jit(lambda g, x, p: _nan_x(x, like(g, f64(_d(g), _d(x), _d(p[0])))))
        return _jit(lambda g, x, p: _nan_x(x, like(g, f64(_d(g), _d(x), _d(p[0]), _d(p[1])))))
    if nparams == 0:
        return _jit(lambda x, p: _nan_x(x, like(x, f64(_d(x)))))
    if nparams == 1:
        return _jit(lambda x, p: _nan_x(x, like(x, f64(_d(x), _d(p[0])))))
    return _jit(lambda x, p: _nan_x(x, like(x, f64(_d(x), _d(p[0]), _d(p[1])))))


for _kernel in KERNELS:
    if activation_of(_kernel).family == "smooth":
        globals()[_kernel] = _smooth_element(_kernel)


def _loops(kernel: str, half: bool) -> tuple[Any, Any]:
    """The serial and parallel contiguous loops of ``kernel``: ``loop(g, x, out, p[, n])``."""
    elem = globals()[kernel]
    h2f, f2h = _numba_half.half_to_float, _numba_half.float_to_half
    if is_backward(kernel):
        if half:

            @_jit
            def one(g, x, p):
                return f2h(elem(h2f(g), h2f(x), p))
        else:

            @_jit
            def one(g, x, p):
                return elem(g, x, p)
    elif half:

        @_jit
        def one(g, x, p):
            return f2h(elem(h2f(x), p))
    else:

        @_jit
        def one(g, x, p):
            return elem(x, p)

    @numba.njit(nogil=True)
    def serial(g, x, out, p):
        for i in range(out.shape[0]):
            out[i] = one(g[i], x[i], p)

    @numba.njit(nogil=True, parallel=True)
    def parallel(g, x, out, p, nthreads):
        n = out.shape[0]
        for c in numba.prange(nthreads):
            lo = c * n // nthreads
            hi = (c + 1) * n // nthreads
            serial(g[lo:hi], x[lo:hi], out[lo:hi], p)

    @numba.njit(nogil=True)
    def each(g, x, out, p0, p1):
        # parameters that vary element by element (prelu's weight along its axis)
        for i in range(out.shape[0]):
            out[i] = one(g[i], x[i], (p0[i], p1[i]))

    return serial, parallel, each


class _Kernel:
    """One kernel's loops for one dtype, compiled on first use."""

    def __init__(self, kernel: str, dtype_char: str) -> None:
        self.kernel, self.dtype_char = kernel, dtype_char
        self.serial: Callable[..., None] | None = None
        self.parallel: Callable[..., None] | None = None
        self.each: Callable[..., None] | None = None
        self._lock = threading.Lock()

    def compile(self) -> None:
        with self._lock:
            if self.serial is not None:
                return
            half = self.dtype_char == "e"
            elem = (
                types.uint16 if half else types.float32 if self.dtype_char == "f" else types.float64
            )
            ct = types.float64 if self.dtype_char == "d" else types.float32
            arr = types.Array(elem, 1, "C")
            ro = types.Array(elem, 1, "C", readonly=True)
            p = types.UniTuple(ct, 2)
            serial, parallel, each = _loops(self.kernel, half)
            # inputs are passed read-only (``run``): one signature each to compile
            serial.compile((ro, ro, arr, p))
            self.parallel = _compiled_parallel(parallel, [(ro, ro, arr, p, types.intp)])
            self.each = each  # compiled on the first call that needs it
            self.serial = serial


#: why the parallel loops cannot run (Numba's threading layer did not load), else None
no_parallel: str | None = None


def _compiled_parallel(parallel: Any, signatures: list[tuple]) -> Any:
    """``parallel`` compiled for ``signatures``, or None if Numba has no threading layer."""
    global no_parallel
    if no_parallel is not None:
        return None
    try:
        for signature in signatures:
            parallel.compile(signature)
    except ValueError as exc:  # e.g. NUMBA_THREADING_LAYER=tbb without tbb installed
        if "threading layer" not in str(exc):
            raise
        no_parallel = " ".join(str(exc).split())
        warnings.warn(
            f"fastact's numba backend runs serially: {no_parallel}", RuntimeWarning, stacklevel=1
        )
        return None
    return parallel


_KERNELS: dict[tuple[str, str], _Kernel] = {
    (name, ch): _Kernel(name, ch) for name in KERNELS for ch in "fde"
}


def is_compiled(kernel: str, dtype: Any) -> bool:
    """Whether a call of ``kernel`` on ``dtype`` would run without waiting for a compile."""
    return _KERNELS[(kernel, np.dtype(dtype).char)].serial is not None


def warmup() -> None:
    """Compile every kernel for every dtype (float32 first: the likely first need)."""
    for ch in "fde":
        for name in KERNELS:
            _KERNELS[(name, ch)].compile()


def _readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view: the loops are compiled for read-only inputs only."""
    view = a.view()
    view.flags.writeable = False
    return view


def run(
    kernel: str,
    inputs: tuple[np.ndarray, ...],
    out: np.ndarray,
    params: tuple[float, ...],
    nthreads: int = 1,
) -> None:
    """Compute ``kernel`` of ``inputs`` into ``out`` (see ``fastact._backends``)."""
    if out.size == 0:
        return
    k = _KERNELS[(kernel, out.dtype.char)]
    if k.serial is None:
        k.compile()
    ct = np.float64 if out.dtype == np.float64 else np.float32
    # prelu's weight varies along its axis: element by element, serially
    varying = any(np.ndim(v) for v in params)
    p = tuple(
        np.ascontiguousarray(np.broadcast_to(np.asarray(v, ct), out.shape)).ravel()
        if varying
        else ct(v)
        for v in (*params, 0.0, 0.0)[:2]
    )
    arrays = (*inputs, out)
    copied = False
    if all(a.flags.c_contiguous for a in arrays):
        flat = [a.ravel("C") for a in arrays]
    elif not varying and all(a.flags.f_contiguous for a in arrays):
        flat = [a.ravel("F") for a in arrays]
    else:  # any other layout: through contiguous copies
        flat = [np.ascontiguousarray(a).ravel() for a in arrays]
        copied = True
    if out.dtype == np.float16:
        flat = [a.view(np.uint16) for a in flat]
    g, x, target = _readonly(flat[0]), _readonly(flat[-2]), flat[-1]
    if varying:
        k.each(g, x, target, *p)  # type: ignore[misc]
    elif nthreads > 1 and k.parallel is not None:
        saved = numba.get_num_threads()
        try:
            numba.set_num_threads(min(nthreads, numba.config.NUMBA_NUM_THREADS))
            k.parallel(g, x, target, p, numba.get_num_threads())
        except ValueError as exc:  # no threading layer could be loaded
            raise RuntimeError(f"fastact numba backend cannot run in parallel: {exc}") from exc
        finally:
            numba.set_num_threads(saved)
    else:
        k.serial(g, x, target, p)
    if copied:
        np.copyto(out, target.view(out.dtype).reshape(out.shape))


def _prelu_rows(half: bool) -> Any:
    elem = leaky_relu_backward
    h2f, f2h = _numba_half.half_to_float, _numba_half.float_to_half
    if half:

        @_jit
        def value(v):
            return h2f(v)

        @_jit
        def one(g, x, p):
            return f2h(elem(h2f(g), h2f(x), p))
    else:

        @_jit
        def value(v):
            return v

        @_jit
        def one(g, x, p):
            return elem(g, x, p)

    @numba.njit(nogil=True)
    def rows(g, x, w, out, block):
        n, c, inner = x.shape
        nb = (inner + block - 1) // block
        partial = np.zeros((n, c, nb))
        for r in range(n):
            for k in range(c):
                p = (w[k], w[k])
                for b in range(nb):
                    acc = 0.0
                    for i in range(b * block, min(b * block + block, inner)):
                        out[r, k, i] = one(g[r, k, i], x[r, k, i], p)
                        xv = np.float64(value(x[r, k, i]))
                        acc += np.float64(value(g[r, k, i])) * xv if xv <= 0 else 0.0
                    partial[r, k, b] = acc
        grad_w = np.zeros(c)
        for k in range(c):
            acc = 0.0
            for r in range(n):
                for b in range(nb):
                    acc += partial[r, k, b]
            grad_w[k] = acc
        return grad_w

    return rows


_PRELU: dict[bool, Any] = {}


def prelu_backward(
    g: np.ndarray, x: np.ndarray, w: np.ndarray, out: np.ndarray, block: int
) -> np.ndarray:
    """The fused prelu backward pass on ``(N, C, inner)`` arrays; see ``_cy.prelu_backward``."""
    half = x.dtype == np.float16
    if half not in _PRELU:
        _PRELU[half] = _prelu_rows(half)
    views = [a.view(np.uint16) if half else a for a in (g, x, out)]
    return _PRELU[half](views[0], views[1], w, views[2], block)


def info() -> dict[str, str]:
    """What ``show_config()`` prints for this backend."""
    compiled = sum(k.serial is not None for k in _KERNELS.values())
    return {
        "numba": numba.__version__,
        "llvmlite": importlib.metadata.version("llvmlite"),
        "threading layer": str(numba.config.THREADING_LAYER)
        + ("" if no_parallel is None else f" (cannot load, so serial: {no_parallel})"),
        "compiled kernels": f"{compiled}/{len(_KERNELS)} (kernel x dtype)",
        "float16": "computed in float32 via bit-exact uint16 conversion",
    }
