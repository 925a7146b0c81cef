"""Issue 11, items 9 and 12: which neg-risk baskets exist (placeholders, augmentation, metadata
updates mid-run) and the legs' exchange-time skew.

Each test fails on the engine before these changes (its docstring says how).
"""

from __future__ import annotations

import msgspec
import pytest
from negrisk_rows import T0_MS, Feed, group, outcome, profile, quotes

YES = (290_000, 300_000)  # Σ asks of three outcomes 0.90: a YES basket
NO = (700_000, 710_000)


def test_a_placeholder_outcome_means_no_yes_basket():
    """Item 9. Three named outcomes and a ``negRiskOther`` placeholder: the named YES asks sum to
    0.90, but "Other" can win, so buying them is not a basket. Counted as suppressed.

    The old detector dropped the placeholder from the group and traded the rest.
    """
    metas = group("p", 4, placeholder=True)
    feed = Feed(metas, profile())
    feed.frame(quotes(metas, T0_MS, yes=YES, no=NO), 0)
    feed.tick(30)
    summary = feed.engine.finish()
    assert summary["opportunities_total"] == 0
    assert summary["suppressed"]["negrisk_basket"]["placeholder_outcome"] == 4


def _update(kind: str, metas):
    if kind == "new_outcome":
        return outcome("u", 3)
    if kind == "augmented":
        return msgspec.structs.replace(metas[1], neg_risk_augmented=True)
    return msgspec.structs.replace(metas[2], fee_rate=1_000_000)  # fee 0.21 a share at 0.30


FLAT = (330_000, 340_000)  # Σ asks of three outcomes 1.02: nothing to trade
FLAT_NO = (660_000, 670_000)
CHEAP = (210_000, 220_000)  # one outcome at 0.22: Σ asks 0.90
CHEAP_NO = (780_000, 790_000)


def _one_basket_then(metas, updates):
    """One outcome's quote drops: exactly one boundary sees the basket; it fills. The same quote
    is re-sent at seq 5, the row where ``updates`` (if any) take effect, and closes at seq 6."""
    feed = Feed(metas, profile(), updates=updates)
    feed.frame(quotes(metas, T0_MS, yes=FLAT, no=FLAT_NO), 0)  # seq 1
    feed.tick(30)  # seq 2: nothing
    feed.frame(quotes(metas[:1], T0_MS + 100, yes=CHEAP, no=CHEAP_NO), 100)  # seq 3
    feed.tick(130)  # seq 4: the basket
    feed.frame(quotes(metas[:1], T0_MS + 400, yes=CHEAP, no=CHEAP_NO), 400)  # seq 5
    feed.tick(430)  # seq 6: the same books again
    return feed


def test_unchanged_metadata_sees_the_basket_again():
    """The control for the next test: without an update the re-sent quote is a basket again."""
    feed = _one_basket_then(group("u", 3), [])
    assert feed.reasons() == ["ok", "ok"]


@pytest.mark.parametrize("kind", ["new_outcome", "augmented", "fees"])
def test_metadata_updates_reach_the_basket_at_once(kind):
    """Item 9. A basket trades; then a metadata update arrives (a fourth outcome, the augmented
    flag, or fees that eat the edge) and the same books no longer make a basket.

    The old detector kept the groups it was built with and traded the stale basket again.
    """
    metas = group("u", 3)
    feed = _one_basket_then(metas, [(5, _update(kind, metas))])
    assert feed.reasons() == ["ok"]
    assert feed.engine.finish()["opportunities_total"] == 1


def test_fees_from_an_update_price_the_basket():
    """Item 9. The update's fee reaches sizing too: a small fee leaves a basket with less edge.

    The old detector priced the second basket with the fees it was built with (same edge).
    """
    metas = group("v", 3)
    fee = msgspec.structs.replace(metas[0], fee_rate=20_000)  # 0.02 × p(1 − p)
    feed = _one_basket_then(metas, [(5, fee)])
    edges = [d["edge"] for d in feed.decisions("opportunity")]
    assert len(edges) == 2 and edges[1] < edges[0]


def test_negrisk_legs_skewed_across_connections_are_not_traded():
    """Item 12. ``risk.max_leg_skew_ms`` applies to baskets. A leg's time is how current its book
    is known to be: the latest exchange time its connection delivered. Two outcomes on one
    connection whose books last changed 5 s apart are current together (traded); an outcome
    on a connection 5 s behind in exchange time is not (``leg_skew``).

    The old detector had no skew guard and traded both.
    """
    metas = group("s", 2)
    yes = (440_000, 450_000)  # Σ asks 0.90
    no = (550_000, 560_000)
    one = Feed(metas, profile(max_leg_skew_ms=1_000))
    one.frame(quotes(metas[:1], T0_MS, yes=yes, no=no), 0)
    one.frame(quotes(metas[1:], T0_MS + 5_000, yes=yes, no=no), 4_000)
    one.tick(4_100)
    assert one.reasons() == ["ok"]

    two = Feed(metas, profile(max_leg_skew_ms=1_000))
    two.frame(quotes(metas[:1], T0_MS, yes=yes, no=no), 0, conn=1)
    two.frame(quotes(metas[1:], T0_MS + 5_000, yes=yes, no=no), 4_000, conn=2)
    two.tick(4_100)
    summary = two.engine.finish()
    assert summary["opportunities_total"] == 0
    assert summary["suppressed"]["negrisk_basket"]["leg_skew"] >= 1
    # within the limit it trades again
    three = Feed(metas, profile(max_leg_skew_ms=6_000))
    three.frame(quotes(metas[:1], T0_MS, yes=yes, no=no), 0, conn=1)
    three.frame(quotes(metas[1:], T0_MS + 5_000, yes=yes, no=no), 4_000, conn=2)
    three.tick(4_100)
    assert three.reasons() == ["ok"]


def test_markets_parquet_without_the_neg_risk_columns_still_loads(tmp_path):
    """Old sessions: a ``markets.parquet`` written before ``neg_risk_other`` and
    ``neg_risk_augmented`` existed loads with both False (a guard, not a regression test)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from polyarb.recording.reader import read_markets_table
    from polyarb.recording.schema import MARKETS_SCHEMA

    metas = group("o", 2)
    rows = [{"valid_from_seq": 0, **msgspec.structs.asdict(m)} for m in metas]
    table = pa.Table.from_pylist(rows, schema=MARKETS_SCHEMA)
    old = table.drop_columns(["neg_risk_other", "neg_risk_augmented"])
    pq.write_table(old, tmp_path / "markets.parquet")
    loaded = [m for _, m in read_markets_table(tmp_path / "markets.parquet")]
    assert loaded == metas
