/*
 * Bit-exact IEEE binary16 <-> binary32 conversion for the Cython backend.
 *
 * Why not _Float16 or F16C: GCC 12 only converts _Float16 one element at a
 * time (a libgcc call without F16C), which stops the loops from vectorising,
 * and F16C intrinsics would need a separate hand-written loop per target.
 * These integer/bit formulations have no branches, so GCC vectorises them at
 * every ISA level (SSE2 up to AVX-512).
 *
 * Semantics match NumPy's npy_half <-> float conversion bit for bit:
 * - half -> float is exact for every pattern (NaN payloads, signalling NaNs
 *   and denormals included) and never raises a floating-point exception;
 * - float -> half rounds to nearest even, overflows to +-inf, keeps the top
 *   ten payload bits of a NaN (and keeps it a NaN if they are all zero).
 * The test-suite checks both directions exhaustively against NumPy.
 */
#ifndef FASTACT_FA_HALF_H
#define FASTACT_FA_HALF_H

#include <stdint.h>
#include <string.h>

/* memcpy is how C spells a bit cast without aliasing UB; it compiles to a
 * register move (or nothing). */
static inline uint32_t fa_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float fa_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint64_t fa_f64_bits(double f) { uint64_t u; memcpy(&u, &f, 8); return u; }
static inline double fa_bits_f64(uint64_t u) { double f; memcpy(&f, &u, 8); return f; }

/* All-ones if c else zero: selects are bit operations so that GCC sees no
 * control flow (a ?: on floats is left as a branch without -ffast-math). */
static inline uint16_t fa_mask16(int c) { return (uint16_t)(0u - (uint32_t)(c != 0)); }
static inline uint32_t fa_mask32(int c) { return 0u - (uint32_t)(c != 0); }
static inline uint64_t fa_mask64(int c) { return (uint64_t)0 - (uint64_t)(c != 0); }

static inline uint16_t fa_sel16(uint16_t m, uint16_t t, uint16_t o) {
    return (uint16_t)((t & m) | (o & (uint16_t)~m));
}
static inline uint32_t fa_sel32(uint32_t m, uint32_t t, uint32_t o) { return (t & m) | (o & ~m); }
static inline uint64_t fa_sel64(uint64_t m, uint64_t t, uint64_t o) { return (t & m) | (o & ~m); }

static inline float fa_h2f(uint16_t h)
{
    uint32_t o = (uint32_t)(h & 0x7fffu) << 13;       /* exponent/mantissa */
    uint32_t e = o & (0x7c00u << 13);                 /* just the exponent */
    uint32_t norm = o + ((uint32_t)(127 - 15) << 23); /* rebias */
    uint32_t infnan = norm + ((uint32_t)(128 - 16) << 23);
    /* A denormal half m * 2^-24 equals (1.m * 2^-14) - 2^-14 exactly; the
     * subtraction is exact and positive, so it cannot raise or round. */
    uint32_t denorm = fa_f32_bits(fa_bits_f32(norm + (1u << 23)) - 6.103515625e-05f);
    uint32_t r = fa_sel32(fa_mask32(e == (0x7c00u << 13)), infnan,
                          fa_sel32(fa_mask32(e == 0), denorm, norm));
    return fa_bits_f32(r | ((uint32_t)(h & 0x8000u) << 16));
}

static inline uint16_t fa_f2h(float value)
{
    uint32_t f = fa_f32_bits(value);
    uint32_t sign = f & 0x80000000u;
    f ^= sign;
    /* inf, NaN (top payload bits kept, forced non-zero) or overflow to inf */
    uint32_t nan = 0x7c00u + ((f & 0x7fffffu) >> 13);
    nan += fa_mask32(nan == 0x7c00u) & 1u;
    uint32_t big = fa_sel32(fa_mask32(f > 0x7f800000u), nan, 0x7c00u);
    /* results that are half denormals (or zero): adding 0.5 lets the FPU do
     * the round-to-nearest-even; the sum is below 1, so it is exact apart
     * from that one rounding */
    const uint32_t magic = (uint32_t)((127 - 15) + (23 - 10) + 1) << 23;
    uint32_t denorm = fa_f32_bits(fa_bits_f32(f) + fa_bits_f32(magic)) - magic;
    /* normal results: rebias and round to nearest even on the integer bits
     * (a carry into the exponent is the correct rounding up) */
    uint32_t odd = (f >> 13) & 1u;
    uint32_t norm = (f + ((uint32_t)(15 - 127) << 23) + 0xfffu + odd) >> 13;
    uint32_t r = fa_sel32(fa_mask32(f >= ((uint32_t)(127 + 16) << 23)), big,
                          fa_sel32(fa_mask32(f < ((uint32_t)113 << 23)), denorm, norm));
    return (uint16_t)(r | (sign >> 16));
}

#endif
