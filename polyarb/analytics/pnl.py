"""PnL, fill-rate and latency tables for notebooks and reports (``pnl_*.sql``).

Each function takes a connection from :func:`polyarb.analytics.connect` and
returns a pandas DataFrame; money columns stay int micro units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import duckdb

from polyarb.analytics.promotion import run_sql

if TYPE_CHECKING:
    import pandas as pd


def pnl_curves(
    con: duckdb.DuckDBPyConnection, modes: Sequence[str] = ("shadow", "replay")
) -> pd.DataFrame:
    """Cumulative PnL per mode over the sessions that have a run of every mode in ``modes``."""
    return run_sql(con, "pnl_curves", {"modes": list(modes)}).df()


def run_pnl(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every run with its final PnL, opportunities, orders, filled orders and fills."""
    return run_sql(con, "pnl_runs", {}).df()


def market_pnl(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Settled PnL and open cost per market and run mode (from the positions tables)."""
    return run_sql(con, "pnl_markets", {}).df()


def mode_stats(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Fill rate and latency p50/p95/p99 (ms) per run mode."""
    return run_sql(con, "pnl_modes", {}).df()


def positions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Positions traded per mode, run, market and token from the fills (bought, sold, net,
    cost, proceeds, fees, cash flow) with what the run still held at its end."""
    return run_sql(con, "pnl_positions", {}).df()
