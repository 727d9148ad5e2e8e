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
            lines.append(f"  {name}: can run")
            lines += [f"    {k}: {v}" for k, v in _backends.load(name).info().items()]
        else:
            lines.append(f"  {name}: cannot run: {reason}")
    threads, source = _config.threads_and_source()
    lines += [
        "",
        f"default backend: {_config.get_backend()!r} (FASTACT_BACKEND, set_backend, use_backend)",
        f"threads: {threads} ({source})",
        "",
        "auto dispatcher rules:",
        *(f"  {rule}" for rule in _dispatch.rules()),
    ]
    return lines


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
