"""Neg-risk basket: buy every YES below 1, or every NO below n − 1 (docs/engine.md §Detectors).

Exactly one named outcome of a neg-risk event wins, so one YES of each pays
1; n NOs convert through the NegRiskAdapter into n − 1 collateral
(docs/protocol.md §Neg-risk). Both break when unnamed outcomes can win:
``negRiskAugmented`` events are skipped whole and ``negRiskOther``
placeholders never count as an outcome.

Freshness here is the connection watchdog (stale books) and consistency, not
the legs' timestamps: in a many-outcome event most books sit unchanged for
minutes, and an unchanged book on a live connection is current
(docs/protocol.md §Feed pitfalls: watch silence per connection, not per quiet
asset). The binary detector can demand close timestamps because both
tokens of one condition change in the same matching event.
"""

from __future__ import annotations

from collections.abc import Sequence

from polyarb.config.profile import Profile, micro
from polyarb.detect.base import MarketView, Opportunity, sized_opportunity
from polyarb.detect.binary import top_clears
from polyarb.detect.guards import legs_guard
from polyarb.detect.sizing import LegBook
from polyarb.events import BUY
from polyarb.protocol.markets import MarketMeta
from polyarb.units import ONE


def yes_no(meta: MarketMeta) -> tuple[str, str] | None:
    """(YES token, NO token) of a two-outcome condition, by outcome label."""
    if len(meta.token_ids) != 2:
        return None
    labels = [o.lower() for o in meta.outcomes]
    yes = labels.index("yes") if "yes" in labels else 0
    return meta.token_ids[yes], meta.token_ids[1 - yes]


def basket_groups(markets: Sequence[MarketMeta]) -> dict[str, list[MarketMeta]]:
    """Tradable neg-risk groups by neg-risk market id, in first-seen order."""
    groups: dict[str, list[MarketMeta]] = {}
    augmented: set[str] = set()
    for m in markets:
        if not m.neg_risk or not m.neg_risk_market_id:
            continue
        if m.neg_risk_augmented:
            augmented.add(m.neg_risk_market_id)
        if m.neg_risk_other or yes_no(m) is None:
            continue
        groups.setdefault(m.neg_risk_market_id, []).append(m)
    return {k: v for k, v in groups.items() if k not in augmented and len(v) >= 2}


class NegRiskBasket:
    """``negrisk_basket``: all named outcomes of one neg-risk event, equal shares."""

    name = "negrisk_basket"

    def __init__(self, profile: Profile, markets: Sequence[MarketMeta]) -> None:
        self.min_edge = micro(profile.risk.min_edge)
        self.max_cash = micro(profile.risk.trade_size_usd)
        self.groups = basket_groups(markets)
        self._suppressed: dict[str, int] = {}

    @property
    def suppressed(self) -> dict[str, int]:
        return self._suppressed

    def on_boundary(self, view: MarketView, market: MarketMeta, seq: int) -> list[Opportunity]:
        group = self.groups.get(market.neg_risk_market_id)
        if group is None:
            return []
        pairs = [yes_no(m) for m in group]
        yes = [p[0] for p in pairs if p]
        no = [p[1] for p in pairs if p]
        n = len(group)
        out = []
        for variant, assets, payout in (("buy_yes", yes, ONE), ("buy_no", no, (n - 1) * ONE)):
            tops = []
            for asset in assets:
                book = view.book(asset)
                if book is None or not book.asks:
                    break
                tops.append(min(book.asks))
            else:
                if top_clears(tops, group, BUY, payout, self.min_edge):
                    opp = self._sized(
                        view, market.neg_risk_market_id, group, assets, variant, payout, seq
                    )
                    if opp is not None:
                        out.append(opp)
        return out

    def _sized(
        self,
        view: MarketView,
        group_id: str,
        group: list[MarketMeta],
        assets: list[str],
        variant: str,
        payout: int,
        seq: int,
    ) -> Opportunity | None:
        books, reason = legs_guard(view, assets, None)
        if reason is not None:
            self._suppressed[reason] = self._suppressed.get(reason, 0) + 1
            return None
        legs = [
            LegBook(b.asset_id, m.condition_id, b.asks_best_first(), m.fee_rate, m.fee_exponent)
            for b, m in zip(books, group, strict=True)
        ]
        return sized_opportunity(
            self.name,
            variant,
            group_id,
            BUY,
            legs,
            payout=payout,
            min_edge=self.min_edge,
            max_cash=self.max_cash,
            seq=seq,
            ts_ms=max(b.ts_ms for b in books),
            suppressed=self._suppressed,
        )
