"""The NumPy reference backend: the formulas of ``_kernels`` evaluated with ufuncs.

It is correct by construction, serves wherever nothing faster can run, and is
the backend the others are tested against. Each kernel computes a boolean mask
of ``cond`` once (the only temporary, one byte an element), then writes
``then`` where the mask holds and ``other`` where it does not, straight into
``out``. Because every value reads its operands at the same element it
writes, and the mask is taken before anything is written, ``out`` may be one
of the inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fastact._kernels import KERNELS, Kernel

PARALLEL_RUNTIME = None
PARALLEL_THREADSAFE = True

_COMPARE = {"<": np.less, ">": np.greater}


def _compute_type(dtype: np.dtype) -> type[np.floating]:
    # float16 is computed in float32 and rounded once, as PyTorch does.
    return np.float32 if dtype == np.float16 else dtype.type


def _write(expr: str, ops: dict[str, np.ndarray], alpha: float, out: np.ndarray, where) -> None:
    """Write the value ``expr`` into ``out`` where ``where`` holds."""
    ct = _compute_type(out.dtype)
    if expr in ops:
        np.copyto(out, ops[expr], where=where)
    elif expr == "a":
        # alpha in the compute type, then rounded to the array's dtype
        np.copyto(out, ct(alpha), where=where, casting="unsafe")
    elif expr in ("0", "1"):
        np.copyto(out, int(expr), where=where)
    else:
        factor, _, operand = expr.partition(" * ")
        if factor != "a" or operand not in ops:
            raise NotImplementedError(f"numpy backend cannot evaluate {expr!r}")
        np.multiply(ops[operand], ct(alpha), out=out, where=where, dtype=ct, casting="same_kind")


def _make(kernel: Kernel) -> Callable[..., None]:
    name, op, zero = kernel.cond.split()
    if name != "x" or zero != "0" or op not in _COMPARE:
        raise NotImplementedError(f"numpy backend cannot evaluate {kernel.cond!r}")
    compare = _COMPARE[op]

    def run(*args: object) -> None:
        *arrays, out, alpha, _nthreads = args
        ops = dict(zip(kernel.inputs, arrays, strict=True))
        mask = compare(ops["x"], 0)
        # inf * 0 and overflow are part of the formulas, not something to warn about
        with np.errstate(all="ignore"):
            _write(kernel.then, ops, alpha, out, mask)
            np.logical_not(mask, out=mask)
            _write(kernel.other, ops, alpha, out, mask)

    run.__name__ = kernel.name
    run.__qualname__ = kernel.name
    return run


_RUNNERS = {name: _make(kernel) for name, kernel in KERNELS.items()}


def get_kernel(name: str, parallel: bool) -> Callable[..., None]:
    """Return the kernel ``name``; NumPy has no parallel kernels."""
    return _RUNNERS[name]


def info() -> dict[str, str]:
    """Describe this backend for ``show_config``."""
    return {"version": np.__version__, "kernels": "NumPy ufuncs (serial, reference)"}
