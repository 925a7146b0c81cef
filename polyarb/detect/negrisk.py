"""Neg-risk basket: buy every YES below 1, or every NO below n − 1 (docs/engine.md §Detectors).

Exactly one named outcome of a neg-risk event wins, so one YES of each pays
1; n NOs convert through the NegRiskAdapter into n − 1 collateral
(docs/protocol.md §Neg-risk). When unnamed outcomes can win the YES basket is
not exhaustive: ``negRiskAugmented`` events are skipped whole, and an event
with a ``negRiskOther`` placeholder gets no YES basket (the placeholder never
counts as an outcome; n named NOs still pay at least n − 1, so the NO basket
stays). The group is read from the view at every boundary, so a metadata
update (a new outcome, the augmented flag, fees) applies from the next one.

Freshness is the connection watchdog (stale books), consistency, and
``risk.max_leg_skew_ms`` between the legs' *as-of* exchange times
(``MarketView.as_of_ms``): an unchanged book on a live connection is current
as of the latest exchange timestamp that connection delivered
(docs/protocol.md §Feed pitfalls), so legs skew when their connections are at
different exchange times, not because one outcome's book sat still for
minutes while another moved.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

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


class Basket(msgspec.Struct, frozen=True):
    """The tradable shape of one neg-risk event as its metadata stands now."""

    outcomes: tuple[MarketMeta, ...]
    """Named outcomes (placeholders excluded), in first-seen order."""
    exhaustive: bool
    """No placeholder: exactly one of ``outcomes`` wins, so a YES basket pays 1."""


def basket_of(group: Sequence[MarketMeta]) -> Basket | None:
    """``group``'s basket, or None (augmented event, fewer than two named outcomes)."""
    named = []
    exhaustive = True
    for m in group:
        if not m.neg_risk:
            continue
        if m.neg_risk_augmented:
            return None
        if m.neg_risk_other:
            exhaustive = False
        elif yes_no(m) is not None:
            named.append(m)
    return Basket(tuple(named), exhaustive) if len(named) >= 2 else None


def basket_groups(markets: Sequence[MarketMeta]) -> dict[str, list[MarketMeta]]:
    """Tradable neg-risk groups (named outcomes) by neg-risk market id, in first-seen order."""
    groups: dict[str, list[MarketMeta]] = {}
    for m in markets:
        if m.neg_risk and m.neg_risk_market_id:
            groups.setdefault(m.neg_risk_market_id, []).append(m)
    out = {}
    for key, group in groups.items():
        basket = basket_of(group)
        if basket is not None:
            out[key] = list(basket.outcomes)
    return out


class NegRiskBasket:
    """``negrisk_basket``: all named outcomes of one neg-risk event, equal shares."""

    name = "negrisk_basket"

    def __init__(self, profile: Profile, markets: Sequence[MarketMeta]) -> None:
        self.min_edge = micro(profile.risk.min_edge)
        self.max_cash = micro(profile.risk.trade_size_usd)
        self.max_skew_ms = profile.risk.max_leg_skew_ms
        self._suppressed: dict[str, int] = {}

    @property
    def suppressed(self) -> dict[str, int]:
        return self._suppressed

    def on_boundary(self, view: MarketView, market: MarketMeta, seq: int) -> list[Opportunity]:
        if not market.neg_risk or not market.neg_risk_market_id:
            return []
        basket = basket_of(view.markets_in_group(market.neg_risk_market_id))
        if basket is None:
            return []
        group = basket.outcomes
        pairs = [yes_no(m) for m in group]
        yes = [p[0] for p in pairs if p]
        no = [p[1] for p in pairs if p]
        n = len(group)
        out = []
        for variant, assets, payout in (("buy_yes", yes, ONE), ("buy_no", no, (n - 1) * ONE)):
            tops = []
            for asset in assets:
                book = view.book(asset)
                top = book.best_ask() if book is not None else None
                if top is None:
                    break
                tops.append(top)
            else:
                if top_clears(tops, group, BUY, payout, self.min_edge):
                    if variant == "buy_yes" and not basket.exhaustive:
                        self._count("placeholder_outcome")
                        continue
                    opp = self._sized(
                        view, market.neg_risk_market_id, group, assets, variant, payout, seq
                    )
                    if opp is not None:
                        out.append(opp)
        return out

    def _count(self, reason: str) -> None:
        self._suppressed[reason] = self._suppressed.get(reason, 0) + 1

    def _sized(
        self,
        view: MarketView,
        group_id: str,
        group: Sequence[MarketMeta],
        assets: list[str],
        variant: str,
        payout: int,
        seq: int,
    ) -> Opportunity | None:
        books, reason = legs_guard(view, assets, self.max_skew_ms, as_of=True)
        if reason is not None:
            self._count(reason)
            return None
        legs = [
            LegBook(
                b.asset_id,
                m.condition_id,
                b.asks_best_first(),
                m.fee_rate,
                m.fee_exponent,
                m.min_order_size,
            )
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
            # NOs convert to n − 1 collateral now; a YES basket waits for the one that pays 1
            settles="convert" if variant == "buy_no" else "hold",
        )
