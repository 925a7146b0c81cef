"""The shadow run's output: the replay run layout plus what only a live run can measure.

Besides the tables a replay writes, a shadow run keeps an ``events.jsonl``
(one line per decision, order, fill and alert, flushed as it happens, so
``tail -f`` follows the run) and per-frame processing latency. Latency is
wall-clock, so it is kept out of the decision stream parity compares and is
appended to ``metrics.parquet`` as ``frame_latency_ns`` rows at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from array import array
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from polyarb.engine.run_writer import RunWriter
from polyarb.runs.runjson import RunJson
from polyarb.runs.schema import METRICS

_STREAMED = frozenset({"decisions", "orders", "fills", "alerts"})


def utc_stamp(ns: int) -> str:
    """``2026-12-01T01:02:03.456Z`` for a wall-clock time in ns."""
    t = dt.datetime.fromtimestamp(ns / 1e9, dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class ShadowSink(RunWriter):
    """A :class:`RunWriter` that also streams events and collects latency samples."""

    def __init__(self, run_dir: Path, on_alert: Callable[[str], None] | None = None) -> None:
        super().__init__(run_dir)
        self._events = (self.dir / "events.jsonl").open("w", buffering=1)
        self._on_alert = on_alert
        # Compact arrays: a multi-day shadow sees millions of frames.
        self.lat_ts = array("q")
        self.lat_seq = array("q")
        self.lat_ns = array("q")
        self.extra_metrics: list[dict[str, Any]] = []

    def row(self, table: str, row: Mapping[str, Any]) -> None:
        super().row(table, row)
        if table in _STREAMED:
            self._events.write(
                json.dumps({"table": table, **row}, separators=(",", ":"), default=list) + "\n"
            )

    def log(self, line: str) -> None:
        # A live run's log is read by a person next to wall-clock events (pages, restarts):
        # every line carries its UTC time. Replays keep the untimed lines of the engine.
        super().log(f"{utc_stamp(time.time_ns())} {line}")

    def event(self, kind: str, **fields: Any) -> None:
        """A feed event (connect, disconnect) in ``events.jsonl``, with its UTC wall time."""
        now = time.time_ns()
        self._events.write(
            json.dumps(
                {"table": "feed", "event": kind, "ts_ns": now, "utc": utc_stamp(now), **fields},
                separators=(",", ":"),
            )
            + "\n"
        )

    def alert(self, line: str) -> None:
        super().alert(line)
        if self._on_alert is not None:
            self._on_alert(line)

    def latency(self, ts_ns: int, seq: int, latency_ns: int) -> None:
        """One frame's receive → decision time."""
        self.lat_ts.append(ts_ns)
        self.lat_seq.append(seq)
        self.lat_ns.append(latency_ns)

    def metric(self, ts_ns: int, seq: int, name: str, value: int, label: str = "") -> None:
        """A feed-side metric (reconnects, connected ratio) for ``metrics.parquet``."""
        self.extra_metrics.append(
            {"ts_ns": ts_ns, "seq": seq, "name": name, "value": value, "label": label}
        )

    def close(self, run_json: RunJson) -> None:
        self._events.close()
        self.tables["metrics"].extend(self.extra_metrics)
        super().close(run_json)
        if not self.lat_ns:
            return
        path = self.dir / "metrics.parquet"
        engine_rows = pq.read_table(str(path))
        n = len(self.lat_ns)
        latency = pa.Table.from_arrays(
            [
                pa.array(self.lat_ts, pa.int64()),
                pa.array(self.lat_seq, pa.int64()),
                pa.array(["frame_latency_ns"] * n, pa.string()),
                pa.array(self.lat_ns, pa.int64()),
                pa.array([""] * n, pa.string()),
            ],
            schema=METRICS,
        )
        tmp = path.with_name("metrics.parquet.tmp")
        pq.write_table(pa.concat_tables([engine_rows, latency]), str(tmp), compression="zstd")
        tmp.replace(path)
