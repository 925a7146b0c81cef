"""``polyarb shadow``: Phase 0, the live engine in dry-run beside the recorder."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import random
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyarb.cli.common import CliError, add_recordings_arg, number_in, plain_name
from polyarb.cli.feedargs import (
    add_connection_args,
    add_target_args,
    feed_config,
    resolve_targets,
)

if TYPE_CHECKING:
    from polyarb.runs.runjson import RunJson
    from polyarb.shadow.runner import ShadowRun

DESCRIPTION = """\
Run the engine live in dry-run (Phase 0): the market feed goes, row by row and in
one order, to the recorder (a new session under --recordings) and to the engine
with the simulated venue. No live venue can be built in this mode; a profile with
mode: live is refused.

Writes recordings/<session>/runs/shadow/: run.json, the Parquet tables of a replay
run, run.log and events.jsonl (both flushed as they happen: tail -f them), and
metrics including per-frame processing latency (frame_latency_ns, receive →
decision), the connected-time ratio (connected_ratio_bps), reconnects and book
health. Tick rows are inserted every profile tick_interval_ms. Alerts go to the log
and to the webhook named by the alert rules (URL from .env). When .env sets
POLYGON_RPC_URL, tick rows also carry the node's health (RPC_UNHEALTHY) and the
wallet's usable on-chain pUSD (LOW_BALANCE; see docs/live.md).

Ctrl-C or SIGTERM stops cleanly: the session is sealed and the run written. Then
'polyarb parity --session <session>' proves the decisions equal a replay.
"""

EPILOG = """\
examples:
  polyarb shadow --profile profiles/live_shadow_atomic_v1.yaml event:some-event-slug
  polyarb serve --session resolvedkit-btc15m --speed 60 --port 9000 &
  polyarb shadow --profile profiles/live_shadow_atomic_v1.yaml \\
      --markets-from resolvedkit-btc15m --url ws://127.0.0.1:9000 --duration 300

exit codes: 0 clean stop; 1 the engine or the store failed, or the feed was never
reachable during the whole run (what was recorded stays readable); 2 bad input.

signs of life: run.log lines start with their UTC time; a heartbeat line (frames,
connections, latency, opportunities, PnL) is written at each connect and every
minute; events.jsonl gets connect/disconnect events; heartbeat.json is rewritten
every 2 s for the dashboard's live view.
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    p = sub.add_parser(
        "shadow",
        help="Phase 0: run the engine live in dry-run and record as it goes",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_recordings_arg(p)
    p.add_argument("--profile", type=Path, required=True, help="a dry_run profile (YAML)")
    add_target_args(p)
    p.add_argument("--session", help="new session id (default shadow-YYYYMMDD-HHMMSS, UTC)")
    p.add_argument("--env", type=Path, default=Path(".env"), help="secrets file (webhook URL)")
    add_connection_args(p)
    p.add_argument(
        "--flush-interval",
        type=number_in(0, 1, low_open=True),
        default=0.5,
        help="journal flush period, s (≤ 1)",
    )
    s = p.add_mutually_exclusive_group()
    s.add_argument("--status", dest="status", action="store_true", default=None)
    s.add_argument("--no-status", dest="status", action="store_false", help="no status line")
    # Test-only: hide the N-th market frame from the engine but not the recorder (parity FAIL).
    p.add_argument("--test-drop-engine-frame", type=int, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _read_env(env_path: Path) -> Any:
    from polyarb.env import EnvError, read_env

    try:
        return read_env(env_path) if env_path.is_file() else None
    except EnvError as exc:
        raise CliError(str(exc)) from None


def _notifier(rules: Any, env: Any, session: str) -> tuple[Any, Any]:
    """The alert delivery for the shadow run, and its notifier (cleared at shutdown)."""
    from polyarb.alerts import AlertEvent
    from polyarb.alerts.notify import notifier_from_env
    from polyarb.shadow.runner import SHADOW_RUN_ID

    notifier = notifier_from_env(
        rules.webhook,
        env.secret if env is not None else lambda _: None,
        context={"session": session, "run": SHADOW_RUN_ID, "mode": "shadow"},
    )

    def deliver(line: str) -> None:
        import json

        notifier.notify([AlertEvent(**json.loads(line))])

    return deliver, notifier


def run(args: argparse.Namespace) -> int:
    from polyarb.cli.cmd_replay import format_summary, load
    from polyarb.recording.recorder import default_status_stream
    from polyarb.recording.writer import StoreError
    from polyarb.shadow.runner import ShadowError, ShadowOptions, ShadowRun

    if args.session is not None:  # before anything is read, resolved or created
        plain_name(args.session, "--session")
    session = args.session or dt.datetime.now(dt.UTC).strftime("shadow-%Y%m%d-%H%M%S")
    if not 0 < args.flush_interval <= 1:
        raise CliError(f"--flush-interval must be within (0, 1] s, got {args.flush_interval}")
    profile, rules = load(args.profile)
    if profile.mode != "dry_run":  # before anything connects anywhere
        raise CliError(
            f"profile {profile.name!r} has mode {profile.mode!r}: shadow runs dry_run profiles "
            "only (live trading is not reachable from shadow mode)"
        )
    if rules is None:  # pragma: no cover - load() returns rules whenever a profile is given
        from polyarb.alerts import AlertRules

        rules = AlertRules()
    config = feed_config(args, profile.tick_interval_ms / 1000)
    env = _read_env(args.env)
    deliver, notifier = _notifier(rules, env, session)
    from polyarb.env import EnvError
    from polyarb.live.monitors import shadow_monitor

    try:
        # LOW_BALANCE (on-chain pUSD) and RPC_UNHEALTHY, when .env names a Polygon RPC
        monitor = shadow_monitor(env, profile)
    except EnvError as exc:
        raise CliError(str(exc)) from None
    markets, assets = resolve_targets(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    status = (
        default_status_stream() if args.status is None else (sys.stderr if args.status else None)
    )
    try:
        shadow = ShadowRun(
            ShadowOptions(
                profile=profile,
                rules=rules,
                markets=markets,
                assets=assets,
                recordings=args.recordings,
                session_id=session,
                feed=config,
                duration_s=args.duration,
                flush_interval_s=args.flush_interval,
                status=status,
                notify=deliver,
                drop_engine_frame=args.test_drop_engine_frame,
                rng=random.Random(args.seed) if args.seed is not None else None,
                health=monitor.fields if monitor is not None else None,
            )
        )
    except (ShadowError, StoreError) as exc:
        raise CliError(str(exc)) from None
    print(
        f"shadow {session}: profile {profile.name} (dry run, simulated venue), "
        f"{len(markets)} markets, {len(assets)} assets from {config.url}",
        file=sys.stderr,
        flush=True,
    )
    if monitor is not None:
        monitor.poll_once()  # the first tick already carries an answer
        monitor.start()
    try:
        result = asyncio.run(_shadow(shadow))
    except StoreError as exc:
        raise CliError(f"{exc} (what was written before stays readable)", 1) from exc
    finally:
        if monitor is not None:
            monitor.stop()
        # Every alert still active is cleared at the receiver: the run is over.
        notifier.clear_all(f"shadow {session} stopped")
    print(format_summary(result))
    if shadow.never_connected:
        # A run that never saw the feed proves nothing: it must not look like a clean one.
        print(
            f"shadow: the feed at {config.url} was never reachable "
            f"({shadow.last_feed_error or 'no connection opened'}); nothing was shadowed",
            file=sys.stderr,
        )
        return 1
    if not result.clean_exit:
        print(f"shadow stopped by an engine error: {result.error}", file=sys.stderr)
        return 1
    return 0


async def _shadow(shadow: ShadowRun) -> RunJson:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, shadow.stop)
    return await shadow.run()
