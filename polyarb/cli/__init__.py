"""The ``polyarb`` command. Each subcommand lives in its own module here.

A module ``polyarb/cli/cmd_<name>.py`` defines ``register(subparsers)``, which
adds its parser and sets ``func``; ``main`` discovers them in name order, so
adding a command touches one new file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from polyarb._version import __version__
from polyarb.cli.common import error_line


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every discovered subcommand."""
    parser = argparse.ArgumentParser(
        prog="polyarb",
        description=(
            "Record Polymarket's CLOB market WebSocket into Parquet sessions, replay them "
            "deterministically through the live engine, run it in shadow, and decide promotion."
        ),
        epilog="Run 'polyarb COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"polyarb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    package = sys.modules[__name__]
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: exit 0 on success, 1 on a negative verdict, 2 on bad input."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # The project's errors (and the machine's: a full disk) end as one line and an exit
        # code, wherever they are raised; anything else is a bug and keeps its traceback.
        known = error_line(exc)
        if known is None:
            raise
        message, code = known
        print(f"polyarb {args.command}: error: {' '.join(message.split())}", file=sys.stderr)
        return code
