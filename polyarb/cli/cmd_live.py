"""``polyarb live``: trade for real (Phases 1-3) behind the guards (docs/live.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polyarb.runs.runjson import RunJson

import argparse
import asyncio
import datetime as dt
import logging
import random
import signal
import sys
from pathlib import Path
from typing import Any

from polyarb.cli.common import CliError, add_recordings_arg, plain_name
from polyarb.cli.feedargs import (
    add_connection_args,
    add_target_args,
    feed_config,
    resolve_targets,
)

DESCRIPTION = """\
Trade live: the market feed goes, row by row, to the recorder (a new session) and
to the engine, exactly as in 'polyarb shadow', but orders go to the Polymarket CLOB
(--clob-url; 'polyarb serve --clob' is the local double) and every user-channel
frame and REST answer is recorded as a 'user' row; the engine books fills only
from those rows, so 'polyarb parity --session S' replays the run.

Guards, each checked before anything connects (exit 2 naming the one missing):
mode: live profile, POLYARB_DRY_RUN=false and POLYARB_PRIVATE_KEY in --env (mode
600), a passing 'polyarb go-no-go' for the profile's phase no older than the
profile's gonogo_max_age_s, and --confirm. Startup reconciles open orders and
positions over REST; a mismatch halts (exit 2).

Stop: 'polyarb stop --session S', SIGTERM, or a halting CRITICAL alert cancels all
open orders, confirms with the exchange and stops new orders (runs/live/stopped.json).
"""

EPILOG = """\
examples:
  polyarb live --profile profiles/live_safe_atomic_v1.yaml --confirm event:some-event-slug
  polyarb serve --session negrisk-2028-dem-nominee --clob --clob-port 9001 --port 9000 &
  polyarb live --profile profiles/live_negrisk_v1.yaml --confirm \\
      --markets-from negrisk-2028-dem-nominee --url ws://127.0.0.1:9000 \\
      --clob-url http://127.0.0.1:9001 --duration 60

exit codes: 0 clean stop; 1 the engine or the store failed; 2 a guard or bad input.
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    p = sub.add_parser(
        "live",
        help="Phases 1-3: trade for real behind the guards, recording everything",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_recordings_arg(p)
    p.add_argument("--profile", type=Path, required=True, help="a mode: live profile (YAML)")
    add_target_args(p)
    p.add_argument("--session", help="new session id (default live-YYYYMMDD-HHMMSS, UTC)")
    p.add_argument("--env", type=Path, default=Path(".env"), help="secrets file (mode 600)")
    p.add_argument("--root", type=Path, default=Path("."), help="project folder (reports/)")
    p.add_argument("--confirm", action="store_true", help="yes, send real orders")
    add_connection_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from polyarb.cli.cmd_replay import format_summary, load
    from polyarb.live.guards import GuardError, check_guards
    from polyarb.live.runner import LiveError, LiveOptions, LiveRun
    from polyarb.recording.writer import StoreError
    from polyarb.shadow.runner import ShadowOptions

    if args.session is not None:
        plain_name(args.session, "--session")
    session = args.session or dt.datetime.now(dt.UTC).strftime("live-%Y%m%d-%H%M%S")
    profile, rules = load(args.profile)
    try:
        key = check_guards(
            profile, env_path=args.env, reports=args.root / "reports", confirm=args.confirm
        )
    except GuardError as exc:
        raise CliError(str(exc)) from None
    from polyarb.env import RPC_URL_VAR, read_env
    from polyarb.ops.gonogo import spenders_from_env

    env = read_env(args.env)
    rpc_url = env.secret(RPC_URL_VAR)  # RPC_UNHEALTHY and the chain's pUSD when set
    spenders = tuple(spenders_from_env(env).values())
    if rules is None:  # pragma: no cover - load() returns rules whenever a profile is given
        from polyarb.alerts import AlertRules

        rules = AlertRules()
    from polyarb.discovery import CLOB_URL

    clob_url = args.clob_url or CLOB_URL
    config = feed_config(args, profile.tick_interval_ms / 1000)
    markets, assets = resolve_targets(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    shadow = ShadowOptions(
        profile=profile,
        rules=rules,
        markets=markets,
        assets=assets,
        recordings=args.recordings,
        session_id=session,
        feed=config,
        rng=random.Random(args.seed) if args.seed is not None else None,
    )
    try:
        live = LiveRun(
            LiveOptions(
                shadow=shadow,
                clob_url=clob_url,
                private_key=key,
                duration_s=args.duration,
                rpc_url=rpc_url,
                chain_spenders=spenders,
            )
        )
    except (LiveError, StoreError) as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:  # never let a library echo the key: name the type only
        raise CliError(f"live: cannot start: {type(exc).__name__}") from None
    print(
        f"live {session}: profile {profile.name} (phase {profile.phase}), {len(markets)} markets "
        f"via {clob_url}; stop with 'polyarb stop --session {session}'",
        file=sys.stderr,
        flush=True,
    )
    try:
        result = asyncio.run(_live(live))
    except StoreError as exc:
        raise CliError(f"{exc} (what was written before stays readable)", 1) from exc
    print(format_summary(result))
    kill = (result.live or {}).get("kill")
    if kill:
        print(f"kill switch: {kill}", file=sys.stderr)
    if not result.clean_exit:
        print(f"live stopped by an engine error: {result.error}", file=sys.stderr)
        return 1
    return 0


async def _live(live: Any) -> RunJson:
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, live.stop)
    # SIGTERM is the kill switch: a plain handler sets an event the kill-switch thread waits
    # on, so it acts even while the loop is busy in the engine.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: live.request_kill("SIGTERM"))
    result: RunJson = await live.run()
    return result
