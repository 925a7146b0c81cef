"""The circuit breaker: opens after N consecutive failures, closes on a tick past its cool-down.

Cool-down is only evaluated in :meth:`CircuitBreaker.on_tick`, because tick
rows sit at the same place in a replay as they did live (docs/design.md §The clock); a check
on every frame would close at a frame-dependent moment.
"""

from __future__ import annotations

from typing import Literal

BreakerEvent = Literal["opened", "closed", "halted"]


class CircuitBreaker:
    """Failure counter with an open/closed state and a permanent halt for CRITICAL alerts."""

    __slots__ = ("_failures", "_halt_reason", "_opened_ns", "cooldown_ns", "threshold")

    def __init__(self, threshold: int, cooldown_ns: int) -> None:
        if threshold < 1:
            raise ValueError(f"breaker threshold must be >= 1, got {threshold}")
        if cooldown_ns < 0:
            raise ValueError(f"breaker cool-down must be >= 0 ns, got {cooldown_ns}")
        self.threshold = threshold
        self.cooldown_ns = cooldown_ns
        self._failures = 0
        self._opened_ns: int | None = None
        self._halt_reason: str | None = None

    @property
    def is_open(self) -> bool:
        """True while tripped (trading paused until a tick past the cool-down)."""
        return self._opened_ns is not None

    @property
    def halted(self) -> bool:
        """True after :meth:`halt`: trading stays stopped for the rest of the run."""
        return self._halt_reason is not None

    @property
    def halt_reason(self) -> str | None:
        """Why trading was halted, if it was."""
        return self._halt_reason

    @property
    def failures(self) -> int:
        """Consecutive failures counted so far."""
        return self._failures

    @property
    def opened_ns(self) -> int | None:
        """When the breaker last opened, if open."""
        return self._opened_ns

    def record_failure(self, now_ns: int) -> BreakerEvent | None:
        """Count a failure (a rejected order, a leg that did not fill); ``"opened"`` when it trips."""
        self._failures += 1
        if self._opened_ns is None and self._failures >= self.threshold:
            self._opened_ns = now_ns
            return "opened"
        return None

    def record_success(self) -> None:
        """A basket that filled completely resets the consecutive count."""
        self._failures = 0

    def on_tick(self, now_ns: int) -> BreakerEvent | None:
        """Evaluate the cool-down at a tick row; ``"closed"`` when it closes."""
        if self._opened_ns is not None and now_ns >= self._opened_ns + self.cooldown_ns:
            self._opened_ns = None
            self._failures = 0
            return "closed"
        return None

    def halt(self, reason: str) -> BreakerEvent | None:
        """Stop trading for good (a CRITICAL alert); ``"halted"`` the first time."""
        if self._halt_reason is not None:
            return None
        self._halt_reason = reason
        return "halted"
