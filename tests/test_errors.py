"""Bad input: the SPEC's exception type, a message that helps, and every array left as it was."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_BACKENDS, require

import fastact as fa
from fastact import _backends, _config

X = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
G = np.full((3, 4), 2.0, dtype=np.float32)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flags.writeable = False
    return a


def _cases():
    f32 = np.zeros((3, 4), np.float32)
    bad_dtypes = {
        "complex": np.ones(4, np.complex64),
        "object": np.array([1.0, None], dtype=object),
        "str": np.array(["a", "b"]),
        "datetime": np.array(["2020-01-01"], dtype="datetime64[D]"),
        "timedelta": np.array([1], dtype="timedelta64[s]"),
        "longdouble": np.ones(3, np.longdouble) if np.dtype(np.longdouble).itemsize > 8 else None,
        "void": np.zeros(2, dtype=[("a", "f4")]),
    }
    for label, arr in bad_dtypes.items():
        if arr is None:
            continue
        yield f"x-{label}", "leaky_relu", (arr,), {}, TypeError, str(arr.dtype)
        yield f"g-{label}", "relu_backward", (arr, arr), {}, TypeError, str(arr.dtype)
    yield "x-dtype-in-grad", "relu_backward", (G, np.ones((3, 4), complex)), {}, TypeError, "x"
    for alpha, exc, words in [
        (float("nan"), ValueError, "finite"),
        (float("inf"), ValueError, "finite"),
        (-np.inf, ValueError, "finite"),
        (np.float32("nan"), ValueError, "finite"),
        (10**400, ValueError, "finite"),
        ("0.1", TypeError, "real number"),
        (1 + 2j, TypeError, "real number"),
        (None, TypeError, "real number"),
        (True, TypeError, "real number"),
        (np.array([0.1]), TypeError, "real number"),
    ]:
        for fname in ("leaky_relu", "leaky_relu_grad"):
            yield f"alpha-{alpha!r}-{fname}", fname, (X, alpha), {}, exc, words
        yield f"alpha-{alpha!r}-bw", "leaky_relu_backward", (G, X, alpha), {}, exc, words
    yield "out-list", "relu", (X,), {"out": [0.0] * 12}, TypeError, "ndarray"
    yield "out-shape", "relu", (X,), {"out": np.zeros((4, 3), np.float32)}, ValueError, "(4, 3)"
    yield "out-size", "relu", (X,), {"out": np.zeros(12, np.float32)}, ValueError, "shape"
    yield "out-dtype", "relu", (X,), {"out": np.zeros((3, 4))}, TypeError, "float32"
    yield "out-int", "relu", (X,), {"out": np.zeros((3, 4), int)}, TypeError, "dtype"
    swapped = np.zeros((3, 4), np.dtype(np.float32).newbyteorder("S"))
    yield "out-byteswapped", "relu", (X,), {"out": swapped}, TypeError, "native"
    yield "out-readonly", "relu", (X,), {"out": _readonly(f32)}, ValueError, "read-only"
    yield (
        "out-int-input",
        "relu",
        (np.arange(3),),
        {"out": np.zeros(3, np.float32)},
        TypeError,
        ("float64"),
    )
    yield "out-for-scalar", "relu", (1.0,), {"out": np.zeros(1)}, ValueError, "shape"
    yield "grad-shape", "relu_backward", (G, X.T), {}, ValueError, "(3, 4) and x (4, 3)"
    yield "grad-broadcast", "leaky_relu_backward", (G[:, :1].T, X), {}, ValueError, "(1, 3)"
    yield "out-not-broadcast", "relu_backward", (G[:1], X), {"out": f32[:1]}, ValueError, "(1, 4)"
    overlapping = np.lib.stride_tricks.as_strided(
        np.zeros(12, np.float32), (3, 4), (0, 4), writeable=True
    )
    yield "out-self-overlap", "relu", (X,), {"out": overlapping}, ValueError, "overlaps itself"
    tight = np.lib.stride_tricks.as_strided(
        np.zeros(24, np.float32), (3, 4), (8, 2), writeable=True
    )
    yield "out-short-stride", "relu", (X,), {"out": tight}, ValueError, "overlaps itself"
    # issue 19, case 5: the reproducer's out (zero stride), and a stride shorter than an item
    x5 = np.linspace(-2.0, 2.0, 5)
    zero = np.lib.stride_tricks.as_strided(np.zeros(5), (5,), (0,), writeable=True)
    yield "out-zero-stride-1d", "relu", (x5,), {"out": zero}, ValueError, "overlaps itself"
    half = np.lib.stride_tricks.as_strided(np.zeros(5), (5,), (4,), writeable=True)
    yield "out-half-item-stride", "relu", (x5,), {"out": half}, ValueError, "overlaps itself"
    yield (
        "out-self-overlap-backward",
        "leaky_relu_backward",
        (x5, x5, 0.1),
        {"out": np.lib.stride_tricks.as_strided(np.zeros(5), (5,), (0,), writeable=True)},
        ValueError,
        "overlaps itself",
    )
    # issue 19, case 6: a parameter finite as a Python float but not in the computation type
    for dtype in (np.float16, np.float32):
        x = X.astype(dtype)
        yield (
            f"alpha-overflows-{np.dtype(dtype)}",
            "leaky_relu",
            (x, 1e308),
            {},
            ValueError,
            ("overflows in float32"),
        )
        for fname, args in [("leaky_relu_grad", (x,)), ("leaky_relu_backward", (x, x))]:
            yield (
                f"alpha-overflows-{np.dtype(dtype)}-{fname}",
                fname,
                (*args, -1e39),
                {},
                ValueError,
                "overflows in float32",
            )
        for param, value in [("min_val", -1e39), ("max_val", 1e39)]:
            yield (
                f"{param}-overflows-{np.dtype(dtype)}",
                "hardtanh",
                (x,),
                {param: value},
                ValueError,
                f"{param}=",
            )
        # a parameter that must not be 0, and is not, but rounds to 0 in float32
        for fname, args, params in [("celu", (x,), (1e-50,)), ("celu_grad", (x,), (-1e-46,)),
                                    ("softplus_backward", (x, x), (1e-60, 20.0))]:  # fmt: skip
            yield (
                f"{fname}-param-underflows-{np.dtype(dtype)}",
                fname,
                (*args, *params),
                {},
                ValueError,
                "rounds to 0 in float32",
            )
    yield "backend-unknown", "relu", (X,), {"backend": "torch"}, ValueError, "'numba'"
    yield "backend-not-str", "relu", (X,), {"backend": 3}, ValueError, "'cython'"
    yield "backend-case", "relu", (X,), {"backend": "NumPy"}, ValueError, "'auto'"


CASES = list(_cases())


@pytest.mark.parametrize(("fname", "args", "kwargs", "exc", "words"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])  # fmt: skip
def test_bad_input(fname, args, kwargs, exc, words) -> None:
    arrays = [a for a in (*args, *kwargs.values()) if isinstance(a, np.ndarray)]
    before = [a.copy() for a in arrays]
    with pytest.raises(exc) as info:
        getattr(fa, fname)(*args, **kwargs)
    assert words in str(info.value), str(info.value)
    assert fname in str(info.value) or "backend" in str(info.value), str(info.value)
    for a, b in zip(arrays, before, strict=True):
        assert a.tobytes() == b.tobytes(), "an argument was modified by a call that raised"


def _setting_cases():
    # issue 19, case 3: a setter that raises changes nothing
    for bad, exc in [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError),
                     ("4", TypeError), (np.float64(2.0), TypeError)]:  # fmt: skip
        yield f"set_num_threads-{bad!r}", fa.set_num_threads, bad, exc, fa.get_num_threads
    for bad in ("gpu", "NumPy", 3, None):
        yield f"set_backend-{bad!r}", fa.set_backend, bad, ValueError, fa.get_backend
        yield f"use_backend-{bad!r}", fa.use_backend, bad, ValueError, fa.get_backend


SETTING_CASES = list(_setting_cases())


@pytest.mark.parametrize(("setter", "value", "exc", "getter"),
                         [c[1:] for c in SETTING_CASES],
                         ids=[c[0] for c in SETTING_CASES])  # fmt: skip
def test_bad_setting(setter, value, exc, getter) -> None:
    before = getter(), _config.auto_everywhere
    with pytest.raises(exc):
        if setter is fa.use_backend:
            with setter(value):
                pass
        else:
            setter(value)
    assert (getter(), _config.auto_everywhere) == before, "a setter that raised changed the setting"


def test_errors_come_before_any_write_in_place() -> None:
    x = X.copy()
    with pytest.raises(ValueError):
        fa.leaky_relu(x, float("nan"), out=x)
    with pytest.raises(ValueError):
        fa.leaky_relu_backward(x, x[:, :2], 0.1, out=x)
    np.testing.assert_array_equal(x, X)


def test_unavailable_backend_raises_runtime_error_with_the_reason(monkeypatch) -> None:
    monkeypatch.setitem(_backends._errors, "numba", "ImportError: No module named 'numba'")
    monkeypatch.delitem(_backends._modules, "numba", raising=False)
    x = X.copy()
    with pytest.raises(RuntimeError, match=r"numba.*No module named 'numba'"):
        fa.relu(x, out=x, backend="numba")
    np.testing.assert_array_equal(x, X)
    with fa.use_backend("numba"), pytest.raises(RuntimeError, match="cannot run"):
        fa.relu(X)


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_every_known_backend_runs_or_says_why(name: str) -> None:
    require(name)
    np.testing.assert_array_equal(fa.relu(X, backend=name), np.maximum(X, 0))


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_the_tables_conditions_hold_on_every_path(backend) -> None:
    """hardtanh's min_val <= max_val (and any nonzero parameter) raise on the compiled path too."""
    require(backend)
    x = np.ones(4, np.float32)
    violations = {"hardtanh": {"min_val": 2.0, "max_val": 1.0}}
    for act in fa.ACTIVATIONS.values():
        for p in act.params:
            if p.nonzero:
                violations.setdefault(act.name, {})[p.name] = 0.0
    for name, bad in violations.items():
        for kernel in fa.ACTIVATIONS[name].kernels:
            inputs = (x, x) if kernel.endswith("_backward") else (x,)
            with pytest.raises(ValueError):
                getattr(fa, kernel)(*inputs, **bad, out=x.copy(), backend=backend)
