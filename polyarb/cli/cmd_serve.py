"""``polyarb serve``: replay a session as Polymarket's market WebSocket on loopback."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path

from polyarb.cli.common import (
    CliError,
    add_recordings_arg,
    nonneg_float,
    nonneg_int,
    number_in,
    port,
    positive_float,
    session_path,
)

DESCRIPTION = """\
Serve a recorded session as the Polymarket CLOB market channel
(wss://ws-subscriptions-clob.polymarket.com/ws/market) on 127.0.0.1, so any bot
or polyarb's own recorder and shadow mode can run against history.

Protocol, as the exchange speaks it:
  * first frame: {"assets_ids":[...],"type":"market","custom_feature_enabled":true}
    answered by an initial dump: ONE JSON array of the latest recorded `book` of each
    subscribed asset (the session's opening books at the start);
  * then the recorded frames, exactly as recorded, only for subscribed assets
    (best_bid_ask / new_market / market_resolved only with custom_feature_enabled);
  * {"assets_ids":[...],"operation":"subscribe"|"unsubscribe"} changes the subscription
    (a subscribe sends the new assets' books);
  * a second initial subscribe gets the text INVALID OPERATION;
  * text PING gets PONG; a PING before any subscribe closes the socket with 1008.

One timeline is shared by all connections, like a live feed: playback starts when
--clients connections have subscribed; a client that reconnects gets a fresh dump and
misses what played meanwhile. With --max the stream runs as fast as clients read and
pauses while nobody is subscribed.
"""

EPILOG = """\
examples:
  polyarb serve --session resolvedkit-btc15m --speed 60
  polyarb serve --session resolvedkit-btc15m --max --exit-at-end --port 0
  polyarb serve --session S --max --disconnect-after 5000 --fault-connections 2
  polyarb serve --session S --speed 10 --freeze-after 100   # PONGs keep coming, data stops
  polyarb serve --session S --clob --clob-port 0 --clob-429-next 3   # + exchange double (docs/live.md)

The first line on stdout is 'serving SESSION on ws://127.0.0.1:PORT' (useful with --port 0);
with --clob the second is 'clob double on http://127.0.0.1:PORT (user channel ws://...)'.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="replay a session as Polymarket's market WebSocket on 127.0.0.1",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_recordings_arg(p)
    p.add_argument("--session", required=True, help="session id under --recordings, or a path")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=8765, help="port (default 8765; 0 = any free)")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed",
        type=positive_float,
        default=1.0,
        help="play recorded receive-time gaps N times faster (default 1 = real time)",
    )
    pace.add_argument("--max", action="store_true", help="as fast as the clients read")
    p.add_argument(
        "--clients",
        type=nonneg_int,
        default=1,
        help="start playback once this many connections subscribed (default 1)",
    )
    p.add_argument(
        "--exit-at-end",
        action="store_true",
        help="after the last frame close every connection (1000) and exit",
    )
    p.add_argument("--stats", type=Path, help="write what was sent (per connection) as JSON here")
    p.add_argument("--digest", action="store_true", help="SHA-256 of each stream in --stats")
    p.add_argument("-v", "--verbose", action="store_true", help="log connections to stderr")
    f = p.add_argument_group(
        "fault injection (counted in streamed frames per connection, dumps excluded)"
    )
    f.add_argument(
        "--disconnect-after", type=nonneg_int, default=0, metavar="N", help="close (1011)"
    )
    f.add_argument(
        "--freeze-after", type=nonneg_int, default=0, metavar="N", help="stop data, keep PONGs"
    )
    f.add_argument(
        "--freeze-for",
        type=nonneg_float,
        default=0.0,
        metavar="S",
        help="freeze length (0 = forever)",
    )
    f.add_argument(
        "--garbage-every", type=nonneg_int, default=0, metavar="N", help="send non-JSON first"
    )
    f.add_argument("--duplicate-every", type=nonneg_int, default=0, metavar="N", help="send twice")
    f.add_argument(
        "--delay-every", type=nonneg_int, default=0, metavar="N", help="sleep --delay-ms first"
    )
    f.add_argument("--delay-ms", type=number_in(0, 60_000), default=0.0, metavar="MS")
    f.add_argument(
        "--fault-connections",
        type=nonneg_int,
        default=0,
        metavar="K",
        help="fault only the first K connections (default 0 = all)",
    )
    c = p.add_argument_group(
        "exchange double (--clob): Polymarket CLOB V2 REST + user channel beside the market channel"
    )
    c.add_argument("--clob", action="store_true", help="also serve the exchange double")
    c.add_argument("--clob-port", type=port, default=8080, help="its port (default 8080; 0 = any)")
    c.add_argument("--clob-balance", default="1000", help="pUSD balance and allowance per wallet")
    c.add_argument("--clob-heartbeat-timeout", type=positive_float, default=15.0, metavar="S")
    c.add_argument(
        "--clob-timeout-next", type=nonneg_int, default=0, metavar="N", help="late answers"
    )
    c.add_argument("--clob-5xx-next", type=nonneg_int, default=0, metavar="N")
    c.add_argument("--clob-429-next", type=nonneg_int, default=0, metavar="N")
    c.add_argument("--clob-trade-delay", type=nonneg_float, default=0.0, metavar="S")
    c.add_argument("--clob-fail-trades", type=nonneg_int, default=0, metavar="N")
    c.add_argument(
        "--clob-fail-trades-after",
        type=nonneg_int,
        default=0,
        metavar="K",
        help="let the first K trades settle before --clob-fail-trades applies",
    )
    c.add_argument("--clob-drop-user-after", type=nonneg_int, default=0, metavar="N")
    c.add_argument(
        "--clob-ack-delay-ms",
        type=number_in(0, 60_000),
        default=0.0,
        metavar="MS",
        help="answer every order this late (processed at once)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from polyarb.recording.reader import SessionReader
    from polyarb.server import FaultPlan, ReplayServer

    for name in ("clients", "disconnect_after", "freeze_after", "garbage_every",
                 "clob_timeout_next", "clob_5xx_next", "clob_429_next", "clob_fail_trades",
                 "clob_drop_user_after", "clob_port"):  # fmt: skip
        if getattr(args, name) < 0:
            raise CliError(f"--{name.replace('_', '-')} must be ≥ 0")
    if not args.max and args.speed <= 0:
        raise CliError(f"--speed must be positive, got {args.speed}")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: binding {args.host}, not loopback", file=sys.stderr)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    path = session_path(args.recordings, args.session)
    if args.stats is not None and not _writable(args.stats):
        raise CliError(f"--stats {args.stats}: cannot write there")
    # Checked before the port opens: a changed or missing part found mid-play would end
    # the stream early and look like the end of the session to every client.
    SessionReader(path).verify(include_open=True)
    faults = FaultPlan(
        disconnect_after=args.disconnect_after,
        freeze_after=args.freeze_after,
        freeze_for_s=args.freeze_for,
        garbage_every=args.garbage_every,
        duplicate_every=args.duplicate_every,
        delay_every=args.delay_every,
        delay_ms=args.delay_ms,
        connections=args.fault_connections,
    )
    server = ReplayServer(
        path,
        host=args.host,
        port=args.port,
        speed=None if args.max else args.speed,
        clients=args.clients,
        faults=faults,
        exit_at_end=args.exit_at_end,
        digest=args.digest,
    )
    clob = _clob_exchange(args, path, server) if args.clob else None
    try:
        asyncio.run(_serve(server, clob, args.clob_port))
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    finally:
        if args.stats:
            try:
                args.stats.write_text(json.dumps(server.stats.to_json(), indent=2) + "\n")
            except OSError as exc:
                raise CliError(f"--stats {args.stats}: {exc.strerror or exc}", 1) from None
    return 0


def _writable(path: Path) -> bool:
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not folder.is_dir():
        return False
    return os.access(path if path.exists() else folder, os.W_OK)


def _clob_exchange(args: argparse.Namespace, path: Path, server: object) -> object:
    """The exchange double over the replay server's current books (imports eth_account)."""
    from polyarb.recording.reader import SessionReader
    from polyarb.server import ReplayServer
    from polyarb.server.clob import BytesBooks, ClobExchange, ClobFaults, markets_from_meta
    from polyarb.units import FixedPointError, to_fixed

    assert isinstance(server, ReplayServer)
    try:
        balance = to_fixed(args.clob_balance)
    except FixedPointError as exc:
        raise CliError(f"--clob-balance: {exc}") from exc
    faults = ClobFaults(
        timeout_next=args.clob_timeout_next,
        server_error_next=args.clob_5xx_next,
        rate_limit_next=args.clob_429_next,
        trade_delay_s=args.clob_trade_delay,
        fail_trades_next=args.clob_fail_trades,
        fail_trades_after=args.clob_fail_trades_after,
        drop_user_after=args.clob_drop_user_after,
        ack_delay_s=args.clob_ack_delay_ms / 1000,
    )
    return ClobExchange(
        markets_from_meta(SessionReader(path).markets()),
        BytesBooks(server.current_book),
        collateral=balance,
        allowance=balance,
        heartbeat_timeout_s=args.clob_heartbeat_timeout,
        faults=faults,
    )


async def _serve(server: object, clob: object = None, clob_port: int = 0) -> None:
    from polyarb.server import ReplayServer

    assert isinstance(server, ReplayServer)
    await server.start()
    pace = "max" if server.speed is None else f"{server.speed:g}x"
    print(f"serving {server.stats.session} on {server.url} ({pace})", flush=True)
    double = None
    if clob is not None:
        from polyarb.server.clob import ClobExchange, ClobServer

        assert isinstance(clob, ClobExchange)
        double = ClobServer(clob, host=server.host, port=clob_port)
        await double.start()
        print(f"clob double on {double.url} (user channel {double.ws_url})", flush=True)
    task = asyncio.create_task(server.serve())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if double is not None:
        await double.stop()
