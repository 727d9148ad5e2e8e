"""Fit the polynomials that the smooth kernels use near the roots of their derivatives.

gelu' (both forms), silu' and mish' each have one root, near which the terms
of their formulas cancel: there f'(x) = d Q(d), d = x - root, with Q fitted
here on |d| <= 0.15 (Chebyshev, mpmath at 200 bits) to a relative error
below 2^-61 after rounding the coefficients to double (the first two as
double-doubles). Prints the roots and coefficients as ``_fa_math.h`` and
``fastact/_backends/numpy.py`` hold them.

    python tests/accuracy/root_polys.py
"""

from __future__ import annotations

import mpmath as mp

mp.mp.prec = 200
WINDOW = 0.15
C = mp.sqrt(2 / mp.pi)
K = mp.mpf("0.044715")


def _sigmoid(z):
    return 1 / (1 + mp.exp(-z))


def _gelu_tanh_grad(x):
    z = 2 * C * (x + K * x**3)
    return _sigmoid(z) * (1 + 2 * C * x * (1 + 3 * K * x**2) * _sigmoid(-z))


def _mish_grad(x):
    t = mp.tanh(mp.log1p(mp.exp(x)))
    return t + x * (1 - t**2) * _sigmoid(x)


DERIVATIVES = {
    "gelu": (lambda x: mp.ncdf(x) + x * mp.npdf(x), -0.75),
    "gelu_tanh": (_gelu_tanh_grad, -0.75),
    "silu": (lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x))), -1.28),
    "mish": (_mish_grad, -1.19),
}


def fit(f, start):
    """The root (a double-double) and Q's coefficients (q0, q1 as double-doubles)."""
    r = mp.findroot(f, start)
    q = lambda d: f(r + d) / d if d != 0 else mp.diff(f, r)  # noqa: E731
    for degree in range(8, 20):
        co = [mp.mpf(v) for v in mp.chebyfit(q, [-WINDOW, WINDOW], degree + 1)[::-1]]
        hi0, hi1 = float(co[0]), float(co[1])
        coefs = [hi0, float(co[0] - hi0), hi1, float(co[1] - hi1)] + [float(v) for v in co[2:]]

        def value(d, coefs=coefs, degree=degree):
            head = (mp.mpf(coefs[0]) + coefs[1]) + (mp.mpf(coefs[2]) + coefs[3]) * d
            return head + sum(mp.mpf(coefs[i + 2]) * d**i for i in range(2, degree + 1))

        grid = [mp.mpf(-WINDOW + 2 * WINDOW * j / 600) for j in range(601) if j != 300]
        worst = max(abs(value(d) / q(d) - 1) for d in grid)
        if worst < mp.mpf(2) ** -61:
            return (float(r), float(r - float(r))), coefs, degree, worst
    raise RuntimeError("no degree below 20 fits")


def main() -> None:
    for name, (f, start) in DERIVATIVES.items():
        root, coefs, degree, worst = fit(f, start)
        print(f"# {name}: degree {degree}, relative error 2^{float(mp.log(worst, 2)):.1f}")
        print(f"{name.upper()}_ROOT = {tuple(float.hex(v) for v in root)}")
        print(f"{name.upper()}_Q = {tuple(float.hex(v) for v in coefs)}")


if __name__ == "__main__":
    main()
