"""Polymarket CLOB V2 adapter (``py-clob-client-v2``): auth, signing, orders, user channel.

An adapter: the pure core never imports it. Importing this package is light;
eth_account and the SDK load on first use.
"""

from polyarb.venues.polymarket.client import (
    ClientStats,
    OrderAck,
    PolymarketClient,
    RetryPolicy,
)
from polyarb.venues.polymarket.errors import ClobError, ClobRejected, ClobUnavailable
from polyarb.venues.polymarket.pacing import Heartbeat, RateLimiter
from polyarb.venues.polymarket.signing import ApiCreds, MarketParams, SignedOrder

__all__ = [
    "ApiCreds",
    "ClientStats",
    "ClobError",
    "ClobRejected",
    "ClobUnavailable",
    "Heartbeat",
    "MarketParams",
    "OrderAck",
    "PolymarketClient",
    "RateLimiter",
    "RetryPolicy",
    "SignedOrder",
]
