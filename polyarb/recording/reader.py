"""Read a session back: frames in seq order with bounded memory, markets, manifest."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from polyarb.errors import PolyarbError
from polyarb.protocol.markets import MarketMeta
from polyarb.recording.files import journal_batches, read_markets_table
from polyarb.recording.schema import FRAMES_SCHEMA

_READ_BUFFER = 1 << 20
"""Bytes read at a time from a column chunk (pyarrow streams the chunk instead of reading it whole)."""


class SessionError(ValueError, PolyarbError):
    """Not a session, or a session that fails its own checks."""


class Frame(msgspec.Struct, frozen=True, gc=False):
    """One frames row (docs/sessions.md)."""

    seq: int
    recv_ns: int
    mono_ns: int
    conn_id: int
    kind: str
    payload: str


class SessionReader:
    """A recorded session at ``path`` (a folder with ``manifest.json``)."""

    def __init__(self, path: Path | str) -> None:
        self.dir = Path(path)
        manifest = self.dir / "manifest.json"
        if not manifest.is_file():
            raise SessionError(f"{self.dir} is not a session (no manifest.json)")
        try:
            self.manifest: dict[str, Any] = json.loads(manifest.read_text())
        except json.JSONDecodeError as exc:
            raise SessionError(f"{manifest} is not valid JSON: {exc}") from exc
        self.id: str = self.manifest.get("id", self.dir.name)

    @property
    def sealed(self) -> bool:
        return bool(self.manifest.get("sealed"))

    def part_paths(self, *, include_open: bool = False) -> list[Path]:
        """Sealed Parquet parts in order; with ``include_open``, live journals too."""
        paths = sorted((self.dir / "frames").glob("part-*.parquet"))
        if include_open:
            paths = sorted([*paths, *(self.dir / "frames").glob("part-*.arrows")])
        return paths

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
        from polyarb.recording.compact import decoded_batches, is_compacted

        for path in self.part_paths(include_open=include_open):
            if path.suffix == ".arrows":
                for batch in journal_batches(path):
                    if columns:
                        batch = batch.select(columns)
                    yield from pa.Table.from_batches([batch]).to_batches(max_chunksize=batch_size)
                continue
            # buffer_size streams each column chunk in pieces instead of reading it whole, and
            # no pre-buffering: peak memory is one batch, not the part's compressed chunks
            with pq.ParquetFile(str(path), buffer_size=_READ_BUFFER, pre_buffer=False) as pf:
                if is_compacted(pf):
                    yield from decoded_batches(pf, batch_size=batch_size, columns=columns)
                else:
                    yield from pf.iter_batches(batch_size=batch_size, columns=columns)

    def frames(self, *, batch_size: int = 65_536, include_open: bool = False) -> Iterator[Frame]:
        """Every frames row as a :class:`Frame`, in seq order."""
        for batch in self.iter_batches(batch_size=batch_size, include_open=include_open):
            cols = [batch.column(i).to_pylist() for i in range(len(FRAMES_SCHEMA))]
            for row in zip(*cols, strict=True):
                yield Frame(*row)

    def count(self) -> int:
        """Number of sealed frames rows (from Parquet footers, without reading data)."""
        return sum(pq.ParquetFile(str(p)).metadata.num_rows for p in self.part_paths())


def _fmt_ns(ns: int | None) -> str:
    if ns is None:
        return "-"
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


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
        "start": _fmt_ns(m.get("start_ns")),
        "end": _fmt_ns(m.get("end_ns")),
        "span": _duration(m.get("start_ns"), m.get("end_ns")),
        "frames": m.get("frames", 0),
        "counts": m.get("counts", {}),
        "assets": len(m.get("assets", [])),
        "markets": m.get("markets", 0),
        "sealed": m.get("sealed", False),
        "runs": sorted(p.name for p in (reader.dir / "runs").glob("*") if p.is_dir()),
    }


def list_sessions(root: Path | str) -> list[SessionReader]:
    """Every session folder under ``root``, sorted by id."""
    base = Path(root)
    if not base.is_dir():
        return []
    return [SessionReader(p.parent) for p in sorted(base.glob("*/manifest.json"))]
