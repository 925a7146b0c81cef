"""Append frames to a session, crash-safely.

Frames go first to an Arrow IPC *journal* (``part-N.arrows``), one record
batch per flush (≤ 1 s apart): a SIGKILL leaves a stream whose complete
batches still read back. Rotation and :meth:`SessionWriter.close` turn the
journal into ``part-N.parquet`` (write temp, fsync, rename), so a Parquet part
on disk is always whole. :func:`recover_journals` seals what a crash left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from polyarb._version import __version__
from polyarb.frames import FrameBlock, FrameKind
from polyarb.protocol.markets import MarketMeta
from polyarb.recording.files import (
    StoreError,
    journal_batches,
    read_markets_table,
    sha256_file,
)
from polyarb.recording.manifest import (
    MANIFEST_FORMAT,
    Manifest,
    Part,
    read_manifest,
    write_manifest,
)
from polyarb.recording.schema import FRAMES_SCHEMA, MARKETS_SCHEMA, PARQUET_OPTIONS


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_journal(path: Path) -> pa.Table:
    """All complete record batches of a journal as one table (see :func:`journal_batches`)."""
    return pa.Table.from_batches(list(journal_batches(path)), schema=FRAMES_SCHEMA)


_ROW_GROUP_ROWS = 131_072
_ROW_GROUP_BYTES = 64 << 20
"""A row group is written once this much is gathered: sealing holds one, not the whole part."""


def _seal_batches(
    batches: Iterator[pa.RecordBatch], target: Path, compression_level: int | None = None
) -> dict[str, Any] | None:
    """Stream ``batches`` into ``target`` (temp file, fsync, rename); None if there were none."""
    tmp = target.with_name(target.name + ".tmp")
    options = dict(PARQUET_OPTIONS)
    if compression_level is not None:
        options["compression_level"] = compression_level
    rows = 0
    first_seq = last_seq = None
    try:
        with pq.ParquetWriter(str(tmp), FRAMES_SCHEMA, **options) as out:
            group: list[pa.RecordBatch] = []
            size = 0
            for batch in batches:
                if not batch.num_rows:
                    continue
                if first_seq is None:
                    first_seq = batch.column(0)[0].as_py()
                last_seq = batch.column(0)[-1].as_py()
                rows += batch.num_rows
                group.append(batch)
                size += batch.nbytes
                if size >= _ROW_GROUP_BYTES or sum(b.num_rows for b in group) >= _ROW_GROUP_ROWS:
                    out.write_table(pa.Table.from_batches(group), row_group_size=_ROW_GROUP_ROWS)
                    group, size = [], 0
            if group:
                out.write_table(pa.Table.from_batches(group), row_group_size=_ROW_GROUP_ROWS)
        if not rows:
            tmp.unlink()
            return None
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(f"cannot seal {target}: {exc.strerror or exc}") from exc
    _fsync_dir(target.parent)
    return {
        "file": f"frames/{target.name}",
        "rows": rows,
        "first_seq": first_seq,
        "last_seq": last_seq,
        "bytes": target.stat().st_size,
        "sha256": sha256_file(target),
    }


def seal_journal(journal: Path, compression_level: int | None = None) -> dict[str, Any] | None:
    """Turn a closed journal into its Parquet part (then delete it); None if it was empty.

    Safe to run in a worker thread while the writer goes on with the next part;
    a crash before the journal is deleted just seals it again on recovery.
    Memory stays at about one row group, whatever the part's size.
    """
    record = _seal_batches(
        journal_batches(journal), journal.with_suffix(".parquet"), compression_level
    )
    try:
        journal.unlink()
    except OSError as exc:
        raise StoreError(f"cannot remove sealed journal {journal}: {exc.strerror or exc}") from exc
    return record


def recover_journals(session_dir: Path) -> list[dict[str, Any]]:
    """Seal every journal a crash left behind; returns their part records."""
    for stale in [*(session_dir / "frames").glob("*.tmp"), *session_dir.glob("*.tmp")]:
        stale.unlink()  # a write cut short by the crash; its target is still the old whole file
    parts = []
    for journal in sorted((session_dir / "frames").glob("part-*.arrows")):
        record = seal_journal(journal)
        if record is not None:
            parts.append(record)
    return parts


_Piece = tuple[str, bytes, "array[int] | None", int, int, int]
"""``(kind, data, ends, recv_ns, mono_ns, conn_id)``: one row (``ends`` None) or a block."""
_BATCH_BYTES = 1 << 30
"""Payload bytes per record batch: Arrow string offsets are int32."""


def _groups(pieces: list[_Piece]) -> list[list[_Piece]]:
    """Split pieces into runs whose payloads fit one string column."""
    groups: list[list[_Piece]] = [[]]
    size = 0
    for piece in pieces:
        if size + len(piece[1]) > _BATCH_BYTES and groups[-1]:
            groups.append([])
            size = 0
        groups[-1].append(piece)
        size += len(piece[1])
    return groups


def _record_batch(pieces: list[_Piece], first_seq: int) -> pa.RecordBatch:
    """The journal batch of ``pieces``, built from their buffers without a per-row object."""
    counts = np.fromiter((1 if p[2] is None else len(p[2]) for p in pieces), np.int64, len(pieces))
    rows = int(counts.sum())
    ends: list[np.ndarray] = [np.zeros(1, np.int64)]
    singles: list[int] = []
    base = 0
    for _, data, piece_ends, *_ in pieces:
        if piece_ends is None:
            singles.append(len(data))
            continue
        if singles:
            ends.append(np.cumsum(singles) + base)
            base = int(ends[-1][-1])
            singles = []
        ends.append(np.frombuffer(piece_ends, np.int64) + base)
        base += len(data)
    if singles:
        ends.append(np.cumsum(singles) + base)
    offsets = np.concatenate(ends).astype(np.int32)
    payload = pa.Array.from_buffers(
        pa.string(),
        rows,
        [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(p[1] for p in pieces))],
    )
    kinds = sorted({p[0] for p in pieces})
    exact: pa.Array = pa.nulls(rows, pa.binary())
    # One vectorised check per batch; only a batch holding a frame that is not UTF-8 (or a
    # binary message) pays for the per-row path below.
    binary = FrameKind.BINARY.value in kinds
    try:
        payload.validate(full=True)
    except pa.ArrowInvalid:
        binary = True
    if binary:
        payload, exact = _exact_columns(payload.cast(pa.binary()), pieces, counts)
    index = {k: i for i, k in enumerate(kinds)}
    kind = pa.DictionaryArray.from_arrays(
        np.repeat(np.fromiter((index[p[0]] for p in pieces), np.int32, len(pieces)), counts),
        pa.array(kinds, pa.string()),
    ).cast(pa.string())

    def repeated(column: int, dtype: type[np.integer[Any]]) -> np.ndarray:
        values = np.fromiter((p[column] for p in pieces), dtype, len(pieces))
        return np.repeat(values, counts)

    return pa.RecordBatch.from_arrays(
        [
            pa.array(np.arange(first_seq, first_seq + rows, dtype=np.int64)),
            pa.array(repeated(3, np.int64)),
            pa.array(repeated(4, np.int64)),
            pa.array(repeated(5, np.int32)),
            kind,
            payload,
            exact,
        ],
        schema=FRAMES_SCHEMA,
    )


def _exact_columns(
    raw: pa.Array, pieces: list[_Piece], counts: np.ndarray
) -> tuple[pa.Array, pa.Array]:
    """``payload`` and ``payload_bin`` for rows some of which are not UTF-8 text.

    UTF-8 text stays in ``payload`` alone; other text goes to ``payload`` decoded with
    U+FFFD (what a parser of the text sees) and to ``payload_bin`` byte for byte; a
    ``binary`` row's payload is empty and its bytes are in ``payload_bin``.
    """
    kinds = np.repeat(np.array([p[0] for p in pieces], dtype=object), counts)
    texts: list[str] = []
    exact: list[bytes | None] = []
    for kind, data in zip(kinds, raw.to_pylist(), strict=True):
        if kind == FrameKind.BINARY:
            texts.append("")
            exact.append(data)
            continue
        try:
            texts.append(data.decode("utf-8"))
            exact.append(None)
        except UnicodeDecodeError:
            texts.append(data.decode("utf-8", "replace"))
            exact.append(data)
    return pa.array(texts, pa.string()), pa.array(exact, pa.binary())


class SessionWriter:
    """Writes ``recordings/<session_id>/``: frames parts, markets, manifest.

    ``append`` is cheap (list appends); call :meth:`maybe_flush` often: it
    writes a batch to the journal when ``flush_interval_s`` has passed, which
    bounds what a crash can lose. Opening an existing unsealed session
    recovers its journals and continues its seq numbering.
    """

    def __init__(
        self,
        root: Path | str,
        session_id: str,
        *,
        feed_url: str = "",
        source: dict[str, Any] | None = None,
        flush_interval_s: float = 0.5,
        part_max_rows: int = 2_000_000,
        part_max_bytes: int = 256 << 20,
        part_max_seconds: float = 3600.0,
        compression_level: int | None = None,
    ) -> None:
        self.dir = Path(root) / session_id
        self.compression_level = compression_level
        self.session_id = session_id
        self.flush_interval_s = flush_interval_s
        self.part_max_rows = part_max_rows
        self.part_max_bytes = part_max_bytes
        self.part_max_seconds = part_max_seconds
        frames_dir = self.dir / "frames"
        try:
            frames_dir.mkdir(parents=True, exist_ok=True)
            probe = frames_dir / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StoreError(
                f"cannot write session folder {self.dir}: {exc.strerror or exc}"
            ) from exc
        old = read_manifest(self.dir) if (self.dir / "manifest.json").exists() else None
        recovered = recover_journals(self.dir)
        # read_manifest accepts only frames/part-NNNNNN.parquet names: a manifest never
        # points the writer elsewhere.
        self.parts: list[dict[str, Any]] = [
            p.to_dict() for p in (old.parts if old else []) if (self.dir / p.file).exists()
        ]
        known = {p["file"] for p in self.parts}
        self.parts += [p for p in recovered if p["file"] not in known]
        self.parts += self._unlisted_parts(known | {p["file"] for p in recovered})
        self.parts.sort(key=lambda p: p["file"])
        self.recovered_rows = sum(p["rows"] for p in recovered)
        self.next_seq = max((p["last_seq"] + 1 for p in self.parts if p["rows"]), default=0)
        self.manifest = Manifest(
            id=session_id,
            format=MANIFEST_FORMAT,
            polyarb_version=__version__,
            feed_url=feed_url or (old.feed_url if old else ""),
            created_ns=old.created_ns if old else time.time_ns(),
            source=source if source is not None else (old.source if old else {}),
            assets=old.assets if old else [],
            sealed=False,
            recoveries=(old.recoveries if old else 0) + (1 if recovered else 0),
            parts=[],
            counts={},
            frames=0,
            start_ns=None,
            end_ns=None,
            markets=0,
        )
        self._counts: dict[str, int] = dict(old.counts) if old else {}
        self._first_recv: int | None = old.start_ns if old else None
        self._last_recv: int | None = old.end_ns if old else None
        self._part_index = len(self.parts) and int(self.parts[-1]["file"][12:18]) + 1
        self._pieces: list[_Piece] = []
        self._pending_rows = 0
        self._journal: ipc.RecordBatchStreamWriter | None = None
        self._sink: Any = None
        self._part_rows = 0
        self._part_bytes = 0
        self._part_started = time.monotonic()
        self._last_flush = time.monotonic()
        self._markets: list[tuple[int, MarketMeta]] = []
        if (self.dir / "markets.parquet").exists():
            self._markets = read_markets_table(self.dir / "markets.parquet")
        self._write_manifest()

    def _unlisted_parts(self, known: set[str]) -> list[dict[str, Any]]:
        found = []
        for path in sorted((self.dir / "frames").glob("part-*.parquet")):
            rel = f"frames/{path.name}"
            if rel not in known:
                meta = pq.ParquetFile(str(path)).read(columns=["seq"]).column("seq")
                found.append(
                    {
                        "file": rel,
                        "rows": len(meta),
                        "first_seq": meta[0].as_py() if len(meta) else None,
                        "last_seq": meta[-1].as_py() if len(meta) else None,
                        "bytes": path.stat().st_size,
                        "sha256": sha256_file(path),
                    }
                )
        return found

    # -- frames --------------------------------------------------------------------------

    def append(
        self, kind: str, payload: str | bytes, recv_ns: int, mono_ns: int, conn_id: int = 0
    ) -> int:
        """Add one row; returns its seq (gapless, from 0). Bytes are stored exactly as given."""
        data = payload if isinstance(payload, bytes) else payload.encode()
        return self._add(kind, data, None, recv_ns, mono_ns, conn_id)

    def append_rows(self, rows: Sequence[tuple[str, str, int, int, int]]) -> int:
        """Add many ``(kind, payload, recv_ns, mono_ns, conn_id)`` rows; returns the first seq."""
        first = self.next_seq
        for kind, payload, recv_ns, mono_ns, conn_id in rows:
            self._add(kind, payload.encode(), None, recv_ns, mono_ns, conn_id)
        return first

    def append_block(self, block: FrameBlock, kind: str = "frame") -> int:
        """Add every frame of ``block`` as a ``kind`` row (``binary`` if it is); the first seq."""
        if block.binary:
            kind = FrameKind.BINARY.value
        return self._add(kind, block.data, block.ends, block.recv_ns, block.mono_ns, block.conn_id)

    def _add(
        self, kind: str, data: bytes, ends: array[int] | None, recv: int, mono: int, conn: int
    ) -> int:
        first = self.next_seq
        rows = 1 if ends is None else len(ends)
        if not rows:
            return first
        self._pieces.append((kind, data, ends, recv, mono, conn))
        self.next_seq = first + rows
        self._pending_rows += rows
        self._part_bytes += len(data)
        self._counts[kind] = self._counts.get(kind, 0) + rows
        if self._first_recv is None:
            self._first_recv = recv
        self._last_recv = recv
        return first

    def part_full(self) -> bool:
        """Whether the open part reached its row, byte or age limit."""
        return (
            self._part_rows >= self.part_max_rows
            or self._part_bytes >= self.part_max_bytes
            or (
                self._journal is not None
                and time.monotonic() - self._part_started >= self.part_max_seconds
            )
        )

    def maybe_flush(self) -> bool:
        """Flush if the flush interval has passed; rotate if the part is full."""
        now = time.monotonic()
        if now - self._last_flush < self.flush_interval_s:
            return False
        self.flush()
        if (
            self._part_rows >= self.part_max_rows
            or self._part_bytes >= self.part_max_bytes
            or now - self._part_started >= self.part_max_seconds
        ):
            self.rotate()
        return True

    def flush(self) -> None:
        """Write buffered rows to the journal and push them to the OS."""
        self._last_flush = time.monotonic()
        if not self._pieces:
            return
        pieces, self._pieces = self._pieces, []
        first = self.next_seq - self._pending_rows
        self._pending_rows = 0
        try:
            if self._journal is None:
                path = self.dir / "frames" / f"part-{self._part_index:06d}.arrows"
                self._sink = pa.OSFile(str(path), "wb")
                self._journal = ipc.new_stream(self._sink, FRAMES_SCHEMA)
                self._part_started = time.monotonic()
            for group in _groups(pieces):
                batch = _record_batch(group, first)
                first += batch.num_rows
                self._journal.write_batch(batch)
                self._part_rows += batch.num_rows
            self._sink.flush()
        except OSError as exc:
            raise StoreError(f"cannot write frames to {self.dir}: {exc.strerror or exc}") from exc

    def rotate(self) -> None:
        """Seal the current part as Parquet and start a new one."""
        journal = self.detach_part()
        if journal is not None:
            self.add_part(seal_journal(journal, self.compression_level))

    def detach_part(self) -> Path | None:
        """Flush and close the open journal without sealing it; the next flush starts a new part.

        Returns the closed journal for :func:`seal_journal` (possibly in a worker
        thread), whose record then goes to :meth:`add_part`; None if no part was open.
        """
        self.flush()
        if self._journal is None:
            return None
        try:
            self._journal.close()
            self._sink.close()
        except OSError as exc:
            raise StoreError(f"cannot close journal in {self.dir}: {exc.strerror or exc}") from exc
        finally:
            self._journal = None
        journal = self.dir / "frames" / f"part-{self._part_index:06d}.arrows"
        self._part_index += 1
        self._part_rows = 0
        self._part_bytes = 0
        return journal

    def add_part(self, record: dict[str, Any] | None) -> None:
        """Register a sealed part (from :func:`seal_journal`) in the manifest."""
        if record is not None:
            self.parts.append(record)
            self.parts.sort(key=lambda p: p["file"])
        self._write_manifest()

    # -- metadata ----------------------------------------------------------------------

    def set_assets(self, assets: Iterable[str]) -> None:
        """Record the asset ids this session subscribes to (kept sorted, unique)."""
        self.manifest.assets = sorted(set(self.manifest.assets) | set(assets))

    def write_markets(
        self, markets: Iterable[MarketMeta], valid_from_seq: int | None = None
    ) -> None:
        """Add market metadata rows effective from ``valid_from_seq`` (default: next seq)."""
        seq = self.next_seq if valid_from_seq is None else valid_from_seq
        self._markets.extend((seq, m) for m in markets)
        rows = [{"valid_from_seq": s, **msgspec.structs.asdict(m)} for s, m in self._markets]
        table = pa.Table.from_pylist(rows, schema=MARKETS_SCHEMA)
        target = self.dir / "markets.parquet"
        tmp = target.with_name("markets.parquet.tmp")
        try:
            pq.write_table(table, str(tmp), compression="zstd")
            os.replace(tmp, target)
        except OSError as exc:
            raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from exc

    def _write_manifest(self, *, sealed: bool = False) -> None:
        m = self.manifest
        m.sealed = sealed
        m.parts = [msgspec.convert(p, Part) for p in self.parts]
        m.counts = dict(sorted(self._counts.items()))
        m.frames = sum(p["rows"] for p in self.parts)
        m.start_ns = self._first_recv
        m.end_ns = self._last_recv
        m.markets = len({meta.condition_id for _, meta in self._markets})
        write_manifest(self.dir, m)

    def close(self) -> None:
        """Seal the session: last part to Parquet, manifest marked sealed."""
        self.rotate()
        self._write_manifest(sealed=True)

    @classmethod
    def fresh(cls, root: Path | str, session_id: str, **options: Any) -> SessionWriter:
        """A writer on an empty session folder: what was there is removed first.

        For converters and generators, whose output is reproducible from their
        input; a recorder opens with ``SessionWriter(...)`` and so resumes instead.
        """
        target = Path(root) / session_id
        if target.exists():
            shutil.rmtree(target)
        return cls(root, session_id, **options)

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
