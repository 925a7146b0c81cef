"""Read a session back: frames in seq order with bounded memory, markets, manifest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from polyarb.protocol.markets import MarketMeta
from polyarb.recording.compacted import decoded_batches, is_compacted, row_group_batches
from polyarb.recording.files import journal_batches, sha256_file
from polyarb.recording.files import read_markets_table as _markets_rows
from polyarb.recording.manifest import Manifest, SessionError, read_manifest
from polyarb.recording.schema import FRAMES_SCHEMA, conform

__all__ = ["Frame", "Manifest", "SessionError", "SessionReader", "read_manifest"]

_READ_BUFFER = 1 << 20
"""Bytes read at a time from a column chunk (pyarrow streams the chunk instead of reading it whole)."""


class Frame(msgspec.Struct, frozen=True, gc=False):
    """One frames row (docs/sessions.md)."""

    seq: int
    recv_ns: int
    mono_ns: int
    conn_id: int
    kind: str
    payload: str
    payload_bin: bytes | None = None
    """The exact bytes when ``payload`` is not them (not UTF-8, or a ``binary`` row)."""

    @property
    def data(self) -> bytes:
        """The bytes exactly as received."""
        return self.payload_bin if self.payload_bin is not None else self.payload.encode()


def read_markets_table(path: Path) -> list[tuple[int, MarketMeta]]:
    """``(valid_from_seq, MarketMeta)`` rows of a ``markets.parquet``; SessionError if unreadable."""
    try:
        names = set(pq.read_schema(str(path)).names)
        missing = {"valid_from_seq", "condition_id", "token_ids", "outcomes"} - names
        if missing:
            raise SessionError(f"{path}: not a markets table (no {', '.join(sorted(missing))})")
        return _markets_rows(path)
    except (pa.ArrowException, OSError, TypeError, ValueError, msgspec.ValidationError) as exc:
        if isinstance(exc, SessionError):
            raise
        raise SessionError(f"{path}: unreadable markets table: {_why(exc)}") from None


def _why(exc: BaseException) -> str:
    """An exception as one short line (Arrow's messages can span lines)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


class SessionReader:
    """A recorded session at ``path`` (a folder with ``manifest.json``)."""

    def __init__(self, path: Path | str) -> None:
        self.dir = Path(path)
        if not (self.dir / "manifest.json").is_file():
            raise SessionError(f"{self.dir} is not a session (no manifest.json)")
        self.manifest: Manifest = read_manifest(self.dir)
        self.id: str = self.manifest.id

    @property
    def sealed(self) -> bool:
        return self.manifest.sealed

    @property
    def frames_missing(self) -> str | None:
        """Why this session has no frames to read although its manifest counts some, or None.

        A backup made without ``--include-frames`` restores manifests, markets and runs but
        no ``frames/``: every check on such a session must say so, not call it CLEAN."""
        frames = self.dir / "frames"
        # Only a missing frames/ folder means "not restored"; a part missing from a folder
        # that exists is damage, which part_paths names.
        if not self.manifest.frames or frames.exists():
            return None
        return (
            f"session {self.id}: frames not restored ({self.manifest.frames:,} rows in the "
            f"manifest, none under {frames}; the backup was made without "
            "--include-frames: restore one made with it, or re-import/re-record the session)"
        )

    def _records(self) -> dict[str, dict[str, Any]]:
        return {p["file"]: p for p in self.manifest.get("parts", [])}

    def problem(self) -> str | None:
        """Why this session cannot be trusted as listed (cheap: names and sizes), or None."""
        try:
            self.part_paths(footers=False)
        except SessionError as exc:
            return str(exc)
        return None

    def part_paths(self, *, include_open: bool = False, footers: bool = True) -> list[Path]:
        """Sealed Parquet parts in order, checked against the manifest; live journals too if asked.

        Every listed part must be on disk, inside this folder (no symlink out), with
        the size and (``footers``) row count the manifest recorded; a sealed session may
        hold no part its manifest does not list. An unsealed one may: the recorder seals
        a part before it rewrites the manifest. Raises :class:`SessionError` naming the part.
        """
        records = self._records()
        frames = self.dir / "frames"
        on_disk = {f"frames/{p.name}": p for p in frames.glob("part-*.parquet")}
        root = self.dir.resolve()
        for name, record in records.items():
            path = on_disk.get(name)
            if path is None:
                raise SessionError(f"session {self.id}: part {name} is missing")
            if not path.resolve().is_relative_to(root) or not path.is_file():
                raise SessionError(f"session {self.id}: part {name} leads outside the session")
            size = record.get("bytes")
            actual = path.stat().st_size
            if size is not None and actual != size:
                raise SessionError(
                    f"session {self.id}: part {name} changed: {actual:,} bytes, "
                    f"the manifest says {size:,}"
                )
            if footers and "rows" in record:
                rows = _footer_rows(path, name, self.id)
                if rows != record["rows"]:
                    raise SessionError(
                        f"session {self.id}: part {name} changed: {rows:,} rows, "
                        f"the manifest says {record['rows']:,}"
                    )
        extra = sorted(set(on_disk) - set(records))
        if extra and self.sealed:
            raise SessionError(f"session {self.id}: part {extra[0]} is not in the manifest")
        listed = sum(int(r.get("rows", 0)) for r in records.values())
        counted = self.manifest.get("frames")
        if self.sealed and isinstance(counted, int) and counted != listed:
            # a part list cut short would otherwise replay as fewer frames, or none, silently
            raise SessionError(
                f"session {self.id}: the manifest counts {counted:,} frames but its parts "
                f"hold {listed:,}"
            )
        paths = sorted(on_disk.values())
        if include_open:
            paths = sorted([*paths, *frames.glob("part-*.arrows")])
        return paths

    def verify(self, *, include_open: bool = False) -> list[Path]:
        """Every check of :meth:`part_paths` plus each part's SHA-256; returns the parts."""
        paths = self.part_paths(include_open=include_open)
        for path in paths:
            if path.suffix == ".parquet":
                self.verify_part(path)
        return paths

    def verify_part(self, path: Path) -> None:
        """SHA-256 of a listed part against the manifest; SessionError naming the part if not."""
        name = f"frames/{path.name}"
        expected = self._records().get(name, {}).get("sha256")
        if expected is not None and sha256_file(path) != expected:
            raise SessionError(
                f"session {self.id}: part {name} changed: its SHA-256 differs from the manifest"
            )

    def markets(self) -> list[MarketMeta]:
        """The latest metadata of every market in the session, in first-seen order."""
        latest: dict[str, MarketMeta] = {}
        for _, meta in self.market_history():
            latest[meta.condition_id] = meta
        return list(latest.values())

    def market_history(self) -> list[tuple[int, MarketMeta]]:
        """Every metadata row with the seq it takes effect from."""
        path = self.dir / "markets.parquet"
        return read_markets_table(path) if path.exists() else []

    def iter_batches(
        self,
        *,
        batch_size: int = 65_536,
        columns: list[str] | None = None,
        include_open: bool = False,
    ) -> Iterator[pa.RecordBatch]:
        """Frames as Arrow record batches in seq order; memory bounded by ``batch_size``."""
        for path in self.part_paths(include_open=include_open):
            if path.suffix == ".arrows":
                for batch in journal_batches(path):
                    if columns:
                        batch = conform(batch, columns)
                    yield from pa.Table.from_batches([batch]).to_batches(max_chunksize=batch_size)
                continue
            # A whole-file hash costs one sequential read (~1 GB/s), small beside decoding the
            # rows; it is what tells a changed part from the one the manifest sealed.
            self.verify_part(path)
            try:
                # buffer_size streams each column chunk in pieces instead of reading it whole,
                # and no pre-buffering: peak memory is one batch, not the compressed chunks
                with pq.ParquetFile(str(path), buffer_size=_READ_BUFFER, pre_buffer=False) as pf:
                    if is_compacted(pf):
                        yield from decoded_batches(pf, batch_size=batch_size, columns=columns)
                        continue
                    have = pf.schema_arrow.names
                    present = [c for c in columns or FRAMES_SCHEMA.names if c in have]
                    for batch in row_group_batches(pf, batch_size, present):
                        yield conform(batch, columns)
            except (pa.ArrowException, OSError) as exc:
                raise SessionError(
                    f"session {self.id}: part frames/{path.name} is unreadable: {_why(exc)}"
                ) from None

    def frames(self, *, batch_size: int = 65_536, include_open: bool = False) -> Iterator[Frame]:
        """Every frames row as a :class:`Frame`, in seq order."""
        for batch in self.iter_batches(batch_size=batch_size, include_open=include_open):
            cols = [batch.column(i).to_pylist() for i in range(len(FRAMES_SCHEMA))]
            for row in zip(*cols, strict=True):
                yield Frame(*row)

    def count(self) -> int:
        """Number of sealed frames rows (from Parquet footers, without reading data)."""
        return sum(_footer_rows(p, p.name, self.id) for p in self.part_paths())


def _footer_rows(path: Path, name: str, sid: str) -> int:
    try:
        return int(pq.read_metadata(str(path)).num_rows)
    except (pa.ArrowException, OSError) as exc:
        raise SessionError(
            f"session {sid}: part {name} is not a whole Parquet file: {_why(exc)}"
        ) from None


def scan_sessions(root: Path | str) -> tuple[list[SessionReader], dict[str, str]]:
    """Readable sessions under ``root`` and ``{folder name: reason}`` of the damaged ones.

    One bad folder (a manifest that is not JSON, a truncated or missing part) must not
    hide the others, so every listing goes through here. Checks are cheap: names and sizes.
    """
    base = Path(root)
    if not base.is_dir():
        return [], {}
    good: list[SessionReader] = []
    damaged: dict[str, str] = {}
    for manifest in sorted(base.glob("*/manifest.json")):
        if manifest.parent.name.startswith("."):
            continue
        try:
            reader = SessionReader(manifest.parent)
        except SessionError as exc:
            damaged[manifest.parent.name] = str(exc)
            continue
        problem = reader.problem()
        if problem is not None:
            damaged[manifest.parent.name] = problem
        good.append(reader)
    return good, damaged


def _int(value: Any) -> int | None:
    """A manifest number, or None when the manifest holds something else there."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _fmt_ns(ns: int | None) -> str:
    if ns is None:
        return "-"
    try:
        return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "?"


def _duration(start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return "-"
    seconds = (end - start) // 10**9
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


def session_summary(reader: SessionReader) -> dict[str, Any]:
    """The one-line facts of a session, as ``sessions`` prints them."""
    m = reader.manifest
    return {
        "id": reader.id,
        "start": _fmt_ns(m.start_ns),
        "end": _fmt_ns(m.end_ns),
        "span": _duration(m.start_ns, m.end_ns),
        "frames": m.frames,
        "counts": m.counts,
        "assets": len(m.assets),
        "markets": m.markets,
        "sealed": m.sealed,
        "runs": sorted(p.name for p in (reader.dir / "runs").glob("*") if p.is_dir()),
    }


def list_sessions(root: Path | str) -> list[SessionReader]:
    """Every session folder under ``root`` whose manifest reads, sorted by folder name."""
    return scan_sessions(root)[0]
