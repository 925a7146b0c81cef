"""Issue 13 items 3, 4, 6: `polyarb live`'s loop against `polyarb serve --clob` on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from live_support import KEY, START_BALANCE, exchange_account, live_options, run_live

from polyarb.recording import SessionReader
from polyarb.shadow.parity import run_parity
from polyarb.venues.polymarket import PolymarketClient, RetryPolicy

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
    _run, run_json = run_live(live_options(negrisk_source, tmp_path, ws, clob))
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
    # The double does not settle resolved markets (redemption is on-chain): compare trading.
    assert balance == START_BALANCE + live["account"]["cash_delta"]
    assert shares == live["account"]["shares"]
    if not run_json["summary"].get("settlements"):
        assert live["ledger"]["cash_delta"] == live["account"]["cash_delta"]
        assert live["ledger"]["positions"] == live["account"]["shares"]
    result = run_parity(tmp_path / "live", shadow_run="live")
    assert result.passed, result.first_divergence


def _assert_reunwound(run_dir: Path, client: PolymarketClient) -> None:
    """Issue 13 item 4: the FAILED trade of a settled basket is a leg failure (unwind)."""
    decisions = pq.read_table(str(run_dir / "decisions.parquet")).to_pylist()
    [failed] = [d for d in decisions if d["type"] == "trade_failed"]
    assert json.loads(failed["detail"])["action"] == "unwind", failed
    again = [
        d["decision_id"] for d in decisions if d["type"] == "unwind" and "/R1U" in d["decision_id"]
    ]
    assert again, "no unwind after the failed trade"
    orders = {o["order_id"]: o for o in pq.read_table(str(run_dir / "orders.parquet")).to_pylist()}
    assert all(oid in orders for oid in again)  # sent and answered by the exchange
    filled = [oid for oid in again if orders[oid]["filled_size"] > 0]
    sold = [o for o in client.trades() if o["side"] == "SELL"]
    assert len(sold) >= len(filled)  # every unwind that filled is a trade on the exchange


FAULTS = {
    "timeout": (("--clob-timeout-next", "1"), "clob_timeouts"),
    "5xx": (("--clob-5xx-next", "1"), "clob_server_errors"),
    "429": (("--clob-429-next", "2"), "clob_throttled"),
    "failed_trade": (("--clob-fail-trades", "1"), "trade_failures"),
    # The first basket's fifth trade fails two seconds after it matched, once the basket is
    # settled: the basket is reopened and what the failure left naked is unwound again.
    "failed_trade_after_basket": (
        ("--clob-trade-delay", "1", "--clob-fail-trades", "1", "--clob-fail-trades-after", "4"),
        "trade_failures",
    ),
    "dropped_user_channel": (("--clob-drop-user-after", "3"), "user_channel_drops"),
}


def _metrics(run_dir: Path) -> dict[str, int]:
    rows = pq.read_table(str(run_dir / "metrics.parquet")).to_pylist()
    return {r["name"]: r["value"] for r in rows if r["name"] != "frame_latency_ns"}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_live_run_under_each_exchange_fault(
    negrisk_source: Path, tmp_path: Path, serve, fault: str
) -> None:  # type: ignore[no-untyped-def]
    """Under each fault of the double: no orphan order on the exchange, no trade booked twice,
    the ledger equal to the double's account, the fault in metrics and alerts, parity PASS."""
    flags, metric = FAULTS[fault]
    ws, clob = serve(negrisk_source, "--speed", "20", *flags)
    opts = live_options(negrisk_source, tmp_path, ws, clob)
    opts.policy = RetryPolicy(timeout_s=1.0, backoff_s=0.05, backoff_max_s=0.2)
    _run, run_json = run_live(opts)
    assert run_json["clean_exit"], run_json.get("error")
    live = run_json["live"]
    assert live["orders_unanswered"] == []
    client = PolymarketClient(clob, KEY)
    client.create_or_derive_api_key()
    assert client.open_orders() == []  # no orphan
    run_dir = tmp_path / "live" / "runs" / "live"
    fills = pq.read_table(str(run_dir / "fills.parquet")).to_pylist()
    ids = [f["fill_id"] for f in fills]
    assert len(ids) == len(set(ids))  # no trade booked twice
    assert len(ids) == len(client.trades())  # one fill per exchange trade (FAILED ones too)
    balance, shares = exchange_account(clob, _tokens(negrisk_source))
    # The double does not settle resolved markets (redemption is on-chain): compare trading.
    assert balance == START_BALANCE + live["account"]["cash_delta"]
    assert shares == live["account"]["shares"]
    if not run_json["summary"].get("settlements"):
        assert live["ledger"]["cash_delta"] == live["account"]["cash_delta"]
        assert live["ledger"]["positions"] == live["account"]["shares"]
    assert _metrics(run_dir)[metric] > 0
    alerts = pq.read_table(str(run_dir / "alerts.parquet")).to_pylist()
    assert any(a["rule"] == "LIVE_VENUE_FAULT" for a in alerts)
    if fault == "failed_trade_after_basket":
        _assert_reunwound(run_dir, client)
    result = run_parity(tmp_path / "live", shadow_run="live")
    assert result.passed, result.first_divergence
