"""Shared constants and fakes for the adapter/double tests (fixtures live in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from polyarb.venues.polymarket import MarketParams

KEY = "0x" + "11" * 32
OTHER_KEY = "0x" + "22" * 32
TOKEN = "1111"
NR_TOKEN = "2222"
CONDITION = "0x" + "cd" * 32
NR_CONDITION = "0x" + "ef" * 32
MARKET = MarketParams(TOKEN, 10_000)
NR_MARKET = MarketParams(NR_TOKEN, 1_000, neg_risk=True)


@dataclass
class FakeClock:
    """Unix seconds the test moves by hand (the exchange's and the client's)."""

    now: float = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Sleeper:
    """Records the backoff the client asked for instead of sleeping."""

    slept: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
