"""Adding a detector is one module and one registry line; profiles are checked against it.

Before, ``Profile.detectors`` was a hand-kept ``Literal`` repeating the registry, so a
registered toy detector was rejected by every profile that named it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from polyarb.config.profile import DETECTORS, Profile, ProfileError, parse_profile
from polyarb.detect import build_detectors
from polyarb.detect.base import MarketView, Opportunity
from polyarb.protocol.markets import MarketMeta


class ToyDetector:
    """Finds nothing, counts the boundaries it was shown."""

    name = "toy"

    def __init__(self, profile: Profile, markets: Sequence[MarketMeta]) -> None:
        self.markets = list(markets)
        self.seen = 0

    def on_boundary(self, view: MarketView, market: MarketMeta, seq: int) -> list[Opportunity]:
        self.seen += 1
        return []

    @property
    def suppressed(self) -> dict[str, int]:
        return {}


def test_a_registered_toy_detector_validates_and_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(DETECTORS, "toy", f"{__name__}:ToyDetector")
    profile = parse_profile({"name": "p", "detectors": ["toy", "negrisk_basket"]})
    detectors = build_detectors(profile, [])
    assert [d.name for d in detectors] == ["toy", "negrisk_basket"]
    assert isinstance(detectors[0], ToyDetector)


def test_an_unregistered_detector_is_a_clear_profile_error() -> None:
    with pytest.raises(ProfileError) as err:
        parse_profile({"name": "p", "detectors": ["toy"]}, "p.yaml")
    message = str(err.value)
    assert "detectors.0 = 'toy'" in message
    assert "binary_complete_set, negrisk_basket" in message
