"""A session's ``manifest.json``, as a typed record with one reader and one writer.

:class:`~polyarb.recording.writer.SessionWriter` writes it with :func:`write_manifest`
(and rewrites it as parts seal); :class:`~polyarb.recording.reader.SessionReader` and
compaction read it with :func:`read_manifest`. docs/sessions.md §manifest.json explains
each key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec

from polyarb.errors import PolyarbError
from polyarb.recording.files import write_json_atomic
from polyarb.runs.summary import Keyed

MANIFEST_FORMAT = 1

PART_FILE = re.compile(r"frames/part-\d{6}\.parquet")
"""The only ``parts[].file`` a manifest may name: a sealed part inside its own ``frames/``."""


class SessionError(ValueError, PolyarbError):
    """Not a session, or a session that fails its own checks."""


class Part(Keyed, msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """One sealed frames part, in seq order with the others."""

    file: str
    """Relative to the session folder: ``frames/part-NNNNNN.parquet``."""
    rows: int
    first_seq: int | None
    last_seq: int | None
    bytes: int
    sha256: str
    codec: str | None = None
    """Set once ``polyarb sessions compact`` re-encoded the part (docs/sessions.md §Compacted parts)."""


class Manifest(Keyed, msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a session holds and where it came from."""

    id: str
    format: int
    polyarb_version: str
    feed_url: str
    created_ns: int
    source: dict[str, Any]
    """Free-form provenance: recorder targets, import credit, shadow profile."""
    assets: list[str]
    """Subscribed asset ids, sorted."""
    sealed: bool
    recoveries: int
    """Times a writer reopened the session after a crash and sealed its journals."""
    parts: list[Part]
    counts: dict[str, int]
    """Rows by kind."""
    frames: int
    """Rows in sealed parts (every kind)."""
    start_ns: int | None
    end_ns: int | None
    markets: int


def read_manifest(path: Path | str) -> Manifest:
    """Read a session's ``manifest.json`` (or the folder holding it); errors name the file."""
    file = Path(path)
    if file.is_dir():
        file = file / "manifest.json"
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise SessionError(f"{file.parent} is not a session (no manifest.json)") from None
    except OSError as exc:
        raise SessionError(f"{file}: cannot read: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SessionError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not text.lstrip().startswith("{"):
        raise SessionError(f"{file}: a manifest is a JSON object, not {text.lstrip()[:1]!r}…")
    try:
        manifest = msgspec.json.decode(text, type=Manifest, strict=True)
    except msgspec.ValidationError as exc:
        raise SessionError(f"{file} is not a valid manifest: {exc}") from None
    except msgspec.DecodeError as exc:
        raise SessionError(f"{file} is not valid JSON: {exc}") from None
    for part in manifest.parts:
        # a path from the file is never followed outside the session (../../x, /etc/x)
        if not PART_FILE.fullmatch(part.file):
            raise SessionError(
                f"{file}: part {part.file!r} is not frames/part-NNNNNN.parquet inside the session"
            )
    return manifest


def manifest_from_dict(data: dict[str, Any], where: str) -> Manifest:
    """A manifest already parsed as JSON (e.g. fetched from object storage); errors name ``where``."""
    try:
        return msgspec.convert(data, type=Manifest, strict=True)
    except msgspec.ValidationError as exc:
        raise SessionError(f"{where} is not a valid manifest: {exc}") from None


def write_manifest(session_dir: Path, manifest: Manifest) -> None:
    """Write ``<session_dir>/manifest.json`` atomically (readers never see half a file)."""
    write_json_atomic(session_dir / "manifest.json", manifest.to_dict())
