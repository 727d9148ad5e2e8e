"""Backend and thread settings: functions, context manager, environment variables, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import fastact as fa


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=120
    )


def test_set_and_get_backend() -> None:
    assert fa.get_backend() == "auto"
    try:
        fa.set_backend("numpy")
        assert fa.get_backend() == "numpy"
        with pytest.raises(ValueError, match="'auto', 'cython', 'numba', 'numpy'"):
            fa.set_backend("fast")
        assert fa.get_backend() == "numpy"
    finally:
        fa.set_backend("auto")


def test_use_backend_nests_restores_and_is_thread_local() -> None:
    seen = {}
    with fa.use_backend("numpy"):
        with fa.use_backend("auto"):
            assert fa.get_backend() == "auto"
        assert fa.get_backend() == "numpy"
        worker = threading.Thread(target=lambda: seen.setdefault("other", fa.get_backend()))
        worker.start()
        worker.join()
        with pytest.raises(KeyError), fa.use_backend("auto"):
            raise KeyError
        assert fa.get_backend() == "numpy"
    assert fa.get_backend() == "auto"
    assert seen["other"] == "auto"
    with pytest.raises(ValueError), fa.use_backend("gpu"):
        pass


def test_use_backend_routes_calls(monkeypatch) -> None:
    from fastact import _dispatch

    used = []
    real = _dispatch.execute
    monkeypatch.setattr(_dispatch, "execute", lambda m, *a: used.append(m.__name__) or real(m, *a))
    with fa.use_backend("numpy"):
        fa.relu(np.ones(3))
    assert used == ["fastact._backends.numpy"]


def test_num_threads() -> None:
    from fastact import _config

    cpus = _config.cpu_count()
    try:
        fa.set_num_threads(1)
        assert fa.get_num_threads() == 1
        fa.set_num_threads(np.int64(3))
        assert fa.get_num_threads() == min(3, cpus)
        for bad, exc in [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError)]:
            with pytest.raises(exc):
                fa.set_num_threads(bad)
        assert fa.get_num_threads() == min(3, cpus)
        assert "set_num_threads=3" in _config.threads_and_source()[1]
    finally:
        fa.set_num_threads(None)
    assert (
        "OpenMP" in _config.threads_and_source()[1]
        or "OMP_NUM_THREADS" in (_config.threads_and_source()[1])
    )


def test_environment_variables() -> None:
    code = "import fastact as fa; print(fa.get_backend(), fa.get_num_threads())"
    done = run_python(code, FASTACT_BACKEND="numpy", FASTACT_NUM_THREADS="1")
    assert done.stdout.split() == ["numpy", "1"], done.stderr
    for threads in ("zero", "-1", "1.5"):
        bad = run_python(code, FASTACT_BACKEND="quick", FASTACT_NUM_THREADS=threads)
        assert bad.returncode == 0, bad.stderr
        assert bad.stdout.split()[0] == "auto"
        for name in ("FASTACT_BACKEND", "FASTACT_NUM_THREADS"):
            assert f"{name} ignored" in bad.stderr
    huge = run_python(code, FASTACT_NUM_THREADS="99999999999999999999")
    assert huge.returncode == 0, huge.stderr
    assert 1 <= int(huge.stdout.split()[1]) <= os.cpu_count()


def test_import_does_not_import_numba() -> None:
    done = run_python("import sys, fastact; print('numba' in sys.modules)")
    assert done.stdout.strip() == "False", done.stderr


def test_show_config_and_info_command(capsys) -> None:
    fa.show_config()
    text = capsys.readouterr().out
    for words in ("fastact", "numpy", "numba", "cython", "threads:", "auto", "capped at"):
        assert words in text
    done = subprocess.run(
        [sys.executable, "-m", "fastact", "info"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "backends:" in done.stdout, done.stderr
