"""Many threads at once, and a child forked after parallel kernels ran: right answers, no hang.

Measured on this machine before fastact guarded against them: a child forked
after Cython's GNU OpenMP ran hangs in its first parallel region, Numba's
``omp`` layer kills such a child, and Numba's ``workqueue`` layer aborts the
process when two threads launch parallel kernels at once. Every wait below
has a timeout, so a hang fails the test instead of stalling CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from conftest import require, run_forked
from oracle import expected

import fastact as fa
from fastact import _backends, _dispatch

# big enough that every backend takes its parallel kernels
SIZE = 2 * _dispatch.PARALLEL_MIN_SIZE + 7
TIMEOUT = 120


def _data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(SIZE).astype(np.float32), rng.standard_normal(SIZE).astype(
        np.float32
    )


def _correct(backend: str, seed: int) -> bool:
    g, x = _data(seed)
    y = fa.leaky_relu(x, 0.1, backend=backend)
    d = fa.leaky_relu_backward(g, x, 0.1, backend=backend)
    want_y, _ = expected("leaky_relu", x, alpha=0.1)
    want_d, _ = expected("leaky_relu_backward", x, g, alpha=0.1)
    return y.tobytes() == want_y.tobytes() and d.tobytes() == want_d.tobytes()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_parallel_kernels(backend: str) -> None:
    assert fa.get_num_threads() > 1 or os.cpu_count() == 1
    assert _correct(backend, seed=1)  # the parent runs parallel kernels first

    def child() -> bool:
        # the compiled fronts keep their own copy of the fork guard
        runs = _compiled_parallel_runs()
        ok = _correct(backend, seed=2) and not _dispatch.parallel_allowed()
        return ok and _compiled_parallel_runs() == runs

    run_forked(child)
    assert _correct(backend, seed=3)  # and the parent still can


def test_many_threads_at_once(backend: str) -> None:
    results: dict[int, bool] = {}
    start = threading.Barrier(8)

    def work(i: int) -> None:
        start.wait()
        results[i] = all(_correct(backend, seed=10 * i + k) for k in range(3))

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert results == dict.fromkeys(range(8), True)


def _compiled_parallel_runs() -> int:
    """Parallel kernels the compiled fronts started (0 without the Cython extension)."""
    if _backends.status("cython") is not None:
        return 0
    return _backends.load("cython")._cy.parallel_runs()


def test_thread_limit_one_uses_serial_kernels(backend: str, monkeypatch) -> None:
    used = []
    real = _dispatch._run
    monkeypatch.setattr(_dispatch, "_run", lambda fn, b, a, n: used.append(n) or real(fn, b, a, n))
    x = np.ones(SIZE, np.float32)
    fa.leaky_relu(x, 0.1, backend=backend)  # parallel may run here, before the limit
    before, runs = fa.get_num_threads(), _compiled_parallel_runs()
    used.clear()
    try:
        fa.set_num_threads(1)
        for _ in range(3):
            assert _correct(backend, seed=5)
    finally:
        fa.set_num_threads(before)
    # the general path ran serial kernels only, and the compiled fronts none in parallel
    assert set(used) <= {1} and _compiled_parallel_runs() == runs
    assert used or backend == "auto"  # auto takes the compiled front for these arrays


def test_auto_runs_a_new_large_call_in_parallel(tmp_path) -> None:
    """The other side of the test above: without the limit, a parallel kernel runs.

    In a fresh process, as the first call of its size: the policy tries
    parallel first (later calls go where the timings say).
    """
    require("cython")
    code = (
        "import numpy as np, fastact as fa; from fastact._backends import _cy; "
        f"fa.leaky_relu(np.ones({SIZE}, np.float32)); print(_cy.parallel_runs())"
    )
    env = {**os.environ, "FASTACT_NUM_THREADS": "2"}
    done = subprocess.run(  # not from the source tree, whose fastact has no extension built
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1"]
