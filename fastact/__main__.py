"""The ``fastact`` command: ``fastact info`` and ``fastact bench``.

Installed, it is the ``fastact`` console script; ``python -m fastact`` runs
the same thing from any environment where fastact imports.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

#: the widest line ``fastact info`` prints
WIDTH = 100


def prog_name(argv0: str | None = None) -> str:
    """How the command was run: ``"python -m fastact"`` or ``"fastact"``.

    Examples
    --------
    >>> prog_name("/usr/lib/python3/site-packages/fastact/__main__.py")
    'python -m fastact'
    >>> prog_name("/usr/local/bin/fastact")
    'fastact'
    >>> prog_name("/usr/lib/python3/site-packages/pytest/__main__.py")  # main() called by code
    'fastact'
    """
    path = Path(sys.argv[0] if argv0 is None else argv0)
    run_as_module = path.name == "__main__.py" and path.parent.name == "fastact"
    return "python -m fastact" if run_as_module else "fastact"


def _info_lines() -> list[str]:
    """``show_config``'s report, long lines wrapped under their own indentation."""
    from fastact._info import config_lines

    lines = []
    for line in config_lines():
        indent = " " * (len(line) - len(line.lstrip()) + 4)
        lines += textwrap.wrap(line, WIDTH, subsequent_indent=indent) or [""]
    return lines


def build_parser(prog: str = "fastact") -> argparse.ArgumentParser:
    """The parser of the ``fastact`` command, named ``prog`` in its usage lines.

    Examples
    --------
    >>> build_parser().parse_args(["bench", "--quick"]).quick
    True
    """
    from fastact import __version__
    from fastact.bench import harness

    parser = argparse.ArgumentParser(
        prog=prog,
        description="fastact: fast, exact activation functions for NumPy arrays.",
    )
    parser.add_argument("--version", action="version", version=f"fastact {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{info,bench}")
    sub.add_parser(
        "info",
        help="versions, backends, threads and the dispatcher's rules",
        description="Print what fastact can run here and how it chooses (fastact.show_config).",
    )
    harness.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fastact`` command line and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the command name; default: ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success; 1 when ``fastact bench --check`` finds a bar not met.
        Bad arguments exit with status 2 (argparse).

    Examples
    --------
    >>> main([])  # doctest: +ELLIPSIS
    usage: ...fastact [-h] [--version] {info,bench} ...
    ...
    0
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    prog = prog_name()
    parser = build_parser(prog)
    args = parser.parse_args(args_list)
    if args.command == "info":
        print("\n".join(_info_lines()))
    elif args.command == "bench":
        from fastact.bench import harness

        return harness.run(args, harness.format_command(prog, args_list))
    else:
        parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
