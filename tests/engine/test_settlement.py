"""Issue 12, item 4: an opportunity says how it settles; the engine reads nothing else.

The engine used to merge only when ``opp.detector == "binary_complete_set"`` and convert
only when ``opp.variant == "buy_no"``: a new detector could not have its baskets merged
without an engine change. Here a toy detector registered in ``DETECTORS`` (one registry
line, no engine edit) buys YES+NO of one market with ``settles="merge"`` and its basket is
merged; the same toy with ``settles="hold"`` keeps its tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from negrisk_rows import T0_MS, Feed, group, profile, quotes

from polyarb.config.profile import DETECTORS, Profile
from polyarb.detect.base import MarketView, Opportunity, Settlement, sized_opportunity
from polyarb.detect.sizing import LegBook
from polyarb.events import BUY
from polyarb.protocol.markets import MarketMeta
from polyarb.units import SCALE


class ToyPairs:
    """Buys both tokens of any market whose asks sum below 1; settles as ``SETTLES`` says."""

    name = "toy_pairs"
    SETTLES: Settlement = "merge"

    def __init__(self, profile: Profile, markets: Sequence[MarketMeta]) -> None:
        self._suppressed: dict[str, int] = {}

    def on_boundary(self, view: MarketView, market: MarketMeta, seq: int) -> list[Opportunity]:
        books = [view.book(a) for a in market.token_ids]
        if any(b is None or not b.asks for b in books):
            return []
        legs = [
            LegBook(b.asset_id, market.condition_id, b.asks_best_first(), 0, 1, 0)
            for b in books
            if b is not None
        ]
        opp = sized_opportunity(
            self.name,
            "pair",
            market.condition_id,
            BUY,
            legs,
            payout=SCALE,
            min_edge=0,
            max_cash=200 * SCALE,
            seq=seq,
            ts_ms=max(b.ts_ms for b in books if b is not None),
            suppressed=self._suppressed,
            settles=self.SETTLES,
        )
        return [] if opp is None else [opp]

    @property
    def suppressed(self) -> dict[str, int]:
        return self._suppressed


class ToyHold(ToyPairs):
    SETTLES: Settlement = "hold"


def _run(monkeypatch: pytest.MonkeyPatch, cls: type[ToyPairs]) -> Feed:
    monkeypatch.setitem(DETECTORS, "toy_pairs", f"{__name__}:{cls.__name__}")
    prof = profile().model_copy(update={"detectors": ("toy_pairs",)})
    metas = group("t", 1)  # one market: YES ask 0.40 + NO ask 0.50 < 1
    feed = Feed(metas, prof)
    feed.frame(quotes(metas, T0_MS, yes=(390_000, 400_000), no=(490_000, 500_000)), 0)
    feed.tick(30)  # the event goes quiet: boundary, orders sent
    feed.tick(500)  # they arrive and fill
    return feed


def test_a_registered_toy_detector_settling_by_merge_is_merged(monkeypatch):
    feed = _run(monkeypatch, ToyPairs)
    summary = feed.engine.finish()
    assert summary.fills == 2
    assert summary.merges == 1
    (merge,) = feed.decisions("merge")
    assert merge["detector"] == "toy_pairs" and '"via":"merge"' in merge["detail"]
    assert feed.engine.ledger.open_assets() == {}  # both tokens went back to collateral
    assert summary.realised_pnl > 0


def test_the_same_toy_settling_by_hold_keeps_its_tokens(monkeypatch):
    feed = _run(monkeypatch, ToyHold)
    summary = feed.engine.finish()
    assert summary.fills == 2 and summary.merges == 0
    assert len(feed.engine.ledger.open_assets()) == 2
