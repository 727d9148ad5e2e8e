"""Command line: ``python -m fastact info`` and ``python -m fastact bench``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Run the ``fastact`` command line and return its exit status."""
    parser = argparse.ArgumentParser(prog="python -m fastact", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="versions, backends, threads and the dispatcher's rules")
    from fastact import _bench

    _bench.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "info":
        from fastact._info import show_config

        show_config()
    elif args.command == "bench":
        return _bench.run(args, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
