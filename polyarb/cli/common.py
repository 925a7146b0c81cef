"""Helpers shared by the subcommands: paths, errors, output formats."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
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


# -- typed argparse validators: the one place numeric options are checked -----------------
# argparse turns ArgumentTypeError into "argument --x: <message>" and exit 2, so a bad
# number never reaches a command (nan compares false with every bound, so test it first).


def _number(text: str, kind: type[int] | type[float]) -> float:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        noun = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def number_in(
    lo: float | None = None,
    hi: float | None = None,
    *,
    kind: type[int] | type[float] = float,
    low_open: bool = False,
) -> Callable[[str], Any]:
    """An argparse ``type=``: a finite ``kind`` within ``lo..hi`` (``low_open``: > lo)."""

    def parse(text: str) -> Any:
        value = _number(text, kind)
        if lo is not None and (value <= lo if low_open else value < lo):
            bound = "positive" if low_open and lo == 0 else f"{'>' if low_open else '≥'} {lo:g}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        if hi is not None and value > hi:
            raise argparse.ArgumentTypeError(f"must be ≤ {hi:g}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in "invalid <name> value"
    return parse


positive_float = number_in(0, 1e9, low_open=True)
"""A finite number > 0 (seconds, speeds, megabytes), capped where a float stops meaning time."""
nonneg_float = number_in(0, 1e9)
"""A finite number ≥ 0 (0 usually means off)."""
nonneg_int = number_in(0, 2**62, kind=int)
positive_int = number_in(1, 2**62, kind=int)
port = number_in(0, 65535, kind=int)
"""A TCP port, 0 = any free one."""


def error_line(exc: BaseException) -> tuple[str, int] | None:
    """The one-line message and exit code for an error of the project's, or None.

    Bad input (a damaged session, bad views, bad profiles) exits 2; a store operation
    that fails on the machine (full disk, unwritable file) exits 1.
    """
    from polyarb.analytics.views import AnalyticsError
    from polyarb.recording.compact import CompactError
    from polyarb.recording.files import StoreError
    from polyarb.recording.reader import SessionError

    if isinstance(exc, CliError):
        return str(exc), exc.exit_code
    if isinstance(exc, SessionError | AnalyticsError):
        return str(exc), 2
    if isinstance(exc, StoreError | CompactError):
        return str(exc), 1
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}", 1
    return None


def recordings_location(text: str, remote_ok: bool = True) -> Path | str:
    """``--recordings``: a local folder (Path) or an object-storage URL kept as text."""
    from polyarb.recording.storage import is_remote

    if not is_remote(text):
        return Path(text)
    if not remote_ok:
        raise argparse.ArgumentTypeError(
            f"{text}: this command needs a local folder (object storage works with "
            "replay, sessions, sql and sweep)"
        )
    return text  # Path() would fold the '//' of s3://bucket/prefix


def add_recordings_arg(parser: argparse.ArgumentParser, *, remote_ok: bool = False) -> None:
    """``--recordings DIR`` (default ``$POLYARB_RECORDINGS`` or ``./recordings``).

    With ``remote_ok`` the command also takes ``s3://bucket/prefix`` (docs/sweeps.md).
    """
    where = "folder holding session folders" + (
        ", or s3://bucket/prefix of pushed sessions" if remote_ok else ""
    )
    parser.add_argument(
        "--recordings",
        type=lambda text: recordings_location(text, remote_ok),
        default=os.environ.get("POLYARB_RECORDINGS", DEFAULT_RECORDINGS),
        help=f"{where} (default: $POLYARB_RECORDINGS or ./recordings)",
    )


def session_path(recordings: Path | str, session: str) -> Path:
    """Resolve ``--session`` as a path or an id under ``recordings``; clear error if absent.

    Under an object-storage URL the session is pulled (checksums verified) into the
    local cache first.
    """
    from polyarb.recording.storage import StorageError, cache_root, is_remote, pull_session

    if is_remote(recordings):
        try:
            return pull_session(str(recordings), session, cache_root(str(recordings)))
        except StorageError as exc:
            raise CliError(str(exc)) from None
    recordings = Path(recordings)
    direct = Path(session)
    candidate = recordings / session
    try:
        if (direct / "manifest.json").is_file():
            return direct
        if (candidate / "manifest.json").is_file():
            return candidate
    except (OSError, ValueError) as exc:  # a name too long for the OS, a NUL byte
        shown = session if len(session) <= 60 else session[:57] + "..."
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise CliError(f"session {shown!r}: {reason or exc}") from None
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
