"""The lazy OrderBook answers exactly what the eager ``{price: size}`` book did.

``OrderBook`` adopts a snapshot's tuples and builds its dicts only when read, and keeps
best bid/ask between changes. ``EagerBook`` below is the book as it was before (dicts
built at every snapshot, best prices from ``max``/``min`` of the dict at every call):
random snapshots (duplicates, zero sizes, any order), level changes, clears and epochs,
with reads interleaved at random points (a read builds a dict or a cached best, which
the next change must keep right), must give the same answers at every step.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from polyarb.book import OrderBook
from polyarb.events import BUY, SELL, Level


class EagerBook:
    """The pre-lazy OrderBook's rules, kept as the reference model."""

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def apply_snapshot(self, bids: tuple[Level, ...], asks: tuple[Level, ...]) -> None:
        self.bids = {p: s for p, s in bids if s}
        self.asks = {p: s for p, s in asks if s}

    def apply_level(self, side: str, price: int, size: int) -> None:
        levels = self.bids if side == BUY else self.asks
        if size:
            levels[price] = size
        else:
            levels.pop(price, None)

    def clear(self) -> None:
        self.bids = {}
        self.asks = {}

    def best_bid(self) -> int | None:
        return max(self.bids) if self.bids else None

    def best_ask(self) -> int | None:
        return min(self.asks) if self.asks else None

    def crossed(self) -> bool:
        if not self.bids or not self.asks:
            return False
        return max(self.bids) >= min(self.asks)


# Few prices and sizes 0-3: duplicates, zero sizes and ties at the best price are frequent.
price = st.integers(1, 5).map(lambda k: k * 1_000)
size = st.integers(0, 2)
side = st.lists(st.tuples(price, size), max_size=8).map(tuple)
# Kinds drawn by weight (one_of would draw each alternative equally): mostly level changes,
# so deltas often delete or raise a best price that a read has cached.
kind = st.sampled_from(
    ["snapshot", "snapshot", "level", "level", "level", "level", "clear", "epoch"]
)
op = st.tuples(kind, side, side, st.sampled_from([BUY, SELL]), price, size)
READS = ("best_bid", "best_ask", "crossed", "bids", "asks", "walk", "venue", "hash")


def _read(book: OrderBook, model: EagerBook, what: str) -> None:
    if what == "best_bid":
        assert book.best_bid() == model.best_bid()
    elif what == "best_ask":
        assert book.best_ask() == model.best_ask()
    elif what == "crossed":
        assert book.crossed() == model.crossed()
    elif what == "bids":
        assert list(book.bids.items()) == list(model.bids.items())
    elif what == "asks":
        assert list(book.asks.items()) == list(model.asks.items())
    elif what == "walk":
        assert book.bids_best_first() == sorted(model.bids.items(), reverse=True)
        assert book.asks_best_first() == sorted(model.asks.items())
    elif what == "venue":
        assert dict(book.bid_levels) == model.bids and dict(book.ask_levels) == model.asks
        assert all(book.ask_levels.get(p, 0) == model.asks.get(p, 0) for p in range(0, 6_000, 500))
        assert len(book.bid_levels) == len(model.bids) and (1_000 in book.bid_levels) == (
            1_000 in model.bids
        )
    else:
        assert book.wire_bids() == sorted(model.bids.items())
        assert book.wire_asks() == sorted(model.asks.items(), reverse=True)


@settings(max_examples=1_000, deadline=None)
@given(
    steps=st.lists(
        st.tuples(op, st.lists(st.sampled_from(READS), max_size=3)), min_size=2, max_size=30
    )
)
def test_lazy_book_equals_eager_dict_book(steps):
    """Every read after every step equals the eager book's: laziness never shows."""
    book = OrderBook("a", "m", 1_000)
    model = EagerBook()
    for ts, ((what, bids, asks, level_side, level_price, level_size), reads) in enumerate(
        steps, start=1
    ):
        if what == "snapshot":
            book.apply_snapshot(bids, asks, ts)
            model.apply_snapshot(bids, asks)
        elif what == "level":
            book.apply_level(level_side, level_price, level_size, ts)
            model.apply_level(level_side, level_price, level_size)
        elif what == "clear":
            book.clear()
            model.clear()
        else:
            book.new_epoch(1_000)
            model.clear()
        for read in reads:
            _read(book, model, read)
    for read in READS:
        _read(book, model, read)


def test_zero_size_entry_at_the_extreme_price_is_not_the_best():
    """A snapshot whose highest bid / lowest ask is listed only at size 0 has its best elsewhere.

    Fails if the best price were taken from the snapshot's extreme entry without
    looking at its size (or from the wire's last entry): the level does not exist.
    """
    book = OrderBook("a", "m", 1_000)
    book.apply_snapshot(((4_000, 2), (5_000, 0)), ((6_000, 1), (3_000, 0)), 1)
    assert (book.best_bid(), book.best_ask()) == (4_000, 6_000)
    assert not book.crossed()
    # The same price listed twice, the later entry 0: the earlier non-zero one stands.
    book.apply_snapshot(((5_000, 2), (5_000, 0)), ((3_000, 0), (3_000, 1)), 2)
    assert (book.best_bid(), book.best_ask()) == (5_000, 3_000)
    assert book.crossed()
    assert book.bids == {5_000: 2} and book.asks == {3_000: 1}
    # Only zeros: an empty side, not a price.
    book.apply_snapshot(((5_000, 0),), ((3_000, 0),), 3)
    assert (book.best_bid(), book.best_ask()) == (None, None)


def test_cached_best_follows_level_changes():
    """A best price kept from the snapshot moves with deltas (raised, deleted, emptied)."""
    book = OrderBook("a", "m", 1_000)
    book.apply_snapshot(((1_000, 5), (2_000, 5)), ((4_000, 5), (3_000, 5)), 1)
    assert (book.best_bid(), book.best_ask()) == (2_000, 3_000)
    book.apply_level(BUY, 2_500, 1, 2)
    book.apply_level(SELL, 2_800, 1, 2)
    assert (book.best_bid(), book.best_ask()) == (2_500, 2_800)
    book.apply_level(BUY, 2_500, 0, 3)
    book.apply_level(SELL, 2_800, 0, 3)
    assert (book.best_bid(), book.best_ask()) == (2_000, 3_000)
    for p in (1_000, 2_000):
        book.apply_level(BUY, p, 0, 4)
    assert book.best_bid() is None
    book.apply_level(BUY, 1_500, 7, 5)
    assert book.best_bid() == 1_500 and book.bids == {1_500: 7}


def test_snapshot_builds_no_dict_until_a_reader_needs_one():
    """Adopting a snapshot, its best prices and the crossing check build no ``{price: size}``.

    The point of the lazy book (issue 16): most snapshots are replaced before anything
    walks them. Fails on the eager book, which built both dicts at every snapshot; the
    dicts appear on the first read that needs them (a level change, a walk, the venue).
    """
    book = OrderBook("a", "m", 1_000)
    book.apply_snapshot(((1_000, 5), (2_000, 5)), ((4_000, 5), (3_000, 5)), 1)
    assert (book.best_bid(), book.best_ask(), book.crossed()) == (2_000, 3_000, False)
    assert book._bids is None and book._asks is None
    assert book.ask_levels.get(3_000, 0) == 5  # the venue reading one level builds that side
    assert book._bids is None and book._asks == {4_000: 5, 3_000: 5}
    book.apply_level(BUY, 1_000, 0, 2)
    assert book._bids == {2_000: 5}
