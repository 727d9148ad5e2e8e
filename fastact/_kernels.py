"""The element formulas of every fastact kernel, defined once.

Each kernel computes, element by element, ``then if cond else other``.
Arithmetic happens in the *compute type*: float32 for float16 arrays (as
PyTorch does), the array's own type for float32 and float64; ``alpha`` is
converted to the compute type first and the result is rounded once to the
array's dtype. A value that is a bare input name (``x`` or ``g``) is copied
as is, so NaN payloads and the sign of zero pass through untouched.

The expressions use only the names ``x`` (the activation input), ``g``
(``grad_out``), ``a`` (``alpha``), the literals ``0`` and ``1``, ``*`` and a
comparison of ``x`` with ``0``. That makes them valid Python and valid C: the
Numba backend compiles them as written, the Cython build renders them into its
loops, and the NumPy reference backend evaluates them with ufuncs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kernel:
    """One activation kernel: its operands and its element formula."""

    name: str
    #: operand names in call order: ``("x",)`` or ``("g", "x")``
    inputs: tuple[str, ...]
    #: whether ``a`` (alpha) appears in the formula
    uses_alpha: bool
    cond: str
    then: str
    other: str

    @property
    def expression(self) -> str:
        """The formula as one Python conditional expression."""
        return f"({self.then}) if ({self.cond}) else ({self.other})"


#: the slope ``alpha`` of the leaky functions when the caller gives none
DEFAULT_ALPHA = 0.01

KERNELS: dict[str, Kernel] = {
    k.name: k
    for k in (
        Kernel("relu", ("x",), False, "x < 0", "0", "x"),
        Kernel("leaky_relu", ("x",), True, "x > 0", "x", "a * x"),
        Kernel("relu_grad", ("x",), False, "x > 0", "1", "0"),
        Kernel("leaky_relu_grad", ("x",), True, "x > 0", "1", "a"),
        Kernel("relu_backward", ("g", "x"), False, "x > 0", "g", "0"),
        Kernel("leaky_relu_backward", ("g", "x"), True, "x > 0", "g", "a * g"),
    )
}
