"""Hypothesis properties of matching: never past the limit, never more than the book, FOK atomic."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from venue_fakes import MARKET, NO, YES, FakeBook, meta

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


# --- acceptance 2: what we took stays taken until the exchange's data says otherwise --------

SH = 1_000_000
YES_ASKS = (500_000, 520_000, 550_000)
YES_BIDS = (400_000, 450_000, 480_000)
LEVELS = [("asks", p) for p in YES_ASKS] + [("bids", p) for p in YES_BIDS]
_level = st.sampled_from(LEVELS)
_size = st.integers(0, 40).map(lambda k: k * SH // 2)
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("set"), _level, _size, st.sampled_from(["yes", "no", "both"])),
        st.tuples(st.just("snap"), st.sampled_from([YES, NO])),
        st.tuples(
            st.just("order"),
            _level,
            st.sampled_from([YES, NO]),
            st.integers(5, 30).map(lambda k: k * SH),
            st.sampled_from(["FOK", "FAK"]),
        ),
    ),
    max_size=40,
)


def _mirror(side: str, price: int) -> tuple[str, int]:
    return ("bids" if side == "asks" else "asks"), 1_000_000 - price


@settings(max_examples=300, deadline=None)
@given(st.lists(_size, min_size=len(LEVELS), max_size=len(LEVELS)), _ops)
def test_taken_liquidity_never_exceeds_what_the_exchange_showed(initial, ops) -> None:
    """Acceptance 2 as an invariant, per resting level of the market's one book.

    ``inflow`` = the level's first size + every increase the exchange later showed
    (new orders). Across any sequence of level updates (from either token), snapshots
    and our orders on either token: ``filled + (size − consumed) ≤ inflow`` (what we
    took plus what we may still take never exceeds what ever rested there), and
    ``consumed ≤ size`` (min rule). So a level that never grew beyond 100 yields at
    most 100. The old venue forgot what it took on any update of the level.
    """
    truth = dict(zip(LEVELS, initial, strict=True))  # YES-view level → size
    inflow = dict(truth)
    filled = dict.fromkeys(LEVELS, 0)
    book = FakeBook()
    v = SimVenue(Latency("constant", 0), {MARKET: meta()})

    def show() -> None:
        for tok in (YES, NO):
            book.ask[tok], book.bid[tok] = {}, {}
        for (side, price), size in truth.items():
            if size:
                getattr(book, side[:-1])[YES][price] = size
                m_side, m_price = _mirror(side, price)
                getattr(book, m_side[:-1])[NO][m_price] = size

    show()
    for i, op in enumerate(ops):
        if op[0] == "set":
            _, (side, price), size, which = op
            inflow[(side, price)] += max(0, size - truth[(side, price)])
            truth[(side, price)] = size
            show()
            if which in ("yes", "both"):
                v.on_level(YES, "SELL" if side == "asks" else "BUY", price, size)
            if which in ("no", "both"):
                m_side, m_price = _mirror(side, price)
                v.on_level(NO, "SELL" if m_side == "asks" else "BUY", m_price, size)
        elif op[0] == "snap":
            tok = op[1]
            v.on_snapshot(tok, book.bid[tok], book.ask[tok])
        else:
            _, (side, price), tok, size, kind = op
            if tok == NO:
                side, price = _mirror(side, price)
            order_side = "BUY" if side == "asks" else "SELL"
            v.submit(Order(f"d{i}/L0", f"d{i}", MARKET, tok, order_side, size, price, kind), 0)
            for res in v.on_time(0, book, seq=i):
                for f in res.fills:
                    key = ("asks" if f.side == "BUY" else "bids", f.price)
                    if f.asset_id == NO:
                        key = _mirror(*key)
                    filled[key] += f.size
        for level in LEVELS:
            took = v.consumed(YES, *level)
            assert took == v.consumed(NO, *_mirror(*level))  # one book, two views
            assert took <= truth[level]
            assert filled[level] + truth[level] - took <= inflow[level]
