"""Shared pieces of the importers: synthetic ids and the tick cadence.

Frame text in the wire's style comes from :mod:`polyarb.protocol.wire`.
"""

from __future__ import annotations

import hashlib

TICK_INTERVAL_NS = 1_000_000_000
"""Cadence of tick rows in imported sessions, as the live feed inserts them."""


def synthetic_token_id(condition_id: str, outcome: str) -> str:
    """A stable 77-digit decimal token id for data that publishes none (documented as synthetic)."""
    digest = hashlib.sha256(f"{condition_id}:{outcome}".encode()).hexdigest()
    return str(int(digest, 16) % 10**77).rjust(77, "1")
