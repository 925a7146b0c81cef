"""A session's files read or written whole: checksums, atomic JSON, the journal, markets.

The reader, writer and compactor all use these, so they live below all three.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from polyarb.errors import PolyarbError
from polyarb.protocol.markets import MarketMeta
from polyarb.recording.schema import conform


class StoreError(RuntimeError, PolyarbError):
    """A session cannot be written (disk full, read-only folder, bad state): a clear message."""


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temp file and rename, so readers never see half a file."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.unlink(missing_ok=True)  # a leftover, or a symlink leading out: never written through
        with tmp.open("x") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc


def journal_batches(path: Path) -> Iterator[pa.RecordBatch]:
    """The complete record batches of a journal, one at a time; a torn tail (crash) is dropped."""
    try:
        with pa.OSFile(str(path), "rb") as source:
            reader = ipc.open_stream(source)
            while True:
                try:
                    batch = reader.read_next_batch()
                except (StopIteration, pa.ArrowInvalid, OSError):
                    return
                yield conform(batch)
    except (pa.ArrowInvalid, OSError):
        return  # not even a schema made it to disk: an empty part


def read_markets_table(path: Path) -> list[tuple[int, MarketMeta]]:
    """``(valid_from_seq, MarketMeta)`` rows of a ``markets.parquet``."""
    fields = set(MarketMeta.__struct_fields__)
    out = []
    for row in pq.read_table(str(path)).to_pylist():
        seq = row.pop("valid_from_seq")
        kwargs = {k: v for k, v in row.items() if k in fields}
        kwargs["token_ids"] = tuple(kwargs["token_ids"] or ())
        kwargs["outcomes"] = tuple(kwargs["outcomes"] or ())
        out.append((seq, MarketMeta(**kwargs)))
    return out


def pid_alive(pid: object) -> bool:
    """Whether process ``pid`` exists (one we may not signal counts as alive)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
