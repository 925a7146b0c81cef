"""The decoded-session cache: a session's rows with their frames already parsed (docs/sessions.md).

``frames/`` stays the source of truth; the cache is a disposable copy next to it::

    recordings/<session>/cache/events-<parser version>-<content hash>.arrow
    recordings/<session>/cache/events-<parser version>-<content hash>.arrow.sha256

* **content hash**: SHA-256 over the session's sealed parts (name and SHA-256 of each
  file, as read now): the frames the cache was built from. Another part, or a changed
  one, gives another name, so a cache of older frames is never found.
* **parser version**: SHA-256 of the sources that turn wire text into events
  (:mod:`polyarb.protocol.parser`, :mod:`polyarb.events`, :mod:`polyarb.units`): any edit
  there makes every cache stale without anyone remembering to bump a number.
* The ``.sha256`` file holds the SHA-256 of the ``.arrow`` file, written last: a cache
  cut short, flipped or without it is corrupt. :func:`open_cache` checks all three and
  says why it ignores a cache; :func:`ensure_cache` then rebuilds it.

The ``.arrow`` file is an Arrow IPC file (zstd) with the replay columns ``seq``,
``recv_ns``, ``conn_id``, ``kind``, ``payload`` (null on ``frame`` rows: their
events replace it) and ``events``: per frame row, its events as MessagePack, in runs
of one event type (``[[type code, [event, ...]], ...]``), so a frame decodes with one
C call per run instead of the parser's Python per price and size. Reads stream one
record batch at a time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa

from polyarb import events as events_module
from polyarb import units as units_module
from polyarb.events import (
    BestBidAsk,
    BookSnapshot,
    ControlText,
    LastTrade,
    LevelChange,
    MarketEvent,
    MarketResolved,
    NewMarket,
    RejectedFrame,
    TickSizeChange,
)
from polyarb.protocol import parser as parser_module
from polyarb.protocol.parser import parse_frame
from polyarb.recording.files import sha256_file
from polyarb.recording.reader import SessionReader

FORMAT = 1
"""Layout of the cache file itself; part of the parser version."""
COLUMNS = ["seq", "recv_ns", "conn_id", "kind", "payload"]
SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64()),
        pa.field("recv_ns", pa.int64()),
        pa.field("conn_id", pa.int32()),
        pa.field("kind", pa.string()),
        pa.field("payload", pa.string(), nullable=True),
        pa.field("events", pa.binary(), nullable=True),
    ]
)
BATCH_ROWS = 4_096
"""Rows per record batch of the cache file: what one read holds in memory."""

EVENT_TYPES: tuple[type, ...] = (
    BookSnapshot,
    LevelChange,
    LastTrade,
    TickSizeChange,
    BestBidAsk,
    NewMarket,
    MarketResolved,
    ControlText,
    RejectedFrame,
)
"""Type codes are indexes here: appending keeps old codes, any change alters the parser version."""
_CODE = {t: i for i, t in enumerate(EVENT_TYPES)}
_ENCODER = msgspec.msgpack.Encoder()
_RUNS = msgspec.msgpack.Decoder(list[tuple[int, msgspec.Raw]])
_DECODERS = [msgspec.msgpack.Decoder(list[t]) for t in EVENT_TYPES]  # type: ignore[valid-type]

Row = tuple[int, int, str, str, int, list[MarketEvent] | None]
"""(seq, recv_ns, kind, payload, conn_id, events): what a replay feeds the engine."""


def parser_version() -> str:
    """First 16 hex of the SHA-256 of the parser's sources and the cache format."""
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    for path in parser_sources():
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def parser_sources() -> list[Path]:
    """The files whose code decides the parsed events (the compiled scanner's read, not imported)."""
    parser = Path(str(parser_module.__file__))
    modules = (events_module, units_module)
    return [parser, parser.with_name("levels_jit.py"), *(Path(str(m.__file__)) for m in modules)]


def content_hash(reader: SessionReader) -> str:
    """First 16 hex of the SHA-256 over the session's sealed parts as they are on disk."""
    digest = hashlib.sha256()
    for path in reader.part_paths():
        digest.update(f"{path.name} {sha256_file(path)}\n".encode())
    return digest.hexdigest()[:16]


def cache_dir(reader: SessionReader) -> Path:
    return reader.dir / "cache"


def cache_path(reader: SessionReader) -> Path:
    """Where the cache of the session's frames as they are now, by today's parser, lives."""
    return cache_dir(reader) / f"events-{parser_version()}-{content_hash(reader)}.arrow"


def encode_events(events: list[MarketEvent]) -> bytes:
    """A frame's events as runs of one type (see the module docstring)."""
    runs: list[list[Any]] = []
    last = -1
    for ev in events:
        code = _CODE[type(ev)]
        if code != last:
            runs.append([code, []])
            last = code
        runs[-1][1].append(ev)
    return _ENCODER.encode(runs)


def decode_events(blob: bytes) -> list[MarketEvent]:
    """The events :func:`encode_events` stored, equal to what the parser gave."""
    runs = _RUNS.decode(blob)
    if len(runs) == 1:
        code, raw = runs[0]
        return _DECODERS[code].decode(raw)
    out: list[MarketEvent] = []
    for code, raw in runs:
        out.extend(_DECODERS[code].decode(raw))
    return out


def build_cache(reader: SessionReader) -> Path:
    """Parse every frame of ``reader`` once and write the cache; returns its path.

    Streams: one record batch of the session in, one out. Written to a temporary
    name, renamed, then its ``.sha256`` (so a cache without one was cut short).
    """
    reader.verify()  # the cache is named after these frames: they must be the sealed ones
    path = cache_path(reader)
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob("events-*"):
        old.unlink()  # built for other frames or another parser: never read again
    tmp = path.with_name(path.name + ".tmp")
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    meta = {"parser_version": parser_version(), "content_hash": path.stem.split("-")[-1]}
    schema = SCHEMA.with_metadata(meta)
    rows = 0
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema, options=options) as out:
        for batch in reader.iter_batches(batch_size=BATCH_ROWS, columns=COLUMNS):
            kinds = batch.column("kind").to_pylist()
            payloads = batch.column("payload").to_pylist()
            blobs: list[bytes | None] = []
            texts: list[str | None] = []
            for kind, payload in zip(kinds, payloads, strict=True):
                if kind == "frame":
                    blobs.append(encode_events(parse_frame(payload)))
                    texts.append(None)
                else:
                    blobs.append(None)
                    texts.append(payload)
            arrays = [batch.column(name) for name in COLUMNS[:4]]
            arrays += [pa.array(texts, pa.string()), pa.array(blobs, pa.binary())]
            out.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
            rows += batch.num_rows
    os.replace(tmp, path)
    sidecar = path.with_name(path.name + ".sha256")
    sidecar.write_text(f"{sha256_file(path)} {rows}\n")
    return path


def open_cache(reader: SessionReader) -> tuple[Path | None, str]:
    """The session's valid cache, or ``(None, why not)``: absent, stale or corrupt.

    Cheap: hashes the parts and the cache file (sequential reads), decodes nothing.
    """
    if not cache_dir(reader).is_dir():
        return None, "no cache"
    # A part changed since the cache was built changes the content hash: no cache found.
    path = cache_path(reader)
    if not path.is_file():
        others = sorted(p.name for p in cache_dir(reader).glob("events-*.arrow"))
        if others:
            return None, f"cache {others[0]} is stale (built from other frames or another parser)"
        return None, "no cache"
    sidecar = path.with_name(path.name + ".sha256")
    if not sidecar.is_file():
        return None, f"cache {path.name} is corrupt (no .sha256: its build was cut short)"
    digest, _, rows = sidecar.read_text().strip().partition(" ")
    if digest != sha256_file(path):
        return None, f"cache {path.name} is corrupt (its SHA-256 differs from {sidecar.name})"
    expected = int(reader.manifest.get("frames") or 0) or reader.count()
    if rows != str(expected):
        return None, f"cache {path.name} is corrupt ({rows} rows, the session has {expected:,})"
    return path, ""


def ensure_cache(reader: SessionReader, log: Callable[[str], None] | None = None) -> Path:
    """The valid cache of ``reader``, built (or rebuilt, saying why with ``log``) if needed."""
    path, why = open_cache(reader)
    if path is not None:
        return path
    if why != "no cache" and log is not None:
        log(f"session {reader.id}: {why}; rebuilding it")
    return build_cache(reader)


def drop_cache(reader: SessionReader) -> int:
    """Remove the session's cache files; returns how many were removed."""
    folder = cache_dir(reader)
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.glob("events-*"):
        path.unlink()
        removed += 1
    if not any(folder.iterdir()):
        folder.rmdir()
    return removed


def iter_cached_rows(path: Path) -> Iterator[tuple[int, Iterator[Row]]]:
    """The cache's rows, one record batch at a time: ``(rows in it, its rows)``, decoded lazily."""
    decode = decode_events
    with pa.OSFile(str(path)) as fh:
        file = pa.ipc.open_file(fh)
        for i in range(file.num_record_batches):
            batch = file.get_batch(i)
            cols = [batch.column(j).to_pylist() for j in range(len(SCHEMA))]
            yield batch.num_rows, (
                (seq, recv_ns, kind, "" if payload is None else payload, conn_id,
                 None if blob is None else decode(blob))
                for seq, recv_ns, conn_id, kind, payload, blob in zip(*cols, strict=True)
            )  # fmt: skip
