"""Issue 13 item 4 (startup): positions on the exchange are compared with the previous live
run's ledger; equal → trade with them carried into the ledger; different → halt naming them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from live_support import KEY, exchange_account, live_options, run_live

from polyarb.live.runner import LiveError, LiveRun, previous_holdings
from polyarb.recording import SessionReader
from polyarb.shadow.parity import run_parity
from polyarb.venues.polymarket import MarketParams, PolymarketClient

pytestmark = pytest.mark.slow


def _buy_outside_the_kit(clob: str, source: Path) -> tuple[str, str, int, int, str]:
    """Shares bought by hand on the double: (market, token, shares, cost incl. fee, address)."""
    meta = SessionReader(source).markets()[0]
    token = meta.token_ids[0]
    client = PolymarketClient(clob, KEY)
    client.create_or_derive_api_key()
    client.place(
        MarketParams(token, meta.tick_size, meta.neg_risk), side="BUY", price=990_000,
        size=5_000_000, order_type="FAK", client_order_id="by-hand",
    )  # fmt: skip
    start = 1_000 * 1_000_000
    balance, shares = exchange_account(clob, [token])
    return meta.condition_id, token, shares[token], start - balance, client.address


def _previous_run(recordings: Path, address: str, holdings: list[dict[str, object]]) -> None:
    run_dir = recordings / "earlier" / "runs" / "live"
    run_dir.mkdir(parents=True)
    run = {
        "mode": "live",
        "wall_end_ns": 1,
        "live": {"address": address, "ledger": {"holdings": holdings}},
    }
    (run_dir / "run.json").write_text(json.dumps(run))


def test_startup_carries_what_the_previous_run_held_and_halts_on_a_difference(
    negrisk_source: Path, tmp_path: Path, serve
) -> None:  # type: ignore[no-untyped-def]
    """With no previous run, held shares halt (naming the asset and both sizes). A previous live
    run whose ledger holds the same shares lets the run trade, the shares carried into its
    ledger (a ``carry`` decision parity reproduces). A ledger saying otherwise halts.
    Old code halted on any position, whatever the previous run held."""
    ws, clob = serve(negrisk_source, "--speed", "20")
    market, token, shares, cost, address = _buy_outside_the_kit(clob, negrisk_source)
    assert shares == 5_000_000
    with pytest.raises(
        LiveError, match=rf"asset {token}: the exchange holds 5 shares, .*\(none\) 0"
    ):
        LiveRun(live_options(negrisk_source, tmp_path / "fresh", ws, clob))

    wrong = tmp_path / "wrong"
    _previous_run(
        wrong, address, [{"market": market, "asset_id": token, "size": 4_000_000, "cost": cost}]
    )
    with pytest.raises(
        LiveError, match=rf"asset {token}: the exchange holds 5 shares, .*\(earlier\) 4"
    ):
        LiveRun(live_options(negrisk_source, wrong, ws, clob))

    same = tmp_path / "same"
    _previous_run(
        same, address, [{"market": market, "asset_id": token, "size": shares, "cost": cost}]
    )
    run, run_json = run_live(live_options(negrisk_source, same, ws, clob, duration_s=4.0))
    assert run_json["clean_exit"], run_json.get("error")
    live = run_json["live"]
    assert live["startup"]["previous"] == "earlier"
    assert live["startup"]["carry"] == [
        {"market": market, "asset_id": token, "size": shares, "cost": cost}
    ]
    assert live["ledger"]["carried_cost"] == cost
    decisions = pq.read_table(str(run.sink.dir / "decisions.parquet")).to_pylist()
    assert [d["decision_id"] for d in decisions if d["type"] == "carry"] == [f"carry:{token}"]
    held = {h["asset_id"]: h for h in live["ledger"]["holdings"]}
    assert held[token]["size"] == shares + live["account"]["shares"].get(token, 0)
    # The next start finds this run (the newest of the wallet) as the previous one.
    assert previous_holdings(same, address)[0] == "live"  # type: ignore[index]
    result = run_parity(same / "live", shadow_run="live")
    assert result.passed, result.first_divergence
