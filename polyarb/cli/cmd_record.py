"""``polyarb record``: record the market channel into a session, losslessly."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from polyarb.cli.common import (
    CliError,
    add_recordings_arg,
    nonneg_int,
    number_in,
    plain_name,
    positive_float,
)
from polyarb.cli.feedargs import (
    add_connection_args,
    add_target_args,
    feed_config,
    resolve_targets,
)

if TYPE_CHECKING:
    from polyarb.recording.recorder import Recorder, RecorderStatus

DESCRIPTION = """\
Record Polymarket's CLOB market WebSocket into recordings/<session>/: every frame
exactly as received with its receive timestamps, plus open/subscribe/close/gap rows
and tick rows (health JSON) at the profile's cadence; market metadata goes to
markets.parquet.

What to record (any mix):
  TOKEN_ID            a CLOB token id (decimal digits); its whole market is recorded
  0xCONDITION_ID      a condition id (0x + 64 hex)
  SLUG                a market slug, e.g. btc-updown-5m-1787414400
  event:SLUG_OR_ID    every market of an event (or use --event)
  --markets-from S    the markets (and assets) of an existing session S, no HTTP

Connections: at most --shard-size assets each; the subscribe asks initial_dump: true;
text PING every --ping-interval s only after subscribing; a connection silent for
--silence-timeout s (PONGs do not count) is reconnected, as is any dropped one, with
exponential backoff and jitter; each reconnect writes close + gap rows, resubscribes
and so takes a fresh snapshot. Rows reach the on-disk journal every --flush-interval
(a crash loses at most that); parts rotate by size and age and are sealed to Parquet
in the background. Ctrl-C or SIGTERM seals the session. Re-running with the same
--session after a crash recovers the unsealed part and continues.
"""

EPILOG = """\
examples:
  polyarb record event:democratic-presidential-nominee-2028
  polyarb record btc-updown-5m-1787414400 --duration 900
  polyarb serve --session resolvedkit-btc15m --max --port 9000 &
  polyarb record --markets-from resolvedkit-btc15m --url ws://127.0.0.1:9000 --session copy

exit codes: 0 sealed; 1 store error (disk full, read-only folder); 2 bad input.
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    p = sub.add_parser(
        "record",
        help="record the market WebSocket into a session",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_recordings_arg(p)
    add_target_args(p)
    p.add_argument("--session", help="session id (default rec-YYYYMMDD-HHMMSS, UTC)")
    add_connection_args(p)
    t = p.add_argument_group("ticks and storage")
    t.add_argument("--profile", type=Path, help="take the tick cadence from this profile")
    t.add_argument(
        "--tick-ms", type=nonneg_int, help="tick row cadence in ms (default 1000; 0 = none)"
    )
    t.add_argument(
        "--flush-interval",
        type=number_in(0, 1, low_open=True),
        default=0.5,
        help="journal flush period, s (≤ 1)",
    )
    t.add_argument(
        "--part-mb", type=positive_float, default=256.0, help="rotate parts at this many MB"
    )
    t.add_argument(
        "--part-minutes", type=positive_float, default=60.0, help="rotate parts at this age"
    )
    t.add_argument(
        "--compression-level",
        type=number_in(1, 22, kind=int),
        default=None,
        # the number is spelled out so --help need not import pyarrow (tests/cli/test_startup.py
        # checks it against recording.schema.LIVE_COMPRESSION_LEVEL)
        help="zstd level when sealing parts (default 1: fastest, and on "
        "book-heavy data also smaller than 3; 9 saves ~12%% at ~6x the CPU)",
    )
    s = p.add_mutually_exclusive_group()
    s.add_argument("--status", dest="status", action="store_true", default=None)
    s.add_argument("--no-status", dest="status", action="store_false", help="no status line")
    p.set_defaults(func=run)


def _tick_ms(args: argparse.Namespace) -> int:
    if args.tick_ms is not None:
        if args.tick_ms < 0:
            raise CliError(f"--tick-ms must be ≥ 0, got {args.tick_ms}")
        return int(args.tick_ms)
    if args.profile is not None:
        from polyarb.config.profile import ProfileError, load_profile

        try:
            return load_profile(args.profile).tick_interval_ms
        except ProfileError as exc:
            raise CliError(str(exc)) from exc
    return 1000


def run(args: argparse.Namespace) -> int:
    from polyarb.recording import SessionReader, SessionWriter
    from polyarb.recording.recorder import Recorder, default_status_stream
    from polyarb.recording.schema import LIVE_COMPRESSION_LEVEL
    from polyarb.recording.writer import StoreError

    if args.session is not None:  # before anything is read, resolved or created
        plain_name(args.session, "--session")
    session = args.session or dt.datetime.now(dt.UTC).strftime("rec-%Y%m%d-%H%M%S")
    if not 0 < args.flush_interval <= 1:
        raise CliError(f"--flush-interval must be within (0, 1] s, got {args.flush_interval}")
    config = feed_config(args, _tick_ms(args) / 1000)
    markets, assets = resolve_targets(args)
    existing = args.recordings / session / "manifest.json"
    if existing.is_file() and SessionReader(existing.parent).sealed:
        raise CliError(f"session {session} is already sealed; choose another --session")
    try:
        writer = SessionWriter(
            args.recordings,
            session,
            feed_url=config.url,
            source={"recorder": "polyarb record", "targets": [*args.targets, *args.event]},
            flush_interval_s=args.flush_interval,
            part_max_bytes=int(args.part_mb * (1 << 20)),
            part_max_seconds=args.part_minutes * 60,
            compression_level=(
                LIVE_COMPRESSION_LEVEL if args.compression_level is None else args.compression_level
            ),
        )
    except StoreError as exc:
        raise CliError(str(exc), 1) from exc
    if writer.recovered_rows:
        print(f"recovered {writer.recovered_rows:,} rows of an unsealed part", file=sys.stderr)
    status = (
        default_status_stream() if args.status is None else (sys.stderr if args.status else None)
    )
    recorder = Recorder(
        writer,
        assets,
        markets=markets,
        config=config,
        rng=random.Random(args.seed) if args.seed is not None else None,
        flush_interval_s=args.flush_interval,
        status=status,
    )
    shards = len(recorder.feed.connections)
    print(
        f"recording {session}: {len(markets)} markets, {len(assets)} assets over {shards} "
        f"connection{'s' * (shards != 1)} from {config.url} into {writer.dir}",
        file=sys.stderr,
        flush=True,
    )
    try:
        result = asyncio.run(_record(recorder, args.duration))
    except StoreError as exc:
        raise CliError(f"{exc} (what was written before stays readable)", 1) from exc
    print(
        f"sealed {session}: {result.rows_written:,} rows, {result.frames:,} frames, "
        f"{result.gaps} gaps",
        file=sys.stderr,
    )
    return 0


async def _record(recorder: Recorder, duration: float | None) -> RecorderStatus:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, recorder.stop)
    return await recorder.run(duration)
