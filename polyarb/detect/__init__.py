"""Arbitrage detectors (docs/engine.md §Detectors): one protocol, chosen by name in the profile."""

from __future__ import annotations

from collections.abc import Sequence

from polyarb.config.profile import Profile
from polyarb.detect.base import Detector, DetectorFactory, MarketView, Opportunity
from polyarb.detect.binary import BinaryCompleteSet
from polyarb.detect.negrisk import NegRiskBasket
from polyarb.protocol.markets import MarketMeta

REGISTRY: dict[str, DetectorFactory] = {
    BinaryCompleteSet.name: BinaryCompleteSet,
    NegRiskBasket.name: NegRiskBasket,
}
"""Detector name (as a profile's ``detectors`` lists it) → factory."""


def build_detectors(profile: Profile, markets: Sequence[MarketMeta]) -> list[Detector]:
    """The profile's detectors, in the order the profile lists them."""
    return [REGISTRY[name](profile, markets) for name in profile.detectors]


__all__ = [
    "REGISTRY",
    "Detector",
    "MarketView",
    "Opportunity",
    "build_detectors",
]
