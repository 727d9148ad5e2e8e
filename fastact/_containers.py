"""Arrays beyond NumPy: containers that take part in NumPy's override protocols.

``fastact._api`` asks :func:`takes` before anything else; a container gets
its own kind back from :func:`call`. Until a container is supported here,
it is refused with ``TypeError``, never converted silently.
"""

from __future__ import annotations

from typing import Any

import numpy as np

def _is_container(value: object) -> bool:
    if value is None or type(value) in (np.ndarray, float, int, bool, list, tuple):
        return False
    if isinstance(value, np.generic):
        return False
    if isinstance(value, np.ma.MaskedArray):
        return True
    override = getattr(type(value), "__array_ufunc__", None)
    return override is not None and override is not np.ndarray.__array_ufunc__


def takes(inputs: tuple[object, ...], out: object) -> bool:
    """Whether an input or ``out`` is a container that overrides NumPy's ufuncs."""
    return any(_is_container(v) for v in (*inputs, out))


def call(
    kernel: str, inputs: tuple[object, ...], params: tuple[float, ...], out: object, backend: str
) -> Any:
    """Run ``kernel`` on a container and return the container's own kind."""
    kinds = ", ".join(sorted({type(v).__name__ for v in (*inputs, out) if _is_container(v)}))
    raise TypeError(f"fastact.{kernel}: {kinds} inputs are not supported yet")
