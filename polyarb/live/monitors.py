"""Health the alert rules need from outside the feed: exchange balance and chain RPC health.

A :class:`HealthMonitor` polls on its own thread and keeps the latest answer;
the feed merges :meth:`HealthMonitor.fields` into every ``tick`` row, so the
engine's LOW_BALANCE and RPC_UNHEALTHY rules read them from the recording and
a replay sees exactly what the live (or shadow) run saw.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from polyarb.chain.client import ChainClient


class HealthMonitor:
    """``balance()`` (micro pUSD) and ``rpc`` polled every ``interval_s``; ``fields()`` for ticks.

    ``rpc_ok`` is false when the node does not answer or its latest block is older than
    ``max_block_age_s`` (a stalled node answers with old blocks).
    """

    def __init__(
        self,
        *,
        balance: Callable[[], int] | None = None,
        rpc: ChainClient | None = None,
        interval_s: float = 5.0,
        max_block_age_s: float | None = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._balance = balance
        self._rpc = rpc
        self.interval_s = interval_s
        self.max_block_age_s = max_block_age_s
        self.clock = clock
        self._fields: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0

    def poll_once(self) -> dict[str, Any]:
        """Ask both sources now; a source that fails leaves its field out (balance) or false."""
        out: dict[str, Any] = {}
        if self._balance is not None:
            try:
                out["balance"] = int(self._balance())
            except Exception:  # an unreachable exchange: no observation, the rule keeps state
                self.errors += 1
        if self._rpc is not None:
            health = self._rpc.health()
            ok = health.ok
            if ok and self.max_block_age_s is not None and health.block_timestamp is not None:
                ok = self.clock() - health.block_timestamp <= self.max_block_age_s
            out["rpc_ok"] = ok
        self._fields = out
        return out

    def fields(self) -> dict[str, Any]:
        """The latest answers (called by the feed when it writes a tick row)."""
        return dict(self._fields)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="polyarb-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.interval_s)
