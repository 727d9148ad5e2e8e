/*
 * The vectorised math of the smooth activations: exp, expm1, log1p, sigmoid
 * and erfc pieces, and from them the activations (fa_act_<kernel>_f32 and
 * _f64), from which the element functions of _fa_elem.h are made. Included
 * once, by _fa_kernels.h, before the element functions.
 *
 * Every function is `static inline` (always_inline) and uses only + - * /,
 * comparisons, value selects (bit-mask blends of already computed values)
 * and integer bit manipulation through memcpy: no libm call, because GCC
 * vectorises libm calls only under -ffast-math, which would break the error
 * bounds. A loop
 *     for (i = 0; i < n; i++) out[i] = fa_act_sigmoid_f64(x[i]);
 * is auto-vectorised by GCC -O3 without -ffast-math and with
 * -ffp-contract=off (the x86-64-v3 and x86-64-v4 target clones, and
 * -march=x86-64-v2 with 16-byte vectors; GCC does not vectorise the
 * SSE2-only default clone). Results do not depend on the vector width or on
 * the clone: the same IEEE operations run in the same order on every path
 * (only the payload of a NaN result may differ).
 *
 * Conventions and common numerics
 * - Round-to-nearest mode is assumed (the 0x1.8p52 rounding trick relies on it).
 * - Selects and clamps are bit-mask blends (fa__sel, see there) driven by
 *   quiet comparisons; a clamp `x > hi ? hi : x` lets a NaN compare false
 *   and pass through unchanged, so NaN inputs propagate as NaN through the
 *   arithmetic, and raise no FE_INVALID.  Finite inputs raise no
 *   invalid/divide-by-zero flag, and overflow only when the result overflows.
 * - 2^k is built from bits ((k + 1023) << 52) after obtaining k with the
 *   "add 0x1.8p52" trick, so no float<->int conversion instruction is needed
 *   (AVX2 has no packed double<->int64 conversion).  Small integers are turned
 *   back into doubles the same way.
 * - float32 functions convert to double, evaluate a lower-degree double
 *   kernel (relative error about 2^-38 or better) and round once to float.
 *   The result is therefore within 1 ulp of the correctly rounded value, and
 *   in practice it is the correctly rounded value except for inputs whose
 *   exact result lies within ~2^-14 ulp of a rounding boundary.
 * - Error figures quoted per function are measured: float32 exhaustively over
 *   all 2^32 inputs against glibc's double function rounded to float, float64
 *   on ~2e5 random and edge inputs against mpmath at 60 digits.  "ulp" is the
 *   distance |computed - exact| in units of the last place of the exact result.
 * - Polynomial coefficients are weighted minimax fits (Remez, then rounded to
 *   double one coefficient at a time with a least-squares refit of the rest).
 */
#ifndef FASTACT_FA_MATH_H
#define FASTACT_FA_MATH_H

#include <stdint.h>
#include <string.h>

/* Forced inlining: a loop only vectorises if the element function is inlined
 * into it, and with several call sites (e.g. target_clones) GCC's size
 * heuristics would otherwise keep the larger functions out of line. */
#if defined(__GNUC__)
#define FA__INLINE static inline __attribute__((always_inline))
#else
#define FA__INLINE static inline
#endif

FA__INLINE uint64_t fa__bits(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
FA__INLINE double fa__dbl(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }
FA__INLINE double fa__fabs(double x) { return fa__dbl(fa__bits(x) & 0x7fffffffffffffffULL); }
/* magnitude of m with the sign of s */
FA__INLINE double fa__copysign(double m, double s)
{
    return fa__dbl((fa__bits(m) & 0x7fffffffffffffffULL) | (fa__bits(s) & 0x8000000000000000ULL));
}
/* c ? a : b as a bit-mask blend.  A C conditional would let GCC sink the
 * computation of a or b into a branch (or thread a clamp constant through
 * it); without -ffast-math such a branch holds possibly-trapping FP
 * operations and is not if-converted for AVX2, so the loop would not
 * vectorise.  The mask form keeps the element path straight-line. */
FA__INLINE double fa__sel(int c, double a, double b)
{
    uint64_t m = -(uint64_t)(c != 0);
    return fa__dbl((fa__bits(a) & m) | (fa__bits(b) & ~m));
}
/* Quiet ordered comparisons: false for NaN without raising FE_INVALID (the
 * C relational operators are signalling), so NaN inputs raise no flag. */
#define fa__gt(a, b) __builtin_isgreater(a, b)
#define fa__ge(a, b) __builtin_isgreaterequal(a, b)
#define fa__lt(a, b) __builtin_isless(a, b)
#define fa__ltf(a, b) __builtin_isless(a, b)
/* NaN-preserving clamps: a NaN compares false and passes through */
FA__INLINE double fa__min(double x, double hi) { return fa__sel(fa__gt(x, hi), hi, x); }
FA__INLINE double fa__max(double x, double lo) { return fa__sel(fa__lt(x, lo), lo, x); }

#define FA__SHIFT   0x1.8p52                 /* x + SHIFT rounds x to an integer held in the low mantissa bits */
#define FA__INVLN2  0x1.71547652b82fep0
#define FA__LN2HI   0x1.62e42fee00000p-1     /* 32 significant bits: k*LN2HI is exact for |k| < 2^21 */
#define FA__LN2LO   0x1.a39ef35793c76p-33
#define FA__LN2     0x1.62e42fefa39efp-1

/* 2^k for an integer-valued kd with -1022 <= kd <= 1023 (exact, no conversion instruction) */
FA__INLINE double fa__pow2(double kd)
{
    return fa__dbl((fa__bits(kd + FA__SHIFT) - fa__bits(FA__SHIFT) + 1023) << 52);
}

/* ---- polynomial kernels (generated; polynomials with 9 or more coefficients
 * are evaluated as two interleaved Horner chains in x^2, p = E(x^2) + x O(x^2),
 * which halves the dependency chain: the longer kernels are latency-bound
 * otherwise, because a whole loop iteration no longer fits the out-of-order
 * window) ---- */
/* QEXP64: fit error (weighted, coefficients rounded) 1.5e-18 */
FA__INLINE double fa__poly_qexp64(double x)
{
    const double c0 = 0x1.0000000000000p-1;
    const double c1 = 0x1.5555555555557p-3;
    const double c2 = 0x1.5555555555556p-5;
    const double c3 = 0x1.1111111110034p-7;
    const double c4 = 0x1.6c16c16c15fe2p-10;
    const double c5 = 0x1.a01a01ac34650p-13;
    const double c6 = 0x1.a01a01a82952ap-16;
    const double c7 = 0x1.71de015a2bad2p-19;
    const double c8 = 0x1.27e4d7df15c9bp-22;
    const double c9 = 0x1.af4f85ef2463fp-26;
    const double c10 = 0x1.1f795adca3329p-29;
    const double x2 = x * x;
    const double pe = c0 + x2 * (c2 + x2 * (c4 + x2 * (c6 + x2 * (c8 + x2 * (c10)))));
    const double po = c1 + x2 * (c3 + x2 * (c5 + x2 * (c7 + x2 * (c9))));
    return pe + x * po;
}

/* QEXP32: fit error (weighted, coefficients rounded) 4.6e-13 */
FA__INLINE double fa__poly_qexp32(double x)
{
    const double c0 = 0x1.fffffffffdfd5p-2;
    const double c1 = 0x1.5555555553b04p-3;
    const double c2 = 0x1.55555565fec71p-5;
    const double c3 = 0x1.1111111c6cfe1p-7;
    const double c4 = 0x1.6c166b20e9189p-10;
    const double c5 = 0x1.a019ace92a8f9p-13;
    const double c6 = 0x1.a137f9bbfc1bep-16;
    const double c7 = 0x1.72c82e19d06adp-19;
    return c0 + x * (c1 + x * (c2 + x * (c3 + x * (c4 + x * (c5 + x * (c6 + x * (c7)))))));
}

/* ERF64: fit error (weighted, coefficients rounded) 1.5e-17 */
FA__INLINE double fa__poly_erf64(double x)
{
    const double c0 = 0x1.06eba8214db68p-3;
    const double c1 = -0x1.812746b0379b4p-2;
    const double c2 = 0x1.ce2f21a040a5ep-4;
    const double c3 = -0x1.b82ce311f49a9p-6;
    const double c4 = 0x1.565bccf8bd912p-8;
    const double c5 = -0x1.c02db035571f1p-11;
    const double c6 = 0x1.f9a2ba5a675fap-14;
    const double c7 = -0x1.f4ca4de40ff53p-17;
    const double c8 = 0x1.b97ffcd589cc3p-20;
    const double c9 = -0x1.5c08c58c8ded0p-23;
    const double c10 = 0x1.d7298f0290a90p-27;
    const double c11 = -0x1.abe1004c263f1p-31;
    const double x2 = x * x;
    const double pe = c0 + x2 * (c2 + x2 * (c4 + x2 * (c6 + x2 * (c8 + x2 * (c10)))));
    const double po = c1 + x2 * (c3 + x2 * (c5 + x2 * (c7 + x2 * (c9 + x2 * (c11)))));
    return pe + x * po;
}

/* ERF32: fit error (weighted, coefficients rounded) 8.2e-13 */
FA__INLINE double fa__poly_erf32(double x)
{
    const double c0 = 0x1.06eba82146ae4p-3;
    const double c1 = -0x1.812746adf1d6cp-2;
    const double c2 = 0x1.ce2f20ab7311fp-4;
    const double c3 = -0x1.b82cbb6788a46p-6;
    const double c4 = 0x1.565892dab49dbp-8;
    const double c5 = -0x1.bfe1d904b8205p-11;
    const double c6 = 0x1.f5834ae5e7232p-14;
    const double c7 = -0x1.d2cf2246a98e8p-17;
    const double c8 = 0x1.1c6ef2012c844p-20;
    const double x2 = x * x;
    const double pe = c0 + x2 * (c2 + x2 * (c4 + x2 * (c6 + x2 * (c8))));
    const double po = c1 + x2 * (c3 + x2 * (c5 + x2 * (c7)));
    return pe + x * po;
}

/* LOG32: fit error (weighted, coefficients rounded) 3.6e-12 */
FA__INLINE double fa__poly_log32(double x)
{
    const double c0 = 0x1.55555555651f4p-2;
    const double c1 = 0x1.999998c9aea6ap-3;
    const double c2 = 0x1.249324b3d60a8p-3;
    const double c3 = 0x1.c67a840273884p-4;
    const double c4 = 0x1.8c91bd69b1997p-4;
    return c0 + x * (c1 + x * (c2 + x * (c3 + x * (c4))));
}

/* ERFC64L: fit error (weighted, coefficients rounded) 3.5e-18 */
#define FA__ERFC64L_C0 0x1.5dd960c996629p-6
#define FA__ERFC64L_C1 -0x1.5864b151b8571p-1
FA__INLINE double fa__poly_erfc64l_from2(double x)
{
    const double c0 = 0x1.83d61c524153fp-5;
    const double c1 = 0x1.802b39089b15cp-5;
    const double c2 = -0x1.43821ef9e86eap-7;
    const double c3 = -0x1.212cf33f4e608p-7;
    const double c4 = 0x1.cd1808752d897p-10;
    const double c5 = 0x1.3378680bcd513p-9;
    const double c6 = -0x1.32b3b512d814bp-13;
    const double c7 = -0x1.6133a7090131dp-11;
    const double c8 = -0x1.8926bc1e83e7ap-14;
    const double c9 = 0x1.6d8a78dc1fb99p-13;
    const double c10 = 0x1.2b76aba005b26p-14;
    const double c11 = -0x1.0a4d7b78c1c58p-15;
    const double c12 = -0x1.fa35e2d411317p-16;
    const double c13 = -0x1.37ec16c0a9230p-23;
    const double c14 = 0x1.1dd7057816b24p-17;
    const double c15 = 0x1.919de88cf5e88p-19;
    const double c16 = -0x1.4244259fca25cp-20;
    const double c17 = -0x1.6e3ffc901504fp-20;
    const double c18 = -0x1.d34f6fb49215bp-23;
    const double c19 = 0x1.aebcdbd3ec0fap-22;
    const double c20 = 0x1.1e55a99a4e5aap-23;
    const double c21 = -0x1.8656e4725832fp-24;
    const double x2 = x * x;
    const double pe = c0 + x2 * (c2 + x2 * (c4 + x2 * (c6 + x2 * (c8 + x2 * (c10 + x2 * (c12 + x2 * (c14 + x2 * (c16 + x2 * (c18 + x2 * (c20))))))))));
    const double po = c1 + x2 * (c3 + x2 * (c5 + x2 * (c7 + x2 * (c9 + x2 * (c11 + x2 * (c13 + x2 * (c15 + x2 * (c17 + x2 * (c19 + x2 * (c21))))))))));
    return pe + x * po;
}

/* ERFC32T: fit error (weighted, coefficients rounded) 2.7e-12 */
FA__INLINE double fa__poly_erfc32t(double x)
{
    const double c0 = 0x1.12f21ddda2616p+0;
    const double c1 = -0x1.c44c471b92b6bp-1;
    const double c2 = 0x1.2e3269408afe9p-1;
    const double c3 = -0x1.3deb214b17c61p-2;
    const double c4 = 0x1.e995f72d4f7dcp-4;
    const double c5 = -0x1.b78987684e0fcp-6;
    const double c6 = -0x1.3de8509021bb5p-10;
    const double c7 = 0x1.8da97311857afp-9;
    const double c8 = -0x1.1e7ac899dd9c8p-11;
    const double c9 = -0x1.212dd321dc5d7p-12;
    const double c10 = 0x1.ab2c05e972aecp-14;
    const double c11 = 0x1.c44b0365d26c5p-16;
    const double c12 = -0x1.4d1ee31ec933bp-17;
    const double x2 = x * x;
    const double pe = c0 + x2 * (c2 + x2 * (c4 + x2 * (c6 + x2 * (c8 + x2 * (c10 + x2 * (c12))))));
    const double po = c1 + x2 * (c3 + x2 * (c5 + x2 * (c7 + x2 * (c9 + x2 * (c11)))));
    return pe + x * po;
}

/* ======================================================================== */
/* shared kernels                                                           */
/* ======================================================================== */

/* e^r - 1 = r + r^2 Q(r) on |r| <= 0.34735 (covers |r| <= ln2/2 plus the
 * slack of the rounding trick).  QEXP64 has degree 10 (fit error 1.5e-18, so
 * the relative error of the sum is < 2^-60); QEXP32 has degree 7 (4.6e-13). */

/* float64 exp reduction: x + xlo = k ln2 + rh + rl, k = rint(x/ln2) read from
 * t = x/ln2 + 0x1.8p52.  k*LN2HI is exact and rh = x - k*LN2HI is exact
 * (Sterbenz), so the reduced argument is carried as rh (exact) plus the small
 * rl = -k*LN2LO - xlo; r = rh + rl feeds the polynomial, whose term is small
 * enough not to care about r's rounding.  Keeping rh separate lets callers add
 * it exactly (1 + rh by Fast2Sum, 2^k - 1 + 2^k rh); rounding r and then
 * r + r^2 Q(r) before adding 1 would cost up to 0.4 ulp more (0.91 ulp for exp,
 * where the result falls into [0.71, 1) and its ulp is finer than r's). */
typedef struct { double t, rh, rl, r; } fa__red64;
FA__INLINE fa__red64 fa__reduce64(double x, double xlo)
{
    fa__red64 o;
    o.t = x * FA__INVLN2 + FA__SHIFT;
    double kd = o.t - FA__SHIFT;
    o.rh = x - kd * FA__LN2HI;
    o.rl = -(kd * FA__LN2LO) - xlo;
    o.r = o.rh + o.rl;
    return o;
}
/* Dekker's exact product without FMA: a*b = p + fa__prod_err(a, b, p) exactly
 * (Veltkamp splitting with 2^27 + 1; |a|, |b| < 2^995). */
FA__INLINE double fa__prod_err(double a, double b, double p)
{
    const double SPLIT = 134217729.0;
    double ac = a * SPLIT, ah = ac - (ac - a), al = a - ah;
    double bc = b * SPLIT, bh = bc - (bc - b), bl = b - bh;
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}
/* 2^k = s1 * s2 with both factors normal for |k| <= 2044, so that (v*s1)*s2
 * is exact until the last multiplication, which rounds once (also into the
 * subnormal range). */
FA__INLINE double fa__scale_a(double t)
{
    uint64_t kb = fa__bits(t) - fa__bits(FA__SHIFT) + 2048;      /* k + 2048 >= 0 */
    return fa__dbl(((kb >> 1) - 1) << 52);                          /* 2^floor(k/2) */
}
FA__INLINE double fa__scale_b(double t)
{
    uint64_t kb = fa__bits(t) - fa__bits(FA__SHIFT) + 2048;
    return fa__dbl((kb - (kb >> 1) - 1) << 52);                     /* 2^(k - floor(k/2)) */
}

/* The float32 kernels' exp and expm1, in double with relative error ~2^-41
 * (far below the 2^-25 a float32 result within 1 ulp needs): v = k ln2 + r,
 * e^r - 1 = r + r^2 Q(r), Q of degree 7. No fma(): in the default clone
 * it is a call into the C library (sigmoid 20 times slower; 2000 times where
 * the CPU has no FMA and glibc computes it in software), and the compiler
 * may not contract a * b + c itself (-ffp-contract=off). */
FA__INLINE double fa__expm1_r32(double v, double *kd)
{
    double t = v * FA__INVLN2 + FA__SHIFT;
    double k = t - FA__SHIFT;
    double r = v - k * FA__LN2;
    *kd = k;
    return r + r * (r * fa__poly_qexp32(r));
}
/* e^v for -700 <= v <= 700 */
FA__INLINE double fa__exp_d32(double v)
{
    double kd;
    double em = fa__expm1_r32(v, &kd);
    return (1.0 + em) * fa__pow2(kd);
}
/* e^v - 1 = (2^k - 1) + 2^k (e^r - 1) for -40 <= v <= 700 (2^k - 1 is
 * exact for k <= 53) */
FA__INLINE double fa__expm1_d32(double v)
{
    double kd;
    double em = fa__expm1_r32(v, &kd);
    double s = fa__pow2(kd);
    return (s - 1.0) + s * em;
}

/* erfc's tail (gelu's Phi(-a) for a >= 0.5):
 *     erfc(a) = exp(-a^2) H(t) / (a + K),  t = (a - K)/(a + K),
 * with H(t) = (a + K) exp(a^2) erfc(a) smooth on all of [0, inf) (the
 * variable of Shepherd & Laframboise, Math. Comp. 36 (1981)): a polynomial in
 * t converges geometrically, unlike one in 1/a^2. float64 fits L = log H
 * (K = 2, degree 23, absolute fit error 3.5e-18) and puts it into the
 * exponent, so that its rounding is an absolute error of the exponent; the
 * float32 kernels fit H itself (K = 3, degree 12 on [0.5, 10.1], 2.7e-12
 * relative). Near 0, erf(x) = x + x E(x^2) (float64: degree 11, float32:
 * degree 8). */

/* ======================================================================== */
/* the smooth activations in float64                                        */
/* ======================================================================== */

/* Each activation is a product or quotient of a few of the pieces above, and
 * rounding each piece to double would add up to several ulps: far more in
 * the tails, where an argument's rounding error is multiplied by the
 * argument, and near a root of a derivative, where the pieces cancel. So the
 * pieces are carried as double-doubles (an unevaluated sum h + l, accurate
 * to about 2^-58) and the result is rounded once: the float64 results are
 * within about 0.6 ulp (measured against mpmath). Pieces that can reach the
 * subnormal range are carried as a mantissa near 1 and an exponent k (in
 * t = 0x1.8p52 + k), and scaled by 2^k at the very end (fa__round_scaled,
 * fa__mul_scaled), so that a subnormal result is rounded once too.
 *
 * float32 and float16 have leaner versions at the end of this file (plain
 * double is enough for them); the NumPy and Numba backends compute every
 * dtype with these.
 *
 * fastact/_backends/numpy.py holds the same functions in Python, operation
 * for operation (the NumPy backend runs them on arrays, Numba compiles them
 * for scalars), so that every backend gives the same float64 bits: keep them
 * in step (tests/test_accuracy.py checks it). */

typedef struct { double h, l; } fa_dd;            /* h + l */
typedef struct { double h, l, t; } fa_ddt;        /* (h + l) 2^k, t = 0x1.8p52 + k */

#define FA__TWO995 0x1p995      /* Dekker's product is exact for factors below this ... */
#define FA__TWOM968 0x1p-968    /* ... and products above this */
#define FA__BIG 0x1p1000
#define FA__INF_BITS 0x7ff0000000000000ULL

FA__INLINE fa_dd fa__dd(double h, double l) { fa_dd r; r.h = h; r.l = l; return r; }
FA__INLINE fa_ddt fa__ddt(double h, double l, double t) { fa_ddt r; r.h = h; r.l = l; r.t = t; return r; }

/* a + b = s + e exactly */
FA__INLINE fa_dd fa__two_sum(double a, double b)
{
    double s = a + b, bb = s - a;
    return fa__dd(s, (a - (s - bb)) + (b - bb));
}
/* the same for |a| >= |b| (or a == 0) */
FA__INLINE fa_dd fa__fast_two_sum(double a, double b)
{
    double s = a + b;
    return fa__dd(s, b - (s - a));
}
FA__INLINE fa_dd fa__two_prod(double a, double b)
{
    double p = a * b;
    return fa__dd(p, fa__prod_err(a, b, p));
}
FA__INLINE fa_dd fa__dd_add(fa_dd a, fa_dd b)
{
    fa_dd s = fa__two_sum(a.h, b.h);
    return fa__two_sum(s.h, s.l + (a.l + b.l));
}
FA__INLINE fa_dd fa__dd_mul(fa_dd a, fa_dd b)
{
    fa_dd p = fa__two_prod(a.h, b.h);
    return fa__dd(p.h, p.l + (a.h * b.l + a.l * b.h));
}
FA__INLINE fa_dd fa__dd_mul_d(fa_dd a, double b)
{
    fa_dd p = fa__two_prod(a.h, b);
    return fa__dd(p.h, p.l + a.l * b);
}
FA__INLINE fa_dd fa__dd_div(fa_dd a, fa_dd b)
{
    double q = a.h / b.h;
    fa_dd p = fa__two_prod(q, b.h);
    return fa__dd(q, (((a.h - p.h) - p.l) + (a.l - q * b.l)) / b.h);
}
FA__INLINE fa_dd fa__sel_dd(int c, fa_dd a, fa_dd b)
{
    return fa__dd(fa__sel(c, a.h, b.h), fa__sel(c, a.l, b.l));
}
FA__INLINE fa_dd fa__neg_dd(fa_dd a) { return fa__dd(-a.h, -a.l); }

/* 2^k = fa__sa(t) fa__sb(t), both normal, for t = 0x1.8p52 + k; k is
 * clamped to [-2000, 2000], beyond which 2^k times a mantissa near 1 is 0 or
 * inf (e^x is carried to |x| = 3000, so that a product with a huge or tiny
 * factor is still right) */
FA__INLINE double fa__clamp_t(double t)
{
    return fa__sel(t < FA__SHIFT - 2000.0, FA__SHIFT - 2000.0, fa__sel(t > FA__SHIFT + 2000.0, FA__SHIFT + 2000.0, t));
}
FA__INLINE double fa__sa(double t) { return fa__scale_a(fa__clamp_t(t)); }
FA__INLINE double fa__sb(double t) { return fa__scale_b(fa__clamp_t(t)); }

/* (h + l) 2^k, rounded once (also into the subnormal range); a zero keeps
 * its sign (-0 + 0 would be +0) */
FA__INLINE double fa__round_scaled(fa_ddt d)
{
    return (fa__sel(d.h == 0.0, d.h, d.h + d.l) * fa__sa(d.t)) * fa__sb(d.t);
}

/* a = m 2^e with m in [1, 2) (sign kept) for a finite nonzero a; m = a and
 * e = 0 otherwise */
typedef struct { double m, e; } fa__me;
FA__INLINE fa__me fa__split(double a)
{
    fa__me o;
    int sub = fa__fabs(a) < 0x1p-1022;
    double a2 = fa__sel(sub, a * 0x1p100, a);
    uint64_t e = (fa__bits(a2) >> 52) & 0x7ffULL;
    double ea = (fa__dbl(0x4330000000000000ULL | e) - 0x1p52) - fa__sel(sub, 1123.0, 1023.0);
    int finite = (fa__fabs(a) < fa__dbl(FA__INF_BITS)) & (a != 0.0);
    o.m = fa__sel(finite, fa__dbl((fa__bits(a2) & 0x800fffffffffffffULL) | 0x3ff0000000000000ULL), a);
    o.e = fa__sel(finite, ea, 0.0);
    return o;
}

/* a (h + l) 2^k, rounded about once. Scaled by 2^floor(k/2) first, so that
 * neither a huge a nor a tiny 2^k overflows or underflows before the last
 * product; where Dekker's product cannot be exact (huge or tiny operands)
 * the plain product is used, within 1 ulp (and a zero keeps its sign). a's
 * exponent joins k first, so that 2^k may be far beyond the range of a double
 * while a 2^k is not. */
FA__INLINE double fa__mul_scaled(double a, fa_ddt d)
{
    fa__me s = fa__split(a);
    a = s.m;
    double tk = d.t + s.e;
    double sa = fa__sa(tk), sb = fa__sb(tk);
    double hs = d.h * sa, ls = d.l * sa;
    fa_dd p = fa__two_prod(hs, a);
    int fine = (fa__fabs(a) < FA__TWO995) & (fa__fabs(hs) < FA__TWO995) & (fa__fabs(p.h) < FA__BIG);
    fine = fine & (fa__fabs(p.h) > FA__TWOM968);
    double plain = fa__sel((fa__fabs(p.h) < fa__dbl(FA__INF_BITS)) & (p.h != 0.0), p.h + ls * a, p.h);
    /* an infinite a times a nonzero h 2^k (however tiny) is infinite; times 0
     * (or NaN) NaN */
    double infinite = a * fa__sel((d.h == 0.0) | (d.h != d.h), d.h, fa__copysign(1.0, d.h));
    return fa__sel(fa__fabs(a) == fa__dbl(FA__INF_BITS), infinite, fa__sel(fine, p.h + (p.l + ls * a), plain) * sb);
}

/* (h + l) a as a double-double (the error term dropped where Dekker's
 * product cannot be exact: a beyond 2^995) */
FA__INLINE fa_dd fa__dd_scale(fa_dd d, double a)
{
    fa_dd p = fa__two_prod(d.h, a);
    return fa__dd(p.h, fa__sel(fa__fabs(a) < FA__TWO995, p.l, 0.0) + d.l * a);
}

/* (h + l) / b as a double-double (plain where the remainder cannot be exact;
 * no low part where the quotient overflows, so that h + l stays infinite) */
FA__INLINE fa_dd fa__dd_div_d(fa_dd d, double b)
{
    double q = d.h / b;
    fa_dd p = fa__two_prod(q, b);
    int fine = (fa__fabs(q) < FA__TWO995) & (fa__fabs(b) < FA__TWO995) & (fa__fabs(p.h) > FA__TWOM968);
    double plain = fa__sel(fa__fabs(q) < fa__dbl(FA__INF_BITS), d.l / b, 0.0);
    return fa__dd(q, fa__sel(fine, (((d.h - p.h) - p.l) + d.l) / b, plain));
}

/* grad_out * f'(x) from f'(x) = (h + l) 2^k; 0 where f' is the constant 0
 * (a limit at an infinite x), whatever grad_out holds */
FA__INLINE double fa__backward(double g, fa_ddt d, int zero)
{
    return fa__sel(zero, 0.0, fa__mul_scaled(g, d));
}

/* e^r = 1 + r + r^2/2 + r^3 Q3(r) on |r| <= 0.3474: QEXP64 above without its
 * first coefficient, so that r^2/2 can be carried exactly */
typedef struct { double t, kd, rh, rl, uh, ul; } fa__xred;

/* x + xl = k ln2 + rh + rl (rh exact, as in fa__reduce64); r = rh + rl
 * rounded and dr its error; e^r - 1 - r = uh + ul with uh = r^2/2 rounded
 * (its error in ul) and dr's first-order effect in ul: about 2^-59 relative
 * in all. x is clamped to [-3000, 3000] (NaN passes: e^x is then 0 or inf
 * even times any double); xl must be finite where x is. */
FA__INLINE fa__xred fa__exp_reduce(double x, double xl)
{
    fa__xred o;
    double xc = fa__sel(x < -3000.0, -3000.0, fa__sel(x > 3000.0, 3000.0, x));
    double xlc = fa__sel(xc == x, xl, 0.0);
    o.t = xc * FA__INVLN2 + FA__SHIFT;
    o.kd = o.t - FA__SHIFT;
    o.rh = xc - o.kd * FA__LN2HI;
    o.rl = xlc - o.kd * FA__LN2LO;
    double r = o.rh + o.rl;
    double dr = (o.rh - r) + o.rl;
    fa_dd p2 = fa__two_prod(r, r);
    double r2 = r * r;
    double qe = 0x1.5555555555557p-3 + r2 * (0x1.1111111110034p-7 + r2 * (0x1.a01a01ac34650p-13
                + r2 * (0x1.71de015a2bad2p-19 + r2 * 0x1.af4f85ef2463fp-26)));
    double qo = 0x1.5555555555556p-5 + r2 * (0x1.6c16c16c15fe2p-10 + r2 * (0x1.a01a01a82952ap-16
                + r2 * (0x1.27e4d7df15c9bp-22 + r2 * 0x1.1f795adca3329p-29)));
    o.uh = 0.5 * p2.h;
    o.ul = (0.5 * p2.l + (r * p2.h) * (qe + r * qo)) + dr * (r + o.uh);
    return o;
}

/* e^(rh + rl) as a double-double near 1 */
FA__INLINE fa_dd fa__exp_mant(fa__xred d)
{
    double ph = 1.0 + d.rh;
    double pl = (1.0 - ph) + d.rh;
    fa_dd s = fa__fast_two_sum(ph, d.uh);
    return fa__fast_two_sum(s.h, (pl + s.l) + (d.rl + d.ul));
}

/* e^(x + xl) = (h + l) 2^k */
FA__INLINE fa_ddt fa__exp_core(double x, double xl)
{
    fa__xred d = fa__exp_reduce(x, xl);
    fa_dd m = fa__exp_mant(d);
    return fa__ddt(m.h, m.l, d.t);
}

/* e^(x + xl) - 1 as (h + l) 2^k: for x <= 40 a double-double (k = 0), the
 * terms (2^k - 1) + 2^k rh + 2^k r^2/2 summed exactly so that nothing is lost
 * where they cancel; beyond, e^x's mantissa (the 1 is below 2^-57). Below
 * -50 it is -1 + 2^-72 or closer: -1 for every use. */
FA__INLINE fa_ddt fa__expm1_core(double x, double xl)
{
    double xc = fa__sel(x < -50.0, -50.0, x);
    double xlc = fa__sel(xc == x, xl, 0.0);
    fa__xred d = fa__exp_reduce(xc, xlc);
    fa_dd m = fa__exp_mant(d);
    double s = fa__pow2(fa__sel(d.kd > 60.0, 60.0, d.kd));
    fa_dd a = fa__two_sum(s, -1.0);
    fa_dd h = fa__fast_two_sum(a.h, s * d.rh);
    fa_dd h2 = fa__two_sum(h.h, s * d.uh);
    double lo = (h.l + a.l) + (h2.l + s * (d.rl + d.ul));
    fa_dd h3 = fa__fast_two_sum(h2.h, lo);
    h3.h = fa__sel(xc == 0.0, xc, h3.h);       /* expm1(-0) = -0 */
    int big = xc > 40.0;
    return fa__ddt(fa__sel(big, m.h, h3.h), fa__sel(big, m.l, h3.l), fa__sel(big, d.t, FA__SHIFT));
}

/* The sigmoids of z = zh + zl: sigmoid(|z|) = p, sigmoid(-|z|) = n 2^k,
 * with m 2^k = E = e^-|z| (e: E scaled; inexact only below 2^-1022, where it
 * no longer matters) and 1 + E = d. */
typedef struct { fa_dd p, n, m, e, d; double t; } fa__sig;

FA__INLINE fa__sig fa__sigmoid_core(double zh, double zl)
{
    fa__sig o;
    int neg = zh < 0.0;
    fa_ddt m = fa__exp_core(-fa__fabs(zh), fa__sel(neg, zl, -zl));
    double sa = fa__sa(m.t), sb = fa__sb(m.t);
    o.e = fa__dd((m.h * sa) * sb, (m.l * sa) * sb);
    o.d = fa__fast_two_sum(1.0, o.e.h);
    o.d.l = o.d.l + o.e.l;
    o.p = fa__dd_div(fa__dd(1.0, 0.0), o.d);
    o.m = fa__dd(m.h, m.l);
    o.n = fa__dd_div(o.m, o.d);
    o.t = m.t;
    return o;
}

/* log(1 + E) for E = eh + el in [0, 1], a double-double: fdlibm's
 * log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f/(2 + f), with the large
 * terms summed exactly and 1 + E = u + c kept exact */
FA__INLINE fa_dd fa__log1p_core(double eh, double el)
{
    double u = 1.0 + eh;
    double c = ((1.0 - u) + eh) + el;
    int up = u >= 0x1.6a09e667f3bcdp+0;
    double f = fa__sel(up, u * 0.5, u) - 1.0;
    double kd = fa__sel(up, 1.0, 0.0);
    fa_dd f2 = fa__two_prod(f, f);
    double hf = 0.5 * f2.h;
    double s = f / (2.0 + f);
    double z = s * s, w = z * z;
    double r = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01
               + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)))
               + w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01
               + w * 1.531383769920937332e-01));
    fa_dd s1 = fa__two_sum(f, -hf);
    fa_dd s2 = fa__two_sum(kd * FA__LN2HI, s1.h);
    double lo = ((s2.l + s1.l) + (s * (hf + r) - 0.5 * f2.l)) + (kd * FA__LN2LO + c / u);
    return fa__fast_two_sum(s2.h, lo);
}

/* Near a root of a derivative, f'(x) = d Q(d), d = x - root (root a
 * double-double): the general formulas cancel there. Q is a fit of relative
 * error below 2^-61 on |d| <= 0.15 (tests/accuracy/root_polys.py); its first
 * two coefficients are double-doubles: q = {Q0 hi, Q0 lo, Q1 hi, Q1 lo, Q2,
 * ...}, as in numpy.py's _root_poly, which performs the same operations. The
 * loops over the constant arrays unroll and fold into straight-line code. */
FA__INLINE fa_dd fa__root_poly(double x, const double *root, const double *q, int n)
{
    fa_dd d = fa__two_sum(x - root[0], -root[1]);
    double dh = d.h, dl = d.l;
    double rest = q[n - 1];
    for (int i = n - 2; i >= 4; i--)
        rest = q[i] + dh * rest;
    fa_dd p1 = fa__two_prod(dh, q[2]);
    fa_dd s = fa__two_sum(q[0], p1.h);
    double lo = s.l + ((((q[1] + p1.l) + dh * q[3]) + dl * q[2]) + (dh * dh) * rest);
    return fa__dd_mul(d, fa__dd(s.h, lo));
}
/* the float32 kernels' d Q(d) in double (relative error ~2^-50): x - root[0]
 * is exact (Sterbenz) */
FA__INLINE double fa__root_poly32(double x, const double *root, const double *q, int n)
{
    double d = (x - root[0]) - root[1];
    double p = q[n - 1];
    for (int i = n - 2; i >= 4; i--)
        p = q[i] + d * p;
    return d * (q[0] + d * (q[2] + d * p));
}
#define FA__NQ(q) ((int)(sizeof q / sizeof q[0]))
#define FA__ROOT(name, x) fa__root_poly(x, FA__##name##_RT, FA__##name##_Q, FA__NQ(FA__##name##_Q))
#define FA__ROOT32(name, x) fa__root_poly32(x, FA__##name##_RT, FA__##name##_Q, FA__NQ(FA__##name##_Q))
static const double FA__GELU_RT[] = {
    -0x1.80ead197f00b4p-1, 0x1.13e74c58cada8p-56,
};
static const double FA__GELU_Q[] = {
    0x1.b9d98fa5a3215p-2, 0x1.f7c1a23190c7cp-56, 0x1.8d9a941de3ac5p-2,
    0x1.ab59698ddcb9dp-56, -0x1.2a2ef9bb865aep-6, -0x1.d2fa4c17c7e74p-4,
    -0x1.e4088244f8f75p-7, 0x1.3e346def3c791p-6, 0x1.297b9d6fdd8e3p-8,
    -0x1.258a6d6af78bdp-9, -0x1.8680f6c3b8b81p-11, 0x1.86c7e9642cd96p-13,
    0x1.695fc7f1f3255p-14, -0x1.773af3c4b704cp-17, -0x1.0299903587854p-17,
};
#define FA__GELU_ROOT -0x1.80ead197f00b4p-1
static const double FA__GELU_TANH_RT[] = {
    -0x1.81429f9e97e4dp-1, 0x1.4f523ed77dbdcp-55,
};
static const double FA__GELU_TANH_Q[] = {
    0x1.b8bacd2c96b91p-2, 0x1.7625a206be83dp-56, 0x1.8cd1a2b2fff32p-2,
    0x1.faea4b6f1ad44p-56, -0x1.029615edb077ap-6, -0x1.d2b7734646fd3p-4,
    -0x1.104a83edc0c7ap-6, 0x1.427996dbd99d1p-6, 0x1.58c9ed70b942dp-8,
    -0x1.3d8d62b1aec71p-9, -0x1.e63f26f7d3530p-11, 0x1.14bc4d297d804p-12,
    0x1.0490c665fce40p-13, -0x1.21a156b1c8d29p-15, -0x1.08a654748d9d1p-16,
};
#define FA__GELU_TANH_ROOT -0x1.81429f9e97e4dp-1
static const double FA__SILU_RT[] = {
    -0x1.474973c84120bp+0, -0x1.f8d74bc9ac154p-54,
};
static const double FA__SILU_Q[] = {
    0x1.be1410460527fp-3, -0x1.293eadc654938p-58, 0x1.2c563458cc0adp-3,
    -0x1.ae2d91d788466p-57, 0x1.353eb573ca489p-6, -0x1.f2d0e32bc2997p-7,
    -0x1.b0f82c49a916fp-8, 0x1.098e92b90e84cp-13, 0x1.a2a7cb86b5224p-11,
    0x1.8574d1209cceap-13, -0x1.5726b0b751595p-15, -0x1.f2d85c1bd5f99p-16,
    -0x1.833299eca0c45p-19, 0x1.3a985c99b9a9ep-19,
};
#define FA__SILU_ROOT -0x1.474973c84120bp+0
static const double FA__MISH_RT[] = {
    -0x1.31432c0d12d84p+0, -0x1.bf319154da210p-55,
};
static const double FA__MISH_Q[] = {
    0x1.115acb42500bbp-2, 0x1.19a79d7bbbb54p-56, 0x1.a34a251d8ad7bp-3,
    0x1.0c89bfdeb63dep-58, 0x1.574f121a868f9p-5, -0x1.4c222fe64d451p-6,
    -0x1.03369d4ad08d3p-6, -0x1.b87ddfb5c7aecp-9, 0x1.1e5e18a286a65p-10,
    0x1.03799281d77f0p-10, 0x1.0a78df3a3b35dp-12, -0x1.600a4df8bec4ep-15,
    -0x1.d3c4813b0e4d5p-15, -0x1.1ef033cf3bed6p-16,
};
#define FA__MISH_ROOT -0x1.31432c0d12d84p+0

/* -- the activations: f(x, params), f'(x) as (h + l) 2^k ------------------- */

/* selu: PyTorch's constants rounded to double, and their exact product */
#define FA_SELU_SCALE 0x1.0cfabd6a91132p+0   /* 1.0507009873554804934193349852946 */
#define FA_SELU_ALPHA 0x1.ac5afad782cf1p+0   /* 1.6732632423543772848170429916717 */
#define FA__SELU_SA fa__dd(0x1.c212cc640f030p+0, 0x1.092dbf6372048p-54)
/* constants as double-doubles (the exact values to about 2^-107) */
#define FA__SQRT1_2 fa__dd(0x1.6a09e667f3bcdp-1, -0x1.bdd3413b26456p-55)
#define FA__SQRT_PI_2 fa__dd(0x1.40d931ff62706p+0, -0x1.a6a0d6f814637p-54)
#define FA__INV_SQRT_2PI fa__dd(0x1.9884533d43651p-2, -0x1.cbc0d30ebfd15p-56)
#define FA__TWO_SQRTPI 0x1.20dd750429b6dp+0
/* gelu's tanh form, as PyTorch writes it: 0.5 x (1 + tanh(c (x + k x^3))),
 * c = sqrt(2/pi), k = 0.044715 (the decimal); computed as x sigmoid(2u),
 * u = c (x + k x^3), which is the same function */
#define FA__GT_C2 fa__dd(0x1.9884533d43651p+0, -0x1.cbc0d30ebfd15p-54)   /* 2c */
#define FA__GT_K fa__dd(0x1.6e4e26d4801f7p-5, 0x1.441355475a31ap-59)     /* k */
#define FA__GT_K3 fa__dd(0x1.12ba9d1f60179p-3, 0x1.f30e7ff583a54p-57)    /* 3k */

FA__INLINE fa_ddt fa__ddt_sel(int c, fa_ddt a, fa_ddt b)
{
    return fa__ddt(fa__sel(c, a.h, b.h), fa__sel(c, a.l, b.l), fa__sel(c, a.t, b.t));
}

/* elu(alpha): x if x > 0 else alpha expm1(x) */
FA__INLINE double fa_act_elu(double x, double alpha)
{
    return fa__sel(x > 0.0, x, fa__mul_scaled(alpha, fa__expm1_core(x, 0.0)));
}
FA__INLINE fa_ddt fa__elu_dx(double x, double alpha)
{
    fa_ddt m = fa__exp_core(x, 0.0);
    /* alpha's exponent joins e^x's, so that e^x alpha is not rounded (or
     * clamped) at the ends of the range before grad_out scales it */
    fa__me a = fa__split(alpha);
    fa_dd d = fa__dd_scale(fa__dd(m.h, m.l), a.m);
    return fa__ddt_sel(x > 0.0, fa__ddt(1.0, 0.0, FA__SHIFT), fa__ddt(d.h, d.l, m.t + a.e));
}

/* selu: scale elu(x, alpha) */
FA__INLINE double fa_act_selu(double x)
{
    fa_ddt e = fa__expm1_core(x, 0.0);
    fa_dd s = fa__dd_mul(FA__SELU_SA, fa__dd(e.h, e.l));
    return fa__sel(x > 0.0, FA_SELU_SCALE * x, fa__sel(s.h == 0.0, s.h, s.h + s.l));  /* selu(-0) = -0 */
}
FA__INLINE fa_ddt fa__selu_dx(double x)
{
    fa_ddt m = fa__exp_core(x, 0.0);
    fa_dd d = fa__dd_mul(FA__SELU_SA, fa__dd(m.h, m.l));
    return fa__ddt_sel(x > 0.0, fa__ddt(FA_SELU_SCALE, 0.0, FA__SHIFT), fa__ddt(d.h, d.l, m.t));
}

/* celu(alpha): x if x > 0 else alpha expm1(x / alpha); x / alpha as a
 * double-double (its remainder dropped where it cannot be exact) */
FA__INLINE fa_dd fa__celu_z(double x, double alpha)
{
    /* a tiny alpha: both scaled by 2^200 (exactly), so that the remainder is exact */
    int tiny = fa__fabs(alpha) < 0x1p-900;
    x = fa__sel(tiny, x * 0x1p200, x);
    alpha = fa__sel(tiny, alpha * 0x1p200, alpha);
    double zh = x / alpha;
    fa_dd p = fa__two_prod(zh, alpha);
    int fine = (fa__fabs(zh) < FA__TWO995) & (fa__fabs(alpha) < FA__TWO995) & (fa__fabs(p.h) > FA__TWOM968);
    return fa__dd(zh, fa__sel(fine, ((x - p.h) - p.l) / alpha, 0.0));
}
FA__INLINE double fa_act_celu(double x, double alpha)
{
    fa_dd z = fa__celu_z(x, alpha);
    /* alpha expm1(z) = x (1 + z/2 ...) is x where |z| < 2^-60 (and z may underflow) */
    return fa__sel((x > 0.0) | (fa__fabs(z.h) < 0x1p-60), x, fa__mul_scaled(alpha, fa__expm1_core(z.h, z.l)));
}
FA__INLINE fa_ddt fa__celu_dx(double x, double alpha)
{
    fa_dd z = fa__celu_z(x, alpha);
    fa_ddt m = fa__exp_core(z.h, z.l);
    m.h = fa__sel(z.h == fa__dbl(FA__INF_BITS), z.h, m.h);   /* e^inf for alpha < 0 (0 * it is NaN) */
    return fa__ddt_sel(x > 0.0, fa__ddt(1.0, 0.0, FA__SHIFT), m);
}

/* sigmoid: 1 / (1 + exp(-x)) */
FA__INLINE double fa_act_sigmoid(double x)
{
    fa__sig s = fa__sigmoid_core(x, 0.0);
    int pos = x > 0.0;
    return fa__round_scaled(fa__ddt(fa__sel(pos, s.p.h, s.n.h), fa__sel(pos, s.p.l, s.n.l),
                                    fa__sel(pos, FA__SHIFT, s.t)));
}
FA__INLINE fa_ddt fa__sigmoid_dx(double z)
{
    fa__sig s = fa__sigmoid_core(z, 0.0);
    fa_dd d = fa__dd_mul(s.p, s.n);
    return fa__ddt(d.h, d.l, s.t);
}

/* tanh: expm1(2|x|) / (expm1(2|x|) + 2) with the sign of x; |x| < 2^-28
 * gives x (tanh x = x (1 - x^2/3 ...) rounds to x there) */
FA__INLINE double fa_act_tanh(double x)
{
    double a = fa__fabs(x);
    a = fa__sel(a > 20.0, 20.0, a);             /* tanh rounds to 1 beyond 19.1 */
    fa_ddt e = fa__expm1_core(a + a, 0.0);
    fa_dd d = fa__two_sum(e.h, 2.0);
    fa_dd q = fa__dd_div(fa__dd(e.h, e.l), fa__dd(d.h, d.l + e.l));
    return fa__sel(a < 0x1p-28, x, fa__copysign(q.h + q.l, x));
}
/* tanh'(x) = 1 - tanh^2 = 4 sigmoid'(2x) */
FA__INLINE fa_ddt fa__tanh_dx(double x)
{
    fa_ddt d = fa__sigmoid_dx(x + x);
    return fa__ddt(4.0 * d.h, 4.0 * d.l, d.t);
}

/* d/dx [x sigmoid(z(x))] = sigmoid(z) (1 + w sigmoid(-z)), w = x z'(x):
 * e^z (1 + e^z + w) / (1 + e^z)^2 for z < 0 (as mantissa and 2^k) and
 * (1 + E + w E) / (1 + E)^2, E = e^-z, otherwise. At the root of the
 * derivative 1 + e^z + w cancels: exactly, in double-double. */
FA__INLINE fa_ddt fa__xsig_dx(double zh, double zl, fa_dd w)
{
    fa__sig s = fa__sigmoid_core(zh, zl);
    int neg = zh < 0.0;
    fa_dd we = fa__dd_mul(w, s.e);
    fa_dd nu = fa__dd_add(s.d, fa__sel_dd(neg, w, we));
    fa_dd d2 = fa__dd_mul(s.d, s.d);
    fa_dd xx = fa__dd_mul(fa__sel_dd(neg, s.m, fa__dd(1.0, 0.0)), nu);
    fa_dd q = fa__dd_div(xx, d2);
    return fa__ddt(q.h, q.l, fa__sel(neg, s.t, FA__SHIFT));
}

/* whether x is in the window of a root's polynomial (|x - root| <= 0.15) */
#define FA__NEAR(x, root) (fa__fabs((x) - (root)) <= 0.15)

/* silu: x sigmoid(x) (0 below -745, and -0.0 at -inf: x is clamped at -800) */
FA__INLINE double fa_act_silu(double x)
{
    fa__sig s = fa__sigmoid_core(x, 0.0);
    int pos = x > 0.0;
    double xm = fa__sel(x < -800.0, -800.0, x);
    return fa__mul_scaled(xm, fa__ddt(fa__sel(pos, s.p.h, s.n.h), fa__sel(pos, s.p.l, s.n.l),
                                      fa__sel(pos, FA__SHIFT, s.t)));
}
FA__INLINE fa_ddt fa__silu_dx(double x)
{
    double xw = fa__sel(x < -1e5, -1e5, fa__sel(x > 1e5, 1e5, x));   /* e^x is 0 beyond, times any g */
    fa_ddt d = fa__xsig_dx(x, 0.0, fa__dd(xw, 0.0));
    int near = FA__NEAR(x, FA__SILU_ROOT);
    fa_dd r = FA__ROOT(SILU, fa__sel(near, x, FA__SILU_ROOT));
    return fa__ddt_sel(near, fa__ddt(r.h, r.l, FA__SHIFT), d);
}

/* gelu, tanh form: x clamped to [-40, 40] (sigmoid(2u) is 0 or 1 beyond),
 * 2u = 2c x (1 + k x^2) and w = 2c x (1 + 3k x^2) as double-doubles: 2u's
 * rounding would cost |2u| ulps in the tails */
typedef struct { double xc; fa_dd z, w; } fa__gtz;
FA__INLINE fa__gtz fa__gelu_tanh_z(double x)
{
    fa__gtz o;
    o.xc = fa__sel(x < -40.0, -40.0, fa__sel(x > 40.0, 40.0, x));
    fa_dd x2 = fa__two_prod(o.xc, o.xc);
    fa_dd v = fa__dd_mul_d(fa__dd_add(fa__dd(1.0, 0.0), fa__dd_mul(FA__GT_K, x2)), o.xc);
    o.z = fa__dd_mul(FA__GT_C2, v);
    fa_dd v3 = fa__dd_mul_d(fa__dd_add(fa__dd(1.0, 0.0), fa__dd_mul(FA__GT_K3, x2)), o.xc);
    o.w = fa__dd_mul(FA__GT_C2, v3);
    return o;
}
FA__INLINE double fa__gelu_tanh(double x)
{
    fa__gtz g = fa__gelu_tanh_z(x);
    fa__sig s = fa__sigmoid_core(g.z.h, g.z.l);
    int pos = g.z.h > 0.0;
    double xm = fa__sel(x < -40.0, -40.0, x);
    return fa__mul_scaled(xm, fa__ddt(fa__sel(pos, s.p.h, s.n.h), fa__sel(pos, s.p.l, s.n.l),
                                      fa__sel(pos, FA__SHIFT, s.t)));
}
FA__INLINE fa_ddt fa__gelu_tanh_dx(double x)
{
    fa__gtz g = fa__gelu_tanh_z(x);
    fa_ddt d = fa__xsig_dx(g.z.h, g.z.l, g.w);
    int near = FA__NEAR(x, FA__GELU_TANH_ROOT);
    fa_dd r = FA__ROOT(GELU_TANH, fa__sel(near, x, FA__GELU_TANH_ROOT));
    return fa__ddt_sel(near, fa__ddt(r.h, r.l, FA__SHIFT), d);
}

/* gelu, exact form x Phi(x). For a = |x| (clamped at 60): phi(a) = f 2^k,
 * the Mills ratio R(a) = Phi(-a) / phi(a) = sqrt(pi/2) e^L(t) / (b + 2) with
 * b = a / sqrt(2), t = (b - 2) / (b + 2) (erfc's tail, K = 2,
 * with t's rounding corrected through L'(t)), and erf(b) for b < 0.5; tail:
 * where R is the one to use (b >= 0.46875). */
typedef struct { double ac, t; fa_dd f, r, s; int tail; } fa__gp;
FA__INLINE fa__gp fa__gelu_parts(double x)
{
    fa__gp o;
    double ac = fa__fabs(x);
    o.ac = ac = fa__sel(ac > 60.0, 60.0, ac);   /* phi(60) 2^1024 is 0 */
    fa_dd x2 = fa__two_prod(ac, ac);
    fa_ddt m = fa__exp_core(-0.5 * x2.h, -0.5 * x2.l);
    o.t = m.t;
    o.f = fa__dd_mul(fa__dd(m.h, m.l), FA__INV_SQRT_2PI);
    fa_dd b = fa__dd_mul_d(FA__SQRT1_2, ac);
    fa_dd n = fa__two_sum(b.h, -2.0);
    fa_dd d = fa__two_sum(b.h, 2.0);
    d.l = d.l + b.l;
    fa_dd tq = fa__dd_div(fa__dd(n.h, n.l + b.l), d);
    double th = tq.h;
    double v2 = th * fa__poly_erfc64l_from2(th);
    double s1h = FA__ERFC64L_C1 + v2;
    double s1l = (FA__ERFC64L_C1 - s1h) + v2;
    fa_dd p1 = fa__two_prod(th, s1h);
    double lh = p1.h + FA__ERFC64L_C0;
    double bw = lh - p1.h;
    /* L'(t) to a few per cent: enough to correct t's rounding */
    double dlt = FA__ERFC64L_C1 + th * (2.0 * 0x1.83d61c524153fp-5 + th * (3.0 * 0x1.802b39089b15cp-5
                 + th * (4.0 * -0x1.43821ef9e86eap-7 + th * (5.0 * -0x1.212cf33f4e608p-7
                 + th * (6.0 * 0x1.cd1808752d897p-10 + th * (7.0 * 0x1.3378680bcd513p-9))))));
    double ll = ((p1.h - (lh - bw)) + (FA__ERFC64L_C0 - bw)) + ((p1.l + th * s1l) + dlt * tq.l);
    fa_ddt e = fa__exp_core(lh, ll);
    double sa = fa__sa(e.t), sb = fa__sb(e.t);
    fa_dd a = fa__dd_mul(FA__SQRT_PI_2, fa__dd((e.h * sa) * sb, (e.l * sa) * sb));
    o.r = fa__dd_div(a, d);
    double bs = fa__sel(b.h > 0.5, 0.5, b.h);
    double y = bs * bs;
    o.s = fa__fast_two_sum(bs, bs * fa__poly_erf64(y));
    o.s.l = o.s.l + b.l * (FA__TWO_SQRTPI * ((1.0 - y) + 0.5 * (y * y)));
    o.tail = b.h >= 0.46875;
    return o;
}
/* Phi(x) for |x| < 0.66: 1/2 + erf(x / sqrt(2)) / 2 */
FA__INLINE fa_dd fa__gelu_mid(fa__gp g, int neg)
{
    fa_dd s = fa__sel_dd(neg, fa__neg_dd(g.s), g.s);
    fa_dd m = fa__two_sum(0.5, 0.5 * s.h);
    return fa__dd(m.h, m.l + 0.5 * s.l);
}
FA__INLINE double fa__gelu_erf(double x)
{
    fa__gp g = fa__gelu_parts(x);
    fa_dd q = fa__dd_mul(g.f, g.r);            /* Phi(-a) / 2^k */
    double sa = fa__sa(g.t), sb = fa__sb(g.t);
    fa_dd o = fa__two_sum(1.0, -((q.h * sa) * sb));
    o.l = o.l - (q.l * sa) * sb;               /* Phi(a), a >= 0.66 */
    int neg = x < 0.0;
    fa_dd m = fa__gelu_mid(g, neg);
    fa_dd h = fa__sel_dd(g.tail, fa__sel_dd(neg, q, o), m);
    return fa__mul_scaled(fa__sel(x < -60.0, -60.0, x),
                          fa__ddt(h.h, h.l, fa__sel(g.tail & neg, g.t, FA__SHIFT)));
}
/* gelu'(x) = Phi(x) + x phi(x): phi (R - a) for x <= -0.66, 1 + phi (a - R)
 * for x >= 0.66, the sum in double-double between */
FA__INLINE fa_ddt fa__gelu_erf_dx(double x)
{
    fa__gp g = fa__gelu_parts(x);
    int neg = x < 0.0;
    fa_dd d = fa__two_sum(g.r.h, -g.ac);
    d.l = d.l + g.r.l;
    fa_dd p = fa__dd_mul(g.f, fa__sel_dd(neg, d, fa__neg_dd(d)));
    double sa = fa__sa(g.t), sb = fa__sb(g.t);
    fa_dd o = fa__two_sum(1.0, (p.h * sa) * sb);
    o.l = o.l + (p.l * sa) * sb;
    fa_dd m = fa__dd_add(fa__gelu_mid(g, neg),
                         fa__dd_mul_d(fa__dd((g.f.h * sa) * sb, (g.f.l * sa) * sb), x));
    int near = FA__NEAR(x, FA__GELU_ROOT);
    fa_dd r = FA__ROOT(GELU, fa__sel(near, x, FA__GELU_ROOT));
    fa_dd h = fa__sel_dd(near, r, fa__sel_dd(g.tail, fa__sel_dd(neg, p, o), m));
    return fa__ddt(h.h, h.l, fa__sel(near, FA__SHIFT, fa__sel(g.tail & neg, g.t, FA__SHIFT)));
}

/* gelu(approximate): approximate is the index of "none" (0) or "tanh" (1).
 * It is the same for a whole loop, but GCC does not unswitch a loop body
 * this large, and a branch inside keeps the loop from vectorising: both
 * forms are computed and one is selected (still faster than the scalar
 * loop a branch would give). */
FA__INLINE double fa_act_gelu(double x, double approximate)
{
    return fa__sel(approximate == 0.0, fa__gelu_erf(x), fa__gelu_tanh(x));
}
FA__INLINE fa_ddt fa__gelu_dx(double x, double approximate)
{
    return fa__ddt_sel(approximate == 0.0, fa__gelu_erf_dx(x), fa__gelu_tanh_dx(x));
}

/* mish: x tanh(softplus(x)). With E = e^-|x| (scaled) and its mantissa m 2^k,
 * tanh(softplus(x)) = e^x (e^x + 2) / (e^x (e^x + 2) + 2) is
 * m (E + 2) / D2 2^k, D2 = E (E + 2) + 2, for x <= 0 and (1 + 2E) / D1,
 * D1 = 1 + 2E + 2E^2, for x > 0. */
typedef struct { fa_ddt m; fa_dd e, n2, d2, n1, e2, d1; } fa__mp;
FA__INLINE fa__mp fa__mish_parts(double x)
{
    fa__mp o;
    o.m = fa__exp_core(-fa__fabs(x), 0.0);
    double sa = fa__sa(o.m.t), sb = fa__sb(o.m.t);
    o.e = fa__dd((o.m.h * sa) * sb, (o.m.l * sa) * sb);
    o.n2 = fa__two_sum(o.e.h, 2.0);
    o.n2.l = o.n2.l + o.e.l;
    o.d2 = fa__dd_add(fa__dd_mul(o.e, o.n2), fa__dd(2.0, 0.0));
    o.n1 = fa__two_sum(1.0, 2.0 * o.e.h);
    o.n1.l = o.n1.l + 2.0 * o.e.l;
    o.e2 = fa__dd_mul(o.e, o.e);
    o.d1 = fa__dd_add(o.n1, fa__dd(2.0 * o.e2.h, 2.0 * o.e2.l));
    return o;
}
FA__INLINE double fa_act_mish(double x)
{
    fa__mp g = fa__mish_parts(x);
    fa_dd n = fa__dd_div(fa__dd_mul(fa__dd(g.m.h, g.m.l), g.n2), g.d2);
    fa_dd p = fa__dd_div(g.n1, g.d1);
    int pos = x > 0.0;
    double xm = fa__sel(x < -800.0, -800.0, x);
    fa_dd h = fa__sel_dd(pos, p, n);
    return fa__mul_scaled(xm, fa__ddt(h.h, h.l, fa__sel(pos, FA__SHIFT, g.m.t)));
}
/* mish'(x): m ((E + 2) D2 + 4x (1 + E)) / D2^2 2^k for x <= 0,
 * T + 4x E^2 (1 + E) / D1^2 for x > 0 */
FA__INLINE fa_ddt fa__mish_dx(double x)
{
    fa__mp g = fa__mish_parts(x);
    double xm = fa__sel(x < -1e5, -1e5, x);   /* e^x is 0 beyond, times any g */
    fa_dd o = fa__two_sum(1.0, g.e.h);
    o.l = o.l + g.e.l;
    fa_dd c = fa__dd_add(fa__dd_mul(g.n2, g.d2), fa__dd_mul_d(o, 4.0 * xm));
    c = fa__dd_mul(fa__dd(g.m.h, g.m.l), c);
    fa_dd n = fa__dd_div(c, fa__dd_mul(g.d2, g.d2));
    double xp = fa__sel(x > 1e5, 1e5, x);
    fa_dd f = fa__dd_mul_d(fa__dd_mul(g.e2, o), 4.0 * xp);
    f = fa__dd_div(f, fa__dd_mul(g.d1, g.d1));
    fa_dd p = fa__dd_add(fa__dd_div(g.n1, g.d1), f);
    int pos = x > 0.0;
    int near = FA__NEAR(x, FA__MISH_ROOT);
    fa_dd r = FA__ROOT(MISH, fa__sel(near, x, FA__MISH_ROOT));
    fa_dd h = fa__sel_dd(near, r, fa__sel_dd(pos, p, n));
    return fa__ddt(h.h, h.l, fa__sel(pos | near, FA__SHIFT, g.m.t));
}

/* softplus(beta, threshold): x if beta x > threshold else
 * log1p(exp(beta x)) / beta. z = beta x exactly (zh + zl; zl dropped where
 * Dekker's product cannot be exact), and the branch decided on the exact
 * product. */
typedef struct { double zh, zl; int linear; } fa__spz;
FA__INLINE fa__spz fa__softplus_z(double x, double beta, double threshold)
{
    fa__spz o;
    fa_dd z = fa__two_prod(beta, x);
    int fine = (fa__fabs(beta) < FA__TWO995) & (fa__fabs(x) < FA__TWO995) & (fa__fabs(z.h) < FA__BIG);
    o.zh = z.h;
    o.zl = fa__sel(fine & (fa__fabs(z.h) > FA__TWOM968), z.l, 0.0);
    o.linear = (o.zh > threshold) | ((o.zh == threshold) & (o.zl > 0.0));
    return o;
}
/* log1p(e^z) = max(z, 0) + log1p(e^-|z|): the log1p a double-double for
 * |z| <= 40, e^-|z|'s mantissa beyond (log1p(E) = E (1 - E/2 ...)) */
FA__INLINE double fa_act_softplus(double x, double beta, double threshold)
{
    fa__spz z = fa__softplus_z(x, beta, threshold);
    fa_ddt m = fa__exp_core(-fa__fabs(z.zh), fa__sel(z.zh < 0.0, z.zl, -z.zl));
    double sa = fa__sa(m.t), sb = fa__sb(m.t);
    fa_dd l = fa__log1p_core((m.h * sa) * sb, (m.l * sa) * sb);
    int deep = fa__fabs(z.zh) > 40.0;
    fa_dd q = fa__dd_div_d(fa__sel_dd(deep, fa__dd(m.h, m.l), l), beta);
    fa_dd s = fa__dd_add(fa__dd(x, 0.0), q);   /* z > 0: (z + log1p(e^-z)) / beta = x + q */
    double small = fa__round_scaled(fa__ddt(q.h, q.l, fa__sel(deep, m.t, FA__SHIFT)));
    /* q overflows only for a subnormal beta (x + q is then q); below
     * z = -1500, log1p(e^z) / beta < 2^-2164 / 2^-1074 rounds to 0, which
     * e^z's clamped exponent would not give for a tiny beta */
    int sum = (z.zh > 0.0) & (fa__fabs(q.h) < fa__dbl(FA__INF_BITS));
    small = fa__sel(z.zh < -1500.0, fa__copysign(0.0, beta), small);
    return fa__sel(z.linear | (z.zh > 40.0), x, fa__sel(sum, s.h + s.l, small));
}
FA__INLINE fa_ddt fa__softplus_dx(double x, double beta, double threshold, int *zero)
{
    fa__spz z = fa__softplus_z(x, beta, threshold);
    fa__sig s = fa__sigmoid_core(z.zh, z.zl);
    int pos = z.zh > 0.0;
    /* the constant 0 only at an infinite x (beta x may overflow for a finite one) */
    *zero = (z.zh == -fa__dbl(FA__INF_BITS)) & (fa__fabs(x) == fa__dbl(FA__INF_BITS));
    fa_dd h = fa__sel_dd(z.linear, fa__dd(1.0, 0.0), fa__sel_dd(pos, s.p, s.n));
    return fa__ddt(h.h, h.l, fa__sel(z.linear | pos, FA__SHIFT, s.t));
}

/* the derivatives and fused backward passes: f'(x) rounded once, and
 * grad_out * f'(x) with 0 where f' is the constant 0 (at an infinite x) */
#define FA__NEG_INF (-fa__dbl(FA__INF_BITS))
FA__INLINE double fa_act_elu_grad(double x, double a) { return fa__round_scaled(fa__elu_dx(x, a)); }
FA__INLINE double fa_act_elu_backward(double g, double x, double a)
{
    return fa__backward(g, fa__elu_dx(x, a), x == FA__NEG_INF);
}
FA__INLINE double fa_act_selu_grad(double x) { return fa__round_scaled(fa__selu_dx(x)); }
FA__INLINE double fa_act_selu_backward(double g, double x)
{
    return fa__backward(g, fa__selu_dx(x), x == FA__NEG_INF);
}
FA__INLINE double fa_act_celu_grad(double x, double a) { return fa__round_scaled(fa__celu_dx(x, a)); }
FA__INLINE double fa_act_celu_backward(double g, double x, double a)
{
    return fa__backward(g, fa__celu_dx(x, a), (x == FA__NEG_INF) & (a > 0.0));
}
FA__INLINE double fa_act_sigmoid_grad(double x) { return fa__round_scaled(fa__sigmoid_dx(x)); }
FA__INLINE double fa_act_sigmoid_backward(double g, double x)
{
    return fa__backward(g, fa__sigmoid_dx(x), fa__fabs(x) == fa__dbl(FA__INF_BITS));
}
FA__INLINE double fa_act_tanh_grad(double x) { return fa__round_scaled(fa__tanh_dx(x)); }
FA__INLINE double fa_act_tanh_backward(double g, double x)
{
    return fa__backward(g, fa__tanh_dx(x), fa__fabs(x) == fa__dbl(FA__INF_BITS));
}
FA__INLINE double fa_act_silu_grad(double x) { return fa__round_scaled(fa__silu_dx(x)); }
FA__INLINE double fa_act_silu_backward(double g, double x)
{
    return fa__backward(g, fa__silu_dx(x), x == FA__NEG_INF);
}
FA__INLINE double fa_act_gelu_grad(double x, double ap) { return fa__round_scaled(fa__gelu_dx(x, ap)); }
FA__INLINE double fa_act_gelu_backward(double g, double x, double ap)
{
    return fa__backward(g, fa__gelu_dx(x, ap), x == FA__NEG_INF);
}
FA__INLINE double fa_act_mish_grad(double x) { return fa__round_scaled(fa__mish_dx(x)); }
FA__INLINE double fa_act_mish_backward(double g, double x)
{
    return fa__backward(g, fa__mish_dx(x), x == FA__NEG_INF);
}
FA__INLINE double fa_act_softplus_grad(double x, double b, double th)
{
    int zero;
    return fa__round_scaled(fa__softplus_dx(x, b, th, &zero));
}
FA__INLINE double fa_act_softplus_backward(double g, double x, double b, double th)
{
    int zero;
    fa_ddt d = fa__softplus_dx(x, b, th, &zero);
    return fa__backward(g, d, zero);
}

/* ======================================================================== */
/* float32 (and float16): the same activations in plain double             */
/* ======================================================================== */

/* A float32 result only needs its double value within about 2^-30 (1/64 of
 * a float32 ulp beyond the final rounding) to be within 1 float32 ulp, so
 * the float32 kernels use the lean double kernels of the float32 library
 * functions above (fa__exp_d32, fa__expm1_d32, fa__poly_erf32,
 * fa__poly_erfc32t: relative error about 2^-40) and no double-double: three
 * to six times faster than calling the float64 activations. float inputs
 * make some products exact in double (x * x, beta * x). Near the roots of
 * the derivatives, where the terms cancel, they use the same polynomials as
 * the float64 kernels. Checked exhaustively over all 2^32 inputs
 * (tests/accuracy/check_f32.c). fa_act_<kernel>_f32 take and return double
 * (a float converted, and a value to round once to float);
 * fa_act_<kernel>_f64 are the float64 kernels above, under the names that
 * _fa_elem.h's FA_(act_<kernel>) makes for double. */

/* e^v for v clamped to [-700, 700]: enough for a float32 result times any
 * two float32 factors (2^256) to be 0, or inf, beyond */
FA__INLINE double fa__e32(double v)
{
    return fa__exp_d32(fa__max(fa__min(v, 700.0), -700.0));
}

/* sigmoid(|z|), sigmoid(-|z|) and e^-|z| (|z| clamped at 400) */
typedef struct { double p, n, e, d; } fa__s32;
FA__INLINE fa__s32 fa__sigmoid32(double z)
{
    fa__s32 o;
    o.e = fa__exp_d32(-fa__min(fa__fabs(z), 400.0));
    o.d = 1.0 + o.e;
    o.p = 1.0 / o.d;
    o.n = o.e * o.p;
    return o;
}

#define FA__INF fa__dbl(FA__INF_BITS)

/* elu, selu, celu: alpha expm1 where x <= 0 (expm1(+-0) = +-0 kept: x * alpha) */
FA__INLINE double fa_act_elu_f32(double x, double a)
{
    double e = fa__expm1_d32(fa__max(fa__min(x, 40.0), -40.0));
    return fa__sel(x > 0.0, x, fa__sel(x == 0.0, x * a, a * e));
}
FA__INLINE double fa_act_elu_grad_f32(double x, double a)
{
    return fa__sel(x > 0.0, 1.0, a * fa__e32(x));
}
FA__INLINE double fa_act_elu_backward_f32(double g, double x, double a)
{
    return fa__sel(x > 0.0, g, fa__sel(x == -FA__INF, 0.0, (g * a) * fa__e32(x)));
}
#define FA__SELU_SA_D 0x1.c212cc640f030p+0   /* scale * alpha, rounded */
FA__INLINE double fa_act_selu_f32(double x)
{
    double e = fa__expm1_d32(fa__max(fa__min(x, 40.0), -40.0));
    return fa__sel(x > 0.0, FA_SELU_SCALE * x, fa__sel(x == 0.0, x * FA__SELU_SA_D, FA__SELU_SA_D * e));
}
FA__INLINE double fa_act_selu_grad_f32(double x)
{
    return fa__sel(x > 0.0, FA_SELU_SCALE, FA__SELU_SA_D * fa__e32(x));
}
FA__INLINE double fa_act_selu_backward_f32(double g, double x)
{
    return fa__sel(x > 0.0, g * FA_SELU_SCALE,
                   fa__sel(x == -FA__INF, 0.0, (g * FA__SELU_SA_D) * fa__e32(x)));
}
/* celu: alpha expm1(z) = x (1 + z/2 ...) is x where |z| < 2^-30 (z may underflow) */
FA__INLINE double fa_act_celu_f32(double x, double a)
{
    double z = x / a;
    double e = fa__expm1_d32(fa__max(fa__min(z, 700.0), -40.0));
    return fa__sel((x > 0.0) | (fa__fabs(z) < 0x1p-30), x, a * e);
}
FA__INLINE double fa__celu_e32(double x, double a)
{
    double z = x / a;
    return fa__sel(z == FA__INF, z, fa__e32(z));   /* e^inf for alpha < 0 (0 * it is NaN) */
}
FA__INLINE double fa_act_celu_grad_f32(double x, double a)
{
    return fa__sel(x > 0.0, 1.0, fa__celu_e32(x, a));
}
FA__INLINE double fa_act_celu_backward_f32(double g, double x, double a)
{
    return fa__sel(x > 0.0, g, fa__sel((x == -FA__INF) & (a > 0.0), 0.0, g * fa__celu_e32(x, a)));
}

/* sigmoid, tanh */
FA__INLINE double fa_act_sigmoid_f32(double x)
{
    fa__s32 s = fa__sigmoid32(x);
    return fa__sel(x > 0.0, s.p, s.n);
}
FA__INLINE double fa_act_sigmoid_grad_f32(double x)
{
    fa__s32 s = fa__sigmoid32(x);
    return s.p * s.n;
}
FA__INLINE double fa_act_sigmoid_backward_f32(double g, double x)
{
    fa__s32 s = fa__sigmoid32(x);
    return fa__sel(fa__fabs(x) == FA__INF, 0.0, g * (s.p * s.n));
}
FA__INLINE double fa_act_tanh_f32(double x)
{
    double a = fa__min(fa__fabs(x), 20.0);
    double em = fa__expm1_d32(a + a);
    return fa__copysign(em / (em + 2.0), x);
}
FA__INLINE double fa_act_tanh_grad_f32(double x)
{
    fa__s32 s = fa__sigmoid32(x + x);
    return 4.0 * (s.p * s.n);
}
FA__INLINE double fa_act_tanh_backward_f32(double g, double x)
{
    fa__s32 s = fa__sigmoid32(x + x);
    return fa__sel(fa__fabs(x) == FA__INF, 0.0, g * (4.0 * (s.p * s.n)));
}

/* x sigmoid(z) and its derivative sigmoid(z) (1 + w sigmoid(-z)) =
 * e^z (1 + e^z + w) / (1 + e^z)^2 for z < 0, (1 + E + w E) / (1 + E)^2,
 * E = e^-z, otherwise (silu: z = w = x; gelu's tanh form) */
FA__INLINE double fa__xsig32(double xm, double z)
{
    fa__s32 s = fa__sigmoid32(z);
    return xm * fa__sel(z > 0.0, s.p, s.n);
}
FA__INLINE double fa__xsig_dx32(double z, double w)
{
    fa__s32 s = fa__sigmoid32(z);
    int neg = z < 0.0;
    double num = fa__sel(neg, s.d + w, s.d + w * s.e);
    return fa__sel(neg, s.e * num, num) * (s.p * s.p);
}
FA__INLINE double fa_act_silu_f32(double x)
{
    return fa__xsig32(fa__max(x, -400.0), x);
}
FA__INLINE double fa__silu_dx32(double x)
{
    double d = fa__xsig_dx32(x, fa__max(fa__min(x, 400.0), -400.0));
    int near = FA__NEAR(x, FA__SILU_ROOT);
    double r = FA__ROOT32(SILU, fa__sel(near, x, FA__SILU_ROOT));
    return fa__sel(near, r, d);
}
FA__INLINE double fa_act_silu_grad_f32(double x) { return fa__silu_dx32(x); }
FA__INLINE double fa_act_silu_backward_f32(double g, double x)
{
    return fa__sel(x == -FA__INF, 0.0, g * fa__silu_dx32(x));
}

/* gelu, tanh form: z = 2c x (1 + k x^2), w = 2c x (1 + 3k x^2), x clamped to
 * [-40, 40] (an error of z costs |z| 2^-52 relative: enough in double) */
#define FA__GT_C2D 0x1.9884533d43651p+0
#define FA__GT_KD 0x1.6e4e26d4801f7p-5
#define FA__GT_K3D 0x1.12ba9d1f60179p-3
FA__INLINE double fa__gelu_tanh32(double x)
{
    double xc = fa__max(fa__min(x, 40.0), -40.0);
    double z = FA__GT_C2D * (xc * (1.0 + FA__GT_KD * (xc * xc)));
    return fa__xsig32(fa__max(x, -40.0), z);
}
FA__INLINE double fa__gelu_tanh_dx32(double x)
{
    double xc = fa__max(fa__min(x, 40.0), -40.0);
    double x2 = xc * xc;
    double z = FA__GT_C2D * (xc * (1.0 + FA__GT_KD * x2));
    double w = FA__GT_C2D * (xc * (1.0 + FA__GT_K3D * x2));
    double d = fa__xsig_dx32(z, w);
    int near = FA__NEAR(x, FA__GELU_TANH_ROOT);
    double r = FA__ROOT32(GELU_TANH, fa__sel(near, x, FA__GELU_TANH_ROOT));
    return fa__sel(near, r, d);
}

/* gelu, exact form. a = |x| (clamped at 30; x^2 is exact in double),
 * b = a / sqrt(2), phi(a) = e^(-a^2/2) / sqrt(2 pi), the Mills ratio
 * R(a) = Phi(-a) / phi(a) = sqrt(pi/2) P(t) / (b + 3) from erfc's tail
 * (K = 3, t = (b - 3) / (b + 3), b <= 10.1), and beyond it the
 * asymptotic 1/a (1 - 1/a^2 + 3/a^4 - 15/a^6) (within 2^-30 of R there);
 * erf(b) for b < 0.5. */
typedef struct { double a, phi, r, s; int tail; } fa__g32;
FA__INLINE fa__g32 fa__gelu_parts32(double x)
{
    fa__g32 o;
    double a = fa__min(fa__fabs(x), 30.0);
    o.a = a;
    o.phi = fa__exp_d32(-0.5 * (a * a)) * 0x1.9884533d43651p-2;
    double b = a * 0x1.6a09e667f3bcdp-1;
    double bc = fa__min(b, 10.1);
    /* one division for 1/(bc + 3) and 1/a (a >= 14 where the latter counts) */
    double am = fa__max(a, 1.0);
    double r2 = 1.0 / (am * (bc + 3.0));
    double ib = am * r2;
    double rp = 0x1.40d931ff62706p+0 * (fa__poly_erfc32t((bc - 3.0) * ib) * ib);
    double ia = (bc + 3.0) * r2, ia2 = ia * ia;
    double ra = ia * (1.0 - ia2 * (1.0 - ia2 * (3.0 - ia2 * 15.0)));
    o.r = fa__sel(b > 10.1, ra, rp);
    double bs = fa__min(b, 0.5);
    o.s = bs + bs * fa__poly_erf32(bs * bs);
    o.tail = b >= 0.5;
    return o;
}
FA__INLINE double fa__gelu_erf32(double x)
{
    fa__g32 g = fa__gelu_parts32(x);
    double q = g.phi * g.r;                       /* Phi(-a) */
    double mid = 0.5 + 0.5 * fa__copysign(g.s, x);
    double phi_x = fa__sel(g.tail, fa__sel(x < 0.0, q, 1.0 - q), mid);
    return fa__max(x, -30.0) * phi_x;
}
FA__INLINE double fa__gelu_erf_dx32(double x)
{
    fa__g32 g = fa__gelu_parts32(x);
    double mid = (0.5 + 0.5 * fa__copysign(g.s, x)) + x * g.phi;
    double tail = fa__sel(x < 0.0, g.phi * (g.r - g.a), 1.0 + g.phi * (g.a - g.r));
    int near = FA__NEAR(x, FA__GELU_ROOT);
    double r = FA__ROOT32(GELU, fa__sel(near, x, FA__GELU_ROOT));
    return fa__sel(near, r, fa__sel(g.tail, tail, mid));
}
FA__INLINE double fa_act_gelu_f32(double x, double approximate)
{
    return fa__sel(approximate == 0.0, fa__gelu_erf32(x), fa__gelu_tanh32(x));
}
FA__INLINE double fa__gelu_dx32(double x, double approximate)
{
    return fa__sel(approximate == 0.0, fa__gelu_erf_dx32(x), fa__gelu_tanh_dx32(x));
}
FA__INLINE double fa_act_gelu_grad_f32(double x, double ap) { return fa__gelu_dx32(x, ap); }
FA__INLINE double fa_act_gelu_backward_f32(double g, double x, double ap)
{
    return fa__sel(x == -FA__INF, 0.0, g * fa__gelu_dx32(x, ap));
}

/* mish: with e = e^-|x|, tanh(softplus(x)) = e (e + 2) / D2, D2 = e (e + 2) + 2,
 * for x <= 0 and (1 + 2e) / D1, D1 = 1 + 2e + 2e^2, for x > 0 */
FA__INLINE double fa_act_mish_f32(double x)
{
    double e = fa__exp_d32(-fa__min(fa__fabs(x), 400.0));
    double q = e * (e + 2.0);
    int pos = x > 0.0;
    double t = fa__sel(pos, 1.0 + 2.0 * e, q) / fa__sel(pos, 1.0 + 2.0 * (e + e * e), q + 2.0);
    return fa__max(x, -400.0) * t;
}
FA__INLINE double fa__mish_dx32(double x)
{
    double e = fa__exp_d32(-fa__min(fa__fabs(x), 400.0));
    double xc = fa__max(fa__min(x, 400.0), -400.0);
    double d2 = e * (e + 2.0) + 2.0, d1 = 1.0 + 2.0 * (e + e * e);
    int pos = x > 0.0;
    double num = fa__sel(pos, (1.0 + 2.0 * e) * d1 + 4.0 * xc * (e * e * (1.0 + e)),
                         e * ((e + 2.0) * d2 + 4.0 * xc * (1.0 + e)));
    double den = fa__sel(pos, d1, d2);
    int near = FA__NEAR(x, FA__MISH_ROOT);
    double r = FA__ROOT32(MISH, fa__sel(near, x, FA__MISH_ROOT));
    return fa__sel(near, r, num / (den * den));
}
FA__INLINE double fa_act_mish_grad_f32(double x) { return fa__mish_dx32(x); }
FA__INLINE double fa_act_mish_backward_f32(double g, double x)
{
    return fa__sel(x == -FA__INF, 0.0, g * fa__mish_dx32(x));
}

/* log1p(e) for 0 <= e <= 1, relative error ~2^-50: u = 1 + e = 2^k m with
 * m in [sqrt2/2, sqrt2) (k is 0 or 1), log m = 2 atanh(s) = 2s + 2s z L(z),
 * s = f/(2+f), f = m - 1, z = s^2 <= 0.0295, L of degree 4 (fit error
 * 3.6e-12, i.e. 1e-13 relative). The rounding error c = e - (u - 1) of u is
 * exact and added as is: log(u + c) - log(u) = c/u, and the difference
 * c (1 - 1/u) is below 2^-54 of the result. */
FA__INLINE double fa__log1p_d32(double e)
{
    double u = 1.0 + e;
    double c = e - (u - 1.0);
    uint64_t iu = fa__bits(u) + (0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL);
    double dk = fa__dbl(0x4330000000000000ULL | (iu >> 52)) - (0x1p52 + 1023.0);
    double m = fa__dbl((iu & 0x000fffffffffffffULL) + 0x3fe6a09e667f3bcdULL);
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double s2 = s + s;
    double z = s * s;
    return dk * FA__LN2 + ((s2 + s2 * (z * fa__poly_log32(z))) + c);
}

/* softplus: z = beta x is exact in double for float beta and x; 1/beta, a
 * loop invariant, is computed once (two roundings in double cost 2^-52) */
FA__INLINE double fa_act_softplus_f32(double x, double beta, double threshold)
{
    double z = beta * x;
    double e = fa__exp_d32(-fa__min(fa__fabs(z), 400.0));
    double lp = fa__sel(fa__fabs(z) > 40.0, e, fa__log1p_d32(e)) * (1.0 / beta);
    return fa__sel((z > threshold) | (z > 40.0), x, fa__sel(z > 0.0, x + lp, lp));
}
FA__INLINE double fa_act_softplus_grad_f32(double x, double beta, double threshold)
{
    double z = beta * x;
    fa__s32 s = fa__sigmoid32(z);
    return fa__sel(z > threshold, 1.0, fa__sel(z > 0.0, s.p, s.n));
}
FA__INLINE double fa_act_softplus_backward_f32(double g, double x, double beta, double threshold)
{
    double z = beta * x;
    fa__s32 s = fa__sigmoid32(z);
    int zero = (z == -FA__INF) & (fa__fabs(x) == FA__INF);
    return fa__sel(z > threshold, g, fa__sel(zero, 0.0, g * fa__sel(z > 0.0, s.p, s.n)));
}

/* the float64 kernels under the names FA_(act_<kernel>) makes for double */
#define FA__F64_1(k) \
    FA__INLINE double fa_act_##k##_f64(double x) { return fa_act_##k(x); } \
    FA__INLINE double fa_act_##k##_grad_f64(double x) { return fa_act_##k##_grad(x); } \
    FA__INLINE double fa_act_##k##_backward_f64(double g, double x) { return fa_act_##k##_backward(g, x); }
#define FA__F64_2(k) \
    FA__INLINE double fa_act_##k##_f64(double x, double a) { return fa_act_##k(x, a); } \
    FA__INLINE double fa_act_##k##_grad_f64(double x, double a) { return fa_act_##k##_grad(x, a); } \
    FA__INLINE double fa_act_##k##_backward_f64(double g, double x, double a) { return fa_act_##k##_backward(g, x, a); }
FA__F64_2(elu)
FA__F64_1(selu)
FA__F64_2(celu)
FA__F64_2(gelu)
FA__F64_1(silu)
FA__F64_1(mish)
FA__F64_1(sigmoid)
FA__F64_1(tanh)
FA__INLINE double fa_act_softplus_f64(double x, double b, double t) { return fa_act_softplus(x, b, t); }
FA__INLINE double fa_act_softplus_grad_f64(double x, double b, double t) { return fa_act_softplus_grad(x, b, t); }
FA__INLINE double fa_act_softplus_backward_f64(double g, double x, double b, double t)
{
    return fa_act_softplus_backward(g, x, b, t);
}

#endif /* FASTACT_FA_MATH_H */
