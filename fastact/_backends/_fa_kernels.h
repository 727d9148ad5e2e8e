/*
 * What the stamped loops of _cy.pyx.tp need around the element functions:
 * the bit select, the element functions for float and double, the threads.
 */
#ifndef FASTACT_FA_KERNELS_H
#define FASTACT_FA_KERNELS_H

#include <fenv.h>
#include <stdint.h>
#include "_fa_half.h"
/* the smooth family's math, before the element functions that call it */
#include "_fa_math.h"

#ifdef _OPENMP
#include <omp.h>
#define FA_HAVE_OPENMP 1
#else
#define FA_HAVE_OPENMP 0
#endif

/* setup.py defines FASTACT_TARGET_CLONES only where a probe compiled and
 * linked a target_clones function (GCC/Clang with ifunc support): one binary
 * then carries SSE2, AVX2 and AVX-512 versions of each contiguous loop and
 * picks one when it loads. */
#ifdef FASTACT_TARGET_CLONES
#define FA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define FA_HAVE_CLONES 1
#else
#define FA_CLONES
#define FA_HAVE_CLONES 0
#endif

#ifndef FASTACT_CFLAGS
#define FASTACT_CFLAGS "unknown"
#endif
#ifdef __VERSION__
#define FA_COMPILER __VERSION__
#else
#define FA_COMPILER "unknown"
#endif

/* t if c else o, on the bits: no control flow for the vectoriser to refuse */
static inline float fa_sel_f32(int c, float t, float o)
{
    return fa_bits_f32(fa_sel32(fa_mask32(c), fa_f32_bits(t), fa_f32_bits(o)));
}

static inline double fa_sel_f64(int c, double t, double o)
{
    return fa_bits_f64(fa_sel64(fa_mask64(c), fa_f64_bits(t), fa_f64_bits(o)));
}

#define FA_T float
#define FA_(name) fa_##name##_f32
#include "_fa_elem.h"
#undef FA_T
#undef FA_
#define FA_T double
#define FA_(name) fa_##name##_f64
#include "_fa_elem.h"
#undef FA_T
#undef FA_

/* the most parameters an activation has */
#define FA_MAX_PARAMS 2

/* A smooth kernel's float32 or float16 contiguous loop over n >=
 * FA_BUFFERED_MIN elements writes each block of FA_BUFFER to a buffer in
 * L1, then copies it out: NumPy's large arrays start at the same offset in
 * their (huge) pages, and the input and output streams then conflict in the
 * cache. Measured on an AVX-512 Xeon, one thread, float32, 1e7 elements:
 * sigmoid 3.0 -> 1.9 ns an element, elu 2.9 -> 1.8, gelu 4.4 -> 3.7; at 3e6
 * and below, no gain (the copy costs 2-10% in the cache). Not for float64
 * (1e7: 3-20% slower) nor the piecewise-linear kernels (bound by memory
 * bandwidth there). */
#define FA_BUFFERED_MIN ((npy_intp)1 << 21)
#define FA_BUFFER 1024

/* A contiguous loop: out[i] = f(g[i], x[i], p) for i < n (g unused by unary kernels). */
typedef void (*fa_loop)(const char *g, const char *x, char *out, npy_intp n, const void *p);

/* The team for a call of n elements. The settings come from fastact._config
 * through _cy.configure: fa_threads > 0 is the user's count, 0 asks OpenMP at
 * each call (OMP_NUM_THREADS, or what threadpoolctl set); 1 in a child forked
 * from a process with threads, where GNU OpenMP cannot start a team. */
static int fa_threads = 1;
static int fa_cpus = 1;
static npy_intp fa_min_per_thread = NPY_MAX_INTP;

static int fa_omp_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static inline int fa_team(npy_intp n)
{
    npy_intp by_size = n / fa_min_per_thread;
    if (by_size < 2 || fa_threads == 1) return 1;
    int t = fa_threads > 0 ? fa_threads : fa_omp_max_threads();
    if (t > fa_cpus) t = fa_cpus;
    return by_size < t ? (int)by_size : t;
}

/* Split points are rounded to 32 elements, a 64-byte cache line of float16
 * and more, so that threads never write the same line of out. */
static inline npy_intp fa_split(npy_intp n, int i, int nt)
{
    return i == nt ? n : (npy_intp)((double)n * i / nt) / 32 * 32;
}

/* Run a contiguous loop on nt threads (nt = 1: on this one). */
static void fa_run(fa_loop f, npy_intp isz, const char *g, const char *x, char *o,
                   npy_intp n, const void *p, int nt)
{
#ifdef _OPENMP
    if (nt > 1) {
        int i;
#pragma omp parallel for num_threads(nt) schedule(static)
        for (i = 0; i < nt; i++) {
            npy_intp lo = fa_split(n, i, nt), hi = fa_split(n, i + 1, nt);
            f(g + lo * isz, x + lo * isz, o + lo * isz, hi - lo, p);
        }
        return;
    }
#endif
    (void)nt;
    f(g, x, o, n, p);
}

/* How many items of size isz (x is aligned to it) lie before x's next
 * 64-byte boundary: the vector loop starts there, so its loads never
 * straddle two cache lines (1.7x slower at 7e4 float32 elements in L2 for
 * arrays at 16 bytes past a line, where malloc and NumPy put them). */
static inline npy_intp fa_head(const void *x, npy_intp n, size_t isz)
{
    npy_intp head = (npy_intp)(((64 - ((uintptr_t)x & 63)) & 63) / isz);
    return head < n ? head : n;
}

static const char *fa_cpu_level(void)
{
#if defined(FASTACT_TARGET_CLONES)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4 (AVX-512)";
    if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3 (AVX2)";
    return "default";
#else
    return "default (no target_clones in this build)";
#endif
}

#endif
