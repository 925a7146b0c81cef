"""Issue 13 item 1: the engine talks to any venue through one typed protocol."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from polyarb.config.profile import load_profile
from polyarb.engine import Engine, MemorySink
from polyarb.engine.replay import run_session, split_history
from polyarb.execution import Latency, Order, OrderResult, SimVenue
from polyarb.execution.orders import UserUpdate
from polyarb.execution.user_venue import UserRowVenue
from polyarb.execution.venue import BookView
from polyarb.execution.venue_api import Venue
from polyarb.protocol.markets import MarketMeta
from polyarb.recording import SessionReader

REPO = Path(__file__).resolve().parents[2]


class CountingVenue:
    """A venue of our own: delegates to SimVenue and counts every call the engine makes."""

    def __init__(self, inner: SimVenue) -> None:
        self.inner = inner
        self.simulated = True
        self.calls: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def submit(self, order: Order, now_ns: int) -> int:
        self._count("submit")
        return self.inner.submit(order, now_ns)

    def next_arrival_ns(self) -> int | None:
        return self.inner.next_arrival_ns()

    def pending(self) -> int:
        return self.inner.pending()

    def on_time(self, now_ns: int, book: BookView, seq: int) -> list[OrderResult]:
        self._count("on_time")
        return self.inner.on_time(now_ns, book, seq)

    def on_user(self, seq: int, now_ns: int, payload: str) -> UserUpdate:
        return self.inner.on_user(seq, now_ns, payload)

    def on_level(self, asset_id: str, side: str, price: int, size: int) -> None:
        self.inner.on_level(asset_id, side, price, size)

    def on_snapshot(self, asset_id: str, bids: Mapping[int, int], asks: Mapping[int, int]) -> None:
        self.inner.on_snapshot(asset_id, bids, asks)

    def update_market(self, meta: MarketMeta) -> None:
        self.inner.update_market(meta)


def test_both_venues_satisfy_the_protocol() -> None:
    """SimVenue and the user-row venue are Venues (the protocol names every engine call)."""
    assert isinstance(
        SimVenue(
            Latency.from_profile(
                load_profile(REPO / "profiles" / "live_shadow_negrisk_v1.yaml").latency
            ),
            {},
        ),
        Venue,
    )
    assert isinstance(UserRowVenue({}), Venue)


def test_engine_uses_the_venue_it_is_given(negrisk_session: Path) -> None:
    """A venue passed to the constructor receives every order, and a venue equal to the
    default decides exactly what the default does (old code: no ``venue`` argument)."""
    profile = load_profile(REPO / "profiles" / "live_shadow_negrisk_v1.yaml")
    reader = SessionReader(negrisk_session)
    start, later = split_history(reader.market_history())
    plain = MemorySink()
    run_session(reader, Engine(start, profile, plain, updates=later))
    venue = CountingVenue(SimVenue(Latency.from_profile(profile.latency), {}))
    mine = MemorySink()
    engine = Engine(start, profile, mine, updates=later, venue=venue)
    run_session(reader, engine)
    assert engine.venue is venue
    assert venue.calls["submit"] > 0
    assert mine.tables["decisions"] == plain.tables["decisions"]
