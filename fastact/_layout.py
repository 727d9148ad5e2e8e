"""Turn same-shape arrays of any layout into the 1-D or 2-D views kernels take.

Element-wise kernels do not care about the order in which elements are
visited, only that every operand is visited in the same order. So the arrays
may be flipped, transposed and reshaped together, as long as each step is a
view: the result's memory order drives the walk, unit axes go, axes that are
contiguous with each other in every operand merge. What is left is almost
always one or two axes; the rare rest is looped over in Python, block by block.
"""

from __future__ import annotations

import numpy as np

Arrays = tuple[np.ndarray, ...]


def blocks(arrays: Arrays) -> list[Arrays]:
    """Views of ``arrays`` (same shape; the last is the output) as 1-D or 2-D blocks.

    Every element of the output appears in exactly one block, paired with the
    same element of every input. Nothing is copied.
    """
    out = arrays[-1]
    ndim = out.ndim
    if ndim == 1:
        return [arrays] if out.size else []
    if out.size == 0:
        return []
    if ndim == 0:
        return [tuple(a.reshape(1) for a in arrays)]
    # ravel of a contiguous array is a view in its memory order
    if all(a.flags.c_contiguous for a in arrays):
        return [_views(arrays, "C")]
    if all(a.flags.f_contiguous for a in arrays):
        return [_views(arrays, "F")]
    return _general(arrays)


def _views(arrays: Arrays, order: str) -> Arrays:
    """Flat views; an array passed twice (in place) gives one view, still passed twice.

    Backends tell in place by identity (Numba runs a loop without an overlap
    check then), so one object must stay one object.
    """
    seen: dict[int, np.ndarray] = {}
    return tuple(seen.setdefault(id(a), a.ravel(order)) for a in arrays)


def _general(arrays: Arrays) -> list[Arrays]:
    shape = [s for s in arrays[-1].shape if s != 1]
    views = [a.reshape(shape) for a in arrays]  # dropping unit axes never copies
    if len(shape) <= 1:
        return [tuple(views)]
    # Walk in the output's memory order: flip its negative axes, outer axes first.
    flip = tuple(slice(None, None, -1) if s < 0 else slice(None) for s in views[-1].strides)
    views = [v[flip] for v in views]
    order = sorted(range(len(shape)), key=lambda i: -views[-1].strides[i])
    views = [v.transpose(order) for v in views]
    shape = list(views[-1].shape)
    merged = [shape[0]]
    for i in range(1, len(shape)):
        if all(v.strides[i - 1] == v.shape[i] * v.strides[i] for v in views):
            merged[-1] *= shape[i]
        else:
            merged.append(shape[i])
    # Merging only axes whose strides chain lets reshape return views.
    views = [v.reshape(merged) for v in views]
    if len(merged) <= 2:
        return [tuple(views)]
    return [tuple(v[idx] for v in views) for idx in np.ndindex(*merged[:-2])]
