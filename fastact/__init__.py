"""fastact: fast ReLU and Leaky ReLU for NumPy arrays.

Forward, derivative and fused backward passes, bit-identical to the formulas,
on float16/float32/float64 arrays of any shape and layout, with Numba, Cython
and NumPy backends and a dispatcher that picks the fastest one that can run.

Examples
--------
>>> import numpy as np
>>> import fastact as fa
>>> x = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
>>> fa.leaky_relu(x, alpha=0.1)
array([-0.1,  0. ,  2. ], dtype=float32)
"""

from fastact import nn
from fastact._api import (
    leaky_relu,
    leaky_relu_backward,
    leaky_relu_grad,
    relu,
    relu_backward,
    relu_grad,
)
from fastact._config import (
    get_backend,
    get_num_threads,
    get_result_cache_bytes,
    set_backend,
    set_num_threads,
    set_result_cache_bytes,
    use_backend,
)
from fastact._dispatch import warmup
from fastact._info import show_config

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "get_backend",
    "get_num_threads",
    "get_result_cache_bytes",
    "leaky_relu",
    "leaky_relu_backward",
    "leaky_relu_grad",
    "nn",
    "relu",
    "relu_backward",
    "relu_grad",
    "set_backend",
    "set_num_threads",
    "set_result_cache_bytes",
    "show_config",
    "use_backend",
    "warmup",
]
