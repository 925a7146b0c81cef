"""A sweep's folder: one JSON file per finished cell, the log, and ``results.parquet``.

Layout (docs/sweeps.md)::

    <recordings>/sweeps/<name>/
      sweep.json        the spec and the session list of the last run
      cells/<id>.json   one finished cell each (written atomically: present = done)
      sweep.log         one line per computed cell (which host:pid computed it)
      results.parquet   every cell of the sweep, in cell then session order
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from polyarb.recording.files import write_json_atomic
from polyarb.sweep.schema import RESULTS


class SweepStore:
    """The folder of one sweep."""

    def __init__(self, root: Path | str, name: str) -> None:
        self.dir = Path(root) / "sweeps" / name
        self.cells_dir = self.dir / "cells"

    def prepare(self, spec: dict[str, Any]) -> None:
        self.cells_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.dir / "sweep.json", spec)

    def done(self) -> set[str]:
        """Ids of cells already recorded."""
        return {p.stem for p in self.cells_dir.glob("*.json")}

    def record(self, row: dict[str, Any], where: str) -> None:
        """Keep one finished cell (atomically) and log who computed it."""
        write_json_atomic(self.cells_dir / f"{row['cell_id']}.json", row)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with (self.dir / "sweep.log").open("a") as fh:
            fh.write(
                f"{stamp} computed {row['cell_id']} session={row['session_id']} "
                f"profile={row['profile_sha256'][:12]} on {where}\n"
            )

    def computed_log(self) -> list[str]:
        """Cell ids in ``sweep.log``, one per computation (a recomputed cell appears twice)."""
        path = self.dir / "sweep.log"
        if not path.is_file():
            return []
        return [line.split()[2] for line in path.read_text().splitlines() if " computed " in line]

    def write_results(self, cell_ids: list[str]) -> Path:
        """``results.parquet`` of ``cell_ids`` (in that order), from the recorded cells."""
        rows = [json.loads((self.cells_dir / f"{cid}.json").read_text()) for cid in cell_ids]
        extra = sorted({k for r in rows for k in r if k.startswith("param.")})
        schema = RESULTS
        for key in extra:
            schema = schema.append(pa.field(key, pa.string()))
        table = pa.Table.from_pylist(rows, schema=schema)
        path = self.dir / "results.parquet"
        tmp = path.with_name(path.name + ".tmp")
        pq.write_table(table, str(tmp), compression="zstd")
        tmp.replace(path)
        return path

    def results(self) -> pa.Table:
        path = self.dir / "results.parquet"
        if not path.is_file():
            raise FileNotFoundError(f"{self.dir}: no results.parquet (run 'polyarb sweep' first)")
        return pq.read_table(str(path))
