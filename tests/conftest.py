"""Shared fixtures: the backends under test.

Every backend of the registry is tested. One that cannot run here is skipped
with its reason, unless ``FASTACT_REQUIRE_BACKENDS`` (a comma-separated list,
set by CI) names it: then the test fails, so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
import signal
import time

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


def run_forked(fn, timeout: float = 120.0) -> None:
    """Run ``fn`` in a forked child; fail if it returns False, raises, dies or hangs."""
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        code = 3
        try:
            code = 0 if fn() else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the forked child hung for {timeout} s")
        time.sleep(0.02)
    if os.WIFSIGNALED(status):
        pytest.fail(f"the forked child was killed by signal {os.WTERMSIG(status)}")
    assert os.WEXITSTATUS(status) == 0, f"the forked child failed (exit {os.WEXITSTATUS(status)})"
