"""``show_config()``: what fastact can run here and how it chooses."""

from __future__ import annotations

import platform
import sys

from fastact import _backends, _config, _dispatch


def config_lines() -> list[str]:
    """The report of :func:`show_config`, as lines of text."""
    import numpy as np

    from fastact import __version__

    lines = [
        f"fastact {__version__}",
        f"python {platform.python_version()} ({sys.executable})",
        f"numpy {np.__version__}",
        f"platform {platform.platform()}",
        "",
        "backends:",
    ]
    for name in _backends.BACKENDS:
        reason = _backends.status(name)
        if reason is None:
            details = ", ".join(f"{k}: {v}" for k, v in _backends.load(name).info().items())
            lines.append(f"  {name:7s} can run ({details})")
        else:
            lines.append(f"  {name:7s} cannot run: {reason}")
    lines += [
        "",
        f"default backend: {_config.get_backend()!r} (FASTACT_BACKEND, set_backend, use_backend)",
        f"threads: {_config.get_num_threads()} (FASTACT_NUM_THREADS, set_num_threads)",
        _result_cache_line(),
        "parallel kernels allowed in this process: "
        + ("yes" if _dispatch.parallel_allowed() else "no (forked after parallel kernels ran)"),
        "",
        "auto dispatcher rules:",
        *(f"  {rule}" for rule in _dispatch.rules()),
    ]
    return lines


def _result_cache_line() -> str:
    limit = _config.get_result_cache_bytes() / (1 << 20)
    settings = "FASTACT_RESULT_CACHE_BYTES, set_result_cache_bytes"
    if _backends.status("cython") is not None:
        return f"result cache: off, it needs the Cython extension ({limit:g} MiB set; {settings})"
    held = _backends.load("cython").result_cache()
    return (
        f"result cache: freed results of {_dispatch.RESULT_CACHE_MIN_BYTES >> 20} MiB or more "
        f"kept for reuse, up to {limit:g} MiB ({settings}); holds {held['blocks']} "
        f"blocks ({held['bytes'] / (1 << 20):.1f} MiB), reused {held['hits']} of "
        f"{held['hits'] + held['misses']}"
    )


def show_config() -> None:
    """Print versions, backends (and why one cannot run), threads and the dispatch rules.

    ``python -m fastact info`` prints the same report.

    Examples
    --------
    >>> import fastact as fa
    >>> fa.show_config()  # doctest: +ELLIPSIS
    fastact ...
    """
    print("\n".join(config_lines()))
