"""The one interface between the engine and any venue (simulated, recorded or live).

The engine owns time and calls a venue only through these methods, so replay,
shadow and live run the same detector, risk and execution code. Two kinds of
venue exist:

* **simulated** (:class:`~polyarb.execution.venue.SimVenue`): orders arrive
  after a latency draw and match the book at arrival (``next_arrival_ns`` /
  ``on_time``); ``on_user`` has nothing to do.
* **exchange-driven** (:class:`~polyarb.execution.user_venue.UserRowVenue`
  and the live venue built on it): an order's outcome is known only from
  ``user`` rows of the session (user-channel frames and recorded REST
  answers), handed over by ``on_user``; nothing ever "arrives" by time.

A venue never reads a clock, the network or the environment on the engine's
thread: a live venue sends from its own worker and hands every answer back as
a recorded row, so the replay of the recording sees the same answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from polyarb.execution.orders import Order, OrderResult, UserUpdate
from polyarb.execution.venue import BookView
from polyarb.protocol.markets import MarketMeta


@runtime_checkable
class Venue(Protocol):
    """What the engine needs of a venue (docs/engine.md §Adding a venue)."""

    simulated: bool
    """False when fills are real (live, or replayed from a live recording): fills rows say so."""

    def submit(self, order: Order, now_ns: int) -> int:
        """Take ``order`` decided at ``now_ns``; returns its (expected) arrival time in ns."""
        ...

    def next_arrival_ns(self) -> int | None:
        """The earliest time ``on_time`` has something to do, or None."""
        ...

    def pending(self) -> int:
        """Orders sent and not yet answered."""
        ...

    def on_time(self, now_ns: int, book: BookView, seq: int) -> list[OrderResult]:
        """Results of orders whose arrival time has come (simulated venues)."""
        ...

    def on_user(self, seq: int, now_ns: int, payload: str) -> UserUpdate:
        """Interpret one ``user`` row: results of our orders and fills the exchange reversed."""
        ...

    def on_level(self, asset_id: str, side: str, price: int, size: int) -> None:
        """A level of the market's book changed (``price_change``)."""
        ...

    def on_snapshot(self, asset_id: str, bids: Mapping[int, int], asks: Mapping[int, int]) -> None:
        """A full ``book`` snapshot of ``asset_id``."""
        ...

    def update_market(self, meta: MarketMeta) -> None:
        """Replace a market's metadata (tick change, resolution, new market)."""
        ...
