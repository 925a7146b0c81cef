"""Helpers shared by the subcommands: paths, errors, output formats."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyarb.errors import PolyarbError
from polyarb.names import NAME_MAX, NAME_RE

if TYPE_CHECKING:
    from rich.console import Console

DEFAULT_RECORDINGS = "recordings"


class CliError(PolyarbError):
    """A user-facing error: printed without a traceback, exits with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def plain_name(value: str, what: str) -> str:
    """``value`` if it is a plain folder name (:data:`NAME_RE`), else a CliError (exit 2)."""
    if not NAME_RE.fullmatch(value):
        shown = value if len(value) <= 60 else value[:60] + "..."
        raise CliError(
            f"{what} {shown!r}: use a plain name (letters, digits, '.', '_', '-'; first a letter "
            f"or digit; at most {NAME_MAX} characters)"
        )
    return value


def add_recordings_arg(parser: argparse.ArgumentParser) -> None:
    """``--recordings DIR`` (default ``$POLYARB_RECORDINGS`` or ``./recordings``)."""
    parser.add_argument(
        "--recordings",
        type=Path,
        default=Path(os.environ.get("POLYARB_RECORDINGS", DEFAULT_RECORDINGS)),
        help="folder holding session folders (default: $POLYARB_RECORDINGS or ./recordings)",
    )


def session_path(recordings: Path, session: str) -> Path:
    """Resolve ``--session`` as a path or an id under ``recordings``; clear error if absent."""
    direct = Path(session)
    if (direct / "manifest.json").is_file():
        return direct
    candidate = recordings / session
    if (candidate / "manifest.json").is_file():
        return candidate
    known = sorted(p.parent.name for p in recordings.glob("*/manifest.json"))
    hint = (
        f" Known sessions: {', '.join(known)}."
        if known
        else (" No sessions yet: try 'polyarb import resolvedkit'.")
    )
    raise CliError(f"no session {session!r} under {recordings}.{hint}")


def print_json(data: Any) -> None:
    """Print JSON to stdout, stable key order."""
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def shared_data_dir() -> Path:
    """``../shared/data/polymarket`` beside the checkout, or ``$POLYARB_SHARED_DATA``."""
    env = os.environ.get("POLYARB_SHARED_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "data" / "polymarket"
        if candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared" / "data" / "polymarket"


def console(*, stderr: bool = False) -> Console:
    """A rich Console that stays wide when piped (rich would squeeze tables to 80 columns)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 200
    return Console(file=stream, width=width, soft_wrap=False)
