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
