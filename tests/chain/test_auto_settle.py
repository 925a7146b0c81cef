"""Issue 14 item 4 wired: a live engine's resolution settles on the real local chain.

The pure engine with :class:`UserRowVenue` (a live run's venue), a real CTF condition on
ganache whose complete sets the wallet holds (carried in by the startup row, as a live
run carries a previous run's positions), and the runner's :class:`SettleWorker` doing the
transactions off the engine's thread. Its outcome comes back as a recorded ``user`` row;
replaying the recorded rows without a chain books the same ledger.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from test_settle import FlakyWallet

from polyarb.chain.ctf import Ctf
from polyarb.chain.localchain import artifact, report_payouts
from polyarb.chain.settle import Settler, SettleWorker
from polyarb.chain.wallet import Wallet
from polyarb.config.profile import Profile, load_profile
from polyarb.detect.binary import BinaryCompleteSet
from polyarb.engine import Engine, MemorySink
from polyarb.env import Secret
from polyarb.execution.user_venue import UserRowVenue, order_row, sendable
from polyarb.protocol.markets import MarketMeta
from polyarb.units import format_fixed

SETS = 4_000_000
T0_NS = 1_800_000_000_000 * 1_000_000
STEP_NS = 50_000_000
"""Rows 50 ms apart: longer than an event's quiet period, so each tick closes one."""
Row = tuple[int, str, str, int]


class Driver:
    """Feeds an engine, records every row it fed, runs the worker like the live runner."""

    def __init__(self, meta: MarketMeta, profile: Profile, worker: SettleWorker | None) -> None:
        self.meta, self.profile, self.worker = meta, profile, worker
        self.engine = _engine(meta, profile)
        self.rows: list[Row] = []
        self.pushed: list[str] = []
        self.submitted: list[str] = []

    def feed(self, kind: str, payload: str) -> None:
        row = (T0_NS + len(self.rows) * STEP_NS, kind, payload, 1_000 if kind == "user" else 0)
        self.rows.append(row)
        self.engine.on_frame(len(self.rows) - 1, row[0], kind, payload, row[3])
        for market in self.engine.drain_settlements():
            self.submitted.append(market)
            assert self.worker is not None
            self.worker.submit(market, market).result()  # the runner does not wait; a test does
        for market, sets, decision in self.engine.drain_merges():
            assert self.worker is not None
            self.worker.submit_merge(market, market, sets, decision).result()
        for payload in self.pushed[:]:
            self.pushed.remove(payload)
            self.feed("user", payload)

    def replay(self) -> Engine:
        """A fresh engine over the recorded rows: no chain, no worker (``polyarb parity``)."""
        engine = _engine(self.meta, self.profile)
        for seq, (recv_ns, kind, payload, conn) in enumerate(self.rows):
            engine.on_frame(seq, recv_ns, kind, payload, conn)
        engine.finish()
        return engine


def _engine(meta: MarketMeta, profile: Profile) -> Engine:
    engine = Engine([meta], profile, MemorySink(), venue=UserRowVenue({}), live=True)
    # The CLOB mirrors YES and NO books, so a buy-both arb never shows in a mirrored book;
    # the merge-basket test needs one, so the detector here accepts unmirrored books.
    engine.detectors = [BinaryCompleteSet(profile, [meta], require_mirror=False)]
    return engine


def _table(engine: Engine, name: str) -> list[dict[str, Any]]:
    return list(engine.sink.tables.get(name, []))  # type: ignore[attr-defined]


def _start(
    chain,
    profile_path: Path,
    name: str,
    wallet_cls=Wallet,
    give_no: int = 0,
    carried: int | None = None,
):  # type: ignore[no-untyped-def]
    """A condition split into SETS complete sets (less ``give_no`` NO shares given away
    on chain); the wallet's shares carried into a fresh driver by its startup row."""
    profile = load_profile(profile_path)
    ctf = Ctf(wallet_cls(chain.url, Secret(chain.key)), profile.chain)
    cid, qid = chain.condition(name)
    ctf.split(cid, SETS)
    yes, no = ctf.token_ids(cid)
    if give_no:
        erc1155 = ctf.wallet.contract(chain.ctf, artifact("ConditionalTokens")[0])
        me = ctf.wallet.address
        ctf.wallet.send(
            "give NO away",
            erc1155.functions.safeTransferFrom(me, chain.oracle, int(no), give_no, b""),
        )
    meta = MarketMeta(cid, "q?", name, (yes, no), ("Yes", "No"), 10_000, 1_000_000)
    settler = Settler(ctf, profile.settlement, sleep=lambda s: None)
    driver = Driver(meta, profile, None)
    driver.worker = SettleWorker(settler, driver.pushed.append, wait_s=0)
    carry = [
        {"market": cid, "asset_id": t, "size": n, "cost": n // 2}
        for t in (yes, no)
        for n in [ctf.balance(t) if carried is None else carried]
        if n > 0
    ]
    driver.feed("user", json.dumps({"rest": "startup", "carry": carry}))
    return ctf, driver, cid, qid


def _resolve(chain, driver: Driver, qid: bytes, payouts: list[int]) -> None:  # type: ignore[no-untyped-def]
    report_payouts(chain.url, chain.oracle_key, chain.ctf, qid, payouts)
    meta = driver.meta
    winner = meta.token_ids[0] if payouts[0] else meta.token_ids[1]
    resolution = {
        "event_type": "market_resolved", "id": "1", "market": meta.condition_id,
        "assets_ids": list(meta.token_ids), "winning_asset_id": winner,
        "winning_outcome": "Yes", "timestamp": "1",
    }  # fmt: skip
    driver.feed("frame", json.dumps(resolution))


def test_resolution_settles_on_chain_and_replays_without_it(chain137, make_profile) -> None:
    """Before: the live engine settled a resolved market for free in its ledger (no
    transaction, profile gas 0) while the wallet kept its shares on chain. Now the
    resolution hands the market to the worker, the complete sets are merged on chain, and
    the recorded settlement row books the receipts' gas: the ledger ends flat, its cash
    delta equals the chain's collateral delta minus the gas, and a replay of the recorded
    rows (no chain) books the same ledger and decisions."""
    ctf, driver, cid, qid = _start(chain137, make_profile(), "auto")
    yes, no = driver.meta.token_ids
    before = ctf.collateral_balance()
    _resolve(chain137, driver, qid, [1, 0])
    engine = driver.engine
    assert driver.submitted == [cid]
    assert ctf.balance(yes) == ctf.balance(no) == 0
    assert ctf.collateral_balance() == before + SETS
    assert engine.ledger.open_assets() == {}
    gas = engine.ledger.gas_paid
    assert gas > 0
    assert engine.ledger.cash - engine.ledger.initial_cash == -SETS + SETS - gas
    [settle] = [d for d in _table(engine, "decisions") if d["type"] == "settle"]
    detail = json.loads(str(settle["detail"]))
    assert detail["via"] == "chain" and detail["gas"] == gas and detail["payout"] == SETS
    engine.finish()
    replayed = driver.replay()
    for table in ("decisions", "pnl", "positions"):
        assert _table(replayed, table) == _table(engine, table), table
    assert replayed.ledger.snapshot(0, 0) == engine.ledger.snapshot(0, 0)


def test_unmatched_winner_is_redeemed_and_losing_market_closed(chain137, make_profile) -> None:
    """Sets merged, then the held winner redeemed, all through the recorded row: the
    ledger's realised PnL is the merged and redeemed collateral minus cost and gas."""
    ctf, driver, _cid, qid = _start(chain137, make_profile(), "auto-redeem", give_no=1_000_000)
    yes, no = driver.meta.token_ids
    _resolve(chain137, driver, qid, [1, 0])
    engine = driver.engine
    [row] = [r for r in driver.rows if r[2].startswith('{"rest":"settlement"')]
    steps = [s["do"] for s in json.loads(row[2])["steps"]]
    assert steps == ["merge", "redeem"]
    assert ctf.balance(yes) == ctf.balance(no) == 0
    assert engine.ledger.open_assets() == {}
    assert engine.settlements == 1
    # 3 sets merged (3) + 1 YES redeemed (1) − their cost (3.5 carried) − gas.
    assert engine.ledger.realised_pnl == 4_000_000 - 3_500_000 - engine.ledger.gas_paid
    engine.finish()
    assert driver.replay().ledger.snapshot(0, 0) == engine.ledger.snapshot(0, 0)


def test_failed_transaction_is_retried_and_booked_in_the_engine(chain137, make_profile) -> None:
    """A merge that reverts is sent again by the worker; the failed receipt's gas and the
    good one's both reach the engine's ledger through the recorded row, and replay agrees."""
    _ctf, driver, _cid, qid = _start(chain137, make_profile(retries=2), "auto-retry", FlakyWallet)
    _resolve(chain137, driver, qid, [0, 1])
    engine = driver.engine
    [row] = [r for r in driver.rows if r[2].startswith('{"rest":"settlement"')]
    steps = json.loads(row[2])["steps"]
    assert [s["do"] for s in steps] == ["gas", "merge", "close"]
    assert engine.ledger.gas_paid == steps[0]["gas"] + steps[1]["gas"]
    assert engine.ledger.open_assets() == {}
    engine.finish()
    assert driver.replay().ledger.snapshot(0, 0) == engine.ledger.snapshot(0, 0)


def test_gas_over_the_limit_reaches_the_runs_alerts_table(chain137, make_profile) -> None:
    """SETTLEMENT_GAS_HIGH from the worker's settler lands in the engine's alerts table
    (and alerts.jsonl), in the live run and in its replay alike."""
    path = make_profile(max_gas_usd="0.0001")
    path.write_text(path.read_text().replace("pol_usd: '0.50'", "pol_usd: '1000'"))
    _ctf, driver, _cid, qid = _start(chain137, path, "auto-gas")
    _resolve(chain137, driver, qid, [1, 0])
    alerts = _table(driver.engine, "alerts")
    assert [(a["rule"], a["state"]) for a in alerts] == [
        ("SETTLEMENT_GAS_HIGH", "fired"),
        ("SETTLEMENT_GAS_HIGH", "cleared"),
    ]
    assert driver.engine.alerts_fired == 1
    assert len(driver.engine.sink.alert_lines) == 2  # type: ignore[attr-defined]
    driver.engine.finish()
    assert _table(driver.replay(), "alerts") == alerts


def test_auto_off_settles_in_the_ledger_as_before(chain137, make_profile) -> None:
    """settlement.auto false: the resolution settles in the ledger at once (replay's way),
    nothing is handed to a worker and the chain keeps the shares."""
    ctf, driver, _cid, qid = _start(chain137, make_profile(auto=False), "auto-off")
    _resolve(chain137, driver, qid, [1, 0])
    assert driver.submitted == []
    assert driver.engine.ledger.open_assets() == {}
    assert ctf.balance(driver.meta.token_ids[0]) == SETS


def test_unresolved_on_chain_leaves_the_position_open(chain137, make_profile) -> None:
    """The market channel resolved it but the chain has no payouts yet (and the wait ran
    out): the row says so, the ledger keeps the shares rather than inventing a payout."""
    ctf, driver, _cid, _qid = _start(chain137, make_profile(), "auto-unresolved")
    meta = driver.meta
    resolution = {
        "event_type": "market_resolved", "id": "1", "market": meta.condition_id,
        "assets_ids": list(meta.token_ids), "winning_asset_id": meta.token_ids[0],
        "winning_outcome": "Yes", "timestamp": "1",
    }  # fmt: skip
    driver.feed("frame", json.dumps(resolution))
    [row] = [r for r in driver.rows if r[2].startswith('{"rest":"settlement"')]
    assert "not resolved on chain" in json.loads(row[2])["error"]
    assert len(driver.engine.ledger.open_assets()) == 2
    assert ctf.balance(meta.token_ids[0]) == SETS


def test_chain_holding_more_than_the_ledger_does_not_stop_the_engine(
    chain137, make_profile
) -> None:
    """The chain merges 4 sets the ledger holds only 1 of (the books disagree): before, a
    LedgerError would have stopped the live run; now it is logged and the market closes."""
    _ctf, driver, cid, qid = _start(chain137, make_profile(), "auto-disagree", carried=1_000_000)
    _resolve(chain137, driver, qid, [1, 0])
    engine = driver.engine
    logs = "\n".join(engine.sink.lines)  # type: ignore[attr-defined]
    assert f"{cid}: ledger disagrees with the chain" in logs
    assert engine.ledger.open_assets() == {} and engine.settlements == 1


def _trade(cid: str, order, limit: int, size: int) -> str:  # type: ignore[no-untyped-def]
    return json.dumps({
        "event_type": "trade", "type": "TRADE", "id": f"t:{cid}", "taker_order_id": f"x:{cid}",
        "market": order.market, "asset_id": order.asset_id, "side": order.side,
        "size": format_fixed(size), "price": format_fixed(limit), "fee_rate_bps": "0",
        "status": "MATCHED", "match_time": "1", "last_update": "1", "outcome": "Yes",
        "owner": "k", "trade_owner": "k", "transaction_hash": "0x1", "trader_side": "TAKER",
        "bucket_index": 0, "maker_orders": [], "timestamp": "1000",
    })  # fmt: skip


def _book(asset: str, market: str, ask: str) -> dict[str, Any]:
    return {
        "event_type": "book", "market": market, "asset_id": asset,
        "timestamp": str(T0_NS // 1_000_000),
        "hash": "", "bids": [{"price": "0.01", "size": "1000"}],
        "asks": [{"price": ask, "size": "1000"}], "tick_size": "0.01", "last_trade_price": "",
    }  # fmt: skip


def test_completed_merge_basket_is_merged_on_chain(chain137, make_profile) -> None:
    """A live binary complete-set basket (YES + NO bought under 1) that completes: before,
    the engine merged it in its ledger for free at the profile's gas while the wallet kept
    the shares; now the runner's worker sends the merge and the recorded row books the
    receipt's gas as the basket's merge decision. Replay without the chain agrees."""
    path = make_profile()
    data = yaml.safe_load(path.read_text())
    # $5 a basket: each leg clears the $1 minimum notional.
    path.write_text(yaml.safe_dump({**data, "phase": 2, "risk": {"trade_size_usd": "5.00"}}))
    ctf, driver, cid, _qid = _start(chain137, path, "auto-basket", carried=0)
    ctf.split(cid, 50_000_000)  # the shares the exchange's fills would have delivered
    yes, no = driver.meta.token_ids
    venue = driver.engine.venue
    assert isinstance(venue, UserRowVenue)
    driver.feed("frame", json.dumps([_book(yes, cid, "0.45"), _book(no, cid, "0.50")]))
    seen: set[str] = set()
    for _ in range(20):
        driver.feed("tick", "")
        for order_cid in [c for c in venue.open_orders() if c not in seen]:
            seen.add(order_cid)
            order = venue._open[order_cid].order
            limit, size = sendable(order, driver.meta)
            driver.feed("user", _trade(order_cid, order, limit, size))
            row = order_row(order_cid, order_id=f"x:{order_cid}", status="matched", filled=size)
            driver.feed("user", row)
        if driver.engine.merges:
            break
    engine = driver.engine
    merges = [d for d in _table(engine, "decisions") if d["type"] == "merge"]
    assert len(merges) == 1
    detail = json.loads(str(merges[0]["detail"]))
    assert detail["chain"] is True and detail["gas"] == engine.ledger.gas_paid > 0
    assert engine.ledger.open_assets() == {}
    assert (
        ctf.balance(yes)
        == ctf.balance(no)
        == 54_000_000 - merges[0]["size"] * 0 - int(merges[0]["size"])
    )
    engine.finish()
    assert _table(driver.replay(), "decisions") == _table(engine, "decisions")
