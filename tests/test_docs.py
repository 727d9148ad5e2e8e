"""The examples in every public docstring run and print what they say (installed package)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "fastact",
    "fastact._api",
    "fastact._config",
    "fastact._dispatch",
    "fastact._info",
    "fastact.nn",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name: str) -> None:
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module_name} has no examples"
    assert result.failed == 0


def test_every_public_function_has_an_example() -> None:
    import fastact

    for name in fastact.__all__:
        obj = getattr(fastact, name)
        if callable(obj):
            assert ">>>" in (obj.__doc__ or ""), f"fastact.{name} has no example"


def test_public_functions_keep_their_signature_and_defaults() -> None:
    """Compiled fronts or Python functions: the same signature, and the same default alpha."""
    import inspect

    import numpy as np

    import fastact
    from fastact._kernels import DEFAULT_ALPHA, KERNELS

    for name, kernel in KERNELS.items():
        fn = getattr(fastact, name)
        params = inspect.signature(fn).parameters
        positional = [*(("grad_out",) if len(kernel.inputs) == 2 else ()), "x"]
        positional += ["alpha"] if kernel.uses_alpha else []
        assert list(params) == [*positional, "out", "backend"], name
        assert params["out"].kind is inspect.Parameter.KEYWORD_ONLY
        if kernel.uses_alpha:
            assert params["alpha"].default == DEFAULT_ALPHA
    # the default a call really uses (a front's is compiled in)
    x = np.array([-1.0])
    assert fastact.leaky_relu(x)[0] == -DEFAULT_ALPHA
    assert fastact.leaky_relu_grad(x)[0] == DEFAULT_ALPHA
    assert fastact.leaky_relu_backward(np.ones(1), x)[0] == DEFAULT_ALPHA
