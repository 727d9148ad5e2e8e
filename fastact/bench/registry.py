"""One registry of implementations, for the benchmarks and for the tests that check them.

Every row the benchmarks print comes from an :class:`Impl` here, and
``tests/test_impls.py`` runs every :class:`Impl` here against the test oracle,
so a benchmarked implementation is always a tested one. Three kinds:

``fastact``
    The package itself, held to the SPEC bit for bit: each backend's kernels
    called directly (serial and parallel forced), and the public API with the
    ``"auto"`` dispatcher.
``baseline``
    What people use today: the seeds' ``np.where`` and list-comprehension
    code as written, ``np.maximum``, PyTorch and numexpr. They are checked on
    random normal data only, where they agree with the SPEC's formulas up to
    rounding (the seeds' derivatives come back as int64/float64 arrays).
``reference``
    Not activations but the memory-bandwidth ceilings the activations are
    measured against: a copy (one read, one write, like the unary functions)
    and an add of two arrays into a third (two reads, one write, like the
    backward functions).

An entry is prepared for given arrays, ``alpha`` and mode and returns a
callable without arguments that runs once and returns its result, so timing
loops pay for nothing else.

Examples
--------
>>> import numpy as np
>>> from fastact import _impls
>>> impl = _impls.get("leaky_relu", "np.where")
>>> x = np.array([-1.0, 2.0], dtype=np.float32)
>>> impl.prepare((x,), 0.5, "new")()
array([-0.5,  2. ], dtype=float32)
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fastact import _backends, _config, _dispatch
from fastact._kernels import KERNELS

#: the six activation functions, in the order of ``fastact._kernels``
FUNCTIONS: tuple[str, ...] = tuple(KERNELS)
#: the bandwidth references: ``copy`` moves the bytes of a unary function,
#: ``add`` those of a backward function
REFERENCES: tuple[str, ...] = ("copy", "add")
#: ``new``: out of place; ``out``: into a preallocated array; ``inplace``:
#: into ``x`` (for the backward functions into ``grad_out``, as training does)
MODES: tuple[str, ...] = ("new", "out", "inplace")
DTYPES: tuple[str, ...] = ("float16", "float32", "float64")
KINDS: tuple[str, ...] = ("fastact", "baseline", "reference")

Prepared = Callable[[], Any]
Factory = Callable[[tuple[np.ndarray, ...], float, str, np.ndarray | None], Prepared]


def arity(function: str) -> int:
    """How many input arrays ``function`` (an activation or a reference) takes.

    Examples
    --------
    >>> arity("relu"), arity("leaky_relu_backward"), arity("add")
    (1, 2, 2)
    """
    if function in KERNELS:
        return len(KERNELS[function].inputs)
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


def _no_requirement() -> str | None:
    return None


@dataclass(frozen=True)
class Impl:
    """One implementation of one function, as the benchmarks run it and the tests check it.

    Attributes
    ----------
    function : str
        One of :data:`FUNCTIONS`, or of :data:`REFERENCES` for ``kind="reference"``.
    name : str
        The implementation, e.g. ``"cython-parallel"``, ``"auto"``, ``"np.where"``.
    kind : {"fastact", "baseline", "reference"}
        ``fastact`` entries must be bit-exact (see :attr:`exact`).
    factory : callable
        ``factory(inputs, alpha, mode, target)`` returns the prepared
        callable; ``target`` is where it writes (None: a new array per call).
    dtypes, modes : tuple of str
        What it supports.
    max_size : int or None
        The largest array it is run on (the list comprehension is slow).
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
    max_size: int | None = None
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
        """Return None if this implementation can run here, else the reason it cannot."""
        return self.requires()

    def unsupported(self, dtype: str, mode: str, size: int) -> str | None:
        """Return None if this implementation takes this case, else the reason it does not."""
        if np.dtype(dtype).name not in self.dtypes:
            return f"{self.name} does not support {np.dtype(dtype).name}"
        if mode not in self.modes:
            return f"{self.name} has no {mode!r} mode"
        if self.max_size is not None and size > self.max_size:
            return f"{self.name} is only run up to {self.max_size} elements"
        return None

    def prepare(
        self,
        inputs: Sequence[np.ndarray],
        alpha: float,
        mode: str,
        out: np.ndarray | None = None,
    ) -> Prepared:
        """Return a callable that runs this implementation once on ``inputs``.

        Parameters
        ----------
        inputs : sequence of numpy.ndarray
            ``(x,)`` or ``(grad_out, x)`` (``(a, b)`` for ``add``), C-contiguous,
            same shape and dtype.
        alpha : float
            The slope; ignored by functions without one.
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
            Takes no arguments; returns the result (an array, a tensor or a list).

        Raises
        ------
        RuntimeError
            If the implementation cannot run here.
        ValueError
            If it does not support this dtype, mode or size, or ``out`` does
            not fit.

        Examples
        --------
        >>> import numpy as np
        >>> from fastact import _impls
        >>> x = np.array([-2.0, 3.0])
        >>> run = _impls.get("relu", "numpy").prepare((x,), 0.0, "inplace")
        >>> run() is x, x
        (True, array([0., 3.]))
        """
        reason = self.unavailable()
        if reason is not None:
            raise RuntimeError(f"{self.key} cannot run here: {reason}")
        arrays = tuple(inputs)
        if len(arrays) != arity(self.function):
            raise ValueError(f"{self.key} takes {arity(self.function)} arrays, got {len(arrays)}")
        reason = self.unsupported(arrays[0].dtype.name, mode, arrays[0].size)
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
        return self.factory(arrays, float(alpha), mode, target)


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


# --- fastact ------------------------------------------------------------------------------


def _backend_requirement(backend: str, parallel: bool) -> Callable[[], str | None]:
    def requires() -> str | None:
        reason = _backends.status(backend)
        if reason is not None:
            return reason
        if parallel:
            if _backends.load(backend).PARALLEL_RUNTIME is None:
                return f"the {backend} backend has no parallel kernels here (serial only)"
            if not _dispatch.parallel_allowed():
                return "this process was forked after parallel kernels ran: serial only"
        return None

    return requires


def _backend_factory(backend: str, function: str, parallel: bool) -> Factory:
    def factory(
        arrays: tuple[np.ndarray, ...], alpha: float, mode: str, target: np.ndarray | None
    ) -> Prepared:
        kernel = _backends.load(backend).get_kernel(function, parallel)
        nthreads = _config.get_num_threads() if parallel else 1
        if parallel:
            # The dispatcher's fork guard must know that parallel runtimes have
            # started, or a child forked later (tests/test_safety.py) could hang.
            _dispatch.parallel_started()
        if any(not a.flags.c_contiguous for a in arrays):
            raise ValueError(f"{backend}-{'parallel' if parallel else 'serial'} needs C-contiguous")
        # Flat views of contiguous arrays are what fastact._layout hands kernels.
        flat = tuple(a.reshape(-1) for a in arrays)
        if flat[0].size == 0:  # the dispatcher never calls kernels on empty arrays
            return lambda: np.empty_like(arrays[0]) if target is None else target
        g, x = flat if len(flat) == 2 else (None, flat[0])
        if target is not None:
            # in place means out *is* the input view, as the backend contract puts it
            out_flat = flat[0] if mode == "inplace" else target.reshape(-1)
            if g is None:

                def run_into() -> np.ndarray:
                    kernel(x, out_flat, alpha, nthreads)
                    return target

                return run_into

            def run_into_binary() -> np.ndarray:
                kernel(g, x, out_flat, alpha, nthreads)
                return target

            return run_into_binary

        def run_new() -> np.ndarray:
            out = np.empty_like(arrays[0])
            kernel(*flat, out.reshape(-1), alpha, nthreads)
            return out

        return run_new

    return factory


def _api_factory(function: str, explicit: bool) -> Factory:
    def factory(
        arrays: tuple[np.ndarray, ...], alpha: float, mode: str, target: np.ndarray | None
    ) -> Prepared:
        import fastact

        fn = getattr(fastact, function)
        args = (*arrays, alpha) if KERNELS[function].uses_alpha else arrays
        if explicit or not _config.auto_everywhere:
            return functools.partial(fn, *args, out=target, backend="auto")
        # backend=None is "auto" when that is the configured default everywhere:
        # the call users write. A closure that calls with the arguments spelt
        # out, as the kernel entries do: *args and a keyword would build a
        # tuple and a dict every call (~50 ns) that a user's call does not.
        if len(args) == 1:
            (a0,) = args
            return lambda: fn(a0, out=target)
        if len(args) == 2:
            a0, a1 = args
            return lambda: fn(a0, a1, out=target)
        a0, a1, a2 = args
        return lambda: fn(a0, a1, a2, out=target)

    return factory


def _fastact_impls(function: str) -> list[Impl]:
    impls = []
    for backend in _backends.BACKENDS:
        forms = (False,) if backend == "numpy" else (False, True)
        for parallel in forms:
            name = (
                backend
                if backend == "numpy"
                else f"{backend}-{'parallel' if parallel else 'serial'}"
            )
            impls.append(
                Impl(
                    function,
                    name,
                    "fastact",
                    _backend_factory(backend, function, parallel),
                    requires=_backend_requirement(backend, parallel),
                    description=(
                        f"fastact._backends.load({backend!r}).get_kernel({function!r}, "
                        f"{parallel}) on flat views"
                    ),
                )
            )
    impls.append(
        Impl(
            function,
            "auto",
            "fastact",
            _api_factory(function, explicit=False),
            description=f"fastact.{function}(..., out=out): the default backend 'auto'",
        )
    )
    impls.append(
        Impl(
            function,
            "auto-kw",
            "fastact",
            _api_factory(function, explicit=True),
            description=f"fastact.{function}(..., out=out, backend='auto')",
        )
    )
    return impls


# --- baselines ----------------------------------------------------------------------------


def _seed_where(function: str) -> Callable[..., Any]:
    """The seed-003 tutorial's code as written: ``leak`` is 0 for the ReLU functions."""
    leaky = KERNELS[function].uses_alpha

    def relu(x: np.ndarray, leak: float = 0) -> np.ndarray:
        return np.where(x <= 0, leak * x, x)

    def relu_dash(x: np.ndarray, leak: float = 0) -> np.ndarray:
        return np.where(x <= 0, leak, 1)

    if function in ("relu", "leaky_relu"):
        return (lambda x, a: relu(x, a)) if leaky else (lambda x, a: relu(x))
    if function in ("relu_grad", "leaky_relu_grad"):
        return (lambda x, a: relu_dash(x, a)) if leaky else (lambda x, a: relu_dash(x))
    # the backward pass as the tutorials build it: grad times the derivative
    if leaky:
        return lambda g, x, a: g * relu_dash(x, a)
    return lambda g, x, a: g * relu_dash(x)


def _where_factory(function: str) -> Factory:
    def factory(
        arrays: tuple[np.ndarray, ...], alpha: float, mode: str, target: np.ndarray | None
    ) -> Prepared:
        return functools.partial(_seed_where(function), *arrays, alpha)

    return factory


def _listcomp_factory(function: str) -> Factory:
    """The seed-004 notebook's code: a Python function per element, in a list comprehension."""

    def factory(
        arrays: tuple[np.ndarray, ...], alpha: float, mode: str, target: np.ndarray | None
    ) -> Prepared:
        alpha_ = alpha if KERNELS[function].uses_alpha else 0

        def leaky_relu(x: float) -> float:
            return x if x >= 0 else alpha_ * x

        def derivative(x: float) -> float:
            return 1 if x >= 0 else alpha_

        if function in ("relu", "leaky_relu"):
            (x,) = arrays
            return lambda: [leaky_relu(val) for val in x]
        if function in ("relu_grad", "leaky_relu_grad"):
            (x,) = arrays
            return lambda: [derivative(val) for val in x]
        g, x = arrays
        return lambda: [gv * derivative(val) for gv, val in zip(g, x, strict=True)]

    return factory


def _maximum_factory(function: str) -> Factory:
    def factory(
        arrays: tuple[np.ndarray, ...], alpha: float, mode: str, target: np.ndarray | None
    ) -> Prepared:
        (x,) = arrays
        if function == "relu":
            return functools.partial(np.maximum, x, 0, out=target)
        # alpha * x is a temporary on every call: that is the idiom's cost
        return lambda: np.maximum(x, alpha * x, out=target)

    return factory


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


def _torch_factory(function: str) -> Factory:
    def factory(
        arrays: tuple[np.ndarray, ...], alpha: float, mode: str, target: np.ndarray | None
    ) -> Prepared:
        import torch

        aten = torch.ops.aten
        ts = tuple(torch.from_numpy(a) for a in arrays)  # views: no copies
        o = None if target is None else torch.from_numpy(target)
        if function == "relu":
            if mode == "new":
                return functools.partial(torch.relu, *ts)
            if mode == "inplace":
                return functools.partial(torch.relu_, *ts)
            return functools.partial(aten.relu.out, *ts, out=o)
        if function == "leaky_relu":
            f = torch.nn.functional.leaky_relu
            if mode == "new":
                return functools.partial(f, *ts, alpha)
            if mode == "inplace":
                return functools.partial(f, *ts, alpha, inplace=True)
            # F.leaky_relu has no out=; it calls this op, which has
            return functools.partial(torch._C._nn.leaky_relu, *ts, alpha, out=o)
        if function == "relu_backward":
            if o is None:
                return functools.partial(aten.threshold_backward, *ts, 0)
            return functools.partial(aten.threshold_backward.grad_input, *ts, 0, grad_input=o)
        if function == "leaky_relu_backward":
            if o is None:
                return functools.partial(aten.leaky_relu_backward, *ts, alpha, False)
            return functools.partial(
                aten.leaky_relu_backward.grad_input, *ts, alpha, False, grad_input=o
            )
        if function == "copy":
            return functools.partial(o.copy_, *ts)
        if function == "add":
            return functools.partial(torch.add, *ts, out=o)
        raise KeyError(function)

    return factory


_TORCH_CALLS = {
    "relu": "torch.relu / aten.relu.out / torch.relu_",
    "leaky_relu": "F.leaky_relu / torch._C._nn.leaky_relu(out=) / F.leaky_relu(inplace=True)",
    "relu_backward": "aten.threshold_backward(g, x, 0) (.grad_input for out=)",
    "leaky_relu_backward": "aten.leaky_relu_backward(g, x, alpha, False) (.grad_input for out=)",
    "copy": "out.copy_(x) (parallel in PyTorch's thread pool)",
    "add": "torch.add(a, b, out=out)",
}

_NUMEXPR = {
    "relu": "where(x < 0, zero, x)",
    "leaky_relu": "where(x > 0, x, a * x)",
    "relu_grad": "where(x > 0, one, zero)",
    "leaky_relu_grad": "where(x > 0, one, a)",
    "relu_backward": "where(x > 0, g, zero)",
    "leaky_relu_backward": "where(x > 0, g, a * g)",
    "copy": "x",
    "add": "x + g",
}


def _numexpr_factory(function: str) -> Factory:
    def factory(
        arrays: tuple[np.ndarray, ...], alpha: float, mode: str, target: np.ndarray | None
    ) -> Prepared:
        import numexpr

        t = arrays[0].dtype.type
        # constants of the array's type, so numexpr does not compute in float64
        names = dict(zip(("x",) if len(arrays) == 1 else ("g", "x"), arrays, strict=True))
        if function == "add":
            names = {"x": arrays[0], "g": arrays[1]}
        names.update(a=t(alpha), zero=t(0), one=t(1))
        return functools.partial(numexpr.evaluate, _NUMEXPR[function], names, out=target)

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
        arrays: tuple[np.ndarray, ...], alpha: float, mode: str, target: np.ndarray | None
    ) -> Prepared:
        import numba

        copy, add = _numba_refs()
        numba.set_num_threads(min(_config.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
        _dispatch.parallel_started()  # see _backend_factory: the fork guard must know
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
        arrays: tuple[np.ndarray, ...], alpha: float, mode: str, target: np.ndarray | None
    ) -> Prepared:
        if function == "copy":

            def run_copy() -> np.ndarray:
                np.copyto(target, arrays[0])
                return target

            return run_copy
        return functools.partial(np.add, *arrays, out=target)

    return factory


def _baselines(function: str) -> list[Impl]:
    impls = [
        Impl(
            function,
            "np.where",
            "baseline",
            _where_factory(function),
            modes=("new",),
            description="the seed-003 code: np.where(x <= 0, leak * x, x), "
            "np.where(x <= 0, leak, 1), grad * np.where(x <= 0, leak, 1)",
        ),
        Impl(
            function,
            "listcomp",
            "baseline",
            _listcomp_factory(function),
            modes=("new",),
            max_size=10_000,
            description="the seed-004 code: [leakyRelu(val) for val in x]",
        ),
    ]
    if function in ("relu", "leaky_relu"):
        impls.append(
            Impl(
                function,
                "np.maximum",
                "baseline",
                _maximum_factory(function),
                description="np.maximum(x, 0, out=out)"
                if function == "relu"
                else "np.maximum(x, alpha * x, out=out) (valid for 0 <= alpha <= 1)",
            )
        )
    if function in _TORCH_CALLS:
        modes = ("new", "out", "inplace")
        impls.append(
            Impl(
                function,
                "torch",
                "baseline",
                _torch_factory(function),
                modes=modes,
                requires=_torch_requirement,
                description=_TORCH_CALLS[function] + ", on torch.from_numpy views",
            )
        )
    impls.append(
        Impl(
            function,
            "numexpr",
            "baseline",
            _numexpr_factory(function),
            dtypes=("float32", "float64"),
            requires=_numexpr_requirement,
            description=f"numexpr.evaluate({_NUMEXPR[function]!r}, out=out)",
        )
    )
    return impls


def _references(function: str) -> list[Impl]:
    serial = "np.copyto(out, x)" if function == "copy" else "np.add(a, b, out=out)"
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
            description=_TORCH_CALLS[function],
        ),
        Impl(
            function,
            "numexpr",
            "reference",
            _numexpr_factory(function),
            modes=("out",),
            dtypes=("float32", "float64"),
            requires=_numexpr_requirement,
            description=f"numexpr.evaluate({_NUMEXPR[function]!r}, out=out) (parallel)",
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
    >>> from fastact import _impls
    >>> [i.name for i in _impls.registry("relu_grad", kind="baseline")]
    ['np.where', 'listcomp', 'numexpr']
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
    >>> from fastact import _impls
    >>> _impls.get("leaky_relu", "auto").kind
    'fastact'
    """
    found = registry(function, name)
    if not found:
        names = ", ".join(i.name for i in registry(function))
        raise KeyError(f"no implementation {name!r} of {function!r}; there are: {names}")
    return found[0]


def names() -> list[str]:
    """Every implementation name, each once, in registry order.

    Examples
    --------
    >>> from fastact import _impls
    >>> "cython-parallel" in _impls.names()
    True
    """
    return list(dict.fromkeys(impl.name for impl in _registry()))
