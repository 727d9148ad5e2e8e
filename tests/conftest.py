"""Shared fixtures: the backends under test.

Every backend of the registry is tested. One that cannot run here is skipped
with its reason, unless ``FASTACT_REQUIRE_BACKENDS`` (a comma-separated list,
set by CI) names it: then the test fails, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os

import pytest

from fastact import _backends

REQUIRED = {b for b in os.environ.get("FASTACT_REQUIRE_BACKENDS", "").split(",") if b}
ALL_BACKENDS = (*_backends.BACKENDS, "auto")


def require(backend: str) -> str:
    """Return ``backend`` if it can run; else skip (or fail, if CI requires it)."""
    if backend == "auto":
        return backend
    reason = _backends.status(backend)
    if reason is not None:
        if backend in REQUIRED:
            pytest.fail(f"backend {backend!r} is required here but cannot run: {reason}")
        pytest.skip(f"backend {backend!r} cannot run here: {reason}")
    return backend


@pytest.fixture(params=ALL_BACKENDS)
def backend(request) -> str:
    return require(request.param)
