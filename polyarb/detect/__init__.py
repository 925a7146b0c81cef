"""Arbitrage detectors (docs/engine.md §Detectors): one protocol, chosen by name in the profile."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module

from polyarb.config.profile import DETECTORS, Profile
from polyarb.detect.base import Detector, DetectorFactory, MarketView, Opportunity, Settlement
from polyarb.protocol.markets import MarketMeta


def detector_factory(name: str) -> DetectorFactory:
    """The class registered as ``name`` in :data:`~polyarb.config.profile.DETECTORS`."""
    module, _, attr = DETECTORS[name].partition(":")
    factory: DetectorFactory = getattr(import_module(module), attr)
    return factory


REGISTRY: dict[str, DetectorFactory] = {name: detector_factory(name) for name in DETECTORS}
"""Detector name (as a profile's ``detectors`` lists it) → factory, loaded from DETECTORS."""


def build_detectors(profile: Profile, markets: Sequence[MarketMeta]) -> list[Detector]:
    """The profile's detectors, in the order the profile lists them."""
    return [detector_factory(name)(profile, markets) for name in profile.detectors]


__all__ = [
    "REGISTRY",
    "Detector",
    "MarketView",
    "Opportunity",
    "Settlement",
    "build_detectors",
    "detector_factory",
]
