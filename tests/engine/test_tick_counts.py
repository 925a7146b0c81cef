"""Issue 12, item 3: the engine's per-tick counters are named fields, not list slots.

Before, ``Engine._tick_counts`` was ``[0] * 7`` read by position (``[5]`` opportunities,
``[1]`` fills…); this reads them by name between ticks and sees the next tick reset them.
"""

from __future__ import annotations

from negrisk_rows import T0_MS, Feed, group, profile, quotes
from test_settlement import ToyPairs

from polyarb.config.profile import DETECTORS
from polyarb.engine.engine import TickCounts


def test_counts_since_the_last_tick_are_named_and_reset_by_a_tick(monkeypatch):
    monkeypatch.setitem(DETECTORS, "toy_pairs", f"{ToyPairs.__module__}:ToyPairs")
    metas = group("t", 1)
    feed = Feed(metas, profile().model_copy(update={"detectors": ("toy_pairs",)}))
    feed.frame(quotes(metas, T0_MS, yes=(390_000, 400_000), no=(490_000, 500_000)), 0)
    feed.frame([], 30)  # not a tick: the event ends here and its basket is sent
    counts = feed.engine._tick_counts
    assert isinstance(counts, TickCounts)
    assert (counts.opportunities, counts.orders, counts.fills) == (1, 2, 0)
    assert counts.decisions == 4  # opportunity, verdict, two orders
    feed.frame([], 500)  # the orders arrived in between and filled
    counts = feed.engine._tick_counts
    assert (counts.fills, counts.trades, counts.rejects, counts.held) == (2, 1, 0, 0)
    feed.tick(501)
    counts = feed.engine._tick_counts
    assert (counts.orders, counts.fills, counts.decisions, counts.trades) == (0, 0, 0, 0)
