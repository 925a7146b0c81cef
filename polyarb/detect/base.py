"""The one detector protocol, the opportunity record and the view detectors read.

A detector is told that a market reached an event boundary and looks at the
books through a :class:`MarketView`; it never sees a mid-event state or any
clock but the one the view carries. Adding a detector is one new module and
one line in :data:`polyarb.config.profile.DETECTORS` (docs/design.md §Extending).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec

from polyarb.book import OrderBook
from polyarb.config.profile import Profile
from polyarb.detect.sizing import LegBook, LegFill, size_basket, venue_minimum_reason
from polyarb.protocol.markets import MarketMeta
from polyarb.units import SCALE

Settlement = Literal["merge", "convert", "hold"]
"""What the engine does with a filled basket, chosen by the detector that found it.

``merge``: every leg's token back to collateral through the CTF (a binary complete set);
``convert``: neg-risk NO tokens converted to collateral (n − 1 per set); ``hold``: keep the
tokens until resolution pays them (a neg-risk YES basket). The engine reads only this, never
detector or variant names, so a new detector chooses its settlement without engine changes.
"""


class Opportunity(msgspec.Struct, frozen=True, gc=False):
    """A sized, fee-inclusive basket that cleared the profile's edge on consistent books.

    ``opportunity_id`` is ``<detector>/<variant>:<market>:<boundary seq>``:
    the same session and profile always give the same ids.
    """

    opportunity_id: str
    detector: str
    variant: str
    """``buy_both`` | ``sell_both`` | ``buy_yes`` | ``buy_no``."""
    market: str
    """Condition id (binary) or neg-risk market id (basket)."""
    side: str
    size: int
    """Shares per leg (micro)."""
    cash: int
    """Total cost (BUY, fees included) or proceeds (SELL, net of fees) of all legs."""
    payout: int
    """What ``size`` sets are worth: merge/convert value for BUY, split cost for SELL."""
    fees: int
    edge: int
    """Per share after fees (micro)."""
    legs: tuple[LegFill, ...]
    boundary_seq: int
    ts_ms: int
    """Latest exchange timestamp among the legs."""
    settles: Settlement
    """How a filled basket settles (:data:`Settlement`)."""

    @property
    def assets(self) -> tuple[str, ...]:
        return tuple(leg.asset_id for leg in self.legs)


class MarketView(Protocol):
    """Read-only access to books and metadata, with the engine's tradability rules."""

    def meta(self, condition_id: str) -> MarketMeta: ...

    def book(self, asset_id: str) -> OrderBook | None: ...

    def untradable(self, asset_id: str) -> str | None:
        """``None`` if the book may be traded on now, else the reason code."""
        ...

    def markets_in_group(self, neg_risk_market_id: str) -> Sequence[MarketMeta]: ...

    def as_of_ms(self, asset_id: str) -> int:
        """Exchange time up to which ``asset_id``'s book is known current (≥ its last change)."""
        ...


class Detector(Protocol):
    """Finds opportunities in one market's books at an event boundary."""

    name: str

    def on_boundary(self, view: MarketView, market: MarketMeta, seq: int) -> list[Opportunity]:
        """Opportunities visible now that ``market`` finished an event at frame ``seq``."""
        ...

    @property
    def suppressed(self) -> dict[str, int]:
        """Priced-in baskets that a guard stopped, by reason (for the run summary)."""
        ...


class DetectorFactory(Protocol):
    def __call__(self, profile: Profile, markets: Sequence[MarketMeta]) -> Detector: ...


def sized_opportunity(
    detector: str,
    variant: str,
    market: str,
    side: str,
    legs: Sequence[LegBook],
    *,
    payout: int,
    min_edge: int,
    max_cash: int,
    seq: int,
    ts_ms: int,
    suppressed: dict[str, int],
    settles: Settlement,
) -> Opportunity | None:
    """Size ``legs`` in equal shares into an :class:`Opportunity`, or count why not.

    ``below_one_lot``: not one lot clears the edge; ``below_min_size`` /
    ``below_min_notional``: the largest worthwhile size is one the venue refuses.

    ``payout`` is what one set is worth (1 for a binary set, 1 or n − 1 for a neg-risk
    basket); ``settles`` is how the engine settles it once filled; the id is deterministic: ``<detector>/<variant>:<market>:<seq>``.
    """
    sizing = size_basket(legs, side, payout=payout, min_edge=min_edge, max_cash=max_cash)
    if sizing is None:
        suppressed["below_one_lot"] = suppressed.get("below_one_lot", 0) + 1
        return None
    reason = venue_minimum_reason(legs, sizing)
    if reason is not None:
        suppressed[reason] = suppressed.get(reason, 0) + 1
        return None
    return Opportunity(
        opportunity_id=f"{detector}/{variant}:{market}:{seq}",
        detector=detector,
        variant=variant,
        market=market,
        side=side,
        size=sizing.size,
        cash=sizing.cash,
        payout=payout * sizing.size // SCALE,
        fees=sizing.fees,
        edge=sizing.edge,
        legs=sizing.legs,
        boundary_seq=seq,
        ts_ms=ts_ms,
        settles=settles,
    )
