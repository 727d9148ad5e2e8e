"""The activation table: one entry per activation, and everything else follows from it.

An entry names an activation ``f``; fastact then has three functions for it,
``f`` (the activation), ``f_grad`` (its derivative) and ``f_backward`` (the
fused ``grad_out * f'(x)``), each a *kernel* of the same name. From the table
come the public functions and their docstrings (``fastact._api``), the layers
(``fastact.nn``), the NumPy ufuncs (``fastact.ufunc``), the loops the Cython
build stamps out (``setup.py``), the benchmark rows and the test matrix. The
element formulas themselves are written by hand in each backend's language:
``_backends/_fa_elem.h`` (C), ``_backends/numba.py`` (Numba) and
``_backends/numpy.py`` (the NumPy reference), each under the kernel's name.

This module imports nothing outside the standard library: ``setup.py`` reads
it before NumPy or fastact can be imported.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    """A parameter of an activation: a real number, or one of a few strings."""

    name: str
    default: float | str
    doc: str
    #: the parameter must not be 0 (``celu``'s ``alpha`` divides)
    nonzero: bool = False
    #: the strings a choice parameter takes; kernels receive the chosen one's
    #: index as a float (``gelu``'s ``approximate``: "none" 0.0, "tanh" 1.0)
    choices: tuple[str, ...] = ()

    @property
    def literal(self) -> str:
        """The default as Python source: ``0.01``, ``'none'``."""
        return repr(self.default if self.choices else float(self.default))

    @property
    def type_doc(self) -> str:
        """The parameter's type as numpydoc writes it."""
        if self.choices:
            return "{" + ", ".join(repr(c) for c in self.choices) + "}"
        return "float"


@dataclass(frozen=True)
class Activation:
    """One activation and what fastact builds from it."""

    name: str
    #: the parameters, in call order after ``x``
    params: tuple[Param, ...]
    #: ``"exact"``: piecewise linear, bit-identical to the formulas; ``"smooth"``
    family: str
    #: the formulas of ``f``, ``f'`` and the backward pass, as the docs show them
    forward: str
    grad: str
    backward: str
    #: the class name of the layer in ``fastact.nn``
    layer: str
    #: a doctest for the docs: the input, then ``f``, ``f_grad`` and
    #: ``f_backward(2.0, x)`` of it as NumPy prints them (params at defaults)
    example: tuple[str, str, str, str]
    #: what the docs add about edge values (NaN, signed zero, infinities)
    notes: str = ""
    #: a condition on the parameters (Python, over their names) under which
    #: ``f'(f(x)) == f'(x)`` for every x, so that a layer may overwrite its
    #: input and take the derivative from the output; None: never
    grad_from_output: str | None = None
    #: a condition the parameters must meet, and the error it raises otherwise
    requires: tuple[str, str] | None = None
    #: ``"elementwise"``, or ``"channel"``: a weight per channel along an axis,
    #: the elementwise kernels of ``like`` with that weight as their
    #: parameter, and a weight gradient reduced in the backward pass
    kind: str = "elementwise"
    like: str | None = None

    @property
    def kernels(self) -> tuple[str, str, str]:
        """The names of the three kernels: ``f``, ``f_grad``, ``f_backward``."""
        return (self.name, f"{self.name}_grad", f"{self.name}_backward")


_ALPHA = Param("alpha", 0.01, "The slope for ``x <= 0``.")

ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation(
            "relu",
            (),
            "exact",
            forward="0 if x < 0 else x",
            grad="1 if x > 0 else 0",
            backward="grad_out if x > 0 else 0",
            layer="ReLU",
            example=(
                "[-2.0, -0.0, 0.5, 3.0]",
                "array([ 0. , -0. ,  0.5,  3. ])",
                "array([0., 0., 1., 1.])",
                "array([0., 0., 2., 2.])",
            ),
            notes="NaN and -0.0 pass through unchanged; -inf gives 0.",
            grad_from_output="True",
        ),
        Activation(
            "leaky_relu",
            (_ALPHA,),
            "exact",
            forward="x if x > 0 else alpha * x",
            grad="1 if x > 0 else alpha",
            backward="grad_out if x > 0 else alpha * grad_out",
            layer="LeakyReLU",
            example=(
                "[-2.0, -0.0, 0.5, 3.0]",
                "array([-0.02, -0.  ,  0.5 ,  3.  ])",
                "array([0.01, 0.01, 1.  , 1.  ])",
                "array([0.02, 0.02, 2.  , 2.  ])",
            ),
            notes="``alpha * x`` keeps NaN a NaN and gives ``alpha * -0.0`` at -0.0.",
            grad_from_output="alpha >= 0",
        ),
        Activation(
            "relu6",
            (),
            "exact",
            forward="0 if x < 0 else (6 if x > 6 else x)",
            grad="1 if 0 < x < 6 else 0",
            backward="grad_out if 0 < x < 6 else 0",
            layer="ReLU6",
            example=(
                "[-2.0, -0.0, 0.5, 7.0]",
                "array([ 0. , -0. ,  0.5,  6. ])",
                "array([0., 0., 1., 0.])",
                "array([0., 0., 2., 0.])",
            ),
            notes="NaN and -0.0 pass through unchanged; -inf gives 0 and inf gives 6.",
            grad_from_output="True",
        ),
        Activation(
            "hardtanh",
            (
                Param("min_val", -1.0, "The lower bound."),
                Param("max_val", 1.0, "The upper bound; at least ``min_val``."),
            ),
            "exact",
            forward="min_val if x < min_val else (max_val if x > max_val else x)",
            grad="1 if min_val < x < max_val else 0",
            backward="grad_out if min_val < x < max_val else 0",
            layer="Hardtanh",
            example=(
                "[-2.0, -0.0, 0.5, 3.0]",
                "array([-1. , -0. ,  0.5,  1. ])",
                "array([0., 1., 1., 0.])",
                "array([0., 2., 2., 0.])",
            ),
            notes="NaN and -0.0 pass through unchanged (PyTorch's clamp may give +0.0).",
            # the bounds must be exact in every dtype (float16 included), or
            # an output rounded to a bound could fall inside the open interval
            grad_from_output="all(v.is_integer() and abs(v) <= 2048 for v in (min_val, max_val))",
            requires=("min_val <= max_val", "hardtanh needs min_val <= max_val"),
        ),
        Activation(
            "hardsigmoid",
            (),
            "exact",
            forward="t / 6 with t = x + 3 clipped to [0, 6] as in relu6",
            grad="1/6 if -3 < x < 3 else 0",
            backward="grad_out * (1/6) if -3 < x < 3 else 0",
            layer="Hardsigmoid",
            example=(
                "[-4.0, -0.0, 1.5, 3.0]",
                "array([0.  , 0.5 , 0.75, 1.  ])",
                "array([0.        , 0.16666667, 0.16666667, 0.        ])",
                "array([0.        , 0.33333333, 0.33333333, 0.        ])",
            ),
            notes="1/6 is the compute type's (PyTorch's float64 derivative uses float32's).",
        ),
        Activation(
            "hardswish",
            (),
            "exact",
            forward="(x * t) / 6 with t = x + 3 clipped to [0, 6] as in relu6",
            grad="0 if x <= -3 else (x / 3 + 0.5 if x < 3 else 1)",
            backward="0 if x <= -3 else (grad_out * (x / 3 + 0.5) if x < 3 else grad_out)",
            layer="Hardswish",
            example=(
                "[-4.0, -0.0, 1.5, 3.0]",
                "array([-0.   , -0.   ,  1.125,  3.   ])",
                "array([0. , 0.5, 1. , 1. ])",
                "array([0., 1., 2., 2.])",
            ),
        ),
        Activation(
            "prelu",
            (),
            "exact",
            forward="x if x > 0 else w * x",
            grad="1 if x > 0 else w",
            backward="grad_out if x > 0 else w * grad_out",
            layer="PReLU",
            example=("", "", "", ""),
            notes="w is ``weight`` along ``axis``, one slope per channel.",
            kind="channel",
            like="leaky_relu",
        ),
        Activation(
            "elu",
            (Param("alpha", 1.0, "The value elu tends to at -inf is ``-alpha``."),),
            "smooth",
            forward="x if x > 0 else alpha * expm1(x)",
            grad="1 if x > 0 else alpha * exp(x)",
            backward="grad_out if x > 0 else grad_out * alpha * exp(x)",
            layer="ELU",
            example=(
                "[-2.0, -0.0, 0.5, 3.0]",
                "array([-0.86466472, -0.        ,  0.5       ,  3.        ])",
                "array([0.13533528, 1.        , 1.        , 1.        ])",
                "array([0.27067057, 2.        , 2.        , 2.        ])",
            ),
            notes=(
                "elu(-0.0) is -0.0 and elu(-inf) is ``-alpha``; NaN stays NaN. At -inf the "
                "derivative is 0 and the backward pass gives 0 whatever ``grad_out`` holds."
            ),
        ),
        Activation(
            "selu",
            (),
            "smooth",
            forward="scale * (x if x > 0 else alpha * expm1(x))",
            grad="scale if x > 0 else scale * alpha * exp(x)",
            backward="grad_out * scale if x > 0 else grad_out * scale * alpha * exp(x)",
            layer="SELU",
            example=(
                "[-2.0, -0.0, 0.5, 3.0]",
                "array([-1.52016647, -0.        ,  0.52535049,  3.15210296])",
                "array([0.23793287, 1.75809934, 1.05070099, 1.05070099])",
                "array([0.47586574, 3.51619868, 2.10140197, 2.10140197])",
            ),
            notes=(
                "PyTorch's constants, rounded to float64: ``alpha = 1.6732632423543772``, "
                "``scale = 1.0507009873554805`` (the true values use these). selu(-inf) is "
                "``-scale * alpha``; the backward pass gives 0 at -inf."
            ),
        ),
        Activation(
            "celu",
            (Param("alpha", 1.0, "The value celu tends to at -inf is ``-alpha``.", nonzero=True),),
            "smooth",
            forward="x if x > 0 else alpha * expm1(x / alpha)",
            grad="1 if x > 0 else exp(x / alpha)",
            backward="grad_out if x > 0 else grad_out * exp(x / alpha)",
            layer="CELU",
            example=(
                "[-2.0, -0.0, 0.5, 3.0]",
                "array([-0.86466472, -0.        ,  0.5       ,  3.        ])",
                "array([0.13533528, 1.        , 1.        , 1.        ])",
                "array([0.27067057, 2.        , 2.        , 2.        ])",
            ),
            notes=(
                "``x / alpha`` is carried exactly (no rounding before expm1). celu(-inf) is "
                "``-alpha`` (-inf for a negative alpha)."
            ),
        ),
        Activation(
            "gelu",
            (
                Param(
                    "approximate",
                    "none",
                    "``'none'``: ``x * Phi(x)`` with Phi the normal distribution function; "
                    "``'tanh'``: ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))``, "
                    "as PyTorch writes it.",
                    choices=("none", "tanh"),
                ),
            ),
            "smooth",
            forward="x * Phi(x)",
            grad="Phi(x) + x * phi(x)",
            backward="grad_out * (Phi(x) + x * phi(x))",
            layer="GELU",
            example=(
                "[-2.0, -0.0, 0.5, 3.0]",
                "array([-0.04550026, -0.        ,  0.34573123,  2.99595031])",
                "array([-0.0852318 ,  0.5       ,  0.86749512,  1.01194565])",
                "array([-0.1704636 ,  1.        ,  1.73499025,  2.02389129])",
            ),
            notes=(
                "gelu(inf) is inf and gelu(-inf) is -0.0, the limits (PyTorch gives NaN). The "
                "tanh form is held to the same bounds against its own formula (with the decimal "
                "0.044715), not against the exact gelu."
            ),
        ),
        Activation(
            "silu",
            (),
            "smooth",
            forward="x * sigmoid(x)",
            grad="sigmoid(x) * (1 + x * (1 - sigmoid(x)))",
            backward="grad_out * sigmoid(x) * (1 + x * (1 - sigmoid(x)))",
            layer="SiLU",
            example=(
                "[-2.0, -0.0, 0.5, 3.0]",
                "array([-0.23840584, -0.        ,  0.31122967,  2.85772238])",
                "array([-0.09078425,  0.5       ,  0.73996119,  1.08810411])",
                "array([-0.1815685 ,  1.        ,  1.47992237,  2.17620821])",
            ),
            notes="silu(-inf) is -0.0 and silu(inf) is inf, the limits (PyTorch: NaN at -inf).",
        ),
        Activation(
            "mish",
            (),
            "smooth",
            forward="x * tanh(softplus(x))",
            grad="tanh(softplus(x)) + x * sigmoid(x) * (1 - tanh(softplus(x))**2)",
            backward="grad_out * mish_grad(x)",
            layer="Mish",
            example=(
                "[-2.0, -0.0, 0.5, 3.0]",
                "array([-0.25250148, -0.        ,  0.37524521,  2.986535  ])",
                "array([-0.10835509,  0.6       ,  0.88642438,  1.02110691])",
                "array([-0.21671018,  1.2       ,  1.77284875,  2.04221382])",
            ),
            notes="mish(-inf) is -0.0 and mish(inf) is inf, the limits.",
        ),
        Activation(
            "softplus",
            (
                Param(
                    "beta",
                    1.0,
                    "The sharpness: softplus tends to relu as beta grows.",
                    nonzero=True,
                ),
                Param("threshold", 20.0, "Where ``beta * x`` exceeds it, the result is ``x``."),
            ),
            "smooth",
            forward="x if beta * x > threshold else log1p(exp(beta * x)) / beta",
            grad="1 if beta * x > threshold else sigmoid(beta * x)",
            backward="grad_out if beta * x > threshold else grad_out * sigmoid(beta * x)",
            layer="Softplus",
            example=(
                "[-2.0, -0.0, 0.5, 3.0]",
                "array([0.12692801, 0.69314718, 0.97407698, 3.04858735])",
                "array([0.11920292, 0.5       , 0.62245933, 0.95257413])",
                "array([0.23840584, 1.        , 1.24491866, 1.90514825])",
            ),
            notes=(
                "``beta * x > threshold`` is decided on the exact product, and ``beta * x`` is "
                "carried exactly into the exponential."
            ),
        ),
        Activation(
            "sigmoid",
            (),
            "smooth",
            forward="1 / (1 + exp(-x))",
            grad="sigmoid(x) * (1 - sigmoid(x))",
            backward="grad_out * sigmoid(x) * (1 - sigmoid(x))",
            layer="Sigmoid",
            example=(
                "[-2.0, -0.0, 0.5, 3.0]",
                "array([0.11920292, 0.5       , 0.62245933, 0.95257413])",
                "array([0.10499359, 0.25      , 0.23500371, 0.04517666])",
                "array([0.20998717, 0.5       , 0.47000742, 0.09035332])",
            ),
            notes="sigmoid(-inf) is 0 and sigmoid(inf) is 1; the backward pass gives 0 at +-inf.",
        ),
        Activation(
            "tanh",
            (),
            "smooth",
            forward="tanh(x)",
            grad="1 - tanh(x)**2",
            backward="grad_out * (1 - tanh(x)**2)",
            layer="Tanh",
            example=(
                "[-2.0, -0.0, 0.5, 3.0]",
                "array([-0.96402758, -0.        ,  0.46211716,  0.99505475])",
                "array([0.07065082, 1.        , 0.78644773, 0.00986604])",
                "array([0.14130165, 2.        , 1.57289547, 0.01973207])",
            ),
            notes="tanh(-0.0) is -0.0 and tanh(+-inf) is +-1; the backward pass gives 0 at +-inf.",
        ),
    )
}

#: the elementwise kernels, activation by activation: ``f``, ``f_grad``,
#: ``f_backward``; each has its element functions, ufunc and compiled front
KERNELS: tuple[str, ...] = tuple(
    k for a in ACTIVATIONS.values() if a.kind == "elementwise" for k in a.kernels
)
#: the kernels of a weight gradient, in the order of the grad_weight reduction:
#: for each channel, the rows of the other leading axes in order, each row in
#: blocks of this many elements summed one after the other; then the blocks'
#: sums one after the other (float64). Any thread count gives the same bits.
REDUCTION_BLOCK = 4096


def activation_of(kernel: str) -> Activation:
    """The activation a kernel belongs to.

    Examples
    --------
    >>> activation_of("leaky_relu_backward").name
    'leaky_relu'
    """
    for suffix in ("_backward", "_grad", ""):
        base = kernel.removesuffix(suffix) if suffix else kernel
        if (suffix == "" or kernel.endswith(suffix)) and base in ACTIVATIONS:
            return ACTIVATIONS[base]
    raise KeyError(f"no fastact kernel {kernel!r}")


def is_backward(kernel: str) -> bool:
    """Whether ``kernel`` takes ``(grad_out, x)`` rather than ``x``."""
    return kernel.endswith("_backward")
