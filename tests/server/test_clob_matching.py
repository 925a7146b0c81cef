"""The double's taker matching: FOK all-or-nothing, FAK what crosses, never past the limit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from polyarb.server.clob.matching import match_taker

ASKS = [(530_000, 5_000_000), (540_000, 10_000_000), (560_000, 1_000_000)]


def test_buy_walks_asks_up_to_the_limit() -> None:
    """A BUY takes 0.53 then 0.54 and stops before 0.56 (above its limit)."""
    assert match_taker("BUY", 550_000, 100_000_000, ASKS, fill_or_kill=False) == [
        (530_000, 5_000_000),
        (540_000, 10_000_000),
    ]


def test_fok_is_all_or_nothing() -> None:
    """Not enough crossing size: a FOK gets nothing, the same FAK gets what is there."""
    assert match_taker("BUY", 540_000, 16_000_000, ASKS, fill_or_kill=True) == []
    assert match_taker("BUY", 540_000, 15_000_000, ASKS, fill_or_kill=True) == ASKS[:2]


def test_sell_walks_bids_down_to_the_limit() -> None:
    """A SELL at 0.47 takes the 0.48 and 0.47 bids, not 0.46."""
    bids = [(480_000, 1_000_000), (470_000, 2_000_000), (460_000, 5_000_000)]
    assert match_taker("SELL", 470_000, 10_000_000, bids, fill_or_kill=False) == bids[:2]


levels = st.lists(
    st.tuples(
        st.integers(1, 99).map(lambda c: c * 10_000),
        st.integers(1, 50).map(lambda s: s * 1_000_000),
    ),
    max_size=8,
    unique_by=lambda lv: lv[0],
).map(sorted)


@given(levels, st.integers(1, 99), st.integers(1, 200), st.booleans())
def test_fills_never_exceed_size_or_cross_the_limit(
    asks: list[tuple[int, int]], cents: int, shares: int, fok: bool
) -> None:
    """Property: total filled ≤ order size, each fill ≤ its level and at or under the limit."""
    limit, size = cents * 10_000, shares * 1_000_000
    fills = match_taker("BUY", limit, size, asks, fill_or_kill=fok)
    assert sum(s for _, s in fills) <= size
    assert all(p <= limit for p, _ in fills)
    assert all(s <= dict(asks)[p] for p, s in fills)
    if fok and fills:
        assert sum(s for _, s in fills) == size
