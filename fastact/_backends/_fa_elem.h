/*
 * The element functions of the Cython backend: one per kernel of
 * fastact/_table.py, under the kernel's name, in C.
 *
 * This file is included twice by _fa_kernels.h, with FA_T the compute type
 * (float, then double) and FA_(name) the name with its suffix (_f32, then
 * _f64), so that each formula is written once for both. float16 arrays are
 * computed by the float versions and rounded once (_fa_kernels.h).
 *
 * Signatures: f(x, p) for forward and derivative, f(g, x, p) for the fused
 * backward pass; p holds the parameters in table order, already in the
 * compute type.
 *
 * Exactness: every branch is a comparison, and both sides are computed and
 * selected on their bits (FA_(sel)): without -ffast-math GCC does not move a
 * multiplication out of a branch, so only the select form vectorises. A side
 * that is an operand is that operand's bits, so NaN payloads and the sign of
 * zero pass through. The build passes -ffp-contract=off, so a * b + c is
 * never fused into one rounding.
 */

/* relu: 0 if x < 0 else x */
static inline FA_T FA_(relu)(FA_T x, const FA_T *p)
{
    (void)p;
    return FA_(sel)(x < 0, 0, x);
}

static inline FA_T FA_(relu_grad)(FA_T x, const FA_T *p)
{
    (void)p;
    return FA_(sel)(x > 0, 1, 0);
}

static inline FA_T FA_(relu_backward)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    return FA_(sel)(x > 0, g, 0);
}

/* leaky_relu(alpha): x if x > 0 else alpha * x */
static inline FA_T FA_(leaky_relu)(FA_T x, const FA_T *p)
{
    return FA_(sel)(x > 0, x, p[0] * x);
}

static inline FA_T FA_(leaky_relu_grad)(FA_T x, const FA_T *p)
{
    return FA_(sel)(x > 0, 1, p[0]);
}

static inline FA_T FA_(leaky_relu_backward)(FA_T g, FA_T x, const FA_T *p)
{
    return FA_(sel)(x > 0, g, p[0] * g);
}

/* relu6: 0 if x < 0 else (6 if x > 6 else x) */
static inline FA_T FA_(relu6)(FA_T x, const FA_T *p)
{
    (void)p;
    return FA_(sel)(x < 0, 0, FA_(sel)(x > 6, 6, x));
}

static inline FA_T FA_(relu6_grad)(FA_T x, const FA_T *p)
{
    (void)p;
    return FA_(sel)((x > 0) & (x < 6), 1, 0);
}

static inline FA_T FA_(relu6_backward)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    return FA_(sel)((x > 0) & (x < 6), g, 0);
}

/* hardtanh(min_val, max_val): min_val if x < min_val else (max_val if x > max_val else x) */
static inline FA_T FA_(hardtanh)(FA_T x, const FA_T *p)
{
    return FA_(sel)(x < p[0], p[0], FA_(sel)(x > p[1], p[1], x));
}

static inline FA_T FA_(hardtanh_grad)(FA_T x, const FA_T *p)
{
    return FA_(sel)((x > p[0]) & (x < p[1]), 1, 0);
}

static inline FA_T FA_(hardtanh_backward)(FA_T g, FA_T x, const FA_T *p)
{
    return FA_(sel)((x > p[0]) & (x < p[1]), g, 0);
}

/* hardsigmoid: t / 6 with t = x + 3 clipped to [0, 6]. 1/6 is rounded once
 * in the compute type, as the constant of the derivative. */
static inline FA_T FA_(hardsigmoid)(FA_T x, const FA_T *p)
{
    FA_T t = x + 3;
    (void)p;
    return FA_(sel)(t < 0, 0, FA_(sel)(t > 6, 6, t)) / 6;
}

static inline FA_T FA_(hardsigmoid_grad)(FA_T x, const FA_T *p)
{
    (void)p;
    return FA_(sel)((x > -3) & (x < 3), (FA_T)1 / 6, 0);
}

static inline FA_T FA_(hardsigmoid_backward)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    return FA_(sel)((x > -3) & (x < 3), g * ((FA_T)1 / 6), 0);
}

/* hardswish: (x * t) / 6 with t = x + 3 clipped to [0, 6] */
static inline FA_T FA_(hardswish)(FA_T x, const FA_T *p)
{
    FA_T t = x + 3;
    (void)p;
    return (x * FA_(sel)(t < 0, 0, FA_(sel)(t > 6, 6, t))) / 6;
}

static inline FA_T FA_(hardswish_grad)(FA_T x, const FA_T *p)
{
    (void)p;
    return FA_(sel)(x <= -3, 0, FA_(sel)(x < 3, x / 3 + (FA_T)0.5, 1));
}

static inline FA_T FA_(hardswish_backward)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    return FA_(sel)(x <= -3, 0, FA_(sel)(x < 3, g * (x / 3 + (FA_T)0.5), g));
}

/* The smooth family: each kernel is a function of _fa_math.h computed in
 * double and rounded once to the dtype. FA_(act_<kernel>) is the float64
 * one (double-double inside, within 0.6 ulp) for double, and the float32 one
 * (plain double, within 2^-30 before the rounding) for float: both within
 * 1 ulp of float32, and float16 (through float32) within 1 float16 ulp.
 * A NaN x comes out as itself (sign and payload): the arithmetic would give
 * a NaN whose sign depends on the vector width, so a strided call and a
 * contiguous one would differ. The wrappers are forced inline (FA__INLINE):
 * GCC would not inline a body this large by itself, and a call in the loop
 * keeps it from vectorising. */

#define FA__SMOOTH(name, ...)                                                  \
    FA__INLINE FA_T FA_(name)(FA_T x, const FA_T *p)                           \
    {                                                                          \
        (void)p;                                                               \
        return FA_(sel)(x != x, x, (FA_T)FA_(act_##name)((double)x __VA_ARGS__)); \
    }                                                                          \
    FA__INLINE FA_T FA_(name##_grad)(FA_T x, const FA_T *p)                    \
    {                                                                          \
        (void)p;                                                               \
        return FA_(sel)(x != x, x, (FA_T)FA_(act_##name##_grad)((double)x __VA_ARGS__)); \
    }                                                                          \
    FA__INLINE FA_T FA_(name##_backward)(FA_T g, FA_T x, const FA_T *p)        \
    {                                                                          \
        (void)p;                                                               \
        return FA_(sel)(x != x, x,                                             \
                        (FA_T)FA_(act_##name##_backward)((double)g, (double)x __VA_ARGS__)); \
    }

#define FA__P0 , (double)p[0]
#define FA__P01 , (double)p[0], (double)p[1]

/* elu(alpha): x if x > 0 else alpha * expm1(x) */
FA__SMOOTH(elu, FA__P0)
/* selu: scale * elu(x, alpha), PyTorch's constants */
FA__SMOOTH(selu)
/* celu(alpha): x if x > 0 else alpha * expm1(x / alpha) */
FA__SMOOTH(celu, FA__P0)
/* gelu(approximate): x * Phi(x), or PyTorch's tanh form (p[0] = 1) */
FA__SMOOTH(gelu, FA__P0)
/* silu: x * sigmoid(x) */
FA__SMOOTH(silu)
/* mish: x * tanh(softplus(x)) */
FA__SMOOTH(mish)
/* softplus(beta, threshold): x if beta * x > threshold else log1p(exp(beta * x)) / beta */
FA__SMOOTH(softplus, FA__P01)
/* sigmoid: 1 / (1 + exp(-x)) */
FA__SMOOTH(sigmoid)
/* tanh */
FA__SMOOTH(tanh)

#undef FA__SMOOTH
#undef FA__P0
#undef FA__P01
