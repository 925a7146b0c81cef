"""Issue 13 items 3, 4, 6: `polyarb live`'s loop against `polyarb serve --clob` on loopback."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from live_support import START_BALANCE, exchange_account, live_options, run_live

from polyarb.recording import SessionReader
from polyarb.shadow.parity import run_parity

pytestmark = pytest.mark.slow


def _tokens(source: Path) -> list[str]:
    return [t for m in SessionReader(source).markets() for t in m.token_ids]


def _user_rows(session: Path) -> list[str]:
    reader = SessionReader(session)
    out = []
    for batch in reader.iter_batches(columns=["kind", "payload"]):
        for kind, payload in zip(
            batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True
        ):
            if kind == "user":
                out.append(payload)
    return out


def test_live_run_trades_records_and_passes_parity(
    negrisk_source: Path, tmp_path: Path, serve
) -> None:  # type: ignore[no-untyped-def]
    """Orders are signed and filled by the double, every user frame and REST answer is a
    ``user`` row, the ledger equals the double's account, and parity replays the run."""
    ws, clob = serve(negrisk_source, "--speed", "20")
    run, run_json = run_live(live_options(negrisk_source, tmp_path, ws, clob))
    assert run_json["clean_exit"], run_json.get("error")
    assert run_json["mode"] == "live"
    live = run_json["live"]
    assert live["orders_sent"] > 0 and run_json["summary"]["fills"] > 0
    assert live["orders_unanswered"] == []
    rows = _user_rows(tmp_path / "live")
    assert rows[0].startswith('{"balance"')  # the startup reconciliation comes first
    assert any('"event_type": "trade"' in r or '"event_type":"trade"' in r for r in rows)
    assert any('"rest":"order"' in r for r in rows)
    fills = pq.read_table(str(tmp_path / "live" / "runs" / "live" / "fills.parquet")).to_pylist()
    assert fills and not any(f["simulated"] for f in fills)
    balance, shares = exchange_account(clob, _tokens(negrisk_source))
    assert balance == START_BALANCE + live["ledger"]["cash_delta"]
    assert shares == live["ledger"]["positions"]
    result = run_parity(tmp_path / "live", shadow_run="live")
    assert result.passed, result.first_divergence
