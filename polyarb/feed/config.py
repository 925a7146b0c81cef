"""How the feed connects: the market-channel URL and the connection policy."""

from __future__ import annotations

from dataclasses import dataclass

MARKET_URL = "wss://ws-subscriptions-clob.polymarket.com/ws/market"


@dataclass(frozen=True)
class FeedConfig:
    """Connection policy. Defaults follow docs/protocol.md §Market channel and §Feed pitfalls."""

    url: str = MARKET_URL
    shard_size: int = 200
    """Assets per connection: snapshots go missing above ~500 (NT #3963); keep ≤ 200-250."""
    ping_interval_s: float = 10.0
    pong_timeout_s: float = 30.0
    silence_timeout_s: float = 60.0
    """Reconnect a connection that delivered no data (PONGs excluded) for this long."""
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    open_timeout_s: float = 10.0
    tick_interval_s: float = 1.0
    """Cadence of ``tick`` rows (0 = none); the engine's timers fire on them."""
    custom_feature_enabled: bool = True
    max_frame_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        if not 1 <= self.shard_size <= 500:
            raise ValueError(f"shard_size must be within 1..500, got {self.shard_size}")
        for name in ("ping_interval_s", "pong_timeout_s", "silence_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.tick_interval_s < 0:
            raise ValueError(f"tick_interval_s must be ≥ 0, got {self.tick_interval_s}")
