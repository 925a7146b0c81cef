"""Writes a run folder: Parquet tables, ``run.json``, ``alerts.jsonl`` and a followable ``run.log``.

Layout (docs/runs.md)::

    recordings/<session>/runs/<run_id>/
      run.json  decisions.parquet  orders.parquet  fills.parquet  pnl.parquet
      positions.parquet  metrics.parquet  alerts.parquet  alerts.jsonl  run.log

``run.log`` and ``alerts.jsonl`` are line-buffered as the run goes, so
``tail -f`` follows them; tables are written whole at :meth:`RunWriter.close`.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from polyarb.recording.files import write_json_atomic
from polyarb.runs.runjson import RunJson, run_json_dict
from polyarb.runs.schema import TABLES


class RunWriter:
    """A :class:`~polyarb.engine.sink.RunSink` that owns ``run_dir`` (replaced if it exists)."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = Path(run_dir)
        if self.dir.exists():
            shutil.rmtree(self.dir)  # a replay is reproducible: rerunning one id replaces it
        self.dir.mkdir(parents=True)
        self.tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        self._log = (self.dir / "run.log").open("w", buffering=1)
        self._alerts = (self.dir / "alerts.jsonl").open("w", buffering=1)

    def row(self, table: str, row: Mapping[str, Any]) -> None:
        self.tables[table].append(dict(row))

    def log(self, line: str) -> None:
        self._log.write(line + "\n")

    def alert(self, line: str) -> None:
        self._alerts.write(line + "\n")

    def counts(self) -> dict[str, int]:
        """Rows per table so far."""
        return {name: len(rows) for name, rows in self.tables.items()}

    def close(self, run_json: RunJson) -> None:
        """Write every table and ``run.json`` (last, so its presence means a complete run)."""
        for name, schema in TABLES.items():
            table = pa.Table.from_pylist(self.tables[name], schema=schema)
            pq.write_table(table, str(self.dir / f"{name}.parquet"), compression="zstd")
        self._log.close()
        self._alerts.close()
        write_json_atomic(self.dir / "run.json", run_json_dict(run_json))
