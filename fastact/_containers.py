"""Arrays beyond NumPy: containers that take part in NumPy's override protocols.

``fastact._api`` asks :func:`takes` on every call of the general path (so it
must stay cheap) and hands a call with a container to :func:`call` (the
elementwise kernels, parameters already checked) or :func:`call_channel`
(``prelu`` and its kernels). Plain ndarrays never come here. A container gets
its own kind back, computed by fastact's kernels. When containers of several
kinds meet in one call, the outermost serves it: xarray, then dask, then
masked arrays (an ndarray or masked operand of a dask call becomes one chunk
of it).

``dask.array.Array``
    A lazy dask array: nothing is computed at call time, and each chunk runs
    ``fastact.ufunc.<kernel>`` (the NumPy ufunc whose loops are the compiled
    kernels) through dask's ``__array_ufunc__``, on whatever scheduler computes
    it. The graph holds the ufunc, which pickles by reference, and NumPy
    scalars, so dask.distributed workers need nothing beyond fastact
    installed. ``grad_out`` with the shape of ``x`` but other chunks is
    rechunked to ``x``'s chunks, so the backward pass is chunk-aligned with
    the forward pass. ``out`` must be a dask array (its graph is replaced, as
    dask does for ``np.add(a, b, out=c)``); an ndarray ``out`` would force a
    compute, and raises ``TypeError``. Dask arrays whose chunks are masked
    arrays run fastact's function on each chunk (masks as below); chunks of
    any other kind (CuPy, sparse, ...) raise ``TypeError``.
``xarray.DataArray``, ``Dataset``, ``Variable``
    ``xarray.apply_ufunc`` with fastact's function on the underlying arrays,
    as xarray's own ``__array_ufunc__`` applies a ufunc: dims, coords and
    attrs are kept (unless xarray's ``keep_attrs`` option says otherwise),
    operands align by xarray's ``arithmetic_join``, dask-backed data stays
    lazy (the dask rules above). Going through fastact's function rather than
    the ufunc applies fastact's dtype rules to each variable of a Dataset.
    xarray objects take no ``out=`` (neither do xarray's ufuncs): ``TypeError``.
``numpy.ma.MaskedArray``
    The result's mask is the union of the inputs' masks. With ``out=`` (which
    must then be a masked array too), only the places unmasked in ``out`` and
    in every input are written (``np.copyto(..., where=...)``); the masked
    places of ``out`` are left untouched, and places masked in an input
    become masked in ``out``. The data under the mask of a new result is
    the function of the data there.

Rules shared by every container:

- The dtype rules of the plain path hold: bool and integer data compute as
  float64 (cast before the kernel, lazily for dask), float16/32/64 keep their
  dtype, other dtypes raise ``TypeError`` naming the dtype. Parameters reach
  the ufunc as the computation type (``np.float32`` for float16/float32 data,
  ``np.float64`` for float64), which picks the loop of the data's dtype.
- ``backend`` is honoured, never ignored. On dask, ``"auto"`` and
  ``"cython"`` run the ufunc; any other backend runs fastact's public
  function with that backend on each chunk, so ``backend="numpy"`` really
  runs the NumPy reference code on the workers. xarray variables and masked
  arrays' data always go through the public function, with the backend asked
  for. A backend that cannot run here raises ``RuntimeError`` at call time,
  as for ndarrays.
- ``prelu``: the weight is a parameter (a number or a NumPy array, never a
  container); the elementwise part is ``leaky_relu``'s ufunc with one slope
  per channel, broadcast and chunked like ``x``. ``prelu_backward``'s
  ``grad_weight`` is described at :func:`call_channel`.
- Any other object that overrides ``__array_ufunc__`` (or sets it to None)
  raises ``TypeError`` naming its type: fastact never converts it silently.
- ndarray subclasses that do not override ufuncs (``np.matrix``,
  ``np.memmap``, ``np.recarray``) are not containers: they take the plain
  path, which reads them with ``np.asarray`` and returns an ndarray (an
  ``out=`` of such a class is written through and returned as itself).
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import numpy as np

from fastact._table import activation_of, is_backward

# Types that are never containers, checked by identity first: the common calls
# decide with one set lookup per argument.
_PLAIN = frozenset((np.ndarray, float, int, bool, list, tuple, type(None)))
_NDARRAY_UFUNC = np.ndarray.__array_ufunc__
_FLOAT64_KINDS = "biu"


def _is_container(value: object) -> bool:
    if isinstance(value, np.generic):
        return False
    if isinstance(value, np.ma.MaskedArray):
        # MaskedArray inherits ndarray's __array_ufunc__ and would lose its mask
        return True
    # None counts: a class that opts out of ufuncs must not be converted silently
    return getattr(type(value), "__array_ufunc__", _NDARRAY_UFUNC) is not _NDARRAY_UFUNC


def takes(inputs: tuple[object, ...], out: object) -> bool:
    """Whether an input or ``out`` is a container that overrides NumPy's ufuncs.

    Parameters
    ----------
    inputs : tuple
        The array arguments of the call (``(x,)`` or ``(grad_out, x)``).
    out : object
        The ``out`` argument.

    Returns
    -------
    bool
        True if :func:`call` must serve the call.

    Examples
    --------
    >>> import numpy as np
    >>> takes((np.ones(3),), None)
    False
    >>> takes((np.ma.masked_array([1.0, 2.0], mask=[0, 1]),), None)
    True
    """
    for value in inputs:
        if type(value) not in _PLAIN and _is_container(value):
            return True
    return type(out) not in _PLAIN and _is_container(out)


def _kind(value: object) -> str | None:
    """``"xarray"``, ``"dask"``, ``"masked"``, ``"other"``, or None for a non-container."""
    if type(value) in _PLAIN or not _is_container(value):
        return None
    if isinstance(value, np.ma.MaskedArray):
        return "masked"
    # a dask or xarray object exists only once its library is imported: never import it here
    dask_array = sys.modules.get("dask.array")
    if dask_array is not None and isinstance(value, dask_array.Array):
        return "dask"
    xarray = sys.modules.get("xarray")
    if xarray is not None and isinstance(
        value, xarray.DataArray | xarray.Dataset | xarray.Variable
    ):
        return "xarray"
    return "other"


_SUPPORTED = "numpy.ndarray, numpy.ma.MaskedArray, dask.array.Array and xarray objects"


def call(
    kernel: str, inputs: tuple[object, ...], params: tuple[float, ...], out: object, backend: str
) -> Any:
    """Run ``kernel`` on a container and return the container's own kind.

    Parameters
    ----------
    kernel : str
        A kernel of the activation table.
    inputs : tuple
        ``(x,)`` or ``(grad_out, x)``, at least one of them (or ``out``) a
        container (see :func:`takes`).
    params : tuple of float
        The checked parameters, in table order.
    out : object
        None, or where to write the result (a container of the inputs' kind).
    backend : str
        A checked backend name (not None).

    Returns
    -------
    object
        ``out`` if given, else a new container of the inputs' kind.

    Raises
    ------
    TypeError
        For a container fastact cannot honour, an unsupported dtype or an
        ``out`` of the wrong kind or dtype.
    ValueError
        For shapes that do not broadcast, an ``out`` of the wrong shape, or a
        parameter that overflows in the computation type.
    RuntimeError
        If ``backend`` cannot run here.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.ma.masked_array([-2.0, 3.0, -4.0], mask=[0, 1, 0])
    >>> call("leaky_relu", (m,), (0.5,), None, "auto")
    masked_array(data=[-1.0, --, -2.0],
                 mask=[False,  True, False],
           fill_value=1e+20)
    """
    kind = _served_by(kernel, inputs, out, backend)
    if kind == "xarray":
        return _call_xarray(kernel, inputs, params, out, backend)
    if kind == "dask":
        return _call_dask(kernel, inputs, params, out, backend)
    return _call_masked(kernel, inputs, params, out, backend)


def call_channel(
    kernel: str, inputs: tuple[object, ...], weight: object, axis: object, out: object, backend: str
) -> Any:
    """Run a channel kernel (``prelu``, ``prelu_grad``, ``prelu_backward``) on a container.

    The elementwise part runs the kernels of the activation's ``like`` entry
    (``leaky_relu``'s) with the weight broadcast along ``axis``, as for
    ndarrays. ``prelu_backward`` returns ``(grad_x, grad_weight)``:
    ``grad_x`` of the container's kind, ``grad_weight`` shaped like
    ``weight`` and of the data's array kind. On dask, ``grad_weight`` is a
    lazy float64 reduction over the chunks rounded once to the result's dtype:
    the same bits on every scheduler and worker count for given chunks, but
    summed in dask's order (within each chunk, then a tree over chunks), so it
    may differ in the last place from the ndarray call's fixed order. For
    masked arrays, masked places add nothing to ``grad_weight``.

    Parameters
    ----------
    kernel : str
        ``prelu``, ``prelu_grad`` or ``prelu_backward`` (an activation of
        kind ``"channel"``).
    inputs : tuple
        ``(x,)`` or ``(grad_out, x)``, at least one of them (or ``out``) a
        container (see :func:`takes`).
    weight : float or array_like
        A scalar slope or one per channel (a NumPy array, not a container).
    axis : int
        The channel axis of ``x``.
    out : object
        None, or where to write the (input) gradient.
    backend : str
        A checked backend name (not None).

    Returns
    -------
    object or tuple
        As :func:`call`; a pair for ``prelu_backward``.

    Raises
    ------
    TypeError, ValueError, RuntimeError
        As :func:`call`, and for a weight that is a container or does not fit.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.ma.masked_array([[-2.0, 3.0], [-4.0, -1.0]], mask=[[0, 1], [0, 0]])
    >>> gx, gw = call_channel("prelu_backward", (1.0, m), np.array([0.5, 0.25]), 0, None, "auto")
    >>> gx
    masked_array(
      data=[[0.5, --],
            [0.25, 0.25]],
      mask=[[False,  True],
            [False, False]],
      fill_value=1e+20)
    >>> gw
    array([-2., -5.])
    """
    from fastact._api import _check_finite_in, _check_weight

    kind = _served_by(kernel, inputs, out, backend)
    if _kind(weight) is not None:
        raise TypeError(
            f"fastact.{kernel}: weight must be a number or a NumPy array, not a "
            f"{type(weight).__name__} (it is a parameter, not data)"
        )
    x = inputs[-1]
    w, ax = _check_weight(weight, x if hasattr(x, "ndim") else np.asarray(x), axis, kernel)
    _check_finite_in({"weight": weight}, _result_dtype(kernel, inputs), kernel)
    if kind == "xarray":
        return _channel_xarray(kernel, inputs, w, ax, out, backend)
    if kind == "dask":
        return _channel_dask(kernel, inputs, w, ax, out, backend)
    return _channel_masked(kernel, inputs, w, ax, out, backend)


def _served_by(kernel: str, inputs: tuple[object, ...], out: object, backend: str) -> str:
    """Which container serves the call (xarray, then dask, then masked), after the checks."""
    kinds = [_kind(v) for v in (*inputs, out)]
    if "other" in kinds:
        names = sorted({type(v).__name__ for v in (*inputs, out) if _kind(v) == "other"})
        raise TypeError(
            f"fastact.{kernel}: {', '.join(names)} inputs are not supported (fastact "
            f"computes {_SUPPORTED}); convert explicitly, e.g. with np.asarray"
        )
    if backend != "auto":
        # the RuntimeError of a backend that cannot run comes now, as for ndarrays
        from fastact import _dispatch

        _dispatch.resolve(backend)
    # xarray wraps dask arrays, and dask arrays may hold masked chunks: outermost first
    for kind in ("xarray", "dask", "masked"):
        if kind in kinds:
            return kind
    raise AssertionError("call() without a container")  # takes() was false


def _elementwise_kernel(kernel: str) -> str:
    """The elementwise kernel a channel kernel runs: ``prelu_grad`` -> ``leaky_relu_grad``."""
    act = activation_of(kernel)
    return f"{act.like}{kernel[len(act.name) :]}"


# --- what the plain path checks, for containers whose data fastact does not see ----------------


def _float_dtype(value: object, kernel: str, argname: str) -> np.dtype:
    """The dtype ``value`` computes in: its float dtype, or float64 for bool and integers."""
    dtype = getattr(value, "dtype", None)
    if not isinstance(dtype, np.dtype):
        dtype = np.asarray(value).dtype
    if dtype.kind == "f" and dtype.itemsize <= 8:
        return dtype.newbyteorder("=")
    if dtype.kind in _FLOAT64_KINDS:
        return np.dtype(np.float64)
    raise TypeError(
        f"fastact.{kernel}: {argname} has unsupported dtype {dtype}; "
        "expected float16, float32, float64, bool or an integer dtype"
    )


def _is_weak(value: object) -> bool:
    """A Python scalar ``grad_out`` takes the dtype of ``x``, as in NumPy's arithmetic."""
    return isinstance(value, float | int) and not isinstance(value, bool)


def _result_dtype(kernel: str, inputs: tuple[object, ...]) -> np.dtype:
    x_dtype = _float_dtype(inputs[-1], kernel, "x")
    if len(inputs) == 1:
        return x_dtype
    g_dtype = _float_dtype(inputs[0], kernel, "grad_out")
    return x_dtype if _is_weak(inputs[0]) else np.result_type(g_dtype, x_dtype)


def _compute_params(
    kernel: str, params: tuple[float, ...], dtype: np.dtype
) -> tuple[np.floating, ...]:
    """The parameters in the computation type of ``dtype``, which picks the ufunc's loop."""
    from fastact._api import _check_params_in, _compute_type

    _check_params_in(activation_of(kernel), params, dtype, kernel)
    ct = _compute_type(dtype)
    return tuple(ct(v) for v in params)


def _broadcast_shape(kernel: str, inputs: tuple[object, ...]) -> tuple[int, ...] | None:
    """The result's shape, or None where dask does not know a size yet (NaN chunks)."""
    shapes = [tuple(np.shape(v)) if not hasattr(v, "shape") else tuple(v.shape) for v in inputs]
    if any(not isinstance(n, int | np.integer) or n != n for s in shapes for n in s):
        return None
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(
            f"fastact.{kernel}: grad_out {shapes[0]} and x {shapes[-1]} do not broadcast together"
        ) from None


def _ufunc(kernel: str) -> np.ufunc | None:
    """``fastact.ufunc.<kernel>``, or None where the Cython extension is not built."""
    try:
        # import the module (not only the extension's dict): pickle finds the ufunc there
        from fastact import ufunc
    except ImportError:
        return None
    return getattr(ufunc, kernel)


def _block(kernel: str, params: tuple[float, ...], backend: str, *arrays: Any) -> Any:
    """fastact's public function on one block: for backends other than the ufunc's.

    A module-level function, so a dask graph holding it (in a
    ``functools.partial``) pickles by reference to ``fastact``.
    """
    from fastact._api import PUBLIC, as_given

    return PUBLIC[kernel](*arrays, *as_given(activation_of(kernel), params), backend=backend)


# --- dask -----------------------------------------------------------------------------------


def _dask_operands(
    kernel: str, inputs: tuple[object, ...], out: object
) -> tuple[list[Any], np.dtype, bool]:
    """The operands cast to the result's dtype (lazily), the dtype, and whether chunks are masked.

    Checks everything a plain call checks before anything is built, and
    ``out``: a dask array of the result's shape and dtype.
    """
    import dask.array as da

    dtype = _result_dtype(kernel, inputs)
    shape = _broadcast_shape(kernel, inputs)
    masked_chunks = False
    arrays: list[Any] = []
    for value in inputs:
        if isinstance(value, da.Array):
            meta = value._meta
            if not isinstance(meta, np.ndarray):
                raise TypeError(
                    f"fastact.{kernel}: dask arrays of {type(meta).__module__}."
                    f"{type(meta).__name__} chunks are not supported (only numpy.ndarray "
                    "and numpy.ma.MaskedArray chunks)"
                )
            masked_chunks |= isinstance(meta, np.ma.MaskedArray)
            # astype is lazy, and returns the same array when the dtype is already right
            arrays.append(value.astype(dtype))
        elif _is_weak(value):
            arrays.append(dtype.type(value))
        else:
            # an ndarray or array-like operand; a masked one keeps its mask, and
            # sends every block through fastact's function (which keeps masks)
            value = np.asanyarray(value).astype(dtype, copy=False)
            masked_chunks |= isinstance(value, np.ma.MaskedArray)
            arrays.append(value)
    if len(arrays) == 2 and all(isinstance(a, da.Array) for a in arrays):
        arrays[0] = _chunked_like(arrays[0], arrays[1])
    if out is not None:
        if not isinstance(out, da.Array):
            raise TypeError(
                f"fastact.{kernel}: out must be a dask array when an input is one (got "
                f"{type(out).__name__}); writing into it would compute the result now"
            )
        if shape is not None and out.shape != shape:
            raise ValueError(
                f"fastact.{kernel}: out has shape {out.shape}, the result has shape {shape}"
            )
        if out.dtype != dtype:
            raise TypeError(
                f"fastact.{kernel}: out has dtype {out.dtype}, the result has dtype {dtype}"
            )
    return arrays, dtype, masked_chunks


def _dask_blockwise(
    function: Any, operands: list[Any], dtype: np.dtype, masked: bool, name: str, out: object
) -> Any:
    """``function`` on each block of the broadcast ``operands``: a lazy dask array."""
    import dask.array as da
    from dask.base import tokenize

    ndim = max(np.ndim(a) for a in operands)
    indexed: list[Any] = []
    for a in operands:
        # right-aligned indices broadcast as NumPy does (as dask's elemwise does)
        indexed += [a, None] if np.ndim(a) == 0 else [a, tuple(range(np.ndim(a)))[::-1]]
    result = da.blockwise(
        function,
        tuple(range(ndim))[::-1],
        *indexed,
        name=f"{name}-{tokenize(function, *operands)}",
        dtype=dtype,
        # given, so that dask does not call the function to find it out
        meta=np.empty((0,) * ndim, dtype).view(np.ma.MaskedArray if masked else np.ndarray),
    )
    return result if out is None else da.core.handle_out(out, result)


def _call_dask(
    kernel: str, inputs: tuple[object, ...], params: tuple[float, ...], out: object, backend: str
) -> Any:
    arrays, dtype, masked = _dask_operands(kernel, inputs, out)
    typed = _compute_params(kernel, params, dtype)
    ufunc = _ufunc(kernel) if backend in ("auto", "cython") and not masked else None
    if ufunc is not None:
        # NumPy hands the call to dask's __array_ufunc__: one ufunc task per chunk
        return ufunc(*arrays, *typed, **({} if out is None else {"out": out}))
    # Another backend, or masked chunks: fastact's function on each block.
    function = functools.partial(_block, kernel, params, backend)
    return _dask_blockwise(function, arrays, dtype, masked, kernel, out)


def _channel_function(kernel: str, arrays: Any, weight: Any, axis: int, backend: str) -> Any:
    """The public channel function on ``arrays``, or :func:`call_channel` for containers."""
    if takes(tuple(arrays), None):
        return call_channel(kernel, tuple(arrays), weight, axis, None, backend)
    import fastact

    return getattr(fastact, kernel)(*arrays, weight, axis, backend=backend)


def _channel_block(kernel: str, axis: int | None, backend: str, *blocks: Any) -> Any:
    """fastact's channel function on one block; the last block is the weight along ``axis``."""

    *arrays, w = blocks
    if axis is None:
        weight, x_axis = float(w), 1
    else:
        # ``axis`` counts in the broadcast result; the public functions count in x
        weight = np.asarray(w).reshape(-1)
        x_axis = axis - (max(np.ndim(a) for a in arrays) - np.ndim(arrays[-1]))
    result = _channel_function(kernel, arrays, weight, x_axis, backend)
    # prelu_backward's weight gradient is reduced over every block apart (_dask_weight_grad)
    return result[0] if is_backward(kernel) else result


def _channel_dask(
    kernel: str,
    inputs: tuple[object, ...],
    w: np.ndarray,
    ax: int | None,
    out: object,
    backend: str,
) -> Any:
    from fastact._api import _along

    arrays, dtype, masked = _dask_operands(kernel, inputs, out)
    ndim = max(np.ndim(a) for a in arrays)
    # the channel axis of x, counted in the broadcast result (grad_out may add axes before)
    axis = None if ax is None else ax + ndim - np.ndim(arrays[-1])
    slopes = _along(w, axis, ndim)
    ct = np.float64 if dtype == np.float64 else np.float32
    like = _elementwise_kernel(kernel)
    ufunc = _ufunc(like) if backend in ("auto", "cython") and not masked else None
    if ufunc is not None:
        # leaky_relu's ufunc with one slope per channel, broadcast (and chunked) like x
        result = ufunc(*arrays, slopes.astype(ct), **({} if out is None else {"out": out}))
    else:
        function = functools.partial(_channel_block, kernel, axis, backend)
        result = _dask_blockwise(function, [*arrays, slopes], dtype, masked, kernel, out)
    if not is_backward(kernel):
        return result
    return result, _dask_weight_grad(arrays, axis, w.shape, dtype)


def _products(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``grad_out * x`` where ``x <= 0``, else 0, in float64: what ``grad_weight`` sums."""
    with np.errstate(all="ignore"):  # inf * 0 is the formula's NaN, as in the kernels
        return np.where(x <= 0, np.asarray(g, np.float64) * np.asarray(x, np.float64), 0.0)


def _rounded(total: np.ndarray, dtype: np.dtype) -> np.ndarray:
    with np.errstate(over="ignore"):  # a sum past the dtype's range is inf, as the SPEC rounds
        return total.astype(dtype)


def _dask_weight_grad(
    arrays: list[Any], axis: int | None, shape: tuple[int, ...], dtype: np.dtype
) -> Any:
    """prelu's weight gradient: a lazy float64 reduction over the chunks, rounded once."""
    products = _dask_blockwise(_products, arrays, np.dtype(np.float64), False, "products", None)
    others = tuple(i for i in range(products.ndim) if i != axis)
    total = products.sum(axis=others, dtype=np.float64)
    rounded = total.map_blocks(_rounded, dtype, dtype=dtype, token="prelu_grad_weight")
    return rounded.reshape(shape)


def _chunked_like(grad_out: Any, x: Any) -> Any:
    """``grad_out`` with the chunks of ``x`` along every axis (right-aligned) of one length.

    The backward pass is then chunk-aligned with the forward pass, rather than
    chunked by dask's common refinement of both chunkings, which may be much
    finer. Broadcast axes (length 1 in one of them) keep their chunks.
    """
    offset = grad_out.ndim - x.ndim
    target = {
        axis: x.chunks[axis - offset]
        for axis in range(max(offset, 0), grad_out.ndim)
        if grad_out.shape[axis] == x.shape[axis - offset] != 1
        and grad_out.chunks[axis] != x.chunks[axis - offset]
    }
    return grad_out.rechunk(target) if target else grad_out


# --- xarray ---------------------------------------------------------------------------------


def _no_out_for_xarray(kernel: str, out: object) -> None:
    if out is not None:
        raise TypeError(
            f"fastact.{kernel}: xarray objects take no out= (as with xarray's own ufuncs); "
            f"assign the result instead, e.g. da[...] = fastact.{kernel}(...)"
        )


def _call_xarray(
    kernel: str, inputs: tuple[object, ...], params: tuple[float, ...], out: object, backend: str
) -> Any:
    import xarray as xr

    _no_out_for_xarray(kernel, out)
    options = xr.get_options()
    keep_attrs = options["keep_attrs"]
    join = options["arithmetic_join"]
    # fastact's function on each underlying array: numpy data computes now, dask
    # data stays lazy (through _call_dask), and a Dataset's variables each get the
    # dtype rules. These are the arguments xarray's __array_ufunc__ passes.
    return xr.apply_ufunc(
        functools.partial(_block, kernel, params, backend),
        *inputs,
        join=join,
        dataset_join=join,
        dataset_fill_value=np.nan,
        dask="allowed",
        keep_attrs=True if keep_attrs == "default" else keep_attrs,
    )


def _channel_xarray(
    kernel: str,
    inputs: tuple[object, ...],
    w: np.ndarray,
    ax: int | None,
    out: object,
    backend: str,
) -> Any:
    """A DataArray x; the channel axis is a position in x, named by its dim."""
    import xarray as xr

    _no_out_for_xarray(kernel, out)
    x = inputs[-1]
    if not isinstance(x, xr.DataArray) or (
        len(inputs) == 2
        and _kind(inputs[0]) == "xarray"
        and not isinstance(inputs[0], xr.DataArray)
    ):
        names = ", ".join(type(v).__name__ for v in inputs)
        raise TypeError(
            f"fastact.{kernel}: among xarray objects, x (and grad_out) must be DataArrays, "
            f"got {names}: the channel axis is a position in x"
        )
    channel = None if ax is None else x.dims[ax]
    arrays: list[Any] = [x]
    if len(inputs) == 2:
        g = inputs[0]
        if isinstance(g, xr.DataArray):
            # align and broadcast as xarray's arithmetic does, then lay grad_out out like x
            g, x = xr.align(g, x, join=xr.get_options()["arithmetic_join"])
            g, x_wide = xr.broadcast(g, x)
            # laid out like x, after any axes grad_out adds (where NumPy puts them)
            dims = (*(d for d in g.dims if d not in x.dims), *x.dims)
            g, x = g.transpose(*dims), x_wide.transpose(*dims)
        arrays = [g, x]
    axis = 1 if channel is None else x.dims.index(channel)
    data = [a.data if isinstance(a, xr.DataArray) else a for a in arrays]
    result = _channel_function(kernel, data, w if ax is not None else w[()], axis, backend)
    grad, grad_weight = result if is_backward(kernel) else (result, None)
    if np.shape(grad) != x.shape:
        raise ValueError(
            f"fastact.{kernel}: grad_out broadcasts x {x.shape} to {np.shape(grad)}; "
            "give grad_out as an xarray object to name the new dims"
        )
    wrapped = x.copy(data=grad)
    return (wrapped, grad_weight) if is_backward(kernel) else wrapped


# --- masked arrays --------------------------------------------------------------------------


def _masked_parts(inputs: tuple[object, ...], shape: tuple[int, ...]) -> tuple[Any, Any]:
    """The union of the inputs' masks over ``shape`` (or nomask), and the first masked input."""
    masked = [v for v in inputs if isinstance(v, np.ma.MaskedArray)]
    mask: Any = np.ma.nomask
    for v in masked:
        m = np.ma.getmask(v)
        if m is not np.ma.nomask and m.any():
            m = np.broadcast_to(m, shape)
            mask = m if mask is np.ma.nomask else mask | m
    return mask, masked[0] if masked else None


def _masked_result(kernel: str, result: np.ndarray, mask: Any, first: Any, out: object) -> Any:
    """``result`` with ``mask``, new or written into the unmasked places of ``out``."""
    from fastact._api import _check_out

    if out is None:
        # the kind and fill value of the first masked input, as NumPy's masked operations do
        kind, fill = type(first), None
        if isinstance(first, np.ma.core.MaskedConstant):
            kind = np.ma.MaskedArray  # np.ma.masked: a singleton, not a kind to return
        elif first.dtype == result.dtype:
            # the one set, if any (reading .fill_value would make float16's default
            # 1e20 and warn that it overflows)
            fill = getattr(first, "_fill_value", None)
        return np.ma.MaskedArray(
            result, mask=np.ma.nomask if mask is np.ma.nomask else mask.copy(), fill_value=fill
        ).view(kind)
    assert isinstance(out, np.ma.MaskedArray)  # _masked_out_first
    target = _check_out(out.data, result.shape, result.dtype, kernel)
    out_mask = np.ma.getmask(out)
    skip = mask if out_mask is np.ma.nomask else out_mask | mask
    if skip is np.ma.nomask:
        np.copyto(target, result)
    else:
        np.copyto(target, result, where=~skip)
    if mask is not np.ma.nomask:
        # places masked in an input hold no result: they are masked in out too
        out.mask = skip
    return out


def _masked_out_first(kernel: str, inputs: tuple[object, ...], out: object) -> None:
    """An input is masked and ``out`` is not: refuse before computing anything."""
    if out is not None and not isinstance(out, np.ma.MaskedArray):
        raise TypeError(
            f"fastact.{kernel}: out must be a masked array when an input is one (got "
            f"{type(out).__name__}, which cannot keep the mask)"
        )


def _call_masked(
    kernel: str, inputs: tuple[object, ...], params: tuple[float, ...], out: object, backend: str
) -> Any:
    from fastact._api import PUBLIC, as_given

    _masked_out_first(kernel, inputs, out)
    # The plain path on the data: every check of the inputs and parameters, and
    # fastact's kernels, into a new array. The mask is applied after: a ufunc's
    # out= would overwrite the masked places of out.
    data = tuple(np.ma.getdata(v) if isinstance(v, np.ma.MaskedArray) else v for v in inputs)
    given = as_given(activation_of(kernel), params)
    result = np.asarray(PUBLIC[kernel](*data, *given, backend=backend))
    mask, first = _masked_parts(inputs, result.shape)
    return _masked_result(kernel, result, mask, first, out)


def _channel_masked(
    kernel: str,
    inputs: tuple[object, ...],
    w: np.ndarray,
    ax: int | None,
    out: object,
    backend: str,
) -> Any:
    import fastact

    _masked_out_first(kernel, inputs, out)
    data = [np.ma.getdata(v) if isinstance(v, np.ma.MaskedArray) else v for v in inputs]
    shape = _broadcast_shape(kernel, inputs)
    assert shape is not None  # NumPy shapes are known
    mask, first = _masked_parts(inputs, shape)
    if is_backward(kernel) and mask is not np.ma.nomask:
        # masked places add nothing to grad_weight: 0 there in grad_out, and in x
        # where it has the full shape (0 * 0 = 0 whatever the data under the mask)
        data = [
            v
            if _is_weak(v) or (i == 1 and np.shape(v) != shape)
            else np.where(mask, np.zeros((), np.asarray(v).dtype), v)
            for i, v in enumerate(data)
        ]
    weight = w if ax is not None else w[()]
    result = getattr(fastact, kernel)(*data, weight, 1 if ax is None else ax, backend=backend)
    grad, grad_weight = result if is_backward(kernel) else (result, None)
    wrapped = _masked_result(kernel, np.asarray(grad), mask, first, out)
    return (wrapped, grad_weight) if is_backward(kernel) else wrapped


__all__ = ["call", "call_channel", "takes"]
