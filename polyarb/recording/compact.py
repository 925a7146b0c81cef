"""``polyarb sessions compact``: rewrite sealed parts with the book-delta codec, verified.

A compacted part has the frames columns plus ``book_skeleton``, ``book_ref``
and ``book_ops``; ``payload`` is null where a row is encoded. Readers get the
exact texts back through ``compacted.decoded_batches`` (the :class:`SessionReader`
does this by itself); a plain Parquet reader sees the nulls. Each part is
written to a temp file, decoded in full and compared with the original by
SHA-256 of every payload before it replaces the original.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from polyarb.errors import PolyarbError
from polyarb.recording.codec import CODEC, encode_rows
from polyarb.recording.compacted import COMPACT_SCHEMA, decoded_batches, is_compacted
from polyarb.recording.files import sha256_file
from polyarb.recording.manifest import write_manifest
from polyarb.recording.schema import PARQUET_OPTIONS, conform

ARCHIVE_LEVEL = 9
"""zstd level of compacted parts: archival, so the extra sealing CPU is paid once, offline."""
_ROWS_PER_GROUP = 65_536


def _payload_digest(batches: Iterator[pa.RecordBatch]) -> tuple[int, str]:
    digest = hashlib.sha256()
    rows = 0
    for batch in batches:
        batch = conform(batch)
        exact = batch.column("payload_bin").to_pylist()
        for text, raw in zip(batch.column("payload").to_pylist(), exact, strict=True):
            for data in (text.encode(), raw):
                if data is None:
                    digest.update(b"\xff" * 4)  # no exact bytes: not the same as empty ones
                    continue
                digest.update(len(data).to_bytes(4, "big"))
                digest.update(data)
            rows += 1
    return rows, digest.hexdigest()


def _encode_part(pf: pq.ParquetFile) -> Iterator[pa.Table]:
    """The whole part through one encoder (its state spans the part, like the decoder's)."""
    columns: dict[str, list[Any]] = {}

    def rows() -> Iterator[tuple[str, str]]:
        for raw in pf.iter_batches(batch_size=_ROWS_PER_GROUP):
            batch = conform(raw)
            kinds = batch.column("kind").to_pylist()
            payloads = batch.column("payload").to_pylist()
            for name in ("seq", "recv_ns", "mono_ns", "conn_id", "kind", "payload_bin"):
                columns.setdefault(name, []).extend(batch.column(name).to_pylist())
            yield from zip(kinds, payloads, strict=True)

    out: list[Any] = []
    for encoded in encode_rows(rows()):
        out.append(encoded)
        if len(out) == _ROWS_PER_GROUP:
            yield _table(columns, out)
            out = []
    if out:
        yield _table(columns, out)


def _table(columns: dict[str, list[Any]], encoded: list[Any]) -> pa.Table:
    n = len(encoded)
    head = {name: values[:n] for name, values in columns.items()}
    for values in columns.values():
        del values[:n]
    return pa.Table.from_arrays(
        [
            pa.array(head["seq"], pa.int64()),
            pa.array(head["recv_ns"], pa.int64()),
            pa.array(head["mono_ns"], pa.int64()),
            pa.array(head["conn_id"], pa.int32()),
            pa.array(head["kind"], pa.string()),
            pa.array([e.payload for e in encoded], pa.string()),
            pa.array(head["payload_bin"], pa.binary()),
            pa.array([e.skeleton for e in encoded], pa.string()),
            pa.array([e.ref for e in encoded], pa.int8()),
            pa.array([e.ops for e in encoded], pa.string()),
        ],
        schema=COMPACT_SCHEMA,
    )


class CompactError(RuntimeError, PolyarbError):
    """A part could not be compacted (the original is left as it was)."""


def compact_part(part: Path, level: int = ARCHIVE_LEVEL) -> tuple[int, int]:
    """Rewrite one sealed part compacted; returns (bytes before, bytes after).

    The new file replaces the part only after decoding it gives every payload
    back exactly (same count, same SHA-256 over length-prefixed payloads), and
    only when it is smaller: otherwise the original stays and after == before.
    """
    original = pq.ParquetFile(str(part))
    if is_compacted(original):
        size = part.stat().st_size
        return size, size
    before = part.stat().st_size
    expected = _payload_digest(original.iter_batches(batch_size=_ROWS_PER_GROUP))
    tmp = part.with_name(part.name + ".tmp")
    # A leftover temp name may be a symlink planted to lead out: never write through one.
    tmp.unlink(missing_ok=True)
    options = {**PARQUET_OPTIONS, "compression_level": level}
    options["use_dictionary"] = ["kind", "book_ref"]
    try:
        with pq.ParquetWriter(str(tmp), COMPACT_SCHEMA, **options) as out:
            for table in _encode_part(original):
                out.write_table(table, row_group_size=_ROWS_PER_GROUP)
        got = _payload_digest(
            decoded_batches(pq.ParquetFile(str(tmp)), batch_size=_ROWS_PER_GROUP, columns=None)
        )
        if got != expected:
            raise CompactError(f"{part}: decoding the compacted part does not give it back")
        if tmp.stat().st_size >= before:  # e.g. a small part of non-book frames: keep it
            return before, before
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, part)
    except OSError as exc:
        raise CompactError(f"cannot compact {part}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return before, part.stat().st_size


def compact_session(
    session_dir: Path,
    level: int = ARCHIVE_LEVEL,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Compact every sealed part of a session and update its manifest; returns byte totals."""
    from polyarb.recording.reader import SessionReader

    reader = SessionReader(session_dir)
    manifest = reader.manifest
    if not manifest.sealed:
        raise CompactError(f"{session_dir.name}: not sealed (recording running or crashed)")
    # Every part is where the manifest says, inside the folder and unchanged, before one
    # byte is rewritten: a compacted copy of a damaged part would certify the damage.
    for path in reader.part_paths():
        reader.verify_part(path)
    totals = {"parts": 0, "before": 0, "after": 0}
    for record in manifest.parts:
        path = session_dir / record.file
        before, after = compact_part(path, level)
        if is_compacted(pq.ParquetFile(str(path))):
            record.bytes, record.sha256, record.codec = after, sha256_file(path), CODEC
            write_manifest(session_dir, manifest)
        totals["parts"] += 1
        totals["before"] += before
        totals["after"] += after
        if progress is not None:
            progress(record.file, before, after)
    return totals
