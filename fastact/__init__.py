"""fastact: fast, exact activation functions for NumPy arrays.

Every activation ``f`` comes with its derivative ``f_grad`` and its fused
backward pass ``f_backward``, on float16/float32/float64 arrays of any shape
and layout, with Cython, Numba and NumPy backends and a dispatcher that picks
the fastest one that can run. ``fastact.nn`` has a layer for each, and
``fastact.ufunc`` the NumPy ufuncs that carry them into dask, xarray and
masked arrays.

Examples
--------
>>> import numpy as np
>>> import fastact as fa
>>> x = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
>>> fa.leaky_relu(x, alpha=0.1)
array([-0.1,  0. ,  2. ], dtype=float32)
"""

from fastact import _api, nn
from fastact._config import (
    get_backend,
    get_num_threads,
    set_backend,
    set_num_threads,
    use_backend,
)
from fastact._dispatch import warmup
from fastact._info import show_config
from fastact._table import ACTIVATIONS

__version__ = "0.2.0"

globals().update(_api.PUBLIC)

__all__ = [
    "ACTIVATIONS",
    "__version__",
    "get_backend",
    "get_num_threads",
    "nn",
    "set_backend",
    "set_num_threads",
    "show_config",
    "use_backend",
    "warmup",
    *_api.PUBLIC,
]
