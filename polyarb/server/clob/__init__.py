"""``polyarb serve --clob``: a local Polymarket CLOB V2 exchange double (REST + user channel).

It checks what the real exchange checks (L1/L2 auth, the EIP-712 order
signature for the market's exchange, tick, minimum size, balance and
allowance), matches FOK/FAK orders against the served session's book, emits
user-channel events with the real shapes, enforces the dead-man switch and
injects faults. See docs/live.md.
"""

from polyarb.server.clob.exchange import ApiError, ClobExchange, ClobFaults, MarketInfo
from polyarb.server.clob.matching import match_taker
from polyarb.server.clob.server import (
    BytesBooks,
    ClobServer,
    ClobServerThread,
    FrameBooks,
    markets_from_meta,
)

__all__ = [
    "ApiError",
    "BytesBooks",
    "ClobExchange",
    "ClobFaults",
    "ClobServer",
    "ClobServerThread",
    "FrameBooks",
    "MarketInfo",
    "markets_from_meta",
    "match_taker",
]
