"""The public functions: every argument check and every output allocation lives here.

Backends receive only arrays that passed these checks (see
``fastact._backends``), so a call that raises has written nothing.

Where the Cython extension is built, the names below are rebound at import
to its compiled *fronts* (see :func:`_install_fronts`): C functions with the
same signature that serve the common call whole (the ``"auto"`` backend,
C-contiguous arrays of one native float dtype, a float ``alpha``), serial or
parallel, and hand everything else, errors included, to the Python function
defined here. A Python function call alone costs about as much as a small
kernel; the fronts make the common call cost what the kernel costs.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fastact import _backends, _config, _dispatch, _layout
from fastact._kernels import DEFAULT_ALPHA, KERNELS

_KINDS_AS_FLOAT64 = "biu"
#: np.empty_like, or the Cython extension's, which takes large results from
#: the result cache (see fastact._dispatch.RESULT_CACHE_MIN_BYTES)
_empty_like = np.empty_like
_F16, _F32, _F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)


def _as_float_array(value: object, fname: str, argname: str) -> np.ndarray:
    """``value`` as an array of native float16/32/64; bool and integers become float64."""
    if type(value) is np.ndarray:
        dtype = value.dtype
        # builtin native dtypes are singletons: identity is the cheapest test
        if dtype is _F32 or dtype is _F64 or dtype is _F16:
            return value
        arr = value
    else:
        arr = np.asarray(value)
        dtype = arr.dtype
    if dtype.kind == "f" and dtype.itemsize <= 8:
        return arr if dtype.isnative else arr.astype(dtype.newbyteorder("="))
    if dtype.kind in _KINDS_AS_FLOAT64:
        return arr.astype(np.float64)
    raise TypeError(
        f"fastact.{fname}: {argname} has unsupported dtype {dtype}; "
        "expected float16, float32, float64, bool or an integer dtype"
    )


def _check_alpha(alpha: object, fname: str) -> float:
    if type(alpha) is float:
        value = alpha
    elif isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
        try:
            value = float(alpha)
        except OverflowError:
            value = math.inf
    else:
        raise TypeError(
            f"fastact.{fname}: alpha must be a real number, got {type(alpha).__name__} {alpha!r}"
        )
    if not math.isfinite(value):
        raise ValueError(f"fastact.{fname}: alpha must be finite, got {alpha!r}")
    return value


def _check_out(out: object, shape: tuple[int, ...], dtype: np.dtype, fname: str) -> np.ndarray:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"fastact.{fname}: out must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(
            f"fastact.{fname}: out has shape {out.shape}, the result has shape {shape}"
        )
    if out.dtype != dtype:
        raise TypeError(
            f"fastact.{fname}: out has dtype {out.dtype.str}, the result has dtype {dtype.str} "
            f"({dtype.name}, native byte order)"
        )
    if not out.flags.writeable:
        raise ValueError(f"fastact.{fname}: out is read-only")
    return out


def _unalias(arr: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``arr``, or a copy of it if ``out`` overlaps it other than as the same view."""
    if arr is out or not np.may_share_memory(arr, out):
        return arr
    same_view = (
        arr.__array_interface__["data"][0] == out.__array_interface__["data"][0]
        and arr.strides == out.strides
    )
    # An identical view is in place: each element is read before it is written.
    return arr if same_view else arr.copy()


def _call(
    fname: str,
    inputs: tuple[object, ...],
    alpha: float,
    out: object,
    backend: object,
) -> Any:
    """Check the arguments of kernel ``fname``, allocate or check ``out``, run it."""
    name = _config.get_backend() if backend is None else _config.check_backend_name(backend)
    x = _as_float_array(inputs[-1], fname, "x")
    if len(inputs) == 1:
        arrays: tuple[np.ndarray, ...] = (x,)
    else:
        g = _as_float_array(inputs[0], fname, "grad_out")
        if g.shape != x.shape:
            raise ValueError(
                f"fastact.{fname}: grad_out and x must have the same shape, "
                f"got grad_out {g.shape} and x {x.shape}"
            )
        if g.dtype is not x.dtype:
            common = np.result_type(g.dtype, x.dtype)
            g, x = g.astype(common, copy=False), x.astype(common, copy=False)
        arrays = (g, x)
    dtype = x.dtype
    if out is None:
        result = _empty_like(x)
    else:
        result = _check_out(out, x.shape, dtype, fname)
        arrays = tuple(_unalias(a, result) for a in arrays)
    size = result.size
    module = _dispatch.resolve(name, fname, dtype, size)
    _dispatch.execute(module, fname, _layout.blocks((*arrays, result)), alpha, size)
    if out is None and result.ndim == 0 and not isinstance(inputs[-1], np.ndarray):
        return result[()]
    return result


def relu(
    x: ArrayLike, *, out: NDArray[np.floating] | None = None, backend: str | None = None
) -> Any:
    """Rectified linear unit: ``0 if x < 0 else x``, element by element.

    NaN and -0.0 pass through unchanged; -inf gives 0.

    Parameters
    ----------
    x : array_like
        float16, float32 or float64 keep their dtype; bool and integer inputs
        are computed as float64. Any shape and memory layout.
    out : numpy.ndarray, optional
        Where to write the result: a writeable array with exactly the result's
        shape and dtype. It may be ``x`` itself (in place).
    backend : {None, "auto", "numba", "cython", "numpy"}, optional
        ``None`` uses the configured default (see :func:`fastact.get_backend`).

    Returns
    -------
    numpy.ndarray or numpy scalar
        ``out`` if given, else a new array laid out like ``np.empty_like(x)``;
        a NumPy scalar when ``x`` is a scalar.

    Raises
    ------
    TypeError
        If ``x`` has an unsupported dtype (complex, object, string, ...), or
        ``out`` is not an ndarray of the result's dtype.
    ValueError
        If ``out`` has the wrong shape or is read-only, or ``backend`` is not
        a backend name.
    RuntimeError
        If the backend asked for cannot run here.

    Examples
    --------
    >>> import numpy as np
    >>> import fastact as fa
    >>> fa.relu(np.array([-2.0, -0.0, 3.0]))
    array([ 0., -0.,  3.])
    >>> x = np.array([-1.0, 1.0], dtype=np.float32)
    >>> fa.relu(x, out=x) is x
    True
    """
    return _call("relu", (x,), 0.0, out, backend)


def leaky_relu(
    x: ArrayLike,
    alpha: float = DEFAULT_ALPHA,
    *,
    out: NDArray[np.floating] | None = None,
    backend: str | None = None,
) -> Any:
    """Leaky rectified linear unit: ``x if x > 0 else alpha * x``, element by element.

    ``alpha * x`` is computed in the array's dtype (float32 for float16
    arrays, rounded once), so NaN gives NaN, -inf gives -inf for
    ``alpha > 0`` and -0.0 gives ``alpha * -0.0``.

    Parameters
    ----------
    x : array_like
        float16, float32 or float64 keep their dtype; bool and integer inputs
        are computed as float64. Any shape and memory layout.
    alpha : float, default 0.01
        The slope for ``x <= 0``: any finite real number, negative included.
    out : numpy.ndarray, optional
        Where to write the result: a writeable array with exactly the result's
        shape and dtype. It may be ``x`` itself (in place).
    backend : {None, "auto", "numba", "cython", "numpy"}, optional
        ``None`` uses the configured default (see :func:`fastact.get_backend`).

    Returns
    -------
    numpy.ndarray or numpy scalar
        ``out`` if given, else a new array laid out like ``np.empty_like(x)``;
        a NumPy scalar when ``x`` is a scalar.

    Raises
    ------
    TypeError
        If ``x`` has an unsupported dtype, ``alpha`` is not a real number, or
        ``out`` is not an ndarray of the result's dtype.
    ValueError
        If ``alpha`` is NaN or infinite, ``out`` has the wrong shape or is
        read-only, or ``backend`` is not a backend name.
    RuntimeError
        If the backend asked for cannot run here.

    Examples
    --------
    >>> import numpy as np
    >>> import fastact as fa
    >>> fa.leaky_relu(np.array([-2.0, 0.0, 3.0]), alpha=0.1)
    array([-0.2,  0. ,  3. ])
    >>> fa.leaky_relu(-4.0, 0.25)
    np.float64(-1.0)
    """
    a = _check_alpha(alpha, "leaky_relu")
    return _call("leaky_relu", (x,), a, out, backend)


def relu_grad(
    x: ArrayLike, *, out: NDArray[np.floating] | None = None, backend: str | None = None
) -> Any:
    """Derivative of :func:`relu`: ``1 if x > 0 else 0``, element by element.

    The derivative at exactly 0 (and at NaN) is 0, as in PyTorch, TensorFlow
    and JAX.

    Parameters
    ----------
    x : array_like
        float16, float32 or float64 keep their dtype; bool and integer inputs
        are computed as float64. ``relu(x)`` may be passed instead of ``x``:
        the result is the same.
    out : numpy.ndarray, optional
        Where to write the result: a writeable array with exactly the result's
        shape and dtype. It may be ``x`` itself (in place).
    backend : {None, "auto", "numba", "cython", "numpy"}, optional
        ``None`` uses the configured default (see :func:`fastact.get_backend`).

    Returns
    -------
    numpy.ndarray or numpy scalar
        ``out`` if given, else a new array laid out like ``np.empty_like(x)``.

    Raises
    ------
    TypeError, ValueError, RuntimeError
        As for :func:`relu`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastact as fa
    >>> fa.relu_grad(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 1.])
    """
    return _call("relu_grad", (x,), 0.0, out, backend)


def leaky_relu_grad(
    x: ArrayLike,
    alpha: float = DEFAULT_ALPHA,
    *,
    out: NDArray[np.floating] | None = None,
    backend: str | None = None,
) -> Any:
    """Derivative of :func:`leaky_relu`: ``1 if x > 0 else alpha``, element by element.

    The derivative at exactly 0 (and at NaN) is ``alpha``, as in PyTorch,
    TensorFlow and JAX. For float16, ``alpha`` is rounded to float32 and then
    to float16.

    Parameters
    ----------
    x : array_like
        float16, float32 or float64 keep their dtype; bool and integer inputs
        are computed as float64. For ``alpha >= 0``, ``leaky_relu(x, alpha)``
        may be passed instead of ``x``: the result is the same.
    alpha : float, default 0.01
        Any finite real number.
    out : numpy.ndarray, optional
        Where to write the result: a writeable array with exactly the result's
        shape and dtype. It may be ``x`` itself (in place).
    backend : {None, "auto", "numba", "cython", "numpy"}, optional
        ``None`` uses the configured default (see :func:`fastact.get_backend`).

    Returns
    -------
    numpy.ndarray or numpy scalar
        ``out`` if given, else a new array laid out like ``np.empty_like(x)``.

    Raises
    ------
    TypeError, ValueError, RuntimeError
        As for :func:`leaky_relu`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastact as fa
    >>> fa.leaky_relu_grad(np.array([-1.0, 0.0, 2.0]), alpha=0.5)
    array([0.5, 0.5, 1. ])
    """
    a = _check_alpha(alpha, "leaky_relu_grad")
    return _call("leaky_relu_grad", (x,), a, out, backend)


def relu_backward(
    grad_out: ArrayLike,
    x: ArrayLike,
    *,
    out: NDArray[np.floating] | None = None,
    backend: str | None = None,
) -> Any:
    """Fused backward pass of :func:`relu`: ``grad_out if x > 0 else 0``.

    One pass over the data and no temporary arrays: this is what a training
    loop calls to turn the gradient of the output into the gradient of the
    input.

    Parameters
    ----------
    grad_out : array_like
        The gradient with respect to ``relu(x)``; same shape as ``x`` (no
        broadcasting).
    x : array_like
        The input of the forward pass, or its output ``relu(x)``: the result
        is the same.
    out : numpy.ndarray, optional
        Where to write the result: a writeable array with exactly the result's
        shape and dtype. It may be ``grad_out`` or ``x`` itself.
    backend : {None, "auto", "numba", "cython", "numpy"}, optional
        ``None`` uses the configured default (see :func:`fastact.get_backend`).

    Returns
    -------
    numpy.ndarray or numpy scalar
        ``out`` if given, else a new array laid out like ``np.empty_like(x)``,
        with ``grad_out``'s dtype (NumPy's promotion if the dtypes differ).

    Raises
    ------
    ValueError
        If ``grad_out`` and ``x`` have different shapes; else as for
        :func:`relu`.
    TypeError, RuntimeError
        As for :func:`relu`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastact as fa
    >>> fa.relu_backward(np.array([5.0, 5.0, 5.0]), np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 5.])
    """
    return _call("relu_backward", (grad_out, x), 0.0, out, backend)


def leaky_relu_backward(
    grad_out: ArrayLike,
    x: ArrayLike,
    alpha: float = DEFAULT_ALPHA,
    *,
    out: NDArray[np.floating] | None = None,
    backend: str | None = None,
) -> Any:
    """Fused backward pass of :func:`leaky_relu`: ``grad_out if x > 0 else alpha * grad_out``.

    One pass over the data and no temporary arrays. ``alpha * grad_out`` is
    computed in the array's dtype (float32 for float16, rounded once).

    Parameters
    ----------
    grad_out : array_like
        The gradient with respect to ``leaky_relu(x, alpha)``; same shape as
        ``x`` (no broadcasting).
    x : array_like
        The input of the forward pass, or, for ``alpha >= 0``, its output:
        the result is the same.
    alpha : float, default 0.01
        Any finite real number.
    out : numpy.ndarray, optional
        Where to write the result: a writeable array with exactly the result's
        shape and dtype. It may be ``grad_out`` or ``x`` itself.
    backend : {None, "auto", "numba", "cython", "numpy"}, optional
        ``None`` uses the configured default (see :func:`fastact.get_backend`).

    Returns
    -------
    numpy.ndarray or numpy scalar
        ``out`` if given, else a new array laid out like ``np.empty_like(x)``,
        with ``grad_out``'s dtype (NumPy's promotion if the dtypes differ).

    Raises
    ------
    ValueError
        If ``grad_out`` and ``x`` have different shapes; else as for
        :func:`leaky_relu`.
    TypeError, RuntimeError
        As for :func:`leaky_relu`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastact as fa
    >>> fa.leaky_relu_backward(np.array([4.0, 4.0]), np.array([-1.0, 2.0]), alpha=0.5)
    array([2., 4.])
    """
    a = _check_alpha(alpha, "leaky_relu_backward")
    return _call("leaky_relu_backward", (grad_out, x), a, out, backend)


def _install_fronts() -> None:
    """Rebind the public functions to the Cython extension's compiled fronts, if it runs.

    Each front keeps its Python function's name, docstring and signature
    (``functools.update_wrapper``) and calls it for every call it does not
    serve. Without the extension the Python functions stay.
    """
    if _backends.status("cython") is not None:
        return
    namespace = globals()
    general = tuple(namespace[name] for name in KERNELS)
    cy = _backends.load("cython")
    fronts = cy.bind(vars(_config), vars(_dispatch), general)
    namespace["_empty_like"] = cy.empty_like
    for name, python_function in zip(KERNELS, general, strict=True):
        namespace[name] = functools.update_wrapper(fronts[name], python_function)


_install_fronts()
