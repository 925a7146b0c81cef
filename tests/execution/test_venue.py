"""Simulated venue: latency, matching at arrival, FOK/FAK, level walking, consumption, rounding."""

from __future__ import annotations

from collections import Counter

import pytest
from venue_fakes import MARKET, NO, YES, FakeBook, meta

from polyarb.config.profile import LatencyModel
from polyarb.execution.fees import taker_fee
from polyarb.execution.latency import Latency
from polyarb.execution.orders import Order
from polyarb.execution.venue import SimVenue, round_limit

MS = 1_000_000


def order(
    oid: str = "d1/L0",
    side: str = "BUY",
    size: int = 10_000_000,
    limit: int = 500_000,
    kind: str = "FOK",
    asset: str = YES,
) -> Order:
    return Order(oid, "d1", MARKET, asset, side, size, limit, kind, seq=7)  # type: ignore[arg-type]


def venue(latency_ms: int = 50, **market: object) -> SimVenue:
    return SimVenue(Latency("constant", latency_ms), {MARKET: meta(**market)})  # type: ignore[arg-type]


def test_constant_latency_and_matching_at_arrival_not_decision(book: FakeBook) -> None:
    v = venue(50)
    book.ask[YES] = {400_000: 100_000_000}  # the book that triggered the decision
    assert v.submit(order(), 1_000 * MS) == 1_050 * MS
    assert v.on_time(1_049 * MS, book, seq=8) == []  # not arrived yet
    book.ask[YES] = {450_000: 100_000_000}  # the book moved before arrival
    (res,) = v.on_time(1_050 * MS, book, seq=9)
    assert res.status == "filled" and res.reason == "ok"
    assert [(f.price, f.size) for f in res.fills] == [(450_000, 10_000_000)]
    assert res.arrive_ns == 1_050 * MS and res.submit_ns == 1_000 * MS
    assert res.fills[0].ts_ns == 1_050 * MS and res.fills[0].seq == 9 and res.seq == 9
    assert v.pending() == 0 and v.next_arrival_ns() is None


def test_seeded_latency_distributions_are_reproducible() -> None:
    for kind in ("uniform", "normal"):
        a = Latency.from_profile(LatencyModel(kind=kind, mean_ms=50, jitter_ms=20, seed=42))
        b = Latency.from_profile(LatencyModel(kind=kind, mean_ms=50, jitter_ms=20, seed=42))
        c = Latency.from_profile(LatencyModel(kind=kind, mean_ms=50, jitter_ms=20, seed=43))
        da, db, dc = ([x.draw_ns() for _ in range(200)] for x in (a, b, c))
        assert da == db and da != dc
        assert all(d >= 0 for d in da) and len(set(da)) > 100
        if kind == "uniform":
            assert all(30 * MS <= d <= 70 * MS for d in da)
    assert Latency("constant", 7).draw_ns() == 7 * MS
    with pytest.raises(ValueError, match="kind"):
        Latency("poisson", 7)


def test_arrivals_in_time_order_ties_in_submission_order(book: FakeBook) -> None:
    v = SimVenue(Latency("uniform", 50, 40, seed=1), {MARKET: meta()})
    book.ask[YES] = {500_000: 10**9}
    arrivals = {f"d{i}/L0": v.submit(order(f"d{i}/L0"), 0) for i in range(20)}
    results = v.on_time(10**12, book, seq=1)
    got = [r.order.order_id for r in results]
    assert got == sorted(arrivals, key=lambda k: (arrivals[k], int(k[1:].split("/")[0])))


def test_buy_walks_levels_up_to_limit_with_per_level_fees(book: FakeBook) -> None:
    v = venue(0, fee_rate=50_000)
    book.ask[YES] = {480_000: 3_000_000, 490_000: 4_000_000, 500_000: 5_000_000, 510_000: 9 * 10**6}
    v.submit(order(size=10_000_000, limit=500_000), 0)
    (res,) = v.on_time(0, book, seq=1)
    assert res.status == "filled"
    assert [(f.price, f.size) for f in res.fills] == [
        (480_000, 3_000_000),
        (490_000, 4_000_000),
        (500_000, 3_000_000),
    ]
    assert [f.fee for f in res.fills] == [taker_fee(f.size, f.price, 50_000, 1) for f in res.fills]
    assert res.fees > 0 and res.cash == 1_440_000 + 1_960_000 + 1_500_000
    assert [f.fill_id for f in res.fills] == ["d1/L0-f0", "d1/L0-f1", "d1/L0-f2"]


def test_sell_walks_bids_down_to_limit(book: FakeBook) -> None:
    v = venue(0)
    book.bid[YES] = {470_000: 2_000_000, 460_000: 2_000_000, 450_000: 50_000_000}
    v.submit(order(side="SELL", size=6_000_000, limit=460_000, kind="FAK"), 0)
    (res,) = v.on_time(0, book, seq=1)
    assert res.status == "partial" and res.reason == "partial_liquidity"
    assert [(f.price, f.size) for f in res.fills] == [(470_000, 2_000_000), (460_000, 2_000_000)]
    assert res.filled_size == 4_000_000 and res.row()["filled_size"] == 4_000_000


def test_fok_kills_when_depth_to_limit_is_short_and_takes_nothing(book: FakeBook) -> None:
    v = venue(0)
    book.ask[YES] = {480_000: 3_000_000, 520_000: 50_000_000}
    v.submit(order(size=5_000_000, limit=500_000, kind="FOK"), 0)
    (res,) = v.on_time(0, book, seq=1)
    assert (res.status, res.reason, res.fills) == ("killed", "insufficient_liquidity", ())
    assert v.consumed(YES, "asks", 480_000) == 0
    v.submit(order("d2/L0", size=5_000_000, limit=500_000, kind="FAK"), 0)
    (res,) = v.on_time(0, book, seq=2)
    assert res.status == "partial" and res.filled_size == 3_000_000
    book.ask[YES] = {}
    v.submit(order("d3/L0", kind="FAK"), 0)
    (res,) = v.on_time(0, book, seq=3)
    assert (res.status, res.reason) == ("killed", "insufficient_liquidity")


def test_own_fills_consume_liquidity_until_the_exchange_shows_it_gone(book: FakeBook) -> None:
    v = venue(0)
    book.ask[YES] = {500_000: 10_000_000}
    v.submit(order("a/L0", size=6_000_000), 0)
    v.submit(order("b/L0", size=6_000_000), 0)
    first, second = v.on_time(0, book, seq=1)
    assert first.status == "filled"
    assert second.status == "killed"  # only 4 shares left for us at 0.50
    assert v.consumed(YES, "asks", 500_000) == 6_000_000
    v.on_level(YES, "BUY", 500_000, 1_000_000)  # a bid-side change does not restore asks
    assert v.consumed(YES, "asks", 500_000) == 6_000_000
    v.on_level(YES, "SELL", 500_000, 10_000_000)  # re-stated unchanged: still ours
    assert v.consumed(YES, "asks", 500_000) == 6_000_000
    book.ask[YES] = {500_000: 5_000_000}
    v.on_level(YES, "SELL", 500_000, 5_000_000)  # 5 left: at most 5 of ours can remain
    assert v.consumed(YES, "asks", 500_000) == 5_000_000
    v.submit(order("c/L0", size=5_000_000), 0)
    assert v.on_time(0, book, seq=2)[0].status == "killed"
    book.ask[YES] = {500_000: 12_000_000}
    v.on_snapshot(YES, {}, book.ask[YES])  # 7 new shares arrived; our 5 stay taken
    v.submit(order("d/L0", size=7_000_000), 0)
    assert v.on_time(0, book, seq=3)[0].status == "filled"
    assert v.consumed(YES, "asks", 500_000) == 12_000_000
    v.on_snapshot(YES, {}, {})  # the level is gone: nothing of ours can be left there
    assert v.consumed(YES, "asks", 500_000) == 0


def test_one_book_per_binary_market(book: FakeBook) -> None:
    """Acceptance 1: YES asks and NO bids are one set of resting orders (p ↔ 1 − p).

    Old code kept what we took per token, so the NO bid at 0.60 still offered the
    shares we had just bought as YES asks at 0.40.
    """
    v = venue(0)
    book.ask[YES] = {400_000: 10_000_000}
    book.bid[NO] = {600_000: 10_000_000}  # the same orders, seen from the NO token
    v.submit(order("a/L0", size=10_000_000, limit=400_000), 0)
    (buy,) = v.on_time(0, book, seq=1)
    assert buy.status == "filled"
    v.submit(order("b/L0", side="SELL", size=5_000_000, limit=600_000, kind="FAK", asset=NO), 0)
    (sell,) = v.on_time(0, book, seq=2)
    assert (sell.status, sell.filled_size) == ("killed", 0)
    assert v.consumed(NO, "bids", 600_000) == 10_000_000
    # the feed re-states the level from the NO side: the same min rule, the same level
    v.on_level(NO, "BUY", 600_000, 4_000_000)
    assert v.consumed(YES, "asks", 400_000) == 4_000_000
    # and the other way round: NO asks are YES bids
    book.bid[YES] = {300_000: 10_000_000}
    book.ask[NO] = {700_000: 10_000_000}
    v.submit(order("c/L0", size=10_000_000, limit=700_000, asset=NO), 0)
    v.submit(order("d/L0", side="SELL", size=10_000_000, limit=300_000), 0)
    c, d = v.on_time(0, book, seq=3)
    assert c.status == "filled" and d.status == "killed"


def test_tick_rounding_is_conservative_and_range_checked(book: FakeBook) -> None:
    assert round_limit(505_000, 10_000, "BUY") == 500_000
    assert round_limit(505_000, 10_000, "SELL") == 510_000
    assert round_limit(500_000, 10_000, "SELL") == 500_000
    v = venue(0)
    book.ask[YES] = {510_000: 10**9}
    v.submit(order(limit=509_999), 0)  # rounds down to 0.50: cannot reach the 0.51 ask
    (res,) = v.on_time(0, book, seq=1)
    assert res.limit_price == 500_000 and res.status == "killed"
    v.submit(order("d2/L0", limit=995_000), 0)  # 0.99 is the top valid price for tick 0.01
    (res,) = v.on_time(0, book, seq=2)
    assert res.limit_price == 990_000 and res.status == "filled"
    v.submit(order("d3/L0", side="SELL", size=100_000_000, limit=1), 0)  # rounds up to 0.01
    v.submit(order("d4/L0", limit=5_000), 0)  # rounds down to 0: below the tick
    res3, res4 = v.on_time(0, book, seq=3)
    assert res3.limit_price == 10_000 and res3.reason == "insufficient_liquidity"
    assert (res4.status, res4.reason) == ("rejected", "price_out_of_range")


def test_min_notional_min_size_and_size_grid(book: FakeBook) -> None:
    """Acceptance 5: the market's minimum shares and $1 at the limit, for BUY and SELL alike.

    Old code checked neither for a SELL and the share minimum only behind a flag.
    """
    v = venue(0)
    book.ask[YES] = {100_000: 10**9}
    book.bid[YES] = {100_000: 10**9}
    v.submit(order("a/L0", size=9_000_000, limit=100_000), 0)  # $0.90 < $1 notional
    v.submit(order("b/L0", size=10_000_000, limit=100_000), 0)  # exactly $1
    v.submit(order("c/L0", side="SELL", size=9_990_000, limit=100_000), 0)  # $0.999
    v.submit(order("d/L0", size=10_009_999, limit=100_000), 0)  # sizes have 2 decimals
    v.submit(order("e/L0", size=9_999), 0)
    v.submit(order("f/L0", size=4_990_000, limit=500_000), 0)  # $2.495 but 4.99 < 5 shares
    v.submit(order("g/L0", side="SELL", size=4_990_000, limit=100_000), 0)
    v.submit(order("h/L0", side="SELL", size=10_000_000, limit=100_000), 0)
    a, b, c, d, e, f, g, h = v.on_time(0, book, seq=1)
    assert (a.status, a.reason) == ("rejected", "below_min_notional")
    assert b.status == "filled" and h.status == "filled"
    assert (c.status, c.reason) == ("rejected", "below_min_notional")
    assert d.size == 10_000_000 and d.filled_size == 10_000_000
    assert (e.status, e.reason) == ("rejected", "size_not_positive")
    assert (f.reason, g.reason) == ("below_min_size", "below_min_size")


def test_unknown_and_closed_markets_are_rejected(book: FakeBook) -> None:
    v = venue(0)
    v.submit(Order("x/L0", "x", "0xother", YES, "BUY", 10**7, 500_000), 0)
    v.update_market(meta(closed=True))
    v.submit(order(), 0)
    r1, r2 = v.on_time(0, book, seq=1)
    assert r1.reason == "unknown_market" and r2.reason == "market_closed"
    assert Counter(r.status for r in (r1, r2)) == {"rejected": 2}


def test_wire_sizes_off_the_order_grid_are_not_overfilled(book: FakeBook) -> None:
    v = venue(0)
    book.ask[NO] = {500_000: 4_999_999}
    v.submit(order(asset=NO, size=5_000_000, kind="FAK"), 0)
    (res,) = v.on_time(0, book, seq=1)
    assert res.filled_size == 4_990_000


def test_fees_follow_the_markets_own_schedule_from_gamma(shared_data, book: FakeBook) -> None:
    """A real Gamma record (crypto, rate 0.07, exponent 1) drives the fee of a simulated fill."""
    import json

    from polyarb.protocol.markets import from_gamma_market

    raw = json.loads(
        (shared_data / "gamma/market_btc_updown_5m_twap_2026-08-22_reduced.json").read_text()
    )
    m = from_gamma_market(raw)
    up = m.token_ids[0]
    v = SimVenue(Latency("constant", 0), {m.condition_id: m})
    book.ask[up] = {480_000: 100_000_000}
    v.submit(Order("d/L0", "d", m.condition_id, up, "BUY", 2_083_334, 480_000), 0)
    v.submit(Order("e/L0", "e", m.condition_id, up, "BUY", 5_000_000, 480_000), 0)
    small, res = v.on_time(0, book, seq=1)
    # The on-chain vector's 2.083334 shares at 0.48 floor to 2.08 here: under the market's
    # 5-share minimum (and $1), so rejected.
    assert (small.size, small.reason) == (2_080_000, "below_min_size")
    assert res.fills[0].fee == 87_360  # 5 × 0.07 × 0.48 × 0.52
