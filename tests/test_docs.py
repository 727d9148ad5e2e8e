"""The examples in every public docstring run and print what they say (installed package)."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

MODULES = [
    "fastact",
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


def test_the_functions_of_every_activation_have_their_examples() -> None:
    """The generated docstrings' examples run (doctest sees functions by their module)."""
    import fastact

    for name in fastact._api.PUBLIC:
        fn = getattr(fastact, name)
        for test in doctest.DocTestFinder().find(fn, name, globs={}):
            result = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE).run(test)
            assert result.attempted > 0 and result.failed == 0, name


def test_public_functions_keep_their_signature_and_defaults() -> None:
    """Compiled fronts or Python functions: the table's signature, and its defaults in calls."""
    import inspect

    import fastact
    from fastact._table import KERNELS, activation_of, is_backward

    for name in KERNELS:
        act = activation_of(name)
        params = inspect.signature(getattr(fastact, name)).parameters
        positional = [*(("grad_out",) if is_backward(name) else ()), "x"]
        positional += [p.name for p in act.params]
        assert list(params) == [*positional, "out", "backend"], name
        assert params["out"].kind is inspect.Parameter.KEYWORD_ONLY
        for p in act.params:
            assert params[p.name].default == p.default
        # the default a call really uses (a front's is compiled in)
        x, g = np.linspace(-8, 8, 33), np.linspace(1, 2, 33)
        args = (g, x) if is_backward(name) else (x,)
        defaults = tuple(p.default for p in act.params)
        call = getattr(fastact, name)
        assert call(*args).tobytes() == call(*args, *defaults, backend="numpy").tobytes()
