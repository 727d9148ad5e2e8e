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
from fastact._table import (
    ACTIVATIONS,
    KERNELS,
    REDUCTION_BLOCK,
    Activation,
    Param,
    activation_of,
    is_backward,
)

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


def check_choice(value: object, param: Param, fname: str) -> float:
    """The index of ``value`` among ``param.choices``, as the kernels take it."""
    if not isinstance(value, str):
        raise TypeError(f"fastact.{fname}: {param.name} must be a string, got {value!r}")
    if value not in param.choices:
        valid = ", ".join(repr(c) for c in param.choices)
        raise ValueError(f"fastact.{fname}: {param.name} must be one of {valid}, got {value!r}")
    return float(param.choices.index(value))


def as_given(act: Activation, params: tuple[float, ...]) -> tuple[float | str, ...]:
    """Checked parameters as the public functions take them: a choice as its string."""
    return tuple(
        p.choices[int(v)] if p.choices else v for p, v in zip(act.params, params, strict=True)
    )


def check_params(act: Activation, values: tuple[object, ...], fname: str) -> tuple[float, ...]:
    """The parameters of ``act`` checked alone and together (``Activation.requires``).

    Real parameters come back as floats, choices as their index (a float).
    """
    params = tuple(
        check_choice(v, p, fname) if p.choices else check_param(v, p.name, fname)
        for p, v in zip(act.params, values, strict=True)
    )
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


def _arrays(kernel: str, inputs: tuple[object, ...]) -> tuple[tuple[np.ndarray, ...], tuple]:
    """The inputs as float arrays of one dtype, and the shape they broadcast to."""
    x = _as_float_array(inputs[-1], kernel, "x")
    if len(inputs) == 1:
        return (x,), x.shape
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
    return (g, x), shape


def _check_finite_in(
    values: dict[str, object], dtype: np.dtype, kernel: str, nonzero: tuple[str, ...] = ()
) -> None:
    """Parameters that round to inf in the computation type of ``dtype``, or
    to 0 where they must not be 0 (those named in ``nonzero``), raise ValueError."""
    ct = _compute_type(dtype)
    with np.errstate(over="ignore", under="ignore"):
        for name, v in values.items():
            typed = np.asarray(v, ct)
            if not np.isfinite(typed).all():
                problem = "overflows"
            elif name in nonzero and not typed.all():
                problem = "rounds to 0"
            else:
                continue
            raise ValueError(
                f"fastact.{kernel}: {name}={v!r} {problem} in {np.dtype(ct).name}, "
                f"the computation type of {dtype.name} arrays"
            )


def _check_params_in(
    act: Activation, params: tuple[float, ...], dtype: np.dtype, kernel: str
) -> None:
    """The table's parameters of ``act`` checked in the computation type of ``dtype``."""
    names = tuple(p.name for p in act.params)
    nonzero = tuple(p.name for p in act.params if p.nonzero)
    _check_finite_in(dict(zip(names, params, strict=True)), dtype, kernel, nonzero)


def _result(out: object, like: np.ndarray, shape: tuple, kernel: str) -> np.ndarray:
    """``out`` checked, or a new array laid out like ``like`` (when it has the shape)."""
    if out is None:
        return np.empty_like(like) if like.shape == shape else np.empty(shape, like.dtype)
    return _check_out(out, shape, like.dtype, kernel)


def _run(
    kernel: str,
    arrays: tuple[np.ndarray, ...],
    shape: tuple,
    params: tuple,
    result: np.ndarray,
    backend: str,
) -> None:
    """Run an elementwise kernel into ``result`` (checked) on the backend ``backend`` names."""
    module = _dispatch.resolve(backend)
    arrays = tuple(
        _unalias(np.broadcast_to(a, shape) if a.shape != shape else a, result) for a in arrays
    )
    if result.size:
        _dispatch.execute(module, kernel, arrays, result, params)


def _returned(out: object, result: np.ndarray, x: object) -> Any:
    if out is not None:
        return out
    if result.ndim == 0 and not isinstance(x, np.ndarray):
        return result[()]
    return result


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
    arrays, shape = _arrays(kernel, inputs)
    _check_params_in(act, params, arrays[-1].dtype, kernel)
    result = _result(out, arrays[-1], shape, kernel)
    _run(kernel, arrays, shape, params, result, name)
    return _returned(out, result, inputs[-1])


def _check_weight(
    weight: object, x: np.ndarray, axis: object, fname: str
) -> tuple[np.ndarray, int | None]:
    """prelu's weight as float64 (0-d, or 1-D along ``axis``), and the axis normalised."""
    if isinstance(weight, numbers.Real) and not isinstance(weight, bool):
        return np.asarray(check_param(weight, "weight", fname)), None
    w = np.asarray(weight)
    if w.dtype.kind not in "fiu" or w.ndim > 1:
        raise TypeError(
            f"fastact.{fname}: weight must be a real number or a 1-D array of them, "
            f"got {type(weight).__name__} of dtype {w.dtype} and shape {w.shape}"
        )
    w = w.astype(np.float64)
    if not np.isfinite(w).all():
        raise ValueError(f"fastact.{fname}: weight must be finite, got {weight!r}")
    if w.ndim == 0:
        return w, None
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"fastact.{fname}: axis must be an integer, got {axis!r}")
    if not -x.ndim <= int(axis) < x.ndim:
        raise ValueError(f"fastact.{fname}: axis {axis} is out of range for {x.ndim}-d x")
    ax = int(axis) % x.ndim
    if w.shape[0] != x.shape[ax]:
        raise ValueError(
            f"fastact.{fname}: weight has {w.shape[0]} slopes, x has {x.shape[ax]} "
            f"channels on axis {ax}"
        )
    return w, ax


def _along(w: np.ndarray, ax: int | None, ndim: int) -> np.ndarray:
    """``w`` shaped to broadcast along axis ``ax`` of an ``ndim``-d array."""
    if ax is None:
        return w
    return w.reshape([w.shape[0] if i == ax else 1 for i in range(ndim)])


def _channel(
    kernel: str,
    inputs: tuple[object, ...],
    weight: object,
    axis: object,
    out: object,
    backend: object,
) -> tuple[str, tuple[np.ndarray, ...], tuple, np.ndarray, int | None, np.ndarray]:
    """The checks of the prelu functions: backend, arrays, shape, weight, axis, result.

    The axis comes back counted in the broadcast shape (``grad_out`` may add
    leading axes to ``x``'s).
    """
    name = _config.get_backend() if backend is None else _config.check_backend_name(backend)
    arrays, shape = _arrays(kernel, inputs)
    w, ax = _check_weight(weight, arrays[-1], axis, kernel)
    if ax is not None:
        ax += len(shape) - arrays[-1].ndim
    _check_finite_in({"weight": weight}, arrays[-1].dtype, kernel)
    result = _result(out, arrays[-1], shape, kernel)
    return name, arrays, shape, w, ax, result


def prelu(x: Any, weight: Any, axis: int = 1, *, out: Any = None, backend: Any = None) -> Any:
    """The parametric ReLU: ``x if x > 0 else w * x``, w the weight of x's channel.

    Bit-identical to the formula evaluated in the array's dtype (float16: in
    float32, rounded once), on every backend and thread count; ``w * x`` is
    computed with ``w`` in that type, as :func:`leaky_relu` computes
    ``alpha * x``.

    Parameters
    ----------
    x : array_like
        float16, float32 or float64 keep their dtype; bool and integer inputs
        are computed as float64. Any shape and memory layout.
    weight : float or array_like
        One slope for every element, or a 1-D array of ``x.shape[axis]``
        slopes (one per channel, as PyTorch's ``prelu`` with channels on
        axis 1). Finite real numbers.
    axis : int, default 1
        The channel axis (negative counts from the end); ignored for a scalar
        weight.
    out : numpy.ndarray, optional
        Where to write the result: a writeable array with exactly the result's
        shape and dtype. It may be ``x`` (in place).
    backend : {None, "auto", "cython", "numba", "numpy"}, optional
        ``None`` uses the configured default (see :func:`fastact.get_backend`).

    Returns
    -------
    numpy.ndarray
        ``out`` if given, else a new array laid out like ``np.empty_like(x)``.

    Raises
    ------
    TypeError
        If ``x`` has an unsupported dtype, ``weight`` is not a real number or
        1-D array of them, ``axis`` is not an integer, or ``out`` is not an
        ndarray of the result's dtype.
    ValueError
        If ``weight`` has the wrong length or a value that is not finite in
        the computation dtype, ``axis`` is out of range, or ``out`` has the
        wrong shape, is read-only or overlaps itself.

    Examples
    --------
    >>> import numpy as np
    >>> import fastact as fa
    >>> x = np.array([[-2.0, 4.0], [-2.0, 4.0]])
    >>> fa.prelu(x, np.array([0.25, 0.5]), axis=0)
    array([[-0.5,  4. ],
           [-1. ,  4. ]])
    """
    if _containers.takes((x,), out):
        name = _config.get_backend() if backend is None else _config.check_backend_name(backend)
        return _containers.call_channel("prelu", (x,), weight, axis, out, name)
    name, arrays, shape, w, ax, result = _channel("prelu", (x,), weight, axis, out, backend)
    _run("leaky_relu", arrays, shape, (_along(w, ax, len(shape)),), result, name)
    return _returned(out, result, x)


def prelu_grad(x: Any, weight: Any, axis: int = 1, *, out: Any = None, backend: Any = None) -> Any:
    """The derivative of :func:`prelu`: ``1 if x > 0 else w``, element by element.

    At NaN the formula decides (``x > 0`` is false there: the slope).

    Parameters
    ----------
    x : array_like
        As for :func:`prelu`.
    weight : float or array_like
        As for :func:`prelu`.
    axis : int, default 1
        As for :func:`prelu`.
    out : numpy.ndarray, optional
        Where to write the result (it may be ``x``).
    backend : {None, "auto", "cython", "numba", "numpy"}, optional
        ``None`` uses the configured default.

    Returns
    -------
    numpy.ndarray
        ``out`` if given, else a new array laid out like ``np.empty_like(x)``.

    Raises
    ------
    TypeError, ValueError
        As for :func:`prelu`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastact as fa
    >>> fa.prelu_grad(np.array([-2.0, 0.0, 3.0]), 0.25)
    array([0.25, 0.25, 1.  ])
    """
    if _containers.takes((x,), out):
        name = _config.get_backend() if backend is None else _config.check_backend_name(backend)
        return _containers.call_channel("prelu_grad", (x,), weight, axis, out, name)
    name, arrays, shape, w, ax, result = _channel("prelu_grad", (x,), weight, axis, out, backend)
    _run("leaky_relu_grad", arrays, shape, (_along(w, ax, len(shape)),), result, name)
    return _returned(out, result, x)


def prelu_backward(
    grad_out: Any, x: Any, weight: Any, axis: int = 1, *, out: Any = None, backend: Any = None
) -> tuple[Any, Any]:
    """The fused backward pass of :func:`prelu`: the input's and the weight's gradients.

    ``grad_x = grad_out if x > 0 else w * grad_out`` (``w * grad_out`` in the
    array's dtype, rounded once), and ``grad_weight[c]``, the sum over every
    other axis of ``grad_out * x`` where ``x <= 0``, in the same pass. The
    sum accumulates in float64 in a fixed order (blocks of 4096 elements of
    each row, one after the other) and rounds once to the result's dtype: the
    same bits for every thread count and on every backend.

    Parameters
    ----------
    grad_out : array_like
        The gradient with respect to ``prelu(x, weight)``; it broadcasts
        against ``x``. Bool and integer arrays are computed as float64, as
        for ``x``, before the two dtypes promote (int8 with float16 gives
        float64).
    x : array_like
        The input of the forward pass.
    weight : float or array_like
        As for :func:`prelu`.
    axis : int, default 1
        As for :func:`prelu`.
    out : numpy.ndarray, optional
        Where to write ``grad_x`` (it may be ``grad_out`` or ``x``).
    backend : {None, "auto", "cython", "numba", "numpy"}, optional
        ``None`` uses the configured default.

    Returns
    -------
    grad_x : numpy.ndarray
        ``out`` if given, else a new array of the broadcast shape.
    grad_weight : numpy.ndarray or numpy scalar
        Shaped like ``weight``, in the dtype of ``grad_x``.

    Raises
    ------
    TypeError, ValueError
        As for :func:`prelu`, and ``ValueError`` if the inputs do not
        broadcast.

    Examples
    --------
    >>> import numpy as np
    >>> import fastact as fa
    >>> g = np.ones((2, 2))
    >>> x = np.array([[-2.0, 4.0], [-1.0, -3.0]])
    >>> gx, gw = fa.prelu_backward(g, x, np.array([0.5, 0.25]))
    >>> gx
    array([[0.5 , 1.  ],
           [0.5 , 0.25]])
    >>> gw
    array([-3., -3.])
    """
    if _containers.takes((grad_out, x), out):
        name = _config.get_backend() if backend is None else _config.check_backend_name(backend)
        return _containers.call_channel("prelu_backward", (grad_out, x), weight, axis, out, name)
    name, arrays, shape, w, ax, result = _channel(
        "prelu_backward", (grad_out, x), weight, axis, out, backend
    )
    dtype = result.dtype
    ct = _compute_type(dtype)
    g3, x3 = (
        np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(_rows(shape, ax)) for a in arrays
    )
    target = result if result.flags.c_contiguous else np.empty(shape, dtype)
    module = _dispatch.resolve(name)
    grad_w = module.prelu_backward(
        g3, x3, np.ascontiguousarray(np.broadcast_to(w, (g3.shape[1],)), ct),
        target.reshape(g3.shape), REDUCTION_BLOCK,
    )  # fmt: skip
    if target is not result:
        np.copyto(result, target)
    with np.errstate(over="ignore"):  # a sum past the dtype's range is inf, as the SPEC rounds
        grad_weight = grad_w.astype(dtype).reshape(w.shape)
    return _returned(out, result, x), grad_weight[()] if w.ndim == 0 else grad_weight


def _rows(shape: tuple, ax: int | None) -> tuple[int, int, int]:
    """The ``(N, C, inner)`` view of ``shape`` around the channel axis (all one channel if None)."""
    size = math.prod(shape)
    if ax is None:
        return (1, 1, size)
    n = math.prod(shape[:ax])
    return (n, shape[ax], size // (n * shape[ax]) if n * shape[ax] else 0)


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
            "    against ``x`` as NumPy does. Bool and integer arrays are computed as",
            "    float64, as for ``x``, before the two dtypes promote: an int8",
            "    ``grad_out`` with a float16 ``x`` gives float64 (a Python number",
            "    takes ``x``'s dtype).",
        ]
    lines += [
        "x : array_like",
        "    float16, float32 or float64 keep their dtype; bool and integer inputs",
        "    are computed as float64. Any shape and memory layout.",
    ]
    for p in act.params:
        lines += [f"{p.name} : {p.type_doc}, default {p.default!r}", f"    {p.doc}"]
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
        "    (for the backward pass: of the broadcast shape, in the dtype the two",
        "    inputs promote to once bool and integer inputs are float64); a NumPy",
        "    scalar when the inputs are scalars.",
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
    defaults = ", ".join(f"{p.name}={p.literal}" for p in act.params)
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
PUBLIC: dict[str, Any] = {
    **GENERAL,
    "prelu": prelu,
    "prelu_grad": prelu_grad,
    "prelu_backward": prelu_backward,
}


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
