"""Injected faults: what real feeds do to clients (docs/protocol.md §Feed pitfalls)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaultPlan:
    """Deterministic faults, counted in streamed frames on one connection (not the dump).

    Zero disables a fault. ``connections`` limits the faults to the first N
    connections (0 = every connection), so a test can fault one connection and
    let the reconnect run clean.
    """

    disconnect_after: int = 0
    """Close the connection (code 1011) after this many frames."""
    freeze_after: int = 0
    """Stop sending data after this many frames; PINGs are still answered with PONG."""
    freeze_for_s: float = 0.0
    """How long a freeze lasts (0 = until the client reconnects)."""
    garbage_every: int = 0
    """Before every N-th frame, send a truncated copy of it (not valid JSON)."""
    duplicate_every: int = 0
    """Send every N-th frame twice."""
    delay_every: int = 0
    """Sleep ``delay_ms`` before every N-th frame (stalls the whole stream)."""
    delay_ms: float = 0.0
    connections: int = 0

    def applies_to(self, connection_index: int) -> bool:
        """Whether connection number ``connection_index`` (from 0) gets these faults."""
        return self.connections == 0 or connection_index < self.connections

    @property
    def any(self) -> bool:
        return bool(
            self.disconnect_after
            or self.freeze_after
            or self.garbage_every
            or self.duplicate_every
            or (self.delay_every and self.delay_ms)
        )


def garbage_of(data: bytes) -> bytes:
    """A frame that is not JSON: the first half of ``data``, cut on a UTF-8 boundary."""
    cut = max(1, len(data) // 2)
    return data[:cut].decode("utf-8", "ignore").encode() or b"{"
