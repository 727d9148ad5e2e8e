"""One registry of implementations, for the benchmarks and for the tests that check them.

Every row the benchmarks print comes from an :class:`Impl` here, and
``tests/test_impls.py`` runs every :class:`Impl` here against the test oracle,
so a benchmarked implementation is always a tested one. The rows follow from
the activation table (``fastact._table``): each kernel gets the same fastact
rows, and whatever baselines exist for it. Three kinds:

``fastact``
    The package itself, held to the SPEC bit for bit, always through the
    public function of the kernel's name: ``fastact`` (the default backend
    ``"auto"``, the call users write), ``fastact serial`` (the same call
    under ``fastact.set_num_threads(1)``) and one row per backend
    (``backend="cython"``, ``"numba"``, ``"numpy"``).
``baseline``
    What people use today: the seeds' ``np.where`` code as written (for the
    activations a seed covers), the NumPy formula of each smooth activation
    (``numpy formula``: ``np.exp``, ``np.expm1``, ``np.log1p``, ``np.tanh``
    and ``scipy.special.erf``, see :data:`FORMULAS`), ``np.maximum``, PyTorch
    (the ``torch.nn.functional`` function of the activation's name, and for
    the backward pass the fused ATen op PyTorch's autograd runs, with the
    arguments it passes) and numexpr. They are checked on random normal data
    only, where they agree with the SPEC's formulas up to rounding (the
    seeds' derivatives come back as int64/float64 arrays).
``reference``
    Not activations but the memory-bandwidth ceilings the activations are
    measured against: a copy (one read, one write, like the unary functions)
    and an add of two arrays into a third (two reads, one write, like the
    backward functions).

An entry is prepared for given arrays, parameters and mode and returns a
callable without arguments that runs once and returns its result, so timing
loops pay for nothing else. Parameters are a tuple in the table's order
(``Activation.params``); None means the table's defaults.

Examples
--------
>>> import numpy as np
>>> from fastact.bench import registry
>>> impl = registry.get("leaky_relu", "np.where")
>>> x = np.array([-1.0, 2.0], dtype=np.float32)
>>> impl.prepare((x,), (0.5,))()
array([-0.5,  2. ], dtype=float32)
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fastact import _backends, _config
from fastact._backends.numpy import SELU_ALPHA, SELU_SCALE
from fastact._table import ACTIVATIONS, KERNELS, activation_of, is_backward

#: every kernel of the activation table, in its order
FUNCTIONS: tuple[str, ...] = KERNELS
#: the bandwidth references: ``copy`` moves the bytes of a unary function,
#: ``add`` those of a backward function
REFERENCES: tuple[str, ...] = ("copy", "add")
#: ``new``: out of place; ``out``: into a preallocated array; ``inplace``:
#: into ``x`` (for the backward functions into ``grad_out``, as training does)
MODES: tuple[str, ...] = ("new", "out", "inplace")
DTYPES: tuple[str, ...] = ("float16", "float32", "float64")
KINDS: tuple[str, ...] = ("fastact", "baseline", "reference")
#: the fastact rows of every kernel: auto, auto on one thread, each backend
FASTACT: tuple[str, ...] = ("fastact", "fastact serial", *_backends.BACKENDS)
#: the name of the rows of the smooth family's NumPy formulas (:data:`FORMULAS`)
NUMPY_FORMULA = "numpy formula"
#: the baseline rows a kernel may have
BASELINES: tuple[str, ...] = ("np.where", NUMPY_FORMULA, "np.maximum", "torch", "numexpr")

#: an activation's parameters in table order: numbers, and the strings of choice parameters
Params = tuple[float | str, ...]
Prepared = Callable[[], Any]
Factory = Callable[[tuple[np.ndarray, ...], Params, str, np.ndarray | None], Prepared]


def arity(function: str) -> int:
    """How many input arrays ``function`` (a kernel or a reference) takes.

    Examples
    --------
    >>> arity("relu"), arity("leaky_relu_backward"), arity("add")
    (1, 2, 2)
    """
    if function in KERNELS:
        return 2 if is_backward(function) else 1
    if function in REFERENCES:
        return 1 if function == "copy" else 2
    raise KeyError(f"unknown function {function!r}")


def bytes_moved(function: str, size: int, itemsize: int) -> int:
    """The bytes one call must read and write at least: each input once, the result once.

    Examples
    --------
    >>> bytes_moved("leaky_relu", 1000, 4)
    8000
    """
    return (arity(function) + 1) * size * itemsize


def default_params(function: str) -> Params:
    """The table's default parameters of ``function`` (none for a reference).

    A choice parameter's default is its string, as the public function takes it.

    Examples
    --------
    >>> default_params("leaky_relu_grad"), default_params("relu6"), default_params("copy")
    ((0.01,), (), ())
    """
    if function in REFERENCES:
        return ()
    return tuple(
        p.default if isinstance(p.default, str) else float(p.default)
        for p in activation_of(function).params
    )


def params_text(function: str, params: Sequence[float | str] | None = None) -> str:
    """``name=value`` for each parameter of ``function`` (the defaults if None), or ``""``.

    Examples
    --------
    >>> params_text("leaky_relu"), params_text("relu")
    ('alpha=0.01', '')
    """
    if function in REFERENCES:
        return ""
    values = default_params(function) if params is None else params
    names = (p.name for p in activation_of(function).params)
    return ", ".join(
        f"{n}={v!r}" if isinstance(v, str) else f"{n}={v:g}"
        for n, v in zip(names, values, strict=True)
    )


def _no_requirement() -> str | None:
    return None


class WithSetting:
    """A prepared call that must run under a setting, such as one thread.

    Calling it enters the setting, makes the call and leaves the setting.
    A timing loop enters ``setting()`` once and calls ``call`` inside it
    instead (see :func:`unwrap`): changing a setting takes microseconds,
    more than a small call.

    Examples
    --------
    >>> import contextlib
    >>> run = WithSetting(lambda: 42, contextlib.nullcontext)
    >>> run()
    42
    """

    def __init__(
        self, call: Prepared, setting: Callable[[], contextlib.AbstractContextManager]
    ) -> None:
        self.call = call
        self.setting = setting

    def __call__(self) -> Any:
        with self.setting():
            return self.call()


def unwrap(run: Prepared) -> tuple[Prepared, Callable[[], contextlib.AbstractContextManager]]:
    """``(call, setting)``: call ``call`` inside ``with setting():``, as often as needed.

    Examples
    --------
    >>> call, setting = unwrap(lambda: 1)
    >>> with setting():
    ...     call()
    1
    """
    if isinstance(run, WithSetting):
        return run.call, run.setting
    return run, contextlib.nullcontext


@contextlib.contextmanager
def serial_threads() -> Iterator[None]:
    """Run fastact on one thread inside the block; restore the thread setting after.

    Examples
    --------
    >>> import fastact as fa
    >>> with serial_threads():
    ...     fa.get_num_threads()
    1
    """
    # None means "OpenMP's count", which only set_num_threads(None) restores;
    # get_num_threads() would pin today's count instead
    saved = _config._num_threads
    _config.set_num_threads(1)
    try:
        yield
    finally:
        _config.set_num_threads(saved)


@dataclass(frozen=True)
class Impl:
    """One implementation of one function, as the benchmarks run it and the tests check it.

    Attributes
    ----------
    function : str
        A kernel of the table, or one of :data:`REFERENCES` for ``kind="reference"``.
    name : str
        The implementation, e.g. ``"fastact"``, ``"cython"``, ``"np.where"``.
    kind : {"fastact", "baseline", "reference"}
        ``fastact`` entries must be bit-exact (see :attr:`exact`).
    factory : callable
        ``factory(inputs, params, mode, target)`` returns the prepared
        callable; ``target`` is where it writes (None: a new array per call).
    dtypes, modes : tuple of str
        What it supports.
    requires : callable
        Returns None if it can run here, else the reason it cannot.
    description : str
        What is called, for reports.
    """

    function: str
    name: str
    kind: str
    factory: Factory = field(repr=False)
    dtypes: tuple[str, ...] = DTYPES
    modes: tuple[str, ...] = MODES
    requires: Callable[[], str | None] = field(default=_no_requirement, repr=False)
    description: str = ""

    @property
    def exact(self) -> bool:
        """Whether results must be bit-identical to the SPEC (NaN, inf and -0.0 included)."""
        return self.kind == "fastact"

    @property
    def key(self) -> str:
        """``"function:name"``, unique in the registry."""
        return f"{self.function}:{self.name}"

    def unavailable(self) -> str | None:
        """Return None if this implementation can run here, else the reason it cannot.

        Examples
        --------
        >>> from fastact.bench import registry
        >>> registry.get("relu", "numpy").unavailable() is None
        True
        """
        return self.requires()

    def unsupported(self, dtype: str, mode: str) -> str | None:
        """Return None if this implementation takes this case, else the reason it does not.

        Examples
        --------
        >>> from fastact.bench import registry
        >>> registry.get("relu", "np.where").unsupported("float32", "out")
        "np.where has no 'out' mode for relu"
        """
        if np.dtype(dtype).name not in self.dtypes:
            return f"{self.name} does not support {np.dtype(dtype).name}"
        if mode not in self.modes:
            return f"{self.name} has no {mode!r} mode for {self.function}"
        return None

    def prepare(
        self,
        inputs: Sequence[np.ndarray],
        params: Sequence[float | str] | None = None,
        mode: str = "new",
        out: np.ndarray | None = None,
    ) -> Prepared:
        """Return a callable that runs this implementation once on ``inputs``.

        Parameters
        ----------
        inputs : sequence of numpy.ndarray
            ``(x,)`` or ``(grad_out, x)`` (``(a, b)`` for ``add``), C-contiguous,
            same shape and dtype.
        params : sequence of float or str, optional
            The activation's parameters in the table's order (a choice
            parameter as its string); default: the table's defaults.
            References take none.
        mode : {"new", "out", "inplace"}
            ``out`` writes into one output array on every call; ``inplace``
            into ``inputs[0]``.
        out : numpy.ndarray, optional
            The output array of mode ``out``: C-contiguous, of the inputs'
            shape and dtype. Default: a new one, 64-byte aligned. The
            benchmarks give every implementation of a group the same one, as
            they give them the same inputs: at 7e4 float64, the pages an
            output happened to get moved a kernel's time by up to 1.15x from
            one allocation to the next.

        Returns
        -------
        callable
            Takes no arguments; returns the result (an array or a tensor).
            A :class:`WithSetting` where the call needs a setting.

        Raises
        ------
        RuntimeError
            If the implementation cannot run here.
        ValueError
            If it does not support this dtype or mode, the parameters are
            not the function's, or ``out`` does not fit.

        Examples
        --------
        >>> import numpy as np
        >>> from fastact.bench import registry
        >>> x = np.array([-2.0, 3.0])
        >>> run = registry.get("relu", "numpy").prepare((x,), mode="inplace")
        >>> run() is x, x
        (True, array([0., 3.]))
        """
        reason = self.unavailable()
        if reason is not None:
            raise RuntimeError(f"{self.key} cannot run here: {reason}")
        arrays = tuple(inputs)
        if len(arrays) != arity(self.function):
            raise ValueError(f"{self.key} takes {arity(self.function)} arrays, got {len(arrays)}")
        # a reference timed in a kernel's group carries the kernel's name, not its parameters
        wanted = () if self.kind == "reference" else default_params(self.function)
        values = wanted if params is None or not wanted else tuple(params)
        if len(values) != len(wanted):
            raise ValueError(f"{self.key} takes {len(wanted)} parameters, got {len(values)}")
        reason = self.unsupported(arrays[0].dtype.name, mode)
        if reason is not None:
            raise ValueError(reason)
        if mode == "out" and out is not None:
            first = arrays[0]
            if out.shape != first.shape or out.dtype != first.dtype or not out.flags.c_contiguous:
                raise ValueError(f"{self.key}: out must be C-contiguous and like the inputs")
            target: np.ndarray | None = out
        elif mode == "out":
            target = aligned_empty_like(arrays[0])
        else:
            target = arrays[0] if mode == "inplace" else None
        return self.factory(arrays, values, mode, target)


def aligned_empty_like(a: np.ndarray, alignment: int = 64) -> np.ndarray:
    """A new C-contiguous array like ``a`` whose data starts on an ``alignment``-byte boundary.

    The benchmarks give every implementation arrays aligned alike: where
    malloc happens to put an output moved a 1e4-element call by 1.4x on this
    machine (vector loads and stores that straddle cache lines), which says
    nothing about the implementation.

    Examples
    --------
    >>> import numpy as np
    >>> a = aligned_empty_like(np.zeros(3, np.float16))
    >>> a.ctypes.data % 64, a.dtype, a.shape
    (0, dtype('float16'), (3,))
    """
    buf = np.empty(a.nbytes + alignment, np.uint8)
    offset = -buf.ctypes.data % alignment
    return buf[offset : offset + a.nbytes].view(a.dtype).reshape(a.shape)


def _bind(fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Prepared:
    """``lambda: fn(*args, **kwargs)``, with the arguments spelt out.

    ``functools.partial`` with keywords builds a dict on every call (~50 ns),
    which a call a user writes does not: at 10 elements fastact takes ~100 ns.
    """
    names = [f"a{i}" for i in range(len(args))]
    signature = ", ".join(["fn", *names, *kwargs])
    call = ", ".join([*names, *(f"{k}={k}" for k in kwargs)])
    namespace: dict[str, Any] = {}
    exec(f"def make({signature}):\n    return lambda: fn({call})\n", namespace)
    return namespace["make"](fn, *args, **kwargs)


# --- fastact ------------------------------------------------------------------------------


def _backend_requirement(backend: str) -> Callable[[], str | None]:
    def requires() -> str | None:
        return _backends.status(backend)

    return requires


def _api_factory(function: str, backend: str | None, serial: bool) -> Factory:
    def factory(
        arrays: tuple[np.ndarray, ...],
        params: Params,
        mode: str,
        target: np.ndarray | None,
    ) -> Prepared:
        from fastact._api import PUBLIC

        kwargs: dict[str, Any] = {} if target is None else {"out": target}
        if backend is not None:
            kwargs["backend"] = backend
        elif not _config.auto_everywhere:
            # FASTACT_BACKEND or set_backend chose another default: still time auto
            kwargs["backend"] = "auto"
        call = _bind(PUBLIC[function], (*arrays, *params), kwargs)
        return WithSetting(call, serial_threads) if serial else call

    return factory


def _call_text(function: str, **kwargs: str) -> str:
    act = activation_of(function)
    args = ["grad_out", "x"] if is_backward(function) else ["x"]
    args += [p.name for p in act.params]
    args += [f"{k}={v}" for k, v in kwargs.items()]
    return f"fastact.{function}({', '.join(args)})"


def _fastact_impls(function: str) -> list[Impl]:
    impls = [
        Impl(
            function,
            "fastact",
            "fastact",
            _api_factory(function, None, serial=False),
            description=_call_text(function, out="out") + ": the default backend 'auto'",
        ),
        Impl(
            function,
            "fastact serial",
            "fastact",
            _api_factory(function, None, serial=True),
            description=_call_text(function, out="out")
            + " under fastact.set_num_threads(1): auto on one thread",
        ),
    ]
    for backend in _backends.BACKENDS:
        impls.append(
            Impl(
                function,
                backend,
                "fastact",
                _api_factory(function, backend, serial=False),
                requires=_backend_requirement(backend),
                description=_call_text(function, out="out", backend=repr(backend)),
            )
        )
    return impls


# --- baselines ----------------------------------------------------------------------------


def seed_relu(x: np.ndarray, leak: float = 0) -> np.ndarray:
    """The seed-003 tutorial's ReLU and Leaky ReLU, as written (``leak = 0``: ReLU).

    Examples
    --------
    >>> import numpy as np
    >>> seed_relu(np.array([-2.0, 3.0])), seed_relu(np.array([-2.0, 3.0]), 0.1)
    (array([-0.,  3.]), array([-0.2,  3. ]))
    """
    return np.where(x <= 0, leak * x, x)


def seed_relu_dash(x: np.ndarray, leak: float = 0) -> np.ndarray:
    """The seed-003 tutorial's derivative, as written (an integer array for ReLU).

    Examples
    --------
    >>> import numpy as np
    >>> seed_relu_dash(np.array([-2.0, 3.0])), seed_relu_dash(np.array([-2.0, 3.0]), 0.1)
    (array([0, 1]), array([0.1, 1. ]))
    """
    return np.where(x <= 0, leak, 1)


#: the activations the seeds write with np.where: their forward and derivative,
#: called with the activation's parameters (none for ReLU, ``leak`` for Leaky ReLU)
SEEDS: dict[str, tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]] = {
    "relu": (seed_relu, seed_relu_dash),
    "leaky_relu": (seed_relu, seed_relu_dash),
}


#: what the seeds' code computes, for the forward, derivative and backward rows
SEED_CALLS = (
    "np.where(x <= 0, leak * x, x) (seed 003; leak = 0 for ReLU)",
    "np.where(x <= 0, leak, 1) (seed 003; leak = 0 for ReLU)",
    "grad * np.where(x <= 0, leak, 1) (seed 003's derivative times grad)",
)


def _formula_factory(
    function: str, forward: Callable[..., np.ndarray], derivative: Callable[..., np.ndarray]
) -> Factory:
    """The rows of code people write: ``forward``, ``derivative``, and grad times the derivative."""
    role = activation_of(function).kernels.index(function)

    def factory(
        arrays: tuple[np.ndarray, ...],
        params: Params,
        mode: str,
        target: np.ndarray | None,
    ) -> Prepared:
        if role == 0:
            return functools.partial(forward, *arrays, *params)
        if role == 1:
            return functools.partial(derivative, *arrays, *params)
        g, x = arrays

        # the backward pass as the tutorials build it: grad times the derivative
        def backward() -> np.ndarray:
            return g * derivative(x, *params)

        return backward

    return factory


def _maximum_factory(function: str) -> Factory:
    def factory(
        arrays: tuple[np.ndarray, ...],
        params: Params,
        mode: str,
        target: np.ndarray | None,
    ) -> Prepared:
        (x,) = arrays
        if not params:
            return functools.partial(np.maximum, x, 0, out=target)
        (alpha,) = params
        # alpha * x is a temporary on every call: that is the idiom's cost
        return lambda: np.maximum(x, alpha * x, out=target)

    return factory


#: the np.maximum idiom of the functions that have one
MAXIMUM: dict[str, str] = {
    "relu": "np.maximum(x, 0, out=out)",
    "leaky_relu": "np.maximum(x, alpha * x, out=out) (valid for 0 <= alpha <= 1)",
}


def _module_requirement(module: str, what: str) -> Callable[[], str | None]:
    @functools.cache
    def requires() -> str | None:
        if importlib.util.find_spec(module) is None:
            return f"{what} is not installed"
        try:
            importlib.import_module(module)
        except Exception as exc:  # a broken install is a reason to skip, not to crash
            return f"{what} cannot be imported: {type(exc).__name__}: {exc}"
        return None

    return requires


_torch_requirement = _module_requirement("torch", "PyTorch")
_numexpr_requirement = _module_requirement("numexpr", "numexpr")
_numba_requirement = _module_requirement("numba", "Numba")


# The NumPy formulas of the smooth family, as a user writes them: np.exp, np.expm1,
# np.log1p, np.tanh and scipy.special.erf, one temporary per operation. Constants
# are Python floats, which NumPy 2 rounds to the array's dtype: float32 stays float32.


@functools.cache
def _scipy_erf() -> Callable[..., np.ndarray]:
    # imported on first use: scipy is not a dependency of fastact
    from scipy.special import erf

    return erf


def _erf(z: np.ndarray) -> np.ndarray:
    # scipy.special.erf has no float16 loop: it answers float16 in float32
    return _scipy_erf()(z).astype(z.dtype, copy=False)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _elu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, alpha * np.expm1(x))


def _elu_grad(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, 1, alpha * np.exp(x))


def _selu(x: np.ndarray) -> np.ndarray:
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x))


def _selu_grad(x: np.ndarray) -> np.ndarray:
    return SELU_SCALE * np.where(x > 0, 1, SELU_ALPHA * np.exp(x))


def _celu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, alpha * np.expm1(x / alpha))


def _celu_grad(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, 1, np.exp(x / alpha))


def _gelu(x: np.ndarray, approximate: str) -> np.ndarray:
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _gelu_grad(x: np.ndarray, approximate: str) -> np.ndarray:
    if approximate == "tanh":
        t = np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))
        dt = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x**2) * (1 - t**2)
        return 0.5 * (1 + t) + 0.5 * x * dt
    return 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)


def _silu(x: np.ndarray) -> np.ndarray:
    return x * _sigmoid(x)


def _silu_grad(x: np.ndarray) -> np.ndarray:
    s = _sigmoid(x)
    return s * (1 + x * (1 - s))


def _mish(x: np.ndarray) -> np.ndarray:
    return x * np.tanh(np.log1p(np.exp(x)))


def _mish_grad(x: np.ndarray) -> np.ndarray:
    t = np.tanh(np.log1p(np.exp(x)))
    return t + x * _sigmoid(x) * (1 - t**2)


def _softplus(x: np.ndarray, beta: float, threshold: float) -> np.ndarray:
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def _softplus_grad(x: np.ndarray, beta: float, threshold: float) -> np.ndarray:
    return np.where(beta * x > threshold, 1, _sigmoid(beta * x))


def _sigmoid_grad(x: np.ndarray) -> np.ndarray:
    s = _sigmoid(x)
    return s * (1 - s)


def _tanh_grad(x: np.ndarray) -> np.ndarray:
    return 1 - np.tanh(x) ** 2


@dataclass(frozen=True)
class Formula:
    """The NumPy formula of one activation: its forward pass and derivative, and their text.

    The backward pass is ``grad * derivative(x, ...)``, as the tutorials build it.

    Examples
    --------
    >>> import numpy as np
    >>> from fastact.bench import registry
    >>> formula = registry.FORMULAS["sigmoid"]
    >>> formula.derivative(np.array([0.0], dtype=np.float32))
    array([0.25], dtype=float32)
    >>> formula.texts()[2]
    'grad * (s * (1 - s)), s = 1 / (1 + np.exp(-x))'
    """

    forward: Callable[..., np.ndarray]
    derivative: Callable[..., np.ndarray]
    forward_text: str
    #: the derivative as an expression, and the definitions it uses (``", s = ..."``)
    derivative_text: str
    where: str = ""
    #: what all three texts add
    note: str = ""
    requires: Callable[[], str | None] = _no_requirement

    def texts(self) -> tuple[str, str, str]:
        """What the forward, derivative and backward rows compute."""
        return (
            self.forward_text + self.note,
            self.derivative_text + self.where + self.note,
            f"grad * ({self.derivative_text}){self.where}{self.note}",
        )


_S = ", s = 1 / (1 + np.exp(-x))"

#: the NumPy formulas of the smooth family, by activation, called with its parameters
FORMULAS: dict[str, Formula] = {
    "elu": Formula(
        _elu, _elu_grad, "np.where(x > 0, x, alpha * np.expm1(x))",
        "np.where(x > 0, 1, alpha * np.exp(x))",
    ),
    "selu": Formula(
        _selu, _selu_grad, "scale * np.where(x > 0, x, alpha * np.expm1(x))",
        "scale * np.where(x > 0, 1, alpha * np.exp(x))", note=" (PyTorch's scale and alpha)",
    ),
    "celu": Formula(
        _celu, _celu_grad, "np.where(x > 0, x, alpha * np.expm1(x / alpha))",
        "np.where(x > 0, 1, np.exp(x / alpha))",
    ),
    "gelu": Formula(
        _gelu, _gelu_grad, "0.5 * x * (1 + erf(x / sqrt(2)))",
        "0.5 * (1 + erf(x / sqrt(2))) + x * np.exp(-0.5 * x**2) / sqrt(2 * pi)",
        note=" (scipy.special.erf; approximate='tanh': PyTorch's tanh form and its "
        "derivative, with np.tanh)",
        requires=_module_requirement("scipy", "scipy"),
    ),
    "silu": Formula(_silu, _silu_grad, "x * (1 / (1 + np.exp(-x)))", "s * (1 + x * (1 - s))", _S),
    "mish": Formula(
        _mish, _mish_grad, "x * np.tanh(np.log1p(np.exp(x)))", "t + x * s * (1 - t**2)",
        ", t = np.tanh(np.log1p(np.exp(x)))" + _S,
    ),
    "softplus": Formula(
        _softplus, _softplus_grad,
        "np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)",
        "np.where(beta * x > threshold, 1, 1 / (1 + np.exp(-beta * x)))",
    ),
    "sigmoid": Formula(_sigmoid, _sigmoid_grad, "1 / (1 + np.exp(-x))", "s * (1 - s)", _S),
    "tanh": Formula(np.tanh, _tanh_grad, "np.tanh(x)", "1 - np.tanh(x)**2"),
}  # fmt: skip


@dataclass(frozen=True)
class _TorchBackward:
    """A fused backward op of ATen, and the arguments PyTorch's autograd passes it."""

    #: the op of ``torch.ops.aten``
    op: str
    #: its arguments after ``grad_out``, from the tensor autograd saved and the
    #: activation's numeric parameters (a choice parameter goes by keyword)
    args: Callable[..., tuple[Any, ...]]
    #: the same arguments, as the report shows them
    text: str
    #: autograd saves the forward's output ``y = torch.<f>(x)``, not ``x``
    saves_output: bool = False


#: the backward ops PyTorch's autograd runs where ``aten.<f>_backward(grad_out, x,
#: *params)`` is not the call: another op, other arguments, or the forward's output
_TORCH_BACKWARD_OPS: dict[str, _TorchBackward] = {
    "relu": _TorchBackward("threshold_backward", lambda x: (x, 0.0), "x, 0.0"),
    "relu6": _TorchBackward("hardtanh_backward", lambda x: (x, 0.0, 6.0), "x, 0.0, 6.0"),
    # elu_backward(grad_output, alpha, scale, input_scale, is_result, self_or_result):
    # ATen's selu is elu with a scale, its celu elu with an input scale
    "elu": _TorchBackward(
        "elu_backward", lambda x, alpha: (alpha, 1.0, 1.0, False, x), "alpha, 1.0, 1.0, False, x"
    ),
    "selu": _TorchBackward(
        "elu_backward",
        lambda x: (SELU_ALPHA, SELU_SCALE, 1.0, False, x),
        f"{SELU_ALPHA!r}, {SELU_SCALE!r}, 1.0, False, x",
    ),
    # autograd's input scale for celu is 1 / alpha with alpha rounded to float32 first
    "celu": _TorchBackward(
        "elu_backward",
        lambda x, alpha: (alpha, 1.0, 1.0 / float(np.float32(alpha)), False, x),
        "alpha, 1.0, 1.0 / float32(alpha), False, x",
    ),
    "sigmoid": _TorchBackward("sigmoid_backward", lambda y: (y,), "y", saves_output=True),
    "tanh": _TorchBackward("tanh_backward", lambda y: (y,), "y", saves_output=True),
}


@dataclass(frozen=True)
class _TorchSpec:
    """How PyTorch computes one kernel: what to call in each mode."""

    modes: tuple[str, ...]
    description: str
    make: Callable[[tuple[Any, ...], Params, str, Any], Prepared]


def _probe(call: Callable[[], Any]) -> bool:
    """Whether ``call()`` runs: the generic spellings below are tried on tiny tensors."""
    try:
        call()
    except Exception:  # any failure means "not this spelling"
        return False
    return True


def _torch_arguments(activation: str, values: Params) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The parameters as PyTorch takes them: numbers by position, choices by keyword.

    A choice parameter (gelu's ``approximate``) is keyword-only in PyTorch, under
    the table's name for it.
    """
    params = ACTIVATIONS[activation].params
    numbers = tuple(v for p, v in zip(params, values, strict=True) if not p.choices)
    choices = {p.name: v for p, v in zip(params, values, strict=True) if p.choices}
    return numbers, choices


def _arguments_text(activation: str) -> str:
    """The parameters of a PyTorch call as the report shows them: ``", alpha"``."""
    return "".join(
        f", {p.name}={p.name}" if p.choices else f", {p.name}"
        for p in ACTIVATIONS[activation].params
    )


def _torch_forward(name: str, params: Params) -> _TorchSpec | None:
    import torch

    f = getattr(torch.nn.functional, name, None)
    if f is None:
        return None
    aten = getattr(torch.ops.aten, name, None)
    t = torch.linspace(-2, 2, 5)
    numbers, choices = _torch_arguments(name, params)
    if not _probe(lambda: f(t, *numbers, **choices)):
        return None
    modes = ["new"]
    if aten is not None and "out" in aten.overloads():
        if _probe(lambda: aten.out(t, *numbers, **choices, out=torch.empty_like(t))):
            modes.append("out")
    if _probe(lambda: f(t.clone(), *numbers, **choices, inplace=True)):
        modes.append("inplace")

    def make(ts: tuple[Any, ...], values: Params, mode: str, o: Any) -> Prepared:
        numbers, choices = _torch_arguments(name, values)
        if mode == "out":
            return functools.partial(aten.out, *ts, *numbers, **choices, out=o)
        if mode == "inplace":
            return functools.partial(f, *ts, *numbers, **choices, inplace=True)
        return functools.partial(f, *ts, *numbers, **choices)

    args = _arguments_text(name)
    calls = [f"F.{name}(x{args})"]
    if "inplace" in modes:
        calls.append(f"F.{name}(x{args}, inplace=True)")
    if "out" in modes:
        calls.append(f"aten.{name}.out(x{args}, out=out)")
    return _TorchSpec(tuple(modes), ", ".join(calls), make)


def _generic_backward(name: str, params: Params) -> _TorchBackward | None:
    """``aten.<f>_backward(grad_out, x, *params, *flags)``, if ATen has it so.

    The flags are trailing booleans such as ``self_is_result``: False, as
    autograd passes them for an out-of-place forward pass.
    """
    import torch

    op = getattr(torch.ops.aten, f"{name}_backward", None)
    if op is None:
        return None
    schema = op.default._schema.arguments
    given = 2 + len(params)
    flags = tuple(False for a in schema[given:] if str(a.type) == "bool")
    if len(schema) != given + len(flags):
        return None
    numbers = [p.name for p in ACTIVATIONS[name].params if not p.choices]
    return _TorchBackward(
        f"{name}_backward",
        lambda x, *values: (x, *values, *flags),
        ", ".join(["x", *numbers, *map(repr, flags)]),
    )


def _torch_backward(name: str, params: Params) -> _TorchSpec | None:
    import torch

    aten = torch.ops.aten
    t, g = torch.linspace(-2, 2, 5), torch.ones(5)
    numbers, choices = _torch_arguments(name, params)
    spec = _TORCH_BACKWARD_OPS.get(name) or _generic_backward(name, params)
    op = getattr(aten, spec.op, None) if spec is not None else None
    if spec is not None and op is not None:
        forward = getattr(torch, name) if spec.saves_output else None
        saved = forward(t) if forward else t
        if _probe(lambda: op.default(g, *spec.args(saved, *numbers), **choices)):
            outs = [
                (ov, [a.name for a in getattr(op, ov)._schema.arguments if a.is_out])
                for ov in op.overloads()
                if ov != "default"
            ]
            out_call = next(
                ((getattr(op, ov), names[0]) for ov, names in outs if len(names) == 1), None
            )

            def make(ts: tuple[Any, ...], values: Params, mode: str, o: Any) -> Prepared:
                g_t, x_t = ts
                numbers, choices = _torch_arguments(name, values)
                # what autograd saved, computed here: the timed call is the backward op alone
                args = (g_t, *spec.args(forward(x_t) if forward else x_t, *numbers))
                if o is None:
                    return functools.partial(op.default, *args, **choices)
                overload, keyword = out_call
                return functools.partial(overload, *args, **choices, **{keyword: o})

            text = spec.text + "".join(f", {c}={c}" for c in choices)
            return _TorchSpec(
                ("new", "out") if out_call else ("new",),
                f"aten.{spec.op}(grad_out, {text})"
                + (
                    f" with y = torch.{name}(x) computed once, outside the timed call "
                    "(autograd saves the output)"
                    if forward
                    else ""
                )
                + (" (its out= variant for out=)" if out_call else ""),
                make,
            )
    f = getattr(torch.nn.functional, name, None)
    if f is None or not _probe(lambda: f(t, *numbers, **choices)):
        return None

    def make_autograd(ts: tuple[Any, ...], values: Params, mode: str, o: Any) -> Prepared:
        # the forward graph is built once; each call runs its backward node only
        g_t, x_t = ts
        numbers, choices = _torch_arguments(name, values)
        x_req = x_t.detach().requires_grad_()
        y = f(x_req, *numbers, **choices)
        return lambda: torch.autograd.grad(y, x_req, g_t, retain_graph=True)[0]

    return _TorchSpec(
        ("new",),
        f"torch.autograd.grad(F.{name}(x{_arguments_text(name)}), x, grad_out) "
        "(the forward graph built once)",
        make_autograd,
    )


@functools.cache
def _torch_spec(function: str) -> _TorchSpec | None:
    """What PyTorch calls for ``function``, or None if it has no equivalent (needs torch)."""
    act = activation_of(function)
    role = act.kernels.index(function)
    params = default_params(function)
    if role == 0:
        return _torch_forward(act.name, params)
    if role == 2:
        return _torch_backward(act.name, params)
    return None  # PyTorch has no derivative functions, only backward passes


def _torch_factory(function: str) -> Factory:
    def factory(
        arrays: tuple[np.ndarray, ...],
        params: Params,
        mode: str,
        target: np.ndarray | None,
    ) -> Prepared:
        import torch

        # the SPEC compares at the same thread count; PyTorch's own default may differ
        torch.set_num_threads(_config.get_num_threads())
        ts = tuple(torch.from_numpy(a) for a in arrays)  # views: no copies
        o = None if target is None or mode == "inplace" else torch.from_numpy(target)
        if function == "copy":
            return functools.partial(o.copy_, *ts)
        if function == "add":
            return functools.partial(torch.add, *ts, out=o)
        spec = _torch_spec(function)
        assert spec is not None, function
        return spec.make(ts, params, mode, o)

    return factory


#: numexpr expressions of the kernels it was written for; constants are of
#: the array's type, so that numexpr does not compute in float64
NUMEXPR: dict[str, str] = {
    "relu": "where(x < 0, zero, x)",
    "leaky_relu": "where(x > 0, x, alpha * x)",
    "relu_grad": "where(x > 0, one, zero)",
    "leaky_relu_grad": "where(x > 0, one, alpha)",
    "relu_backward": "where(x > 0, g, zero)",
    "leaky_relu_backward": "where(x > 0, g, alpha * g)",
    "copy": "x",
    "add": "x + g",
}


def _numexpr_factory(function: str) -> Factory:
    names_of = () if function in REFERENCES else [p.name for p in activation_of(function).params]

    def factory(
        arrays: tuple[np.ndarray, ...],
        params: Params,
        mode: str,
        target: np.ndarray | None,
    ) -> Prepared:
        import numexpr

        t = arrays[0].dtype.type
        if function == "add":
            names = {"x": arrays[0], "g": arrays[1]}
        else:
            names = dict(zip(("x",) if len(arrays) == 1 else ("g", "x"), arrays, strict=True))
        names.update(zero=t(0), one=t(1))
        names.update({n: t(v) for n, v in zip(names_of, params, strict=True)})
        return functools.partial(numexpr.evaluate, NUMEXPR[function], names, out=target)

    return factory


@functools.cache
def _numba_refs() -> tuple[Callable[..., None], Callable[..., None]]:
    import numba

    @numba.njit(parallel=True, nogil=True)
    def copy(src: np.ndarray, dst: np.ndarray) -> None:  # pragma: no cover - compiled
        for i in numba.prange(src.shape[0]):
            dst[i] = src[i]

    @numba.njit(parallel=True, nogil=True)
    def add(a: np.ndarray, b: np.ndarray, dst: np.ndarray) -> None:  # pragma: no cover
        for i in numba.prange(a.shape[0]):
            dst[i] = a[i] + b[i]

    return copy, add


def _numba_ref_factory(function: str) -> Factory:
    def factory(
        arrays: tuple[np.ndarray, ...],
        params: Params,
        mode: str,
        target: np.ndarray | None,
    ) -> Prepared:
        import numba

        copy, add = _numba_refs()
        numba.set_num_threads(min(_config.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
        if function == "copy":
            # Numba cannot type float16; the bytes are what a copy is about
            view = f"u{arrays[0].dtype.itemsize}"
            src, dst = arrays[0].reshape(-1).view(view), target.reshape(-1).view(view)

            def run_copy() -> np.ndarray:
                copy(src, dst)
                return target

            return run_copy
        a, b, dst = (arr.reshape(-1) for arr in (*arrays, target))

        def run_add() -> np.ndarray:
            add(a, b, dst)
            return target

        return run_add

    return factory


def _numpy_ref_factory(function: str) -> Factory:
    def factory(
        arrays: tuple[np.ndarray, ...],
        params: Params,
        mode: str,
        target: np.ndarray | None,
    ) -> Prepared:
        if function == "copy":

            def run_copy() -> np.ndarray:
                np.copyto(target, arrays[0])
                return target

            return run_copy
        return functools.partial(np.add, *arrays, out=target)

    return factory


def _torch_impl(function: str) -> Impl | None:
    """The PyTorch row of ``function``, if PyTorch has an equivalent (or cannot say why not)."""
    reason = _torch_requirement()
    if reason is not None:
        # without PyTorch there is no telling which kernels it has: every
        # forward and backward function gets a row that says why it is skipped
        if activation_of(function).kernels.index(function) == 1:
            return None
        return Impl(
            function,
            "torch",
            "baseline",
            _torch_factory(function),
            requires=_torch_requirement,
            description="PyTorch",
        )
    spec = _torch_spec(function)
    if spec is None:
        return None
    return Impl(
        function,
        "torch",
        "baseline",
        _torch_factory(function),
        modes=spec.modes,
        requires=_torch_requirement,
        description=spec.description + ", on torch.from_numpy views",
    )


def _baselines(function: str) -> list[Impl]:
    act = activation_of(function)
    impls = []
    if act.name in SEEDS:
        impls.append(
            Impl(
                function,
                "np.where",
                "baseline",
                _formula_factory(function, *SEEDS[act.name]),
                modes=("new",),
                description=SEED_CALLS[act.kernels.index(function)],
            )
        )
    if act.name in FORMULAS:
        formula = FORMULAS[act.name]
        impls.append(
            Impl(
                function,
                NUMPY_FORMULA,
                "baseline",
                _formula_factory(function, formula.forward, formula.derivative),
                modes=("new",),
                requires=formula.requires,
                description=formula.texts()[act.kernels.index(function)],
            )
        )
    if function in MAXIMUM:
        impls.append(
            Impl(
                function,
                "np.maximum",
                "baseline",
                _maximum_factory(function),
                description=MAXIMUM[function],
            )
        )
    torch_impl = _torch_impl(function)
    if torch_impl is not None:
        impls.append(torch_impl)
    if function in NUMEXPR:
        impls.append(
            Impl(
                function,
                "numexpr",
                "baseline",
                _numexpr_factory(function),
                dtypes=("float32", "float64"),
                requires=_numexpr_requirement,
                description=f"numexpr.evaluate({NUMEXPR[function]!r}, out=out)",
            )
        )
    return impls


def _references(function: str) -> list[Impl]:
    serial = "np.copyto(out, x)" if function == "copy" else "np.add(a, b, out=out)"
    torch_call = "out.copy_(x)" if function == "copy" else "torch.add(a, b, out=out)"
    return [
        Impl(
            function,
            "numpy",
            "reference",
            _numpy_ref_factory(function),
            modes=("out",),
            description=f"{serial} (serial)",
        ),
        Impl(
            function,
            "torch",
            "reference",
            _torch_factory(function),
            modes=("out",),
            requires=_torch_requirement,
            description=f"{torch_call} (parallel in PyTorch's thread pool)",
        ),
        Impl(
            function,
            "numexpr",
            "reference",
            _numexpr_factory(function),
            modes=("out",),
            dtypes=("float32", "float64"),
            requires=_numexpr_requirement,
            description=f"numexpr.evaluate({NUMEXPR[function]!r}, out=out) (parallel)",
        ),
        Impl(
            function,
            "numba",
            "reference",
            _numba_ref_factory(function),
            modes=("out",),
            dtypes=DTYPES if function == "copy" else ("float32", "float64"),
            requires=_numba_requirement,
            description="a numba.prange loop (parallel, fastact's thread count)",
        ),
    ]


@functools.cache
def _registry() -> tuple[Impl, ...]:
    impls: list[Impl] = []
    for function in FUNCTIONS:
        impls += _fastact_impls(function) + _baselines(function)
    for function in REFERENCES:
        impls += _references(function)
    return tuple(impls)


def registry(
    function: str | None = None, name: str | None = None, kind: str | None = None
) -> list[Impl]:
    """Return the implementations, optionally only those of one function, name or kind.

    The first call imports PyTorch, if installed, to learn which kernels it has.

    Parameters
    ----------
    function, name, kind : str, optional
        Keep only entries whose attribute equals this.

    Returns
    -------
    list of Impl
        In a stable order: functions as in :data:`FUNCTIONS` then
        :data:`REFERENCES`; fastact entries first.

    Examples
    --------
    >>> from fastact.bench import registry
    >>> [i.name for i in registry.registry("relu6", kind="fastact")]
    ['fastact', 'fastact serial', 'cython', 'numba', 'numpy']
    """
    return [
        impl
        for impl in _registry()
        if (function is None or impl.function == function)
        and (name is None or impl.name == name)
        and (kind is None or impl.kind == kind)
    ]


def get(function: str, name: str) -> Impl:
    """Return the implementation ``name`` of ``function``.

    Raises
    ------
    KeyError
        If there is none; the message lists the names there are.

    Examples
    --------
    >>> from fastact.bench import registry
    >>> registry.get("leaky_relu", "fastact serial").kind
    'fastact'
    """
    found = registry(function, name)
    if not found:
        names = ", ".join(i.name for i in registry(function))
        raise KeyError(f"no implementation {name!r} of {function!r}; there are: {names}")
    return found[0]


def names() -> list[str]:
    """Every implementation name a kernel may have, each once (needs no PyTorch import).

    Examples
    --------
    >>> from fastact.bench import registry
    >>> registry.names()[:2]
    ['fastact', 'fastact serial']
    """
    return [*FASTACT, *BASELINES]
