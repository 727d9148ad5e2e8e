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
