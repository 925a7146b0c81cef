"""``polyarb drill breaker``: prove the circuit breaker opens and recovers with a profile."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from polyarb.cli.common import CliError, add_recordings_arg, plain_name, print_json, session_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "drill",
        help="fault drills with no real money (breaker)",
        description=(
            "Drills prove a safety mechanism works with the operator's profile, against "
            "injected faults and no real money. 'breaker' replays a recorded session (a served "
            "or shadow-recorded one) with the profile unchanged through a venue that kills "
            "every order of the first --kills baskets, so the breaker must open after "
            "risk.consecutive_failures and close after risk.breaker_cooldown_s of engine time. "
            "The run is written as mode 'drill' under the session's runs/; promote-check counts "
            "its breaker cycle for runs of a profile with the same sha256. Exit 0 opened and "
            "recovered, 1 it did not (the reason on stderr), 2 bad input. See "
            "docs/PRODUCTION_RUNBOOK.md."
        ),
    )
    p.add_argument("drill", choices=("breaker",), help="which drill")
    p.add_argument("--profile", type=Path, required=True, help="the operator's profile YAML")
    p.add_argument(
        "--session",
        default="resolvedkit-btc15m",
        help="session id under --recordings, or a path (default: resolvedkit-btc15m)",
    )
    p.add_argument(
        "--kills",
        type=int,
        default=3,
        help="baskets whose orders the venue kills (default 3, 1-100)",
    )
    p.add_argument("--run-id", default="drill-breaker", help="run folder name (replaced)")
    p.add_argument("--json", action="store_true", help="print the drill result as JSON")
    add_recordings_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from polyarb.config.profile import ProfileError
    from polyarb.ops.drill import drill_breaker
    from polyarb.recording.reader import SessionError, SessionReader

    plain_name(args.run_id, "--run-id")
    if not 1 <= args.kills <= 100:
        raise CliError(f"--kills: must be 1-100, got {args.kills}")
    if not args.profile.is_file():
        raise CliError(f"--profile: {args.profile}: no such file")
    path = session_path(args.recordings, args.session)
    try:
        SessionReader(path).verify()
        result = drill_breaker(path, args.profile, kills=args.kills, run_id=args.run_id)
    except (SessionError, ProfileError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print_json(result.to_dict())
    else:
        verdict = "PASS" if result.ok else "FAIL"
        print(
            f"breaker drill {verdict}: profile {result.profile_name} "
            f"(sha256 {result.profile_sha256[:12]}, file unchanged {result.file_sha256[:12]}), "
            f"session {result.session}: {result.baskets_killed} basket(s) killed, breaker "
            f"opened {result.opened}, recovered {result.recovered} "
            f"(threshold {result.consecutive_failures}, cool-down {result.cooldown_s} s); "
            f"run {result.run_dir}"
        )
    if not result.ok:
        print(f"polyarb drill: {result.problem}", file=sys.stderr)
        return 1
    return 0
