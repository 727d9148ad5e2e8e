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
        with pytest.raises(ValueError, match="'auto', 'numba', 'cython', 'numpy'"):
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
    before = fa.get_num_threads()
    try:
        fa.set_num_threads(1)
        assert fa.get_num_threads() == 1
        fa.set_num_threads(np.int64(3))
        assert fa.get_num_threads() == 3
        for bad, exc in [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError)]:
            with pytest.raises(exc):
                fa.set_num_threads(bad)
        assert fa.get_num_threads() == 3
    finally:
        fa.set_num_threads(before)


def test_result_cache_bytes() -> None:
    from fastact import _config

    before = fa.get_result_cache_bytes()
    assert before == _config.DEFAULT_RESULT_CACHE_BYTES == 256 << 20
    try:
        fa.set_result_cache_bytes(0)
        assert fa.get_result_cache_bytes() == 0
        fa.set_result_cache_bytes(1 << 70)  # more than memory holds: no limit
        assert fa.get_result_cache_bytes() == 1 << 70
        fa.set_result_cache_bytes(np.int64(1 << 30))
        assert fa.get_result_cache_bytes() == 1 << 30
        for bad, exc in [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("1", TypeError)]:
            with pytest.raises(exc, match="result cache"):
                fa.set_result_cache_bytes(bad)
        assert fa.get_result_cache_bytes() == 1 << 30
    finally:
        fa.set_result_cache_bytes(before)


def test_environment_variables() -> None:
    code = (
        "import fastact as fa; "
        "print(fa.get_backend(), fa.get_num_threads(), fa.get_result_cache_bytes())"
    )
    done = run_python(
        code, FASTACT_BACKEND="numpy", FASTACT_NUM_THREADS="1", FASTACT_RESULT_CACHE_BYTES="0"
    )
    assert done.stdout.split() == ["numpy", "1", "0"], done.stderr
    bad = run_python(
        code, FASTACT_BACKEND="quick", FASTACT_NUM_THREADS="zero", FASTACT_RESULT_CACHE_BYTES="-5"
    )
    assert bad.returncode == 0, bad.stderr
    assert bad.stdout.split()[0] == "auto"
    assert bad.stdout.split()[2] == str(256 << 20)
    for name in ("FASTACT_BACKEND", "FASTACT_NUM_THREADS", "FASTACT_RESULT_CACHE_BYTES"):
        assert f"{name} ignored" in bad.stderr


def test_import_does_not_import_numba() -> None:
    done = run_python("import sys, fastact; print('numba' in sys.modules)")
    assert done.stdout.strip() == "False", done.stderr


def test_show_config_and_info_command(capsys) -> None:
    fa.show_config()
    text = capsys.readouterr().out
    for words in ("fastact", "numpy", "numba", "cython", "threads", "auto"):
        assert words in text
    done = subprocess.run(
        [sys.executable, "-m", "fastact", "info"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "backends:" in done.stdout, done.stderr


def test_show_config_says_what_the_result_cache_does(monkeypatch) -> None:
    from fastact import _backends, _info

    line = next(text for text in _info.config_lines() if text.startswith("result cache:"))
    if _backends.status("cython") is None:
        held = _backends.load("cython").result_cache()
        assert f"holds {held['blocks']} blocks" in line and "up to 256 MiB" in line
    status = _backends.status
    monkeypatch.setattr(
        _backends, "status", lambda name: "not built" if name == "cython" else status(name)
    )
    line = next(text for text in _info.config_lines() if text.startswith("result cache:"))
    assert line.startswith("result cache: off, it needs the Cython extension (256 MiB set")
