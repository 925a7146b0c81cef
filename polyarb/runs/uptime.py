"""WebSocket uptime, time-weighted: the Python twin of ``analytics/sql/view_uptime.sql``.

Promote-check, the daily report and the dashboard's finished runs read the SQL view over
the ``connected`` metric rows; a running run has no metrics table yet, so its heartbeat
(the dashboard's live view) counts with :class:`Uptime` over the same inputs: each tick's
connection count, holding from its receive time until the next tick's, the last one until
the run's latest receive time. "Connected" is at least one connection up. Counting ticks
instead (connected ticks / ticks) reads 1 s down in 60 s as 98.4 %, not the view's 98.3 %.
"""

from __future__ import annotations

from collections.abc import Iterable


class Uptime:
    """Connected time / observed time, fed one ``(ts_ns, connections up)`` sample at a time."""

    __slots__ = ("_connected_ns", "_last_ns", "_last_up", "_observed_ns")

    def __init__(self) -> None:
        self._connected_ns = 0
        self._observed_ns = 0
        self._last_ns: int | None = None
        self._last_up = False

    def observe(self, ts_ns: int, connected: int) -> None:
        """A tick's connection count at ``ts_ns`` (receive time, never going back)."""
        if self._last_ns is not None:
            span = max(0, ts_ns - self._last_ns)
            self._observed_ns += span
            if self._last_up:
                self._connected_ns += span
        self._last_ns = max(ts_ns, self._last_ns or ts_ns)
        self._last_up = connected > 0

    def pct(self, end_ns: int | None = None) -> float | None:
        """Connected % up to ``end_ns`` (default: the last sample); ``None`` before any time passed."""
        if self._last_ns is None:
            return None
        tail = max(0, (end_ns if end_ns is not None else self._last_ns) - self._last_ns)
        observed = self._observed_ns + tail
        connected = self._connected_ns + (tail if self._last_up else 0)
        return 100.0 * connected / observed if observed else None


def connected_pct(samples: Iterable[tuple[int, int]], end_ns: int | None = None) -> float | None:
    """Connected % of ``(ts_ns, connections up)`` samples in time order, up to ``end_ns``."""
    uptime = Uptime()
    for ts_ns, connected in samples:
        uptime.observe(ts_ns, connected)
    return uptime.pct(end_ns)
