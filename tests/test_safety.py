"""Threads, fork and the ecosystem's thread limits: right answers, no hang, no extra threads.

Measured on this machine before fastact had its fork rule: a child forked
after GNU OpenMP ran (fastact's or Numba's) hangs in its first parallel
region, and Numba's ``omp`` layer kills such a child. Every wait below has a
timeout, so a hang fails the test instead of stalling CI. The thread counts
are read from ``/proc/self/task`` in fresh processes: the OpenMP team's
threads stay alive after a call, so they show how large it was.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading

import numpy as np
import pytest
from conftest import require, run_forked
from oracle import expected

import fastact as fa
from fastact import _config

# big enough that every backend runs it on a team
SIZE = 4 * _config.MIN_PER_THREAD + 7
TIMEOUT = 120
linux_only = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")


def _data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal(SIZE).astype(np.float32),
        rng.standard_normal(SIZE).astype(np.float32),
    )


def _correct(backend: str, seed: int) -> bool:
    g, x = _data(seed)
    y = fa.leaky_relu(x, 0.1, backend=backend)
    d = fa.leaky_relu_backward(g, x, 0.1, backend=backend)
    want_y, _ = expected("leaky_relu", x, params=(0.1,))
    want_d, _ = expected("leaky_relu_backward", x, g, params=(0.1,))
    return y.tobytes() == want_y.tobytes() and d.tobytes() == want_d.tobytes()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_parallel_kernels(backend: str) -> None:
    assert _correct(backend, seed=1)  # the parent runs parallel kernels first

    def child() -> bool:
        return _correct(backend, seed=2) and fa.get_num_threads() == 1

    run_forked(child)
    assert _correct(backend, seed=3)  # and the parent still can


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_the_users_own_numba_prange() -> None:
    """The user's parallel code, not fastact's, ran before the fork: the child still completes."""
    numba = pytest.importorskip("numba")
    code = """
import os, numba, numpy as np, fastact as fa

@numba.njit(parallel=True)
def total(a):
    s = 0.0
    for i in numba.prange(a.size):
        s += a[i]
    return s

total(np.ones(1_000_000))
pid = os.fork()
if pid == 0:
    y = fa.relu(np.ones(4_000_000, np.float32))
    os._exit(0 if y.sum() == 4_000_000 else 1)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""
    del numba
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=tempfile.gettempdir(),  # the installed fastact, not the unbuilt source tree
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0"]


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


def _threads_after_a_large_call(env: dict[str, str], setup: str = "") -> int:
    """The size of the team of a large call: the threads it leaves, plus the caller's."""
    code = (
        "import os, numpy as np, fastact as fa\n"
        f"{setup}\n"
        "before = len(os.listdir('/proc/self/task'))\n"
        f"fa.relu(np.ones({SIZE}, np.float32))\n"
        "print(len(os.listdir('/proc/self/task')) - before + 1)\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "FASTACT_"))}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=TIMEOUT,
        cwd=tempfile.gettempdir(),  # the installed fastact, not the unbuilt source tree
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


@linux_only
def test_the_ecosystems_thread_limits() -> None:
    require("cython")
    if _config.cpu_count() < 2:
        pytest.skip("needs two CPUs")
    assert _threads_after_a_large_call({}) == 2  # the team: main thread and one more
    assert _threads_after_a_large_call({"OMP_NUM_THREADS": "1"}) == 1
    assert _threads_after_a_large_call({"FASTACT_NUM_THREADS": "1"}) == 1
    assert _threads_after_a_large_call({"OMP_NUM_THREADS": "3052"}) == 2  # capped at the CPUs
    limited = "from threadpoolctl import threadpool_limits; threadpool_limits(1)"
    pytest.importorskip("threadpoolctl")
    assert _threads_after_a_large_call({}, setup=limited) == 1


def test_set_num_threads_huge_is_capped_and_calls_keep_working() -> None:
    before = _config._num_threads
    try:
        fa.set_num_threads(2**63)
        assert fa.get_num_threads() == min(2**63, _config.cpu_count())
        assert _correct("auto", seed=4)
        assert fa.relu(np.ones(400_000)[::2]).sum() == 200_000
    finally:
        fa.set_num_threads(before)


def test_team_rule_is_the_same_in_python_and_c() -> None:
    require("cython")
    from fastact._backends import _cy

    for n in (0, 1, 32767, 32768, 65535, 65536, 98304, 10**6, 10**9):
        assert _config.team_size(n) == _cy.team_size(n), n
