"""NumPy ufuncs of every fastact kernel: ``fastact.ufunc.relu``, ``fastact.ufunc.leaky_relu``, ...

Each is a genuine :class:`numpy.ufunc` whose inner loops are the compiled
kernels of the Cython backend (parallel for long contiguous runs), so NumPy's
own protocols (``__array_ufunc__``) carry them into dask, xarray, masked
arrays and any other container, broadcasting, ``out=``, ``where=`` and
``dtype=`` included. A ufunc takes the array operand(s) (``x``, or
``grad_out, x``) and then every parameter of its activation, positionally;
parameters broadcast like any operand. They pickle by reference.

NumPy's rules apply as for any ufunc: an integer input picks the float16
loop (use the functions of ``fastact`` for float64 on integers). Importing
this module raises ImportError where the Cython extension is not built.

Examples
--------
>>> import numpy as np
>>> from fastact import ufunc
>>> ufunc.leaky_relu(np.array([-2.0, 3.0]), 0.5)
array([-1.,  3.])
"""

from fastact import _backends

_ufuncs = _backends.load("cython").UFUNCS if _backends.status("cython") is None else None
if _ufuncs is None:
    raise ImportError(f"fastact.ufunc needs the Cython extension: {_backends.status('cython')}")

for _ufunc in _ufuncs.values():
    _ufunc.__module__ = __name__  # pickle finds them here, without searching sys.modules
globals().update(_ufuncs)
__all__ = list(_ufuncs)
