"""Analytics over every session and run: DuckDB views, promotion, reports (docs/analytics.md).

``connect(recordings)`` gives a DuckDB connection with the views; ``load_runs``
returns the runs view as a DataFrame. SQL lives in ``polyarb/analytics/sql/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from polyarb.analytics.views import VIEWS, AnalyticsError, connect, sql_text

if TYPE_CHECKING:
    import pandas as pd


def load_runs(recordings: Path | str, *, mode: str | None = None) -> pd.DataFrame:
    """The ``runs`` view (one row per run.json, with parity) as a DataFrame, oldest first."""
    con = connect(recordings)
    where = "WHERE mode = $mode" if mode else ""
    params = {"mode": mode} if mode else {}
    return con.execute(
        f"SELECT * EXCLUDE (run_json) FROM runs {where} ORDER BY first_recv_ns, session_id, run_id",
        params,
    ).df()


def query(
    recordings: Path | str, sql: str, params: dict[str, object] | None = None
) -> pd.DataFrame:
    """Run ``sql`` over the views of ``recordings`` and return a DataFrame."""
    return connect(recordings).execute(sql, params or {}).df()


__all__ = ["VIEWS", "AnalyticsError", "connect", "load_runs", "query", "sql_text"]
