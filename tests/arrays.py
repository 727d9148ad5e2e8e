"""An adversarial array generator: every dtype x layout, with edge values sprinkled in.

Each case has a label naming its dtype, shape, layout and strides, so that a
failure says which array broke it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

FLOAT_DTYPES = (np.float16, np.float32, np.float64)
OTHER_DTYPES = (np.int64, np.int8, np.uint16, np.bool_)
ALPHAS = (0.0, 0.01, 0.2, float(np.exp(-2)), 1.0, -0.5)


def special_values(dtype) -> list[float]:
    info = np.finfo(dtype)
    tiny_sub = float(info.smallest_subnormal)
    return [
        np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0,
        tiny_sub, -tiny_sub, float(info.tiny), -float(info.tiny),
        float(info.max), -float(info.max), 3 * tiny_sub, -3 * tiny_sub,
    ]  # fmt: skip


def values(dtype, size: int, seed: int) -> np.ndarray:
    """``size`` values of ``dtype``: normal data with every special value sprinkled in."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, size, endpoint=True, dtype=dtype)
        data[: min(size, 3)] = [info.min, 0, info.max][: min(size, 3)]
        return data
    data = (rng.standard_normal(size) * rng.choice([1e-3, 1.0, 1e3], size)).astype(dtype)
    specials = np.array(special_values(dtype), dtype=dtype)
    # a NaN with a payload and its sign bit set, to see pass-through keep bits
    bits = data.view(f"u{dtype.itemsize}")
    if size:
        k = min(size, len(specials))
        spots = rng.choice(size, k, replace=False)
        data[spots] = specials[:k]
        payload = {2: 0xFE01, 4: 0xFFC00123, 8: 0xFFF8000000000123}[dtype.itemsize]
        bits[rng.integers(size)] = payload
    return data


@dataclass(frozen=True)
class Layout:
    """How to lay ``n`` values out: ``make(flat) -> view`` over at least ``n`` values."""

    name: str
    n: int
    make: Callable[[np.ndarray], np.ndarray]


def _byteswapped(a: np.ndarray) -> np.ndarray:
    return a.astype(a.dtype.newbyteorder("S"))


LAYOUTS = (
    Layout("0-d", 1, lambda f: f[0:1].reshape(())),
    Layout("empty", 0, lambda f: f[:0]),
    Layout("empty-2d", 0, lambda f: f[:0].reshape(3, 0)),
    Layout("1", 1, lambda f: f[:1]),
    Layout("15", 15, lambda f: f[:15]),
    Layout("17", 17, lambda f: f[:17]),
    Layout("1000", 1000, lambda f: f[:1000]),
    Layout("C-2d", 37 * 41, lambda f: f[: 37 * 41].reshape(37, 41)),
    Layout("F-2d", 37 * 41, lambda f: np.asfortranarray(f[: 37 * 41].reshape(37, 41))),
    Layout("transposed", 37 * 41, lambda f: f[: 37 * 41].reshape(37, 41).T),
    Layout("sliced-steps", 40 * 42, lambda f: f[: 40 * 42].reshape(40, 42)[1::2, ::3]),
    Layout("negative-strides", 40 * 42, lambda f: f[: 40 * 42].reshape(40, 42)[::-1, ::-2]),
    Layout("1d-step", 300, lambda f: f[:300][::3]),
    Layout("3d-unmergeable", 6 * 10 * 7, lambda f: f[:420].reshape(6, 10, 7)[::2, ::3, 1:5]),
    Layout("4d-mixed", 2 * 3 * 4 * 5, lambda f: f[:120].reshape(2, 3, 4, 5).transpose(2, 0, 3, 1)),
    Layout("byteswapped", 101, lambda f: _byteswapped(f[:101])),
    Layout("byteswapped-F", 99, lambda f: _byteswapped(np.asfortranarray(f[:99].reshape(9, 11)))),
)
BIG = Layout("1000003", 1_000_003, lambda f: f[:1_000_003])


def make(dtype, layout: Layout, seed: int = 0) -> np.ndarray:
    """The array of ``layout`` filled with ``values(dtype)``."""
    return layout.make(values(dtype, max(layout.n, 1), seed))


def describe(a: np.ndarray, layout: Layout) -> str:
    return f"dtype={a.dtype.str} shape={a.shape} layout={layout.name} strides={a.strides}"
