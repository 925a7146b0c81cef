"""Client-side pacing: stay under the exchange's rate limits, keep the dead-man switch armed.

Limits are Polymarket's published sliding windows, as of 2026-05-06
(docs/protocol.md §Authentication and rate limits); staying under them means a 429 is an exception, handled
by the client's backoff, not the steady state. Both classes take the clock and
sleeper they use, so tests drive them without waiting.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from polyarb.venues.polymarket.errors import ClobError


class HeartbeatClient(Protocol):
    """What :class:`Heartbeat` needs of a client (``PolymarketClient`` is one)."""

    clock: Callable[[], float]

    def heartbeat(self, heartbeat_id: str = "") -> Any: ...


log = logging.getLogger(__name__)

DEFAULT_LIMITS: dict[str, tuple[int, float]] = {
    "clob": (9_000, 10.0),
    "POST /order": (3_500, 10.0),
    "POST /order 10min": (36_000, 600.0),
    "POST /orders": (1_000, 10.0),
    "DELETE": (3_000, 10.0),
}
"""Group → (requests, window seconds)."""


def limit_groups(method: str, path: str) -> tuple[str, ...]:
    """The rate-limit groups one request counts against."""
    groups = ["clob"]
    if method == "POST" and path == "/order":
        groups += ["POST /order", "POST /order 10min"]
    elif method == "POST" and path == "/orders":
        groups.append("POST /orders")
    elif method == "DELETE":
        groups.append("DELETE")
    return tuple(groups)


class RateLimiter:
    """Sliding windows per group; :meth:`acquire` sleeps until a request may go."""

    def __init__(
        self,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        limits: dict[str, tuple[int, float]] | None = None,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self._sent: dict[str, deque[float]] = {g: deque() for g in self.limits}
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def acquire(self, method: str, path: str) -> float:
        """Wait (through the injected sleeper) until every group has room; returns the wait."""
        with self._lock:  # waiters queue up: the window is shared by every thread
            return self._acquire(method, path)

    def _acquire(self, method: str, path: str) -> float:
        groups = [g for g in limit_groups(method, path) if g in self.limits]
        now = self.clock()
        waited = 0.0
        for group in groups:
            limit, window = self.limits[group]
            sent = self._sent[group]
            while sent and sent[0] <= now - window:
                sent.popleft()
            if len(sent) >= limit:
                wait = sent[0] + window - now
                self.sleep(wait)
                waited += wait
                # Trust the sleep even when the clock is a test's and did not move.
                now = max(self.clock(), now + wait)
                while sent and sent[0] <= now - window:
                    sent.popleft()
        for group in groups:
            self._sent[group].append(now)
        self.waited_s += waited
        return waited


class Heartbeat:
    """Keeps one API key's dead-man switch armed (``POST /heartbeats`` every ``interval_s``).

    Call :meth:`tick` from a loop that runs anyway, or :meth:`run` in a thread.
    If the process stalls, the beats stop and the exchange cancels the key's
    open orders by itself: that is the point.
    """

    def __init__(
        self,
        client: HeartbeatClient,
        interval_s: float = 5.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.client = client
        self.interval_s = interval_s
        self.clock = clock or client.clock
        self.last_ok: float | None = None
        self.failures = 0
        self._last_try: float | None = None

    def tick(self) -> bool:
        """Send a heartbeat if one is due; True when one was sent and acknowledged."""
        now = self.clock()
        if self._last_try is not None and now - self._last_try < self.interval_s:
            return False
        self._last_try = now
        try:
            self.client.heartbeat()
        except ClobError as exc:
            self.failures += 1
            log.warning("heartbeat failed (%d so far): %s", self.failures, exc)
            return False
        self.last_ok = now
        return True

    def run(self, stop: threading.Event) -> None:
        """Beat until ``stop`` is set (for a daemon thread beside the live loop)."""
        while not stop.is_set():
            self.tick()
            stop.wait(self.interval_s / 4)
