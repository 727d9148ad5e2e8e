"""The public functions, made from the activation table, and every argument check.

For each kernel of ``fastact._table`` this module defines a function of the
same name, with the table's parameters and defaults as its signature and a
docstring written from the table. Every call goes through :func:`_call`,
which checks all arguments and allocates ``out`` before a backend writes
anything, so a call that raises has written nothing. Backends receive only
arrays that passed these checks (see ``fastact._backends``).

Where the Cython extension is built, the functions are rebound at import to
its compiled *fronts*: C functions with the same signature that serve the
common call whole (``backend="auto"``, C-contiguous arrays of one native
float dtype, float parameters) and hand everything else, errors included, to
the functions defined here.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any

import numpy as np

from fastact import _backends, _config, _containers, _dispatch
from fastact._table import ACTIVATIONS, KERNELS, Activation, activation_of, is_backward

_KINDS_AS_FLOAT64 = "biu"


def _as_float_array(value: object, fname: str, argname: str) -> np.ndarray:
    """``value`` as an array of native float16/32/64; bool and integers become float64."""
    arr = value if type(value) is np.ndarray else np.asarray(value)
    dtype = arr.dtype
    if dtype.kind == "f" and dtype.itemsize <= 8:
        return arr if dtype.isnative else arr.astype(dtype.newbyteorder("="))
    if dtype.kind in _KINDS_AS_FLOAT64:
        return arr.astype(np.float64)
    raise TypeError(
        f"fastact.{fname}: {argname} has unsupported dtype {dtype}; "
        "expected float16, float32, float64, bool or an integer dtype"
    )


def _compute_type(dtype: np.dtype) -> type[np.floating]:
    return np.float64 if dtype == np.float64 else np.float32


def check_param(value: object, name: str, fname: str) -> float:
    """``value`` as a finite Python float, else ``TypeError``/``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"fastact.{fname}: {name} must be a real number, got {type(value).__name__} {value!r}"
        )
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"fastact.{fname}: {name} must be finite, got {value!r}")
    return number


def check_params(act: Activation, values: tuple[object, ...], fname: str) -> tuple[float, ...]:
    """The parameters of ``act`` checked alone and together (``Activation.requires``)."""
    params = tuple(check_param(v, p.name, fname) for p, v in zip(act.params, values, strict=True))
    for p, v in zip(act.params, params, strict=True):
        if p.nonzero and v == 0:
            raise ValueError(f"fastact.{fname}: {p.name} must not be 0")
    if act.requires is not None:
        condition, message = act.requires
        if not eval(condition, {}, dict(zip((p.name for p in act.params), params, strict=True))):
            raise ValueError(f"fastact.{fname}: {message}, got {params}")
    return params


def _self_overlapping(a: np.ndarray) -> bool:
    """Whether two elements of ``a`` share memory (zero or interleaved strides).

    Axes sorted by stride must each step over the whole block of the axes
    inside it; arrays that pass are certainly free of self-overlap.
    """
    if a.size <= 1:
        return False
    axes = sorted((abs(st), n) for st, n in zip(a.strides, a.shape, strict=True) if n > 1)
    extent = a.itemsize
    for stride, n in axes:
        if stride < extent:
            return True
        extent = stride * n
    return False


def _check_out(out: object, shape: tuple[int, ...], dtype: np.dtype, fname: str) -> np.ndarray:
    """``out`` as a plain ndarray view of the caller's array, after every check."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"fastact.{fname}: out must be a numpy.ndarray, got {type(out).__name__}")
    if isinstance(out, np.ma.MaskedArray):
        raise TypeError(f"fastact.{fname}: out may not be a masked array")
    if out.shape != shape:
        raise ValueError(
            f"fastact.{fname}: out has shape {out.shape}, the result has shape {shape}"
        )
    if out.dtype != dtype or not out.dtype.isnative:
        raise TypeError(
            f"fastact.{fname}: out has dtype {out.dtype.str}, the result has dtype {dtype.str} "
            f"({dtype.name}, native byte order)"
        )
    if not out.flags.writeable:
        raise ValueError(f"fastact.{fname}: out is read-only")
    if _self_overlapping(out):
        raise ValueError(f"fastact.{fname}: out overlaps itself (strides {out.strides})")
    # A subclass (np.matrix, ...) is written through a plain view of its memory,
    # so its values change and its kind stays.
    return out if type(out) is np.ndarray else out.view(np.ndarray)


def _unalias(arr: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``arr``, or a copy of it if ``out`` overlaps it other than as the same view."""
    if arr is out or not np.may_share_memory(arr, out):
        return arr
    same_view = (
        arr.__array_interface__["data"][0] == out.__array_interface__["data"][0]
        and arr.strides == out.strides
        and arr.shape == out.shape
    )
    # An identical view is in place: each element is read before it is written.
    return out if same_view else arr.copy()


def _call(
    kernel: str,
    inputs: tuple[object, ...],
    values: tuple[object, ...],
    out: object,
    backend: object,
) -> Any:
    """Check the arguments of ``kernel``, allocate or check ``out``, and run it."""
    name = _config.get_backend() if backend is None else _config.check_backend_name(backend)
    act = activation_of(kernel)
    params = check_params(act, values, kernel)
    if _containers.takes(inputs, out):
        return _containers.call(kernel, inputs, params, out, name)
    x = _as_float_array(inputs[-1], kernel, "x")
    arrays: tuple[np.ndarray, ...] = (x,)
    shape = x.shape
    if len(inputs) == 2:
        g = _as_float_array(inputs[0], kernel, "grad_out")
        try:
            shape = np.broadcast_shapes(g.shape, x.shape)
        except ValueError:
            raise ValueError(
                f"fastact.{kernel}: grad_out {g.shape} and x {x.shape} do not broadcast together"
            ) from None
        if g.dtype != x.dtype:
            # a Python scalar takes the array's dtype, as in NumPy's own arithmetic
            weak = isinstance(inputs[0], float | int) and not isinstance(inputs[0], bool)
            common = x.dtype if weak else np.result_type(g.dtype, x.dtype)
            g, x = g.astype(common), x.astype(common)
        arrays = (g, x)
    dtype = x.dtype
    ct = _compute_type(dtype)
    with np.errstate(over="ignore"):
        for p, v in zip(act.params, params, strict=True):
            if not math.isfinite(ct(v)):
                raise ValueError(
                    f"fastact.{kernel}: {p.name}={v!r} overflows in {np.dtype(ct).name}, "
                    f"the computation type of {dtype.name} arrays"
                )
    if out is None:
        result = np.empty_like(x) if x.shape == shape else np.empty(shape, dtype)
    else:
        result = _check_out(out, shape, dtype, kernel)
    module = _dispatch.resolve(name)
    arrays = tuple(
        _unalias(np.broadcast_to(a, shape) if a.shape != shape else a, result) for a in arrays
    )
    if result.size:
        _dispatch.execute(module, kernel, arrays, result, params)
    if out is not None:
        return out
    if result.ndim == 0 and not isinstance(inputs[-1], np.ndarray):
        return result[()]
    return result


_TEMPLATE = """
def {kernel}({signature}, *, out=None, backend=None):
    return _call({kernel!r}, ({arrays},), ({values}), out, backend)
"""


def _docstring(kernel: str, act: Activation) -> str:
    """The numpydoc docstring of ``kernel``, from the table."""
    f, grad, backward = act.kernels
    summary, formula = {
        f: (f"The {act.name} activation", act.forward),
        grad: (f"The derivative of :func:`{act.name}`", act.grad),
        backward: (f"The fused backward pass of :func:`{act.name}`", act.backward),
    }[kernel]
    exact = (
        "Bit-identical to the formula evaluated in the array's dtype (float16: in "
        "float32, rounded once), on every backend and thread count."
        if act.family == "exact"
        else "Within 1 ulp (float32) or 2 ulp (float64) of the true value."
    )
    lines = [f"{summary}: ``{formula}``, element by element.", "", exact]
    if kernel == f and act.notes:
        lines += ["", act.notes]
    if kernel == grad:
        lines += [
            "",
            "At NaN the formula decides (``x > 0`` is false there); PyTorch passes "
            "``grad_out`` through at NaN instead.",
        ]
    if kernel == backward:
        lines += [
            "",
            "One pass over the data and no temporary arrays. A branch whose "
            "derivative is 0 gives 0 whatever ``grad_out`` holds (inf and NaN "
            "included), as PyTorch does.",
        ]
    lines += ["", "Parameters", "----------"]
    if kernel == backward:
        lines += [
            "grad_out : array_like",
            "    The gradient with respect to the activation's output. It broadcasts",
            "    against ``x`` as NumPy does.",
        ]
    lines += [
        "x : array_like",
        "    float16, float32 or float64 keep their dtype; bool and integer inputs",
        "    are computed as float64. Any shape and memory layout.",
    ]
    for p in act.params:
        lines += [f"{p.name} : float, default {p.default!r}", f"    {p.doc}"]
    lines += [
        "out : numpy.ndarray, optional",
        "    Where to write the result: a writeable array with exactly the result's",
        "    shape and dtype. It may be an input (in place).",
        'backend : {None, "auto", "cython", "numba", "numpy"}, optional',
        "    ``None`` uses the configured default (see :func:`fastact.get_backend`).",
        "",
        "Returns",
        "-------",
        "numpy.ndarray or numpy scalar",
        "    ``out`` if given, else a new array laid out like ``np.empty_like(x)``",
        "    (with the broadcast shape and the promoted dtype of both inputs for",
        "    the backward pass); a NumPy scalar when the inputs are scalars.",
        "",
        "Raises",
        "------",
        "TypeError",
        "    If an input has an unsupported dtype (complex, object, string, ...), a",
        "    parameter is not a real number, or ``out`` is not an ndarray of the",
        "    result's dtype.",
        "ValueError",
        "    If a parameter is NaN, infinite or overflows in the computation dtype,",
        "    ``out`` has the wrong shape, is read-only or overlaps itself, the inputs",
        "    do not broadcast, or ``backend`` is not a backend name.",
        "RuntimeError",
        "    If the backend asked for cannot run here.",
        "",
        "Examples",
        "--------",
        ">>> import numpy as np",
        ">>> import fastact as fa",
        f">>> x = np.array({act.example[0]})",
    ]
    call = {f: f"fa.{f}(x)", grad: f"fa.{grad}(x)", backward: f"fa.{backward}(2.0, x)"}[kernel]
    lines += [f">>> {call}", act.example[act.kernels.index(kernel) + 1]]
    return "\n".join(lines)


def _define(kernel: str) -> Any:
    act = activation_of(kernel)
    arrays = "grad_out, x" if is_backward(kernel) else "x"
    defaults = ", ".join(f"{p.name}={float(p.default)!r}" for p in act.params)
    source = _TEMPLATE.format(
        kernel=kernel,
        signature=", ".join(filter(None, (arrays, defaults))),
        arrays=arrays,
        values="".join(f"{p.name}, " for p in act.params),
    )
    namespace: dict[str, Any] = {"_call": _call}
    exec(source, namespace)
    function = namespace[kernel]
    function.__module__ = "fastact"
    function.__doc__ = _docstring(kernel, act)
    return function


#: the Python public functions, by kernel name: the general path of every call
GENERAL: dict[str, Any] = {kernel: _define(kernel) for kernel in KERNELS}
#: what ``import fastact`` exports: the compiled fronts where they run, else GENERAL
PUBLIC: dict[str, Any] = dict(GENERAL)


def _configure_compiled(cy: Any) -> None:
    cy.configure(
        _config.auto_everywhere,
        _config.compiled_threads(),
        _config.cpu_count(),
        _config.MIN_PER_THREAD,
    )


def _install_fronts() -> None:
    """Use the Cython extension's compiled fronts, if it runs, and hand it the settings."""
    if _backends.status("cython") is not None:
        return
    cy = _backends.load("cython")._cy
    fronts = cy.bind(tuple(GENERAL[k] for k in KERNELS))
    for kernel in KERNELS:
        PUBLIC[kernel] = functools.update_wrapper(fronts[kernel], GENERAL[kernel])
    _config.subscribe(functools.partial(_configure_compiled, cy))


_install_fronts()

__all__ = ["ACTIVATIONS", "GENERAL", "PUBLIC", "check_param", "check_params"]
