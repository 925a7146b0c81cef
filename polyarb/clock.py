"""The one Clock idea: components are handed time, they never read it.

The engine's clock is driven by frames (their receive timestamp); only the
live adapters at the edges read the wall clock, through :class:`WallClock`.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that can say what time it is, in nanoseconds."""

    def now_ns(self) -> int: ...


class WallClock:
    """Real time, for adapters only (feed, recorder, live venue)."""

    def now_ns(self) -> int:
        return time.time_ns()

    def mono_ns(self) -> int:
        return time.monotonic_ns()


class FrameClock:
    """Time as the engine sees it: the receive time of the frame being processed."""

    __slots__ = ("_now",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def advance(self, ns: int) -> None:
        """Move to ``ns``; time never goes backwards inside a run."""
        if ns > self._now:
            self._now = ns
