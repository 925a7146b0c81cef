"""The decoded-session cache: a session's rows with their frames already parsed (docs/sessions.md).

``frames/`` stays the source of truth; the cache is a disposable copy next to it::

    recordings/<session>/cache/events-<parser version>-<content hash>.arrow
    recordings/<session>/cache/events-<parser version>-<content hash>.arrow.sha256

* **content hash**: SHA-256 over the session's sealed parts (name and SHA-256 of each
  file, as read now): the frames the cache was built from. Another part, or a changed
  one, gives another name, so a cache of older frames is never found.
* **parser version**: SHA-256 of the sources that turn wire text into events and lay
  them out (:func:`parser_sources`: the parser and its compiled scanner, the event types,
  units and this module): any edit there makes every cache stale without anyone
  remembering to bump a number.
* The ``.sha256`` file holds the SHA-256 of the ``.arrow`` file, written last: a cache
  cut short, flipped or without it is corrupt. :func:`open_cache` checks all three and
  says why it ignores a cache; :func:`ensure_cache` then rebuilds it.

The ``.arrow`` file is an Arrow IPC file (lz4) with the replay columns ``seq``,
``recv_ns``, ``conn_id``, ``kind``, ``payload`` (empty on ``frame`` rows: their
events replace it), ``code`` and ``events``: per frame row, its events as one
MessagePack list. A frame whose events share one type (nearly all: one ``book``,
one ``price_change``) stores that type's code and decodes with one ``msgspec`` call
straight into the parser's structs; a mixed frame stores :data:`MIXED` and runs of
one type (``[[type code, [event, ...]], ...]``). Reads stream one record batch at a
time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from operator import call
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

FORMAT = 2
"""Layout of the cache file itself (2: one list per one-type frame, a ``code`` column, lz4);
part of the parser version. This module's source is hashed too, so an edit here rebuilds
caches even if nobody bumps the number."""
COLUMNS = ["seq", "recv_ns", "conn_id", "kind", "payload"]
SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64()),
        pa.field("recv_ns", pa.int64()),
        pa.field("conn_id", pa.int32()),
        pa.field("kind", pa.string()),
        pa.field("payload", pa.string()),
        pa.field("code", pa.int8()),
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
MIXED = -1
"""The ``code`` of a frame whose events have more than one type: its blob holds runs."""
NO_EVENTS = -2
"""The ``code`` of a row that is not a frame (``events`` null: the engine gets ``None``)."""
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
    """The files whose code decides a cache's events: the parser (the compiled scanner's
    read, not imported), the event types, units, and this module, which lays them out."""
    parser = Path(str(parser_module.__file__))
    modules = (events_module, units_module)
    return [
        parser,
        parser.with_name("levels_jit.py"),
        *(Path(str(m.__file__)) for m in modules),
        Path(__file__),
    ]


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


def encode_events(events: list[MarketEvent]) -> tuple[int, bytes]:
    """``(code, blob)`` of a frame's events (see the module docstring)."""
    codes = {_CODE[type(ev)] for ev in events}
    if len(codes) <= 1:  # an empty list decodes as an empty list of any type
        return (codes.pop() if codes else 0), _ENCODER.encode(events)
    runs: list[list[Any]] = []
    last = -1
    for ev in events:
        code = _CODE[type(ev)]
        if code != last:
            runs.append([code, []])
            last = code
        runs[-1][1].append(ev)
    return MIXED, _ENCODER.encode(runs)


def _decode_runs(blob: bytes) -> list[MarketEvent]:
    out: list[MarketEvent] = []
    for code, raw in _RUNS.decode(blob):
        out.extend(_DECODERS[code].decode(raw))
    return out


def _no_events(blob: bytes | None) -> None:
    return None


_DECODE: list[Callable[[Any], list[MarketEvent] | None]] = [d.decode for d in _DECODERS]
# at the end, so MIXED (-1) and NO_EVENTS (-2) stay valid as EVENT_TYPES grows: every
# row's events are _DECODE[code](blob), which a read maps over a batch in C, no branch
_DECODE += [_no_events, _decode_runs]


def decode_events(code: int, blob: bytes) -> list[MarketEvent]:
    """The events :func:`encode_events` stored, equal to what the parser gave."""
    events = _DECODE[code](blob)
    if events is None:
        raise ValueError(f"event cache: code {code} is not a frame's")
    return events


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
    # lz4, not zstd: on resolvedkit 7.9 MB, not 4.3, but read in ~0.007 CPU-s, not ~0.016
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    meta = {"parser_version": parser_version(), "content_hash": path.stem.split("-")[-1]}
    schema = SCHEMA.with_metadata(meta)
    rows = 0
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema, options=options) as out:
        for batch in reader.iter_batches(batch_size=BATCH_ROWS, columns=COLUMNS):
            kinds = batch.column("kind").to_pylist()
            payloads = batch.column("payload").to_pylist()
            codes: list[int] = []
            blobs: list[bytes | None] = []
            texts: list[str] = []
            for kind, payload in zip(kinds, payloads, strict=True):
                if kind == "frame":
                    code, blob = encode_events(parse_frame(payload))
                    codes.append(code)
                    blobs.append(blob)
                    texts.append("")  # the engine reads a frame's events, never its text
                else:
                    codes.append(NO_EVENTS)
                    blobs.append(None)
                    texts.append(payload)
            arrays = [batch.column(name) for name in COLUMNS[:4]]
            arrays += [
                pa.array(texts, pa.string()),
                pa.array(codes, pa.int8()),
                pa.array(blobs, pa.binary()),
            ]
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
    """The cache's rows, one record batch at a time: ``(rows in it, its rows)``, decoded lazily.

    A batch's rows are C iterators over its columns (``zip``, ``map``): per row, only
    the ``msgspec`` call that builds its events runs, while the engine asks for it.
    """
    pick = _DECODE.__getitem__
    with pa.OSFile(str(path)) as fh:
        file = pa.ipc.open_file(fh)
        for i in range(file.num_record_batches):
            batch = file.get_batch(i)
            seq, recv_ns, conn_id, kind, payload, code, blob = (
                batch.column(j).to_pylist() for j in range(len(SCHEMA))
            )
            events = map(call, map(pick, code), blob)
            yield batch.num_rows, zip(seq, recv_ns, kind, payload, conn_id, events, strict=True)
