"""What ``record`` and ``shadow`` share: target flags, connection flags, market resolution."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from polyarb.cli.common import CliError, number_in, positive_float, session_path

if TYPE_CHECKING:
    from polyarb.feed import FeedConfig
    from polyarb.protocol.markets import MarketMeta


def add_target_args(p: argparse.ArgumentParser) -> None:
    """TARGET…, --event, --markets-from, --url, --gamma-url, --clob-url, --duration."""
    p.add_argument("targets", nargs="*", metavar="TARGET", help="token id, 0xcondition, slug")
    p.add_argument("--event", action="append", default=[], help="an event slug or id (repeatable)")
    p.add_argument("--markets-from", metavar="SESSION", help="take markets from this session")
    p.add_argument("--url", default=None, help="market WebSocket URL (default Polymarket's)")
    p.add_argument("--gamma-url", default=None, help="Gamma API base URL")
    p.add_argument("--clob-url", default=None, help="CLOB API base URL")
    p.add_argument("--duration", type=positive_float, help="stop cleanly after this many seconds")


def add_connection_args(p: argparse.ArgumentParser) -> None:
    """The connection policy group (shards, heartbeat, watchdog, backoff, jitter seed)."""
    c = p.add_argument_group("connections")
    c.add_argument(
        "--shard-size",
        type=number_in(1, 500, kind=int),
        default=200,
        help="assets per connection (≤ 500)",
    )
    c.add_argument(
        "--ping-interval", type=positive_float, default=10.0, help="seconds between PINGs"
    )
    c.add_argument("--pong-timeout", type=positive_float, default=30.0, help="reconnect if no PONG")
    c.add_argument(
        "--silence-timeout",
        type=positive_float,
        default=60.0,
        help="reconnect after this data silence (s)",
    )
    c.add_argument(
        "--backoff-max", type=positive_float, default=30.0, help="longest reconnect pause (s)"
    )
    c.add_argument("--seed", type=int, help="seed the backoff jitter (reproducible tests)")


def feed_config(args: argparse.Namespace, tick_interval_s: float) -> FeedConfig:
    """A :class:`FeedConfig` from the connection flags; bad values are exit-2 errors."""
    from polyarb.feed import FeedConfig
    from polyarb.feed.client import MARKET_URL

    if args.duration is not None and args.duration <= 0:
        raise CliError(f"--duration must be positive, got {args.duration}")
    try:
        return FeedConfig(
            url=args.url or MARKET_URL,
            shard_size=args.shard_size,
            ping_interval_s=args.ping_interval,
            pong_timeout_s=args.pong_timeout,
            silence_timeout_s=args.silence_timeout,
            backoff_max_s=max(args.backoff_max, 0.5),
            tick_interval_s=tick_interval_s,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def resolve_targets(args: argparse.Namespace) -> tuple[list[MarketMeta], list[str]]:
    """Markets and asset ids from TARGET…, --event and --markets-from (HTTP only for targets)."""
    from polyarb.discovery import CLOB_URL, GAMMA_URL, HttpError, JsonHttp, ResolveError, resolve
    from polyarb.recording import SessionReader

    markets: list[MarketMeta] = []
    assets: list[str] = []
    if args.markets_from:
        reader = SessionReader(session_path(args.recordings, args.markets_from))
        markets = reader.markets()
        assets = list(reader.manifest.assets) or [t for m in markets for t in m.token_ids]
        if not assets:
            raise CliError(f"session {args.markets_from} lists no assets")
    targets = [*args.targets, *(f"event:{e}" for e in args.event)]
    if targets:
        try:
            found = resolve(
                targets,
                gamma=JsonHttp(args.gamma_url or GAMMA_URL),
                clob=JsonHttp(args.clob_url or CLOB_URL),
            )
        except (ResolveError, HttpError) as exc:
            raise CliError(str(exc)) from exc
        for note in found.notes:
            print(f"note: {note}", file=sys.stderr)
        known = {m.condition_id for m in markets}
        markets += [m for m in found.markets if m.condition_id not in known]
        assets = list(dict.fromkeys([*assets, *found.assets]))
    if not assets:
        raise CliError(
            "nothing to subscribe: name what to watch: an event slug with --event SLUG (every "
            "market of the event, e.g. a neg-risk event), markets as TARGET (token id, "
            "0xcondition id or market slug), or --markets-from SESSION (the markets a "
            "recorded session subscribed); see --help"
        )
    return markets, assets
