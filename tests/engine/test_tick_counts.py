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


def test_an_idle_tick_does_only_what_changed(monkeypatch):
    """Issue 16, item 7: a tick that changes nothing re-reads no gauge and no PnL.

    Before, every tick called ``_metric`` for the four book gauges (each a dict read that
    wrote nothing) and summed the empty ledger's marks; now the gauges are compared as one
    tuple and skipped while equal, and with nothing open the PnL is the realised figure.
    The metrics rows are unchanged (only changes were ever written).
    """
    metas = group("t", 1)
    feed = Feed(metas, profile())
    feed.frame(quotes(metas, T0_MS, yes=(390_000, 400_000), no=(590_000, 600_000)), 0)
    feed.tick(1_000)  # the first tick writes the gauges it has not written yet
    rows = len(feed.sink.tables.get("metrics", []))
    engine = feed.engine
    calls: list[str] = []
    real_metric = engine._metric
    monkeypatch.setattr(engine, "_metric", lambda *a: calls.append(a[1]) or real_metric(*a))
    monkeypatch.setattr(engine.ledger, "total_pnl", lambda: calls.append("total_pnl") or 0)
    for at_ms in range(2_000, 12_000, 1_000):
        feed.tick(at_ms)
    assert calls == []
    assert len(feed.sink.tables.get("metrics", [])) == rows
