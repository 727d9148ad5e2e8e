"""Bit-exact float16 <-> float32 conversion for Numba kernels.

Numba 0.68 cannot type ``np.float16`` arrays or scalars on the CPU target
(``NotImplementedError: float16``), so the float16 kernels see their arrays as
``uint16`` and convert each element here. Both conversions are written without
branches (every case is computed, then selected) so that LLVM can vectorise
the loops that inline them.

``half_to_float`` is exact for every one of the 65536 half bit patterns: zeros
and subnormals included, infinities kept, NaN payloads (and the quiet bit)
moved to the top of the float32 mantissa unchanged. ``float_to_half`` rounds to
nearest, ties to even, as IEEE 754 and the F16C ``vcvtps2ph`` instruction do,
with overflow to infinity and gradual underflow to half subnormals. A NaN
keeps its sign and the top ten bits of its payload, exactly as NumPy's
float32 -> float16 cast does for all 2**32 inputs (quiet NaNs, the only kind
float32 arithmetic produces, agree with the F16C instruction too).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# 2**-14, the smallest normal half.
_MIN_NORMAL = np.float32(2.0**-14)
# Adding 0.5 (bits 126 << 23, one float32 ulp = 2**-24 = one half subnormal
# ulp) to a |value| < 2**-14 leaves exactly the half subnormal mantissa, rounded
# to nearest even by the FPU itself, in the low bits.
_DENORM_MAGIC = np.float32(0.5)
_DENORM_MAGIC_BITS = np.uint32(126 << 23)


@njit(inline="always")
def half_to_float(h):
    """Convert half bits (``uint16``) to the ``float32`` they encode.

    Parameters
    ----------
    h : uint16
        The bit pattern of an IEEE 754 binary16 value.

    Returns
    -------
    float32
        The same value (exactly; NaN payloads preserved).
    """
    # Numba widens uint32 arithmetic to 64 bits, so results that are bit
    # cast back to float32 are narrowed with np.uint32() explicitly.
    hu = np.uint32(h)
    shifted = np.uint32((hu & np.uint32(0x7FFF)) << np.uint32(13))
    exp = shifted & np.uint32(0x0F800000)
    # Rebias the exponent from 15 to 127; infinities and NaNs need the rest of
    # the way to 255, and subnormals are renormalised by one float subtraction,
    # which is exact because the result is representable.
    normal = np.uint32(shifted + np.uint32(112 << 23))
    special = np.uint32(normal + np.uint32(112 << 23))
    renorm = np.uint32(normal + np.uint32(1 << 23)).view(np.float32)
    sub = np.float32(renorm - _MIN_NORMAL).view(np.uint32)
    bits = special if exp == np.uint32(0x0F800000) else normal
    bits = sub if exp == np.uint32(0) else bits
    return np.uint32(bits | ((hu & np.uint32(0x8000)) << np.uint32(16))).view(np.float32)


@njit(inline="always")
def float_to_half(f):
    """Round a ``float32`` to the nearest half (ties to even) and give its bits.

    Parameters
    ----------
    f : float32
        The value to round.

    Returns
    -------
    uint16
        The bit pattern of the rounded binary16 value.
    """
    fu = np.float32(f).view(np.uint32)
    sign = (fu >> np.uint32(16)) & np.uint32(0x8000)
    mag = np.uint32(fu & np.uint32(0x7FFFFFFF))
    # NaN: keep the top ten payload bits, as NumPy's cast does; a payload
    # that would truncate to zero (an infinity) becomes 0x7c01 instead.
    nan = np.uint32(0x7C00) | ((mag >> np.uint32(13)) & np.uint32(0x3FF))
    nan = np.uint32(0x7C01) if nan == np.uint32(0x7C00) else nan
    # Finite values at or above 65520 (the midpoint between the largest half
    # and 2**16) round to infinity.
    big = np.uint32(0x7C00)
    # Subnormal results: the float adder does the rounding to nearest even.
    biased = np.float32(mag.view(np.float32) + _DENORM_MAGIC).view(np.uint32)
    sub = np.uint32(biased - _DENORM_MAGIC_BITS)
    # Normal results: rebias the exponent (mag >= 2**-14 here, so subtracting
    # 112 << 23 cannot wrap) and round to nearest even by adding 0xfff plus the
    # lowest kept mantissa bit before dropping 13 bits; a carry into the
    # exponent is the correct result, up to and including infinity.
    odd = (mag >> np.uint32(13)) & np.uint32(1)
    normal = (mag - np.uint32(112 << 23) + np.uint32(0xFFF) + odd) >> np.uint32(13)
    bits = normal if mag >= np.uint32(113 << 23) else sub
    bits = big if mag >= np.uint32(0x477FF000) else bits
    bits = nan if mag > np.uint32(0x7F800000) else bits
    return np.uint16(bits | sign)
