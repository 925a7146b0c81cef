"""Issue 13 items 3/4: the venue that settles orders only from recorded user rows."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from polyarb.execution.orders import Fill, Order
from polyarb.execution.user_venue import UserRowVenue, order_row
from polyarb.ledger import Ledger
from polyarb.protocol.markets import MarketMeta

META = MarketMeta("0xc", "q?", "q", ("yes", "no"), ("Yes", "No"), 10_000, 5_000_000)
ORDER = Order("o1", "d1", "0xc", "yes", "BUY", 5_000_000, 400_000)


def _trade(trade_id: str, status: str, *, size: str = "5", price: str = "0.4") -> str:
    """A user-channel trade event of our exchange order ``0xabc`` (the recorded shape)."""
    return json.dumps({
        "event_type": "trade", "type": "TRADE", "id": trade_id, "taker_order_id": "0xabc",
        "market": "0xc", "asset_id": "yes", "side": "BUY", "size": size, "price": price,
        "fee_rate_bps": "0", "status": status, "match_time": "1", "last_update": "1",
        "outcome": "Yes", "owner": "k", "trade_owner": "k", "transaction_hash": "0x1",
        "trader_side": "TAKER", "bucket_index": 0, "maker_orders": [], "timestamp": "1000",
    })  # fmt: skip


def _venue() -> UserRowVenue:
    venue = UserRowVenue({"0xc": META})
    venue.submit(ORDER, 1)
    return venue


def test_trade_before_the_answer_waits_and_books_once() -> None:
    """A MATCHED trade seen before the order's answer waits for it; the same trade seen again
    (REST reconciliation, later statuses) books nothing more."""
    venue = _venue()
    assert venue.on_user(1, 2, _trade("t1", "MATCHED")).results == []
    done = venue.on_user(
        2, 3, order_row("o1", order_id="0xabc", status="matched", filled=5_000_000)
    )
    [result] = done.results
    assert result.status == "filled" and [f.fill_id for f in result.fills] == ["t1"]
    again = json.dumps({"rest": "trades", "answer": [json.loads(_trade("t1", "MATCHED"))]})
    assert venue.on_user(3, 4, again).results == []
    assert venue.on_user(4, 5, _trade("t1", "CONFIRMED")).results == []
    assert venue.cash_delta == -2_000_000 and venue.shares == {"yes": 5_000_000}


def test_failed_after_booking_is_reversed_and_refused_orders_are_killed_or_rejected() -> None:
    """FAILED after MATCHED hands back the booked fill (and the account view undoes it); a FOK
    refusal is a kill, any other refusal a rejection with a reason code."""
    venue = _venue()
    venue.on_user(1, 2, order_row("o1", order_id="0xabc", status="matched", filled=5_000_000))
    assert len(venue.on_user(2, 3, _trade("t1", "MATCHED")).results) == 1
    update = venue.on_user(3, 4, _trade("t1", "FAILED"))
    assert [f.fill_id for f in update.reversed] == ["t1"]
    assert venue.cash_delta == 0 and venue.shares == {}
    killed = UserRowVenue({"0xc": META})
    killed.submit(ORDER, 1)
    fok = "400 order couldn't be fully filled. FOK orders are fully filled or killed."
    [r] = killed.on_user(1, 2, order_row("o1", error=fok)).results
    assert (r.status, r.reason) == ("killed", "insufficient_liquidity")
    killed.submit(msgspec_replace(ORDER, "o2"), 3)
    [r] = killed.on_user(4, 5, order_row("o2", error="400 not enough balance / allowance")).results
    assert (r.status, r.reason) == ("rejected", "insufficient_balance")
    assert killed.pending() == 0


def msgspec_replace(order: Order, order_id: str) -> Order:
    import msgspec

    return msgspec.structs.replace(order, order_id=order_id)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["BUY", "SELL"]),
            st.integers(1, 99),
            st.integers(1, 500),
            st.integers(0, 50_000),
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(1, 99),
    st.integers(1, 300),
    st.integers(0, 50_000),
)
def test_reverse_fill_undoes_a_buy_exactly(history, price_c, shares, fee) -> None:  # type: ignore[no-untyped-def]
    """Apply any fills, then a BUY and its reversal: cash, realised PnL, fees and every position
    are back where they were (exact integers; a FAILED buy costs nothing)."""
    ledger = Ledger(10**12)
    for i, (side, p, s, f) in enumerate(history):
        fill = Fill(f"h{i}", "o", "m", "a", side, p * 10_000, s * 10_000, f, 0, 0)
        if side == "SELL":
            held = {r["asset_id"]: r["size"] for r in ledger.position_rows() if not r["settled"]}
            if held.get("a", 0) < fill.size:
                continue
        ledger.apply_fill(fill)
    before = (ledger.cash, ledger.realised_pnl, ledger.fees_paid, ledger.position_rows())
    buy = Fill("x", "o", "m", "a", "BUY", price_c * 10_000, shares * 10_000, fee, 0, 0)
    ledger.apply_fill(buy)
    ledger.reverse_fill(buy)
    assert (ledger.cash, ledger.realised_pnl, ledger.fees_paid, ledger.position_rows()) == before


def _fak(size: int) -> Order:
    return Order("o1", "d1", "0xc", "yes", "BUY", size, 400_000, "FAK")


def test_partial_fak_fill_books_what_matched_with_the_fee_the_trade_message_charged() -> None:
    """Issue 13 item 4: a FAK for 10 shares matched 6: the result is ``partial`` with one
    6-share fill, and its fee is the rate the exchange's trade message states (700 bps)
    although the market's metadata says fee-free (old code charged the metadata's 0)."""
    from polyarb.execution.fees import taker_fee

    venue = UserRowVenue({"0xc": META})
    venue.submit(_fak(10_000_000), 1)
    trade = json.loads(_trade("t1", "MATCHED", size="6"))
    trade["fee_rate_bps"] = "700"
    venue.on_user(1, 2, json.dumps(trade))
    [result] = venue.on_user(
        2, 3, order_row("o1", order_id="0xabc", status="matched", filled=6_000_000)
    ).results
    assert (result.status, result.reason, result.size) == (
        "partial",
        "partial_liquidity",
        10_000_000,
    )
    [fill] = result.fills
    assert fill.size == 6_000_000 and fill.fee == taker_fee(6_000_000, 400_000, 70_000, 1) > 0
    ledger = Ledger(100_000_000)
    ledger.apply_fill(fill)
    assert ledger.cash == 100_000_000 - 2_400_000 - fill.fee  # exact: notional + fee as charged
    assert venue.cash_delta == -(2_400_000 + fill.fee) and venue.shares == {"yes": 6_000_000}


def test_trade_message_without_a_rate_falls_back_to_the_market_schedule() -> None:
    """A fee_rate_bps of 0 (the legacy field V2 messages may leave unset) → the market's rate."""
    from polyarb.execution.fees import taker_fee

    feeful = MarketMeta(
        "0xc", "q?", "q", ("yes", "no"), ("Yes", "No"), 10_000, 5_000_000, fee_rate=50_000
    )
    venue = UserRowVenue({"0xc": feeful})
    venue.submit(ORDER, 1)
    venue.on_user(1, 2, _trade("t1", "MATCHED"))
    [result] = venue.on_user(
        2, 3, order_row("o1", order_id="0xabc", status="matched", filled=5_000_000)
    ).results
    assert result.fills[0].fee == taker_fee(5_000_000, 400_000, 50_000, 1) > 0


@given(st.integers(1, 500), st.integers(0, 99), st.integers(1, 99))
def test_carried_position_keeps_the_pnl_identity(shares, cost_c, mark_c) -> None:  # type: ignore[no-untyped-def]
    """Issue 13 item 4: a position carried in at live startup (``Ledger.carry``) keeps
    equity − initial cash = realised + marked, and selling it realises against its cost."""
    ledger = Ledger(10**9)
    size, cost = shares * 10_000, shares * cost_c * 100
    ledger.carry("m", "a", size, cost)
    ledger.mark({"a": mark_c * 10_000})
    assert ledger.equity() - ledger.initial_cash == ledger.realised_pnl + ledger.marked_pnl()
    ledger.apply_fill(Fill("s", "o", "m", "a", "SELL", mark_c * 10_000, size, 0, 0, 0))
    assert ledger.position("a") == 0
    assert ledger.realised_pnl == mark_c * 10_000 * size // 1_000_000 - cost
