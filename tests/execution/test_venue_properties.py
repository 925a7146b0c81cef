"""Hypothesis properties of matching: never past the limit, never more than the book, FOK atomic."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from venue_fakes import MARKET, YES, FakeBook, meta

from polyarb.execution.latency import Latency
from polyarb.execution.orders import Order
from polyarb.execution.venue import SimVenue

cents = st.integers(min_value=1, max_value=99).map(lambda c: c * 10_000)
book_sides = st.dictionaries(cents, st.integers(min_value=1, max_value=50_000_000), max_size=8)
orders = st.lists(
    st.tuples(
        st.sampled_from(["BUY", "SELL"]),
        st.sampled_from(["FOK", "FAK"]),
        st.integers(min_value=0, max_value=60_000_000),
        st.integers(min_value=0, max_value=1_000_000),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(book_sides, book_sides, orders, st.integers(0, 2**32))
def test_matching_invariants(asks: dict[int, int], bids: dict[int, int], specs, seed: int) -> None:
    book = FakeBook()
    book.ask[YES], book.bid[YES] = asks, bids
    v = SimVenue(Latency("uniform", 10, 10, seed), {MARKET: meta(fee_rate=70_000)})
    for i, (side, kind, size, limit) in enumerate(specs):
        v.submit(Order(f"d{i}/L0", f"d{i}", MARKET, YES, side, size, limit, kind), 0)
    taken: dict[tuple[str, int], int] = {}
    for res in v.on_time(10**12, book, seq=1):
        assert res.filled_size <= res.size <= res.order.size
        if res.status == "filled":
            assert res.filled_size == res.size
        if res.order.order_type == "FOK":
            assert res.status in ("filled", "killed", "rejected")
            assert res.filled_size in (0, res.size)
        assert (res.status == "partial") == (0 < res.filled_size < res.size)
        for f in res.fills:
            assert f.price <= res.limit_price if f.side == "BUY" else f.price >= res.limit_price
            assert f.size > 0 and f.size % 10_000 == 0 and f.fee >= 0
            key = ("asks" if f.side == "BUY" else "bids", f.price)
            taken[key] = taken.get(key, 0) + f.size
    for (side, price), size in taken.items():
        assert size <= (asks if side == "asks" else bids)[price]  # never more than was there
        assert v.consumed(YES, side, price) == size


@given(st.sampled_from(["constant", "uniform", "normal"]), st.integers(0, 2**32), orders)
def test_same_seed_same_results(kind: str, seed: int, specs) -> None:
    def run() -> list[tuple]:
        book = FakeBook()
        book.ask[YES] = {400_000: 20_000_000, 600_000: 20_000_000}
        book.bid[YES] = {300_000: 20_000_000, 200_000: 20_000_000}
        v = SimVenue(Latency(kind, 50, 30, seed), {MARKET: meta(fee_rate=50_000)})
        for i, (side, k, size, limit) in enumerate(specs):
            v.submit(Order(f"d{i}/L0", f"d{i}", MARKET, YES, side, size, limit, k), i)
        return [(r.row(), [f.row() for f in r.fills]) for r in v.on_time(10**12, book, 1)]

    assert run() == run()
