"""``polyarb drill breaker``: prove the circuit breaker opens and recovers with a profile."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from polyarb.cli.common import (
    CliError,
    add_recordings_arg,
    plain_name,
    positive_float,
    print_json,
    session_path,
)

DESCRIPTION = """\
Drills prove a safety mechanism works with the operator's profile, unchanged, against
injected faults and no real money. 'breaker' proves the circuit breaker opens after
risk.consecutive_failures failed trades and closes after risk.breaker_cooldown_s.

--feed serve (default): a loopback 'polyarb serve' plays a generated, drill-only
neg-risk session built on the markets of one complete neg-risk event of --session
(default negrisk-2028-dem-nominee, from 'polyarb import negrisk', or a shadow day of
such an event). Its planted baskets lose their liquidity before the orders arrive
(the exchange kills every FOK leg; nothing fills). The real shadow path (feed →
recorder + engine, simulated venue) runs the profile until the breaker has opened and
closed; the server cuts the feed once mid cool-down (the breaker must recover across
a reconnect). Feed and shadow clock run --speed times faster than the wall, so a 300 s
cool-down takes 300/speed s. The evidence is a new session drill-<profile>-<time>
with runs/<run-id>/ of mode 'drill'.

Binary complete-set profiles get a drill-only binary market instead: its YES and NO books
are deliberately inconsistent for one exchange millisecond per plant (asks summing below
1), which the detector's mirror guard exists to refuse, so the drill run turns that guard
off (the result says mirror_guard_off); nothing else of the profile changes.

Live-mode profiles run dry: the same shadow path and simulated venue with the profile's
limits, breaker and alert rules; no key is read and no order leaves the machine (the
output says 'ran dry'). The evidence carries the profile's sha256.

--feed generated: the same generated session, kept under --recordings, replayed in-process
(no server, engine time only): seconds, deterministic, the same evidence.

--feed replay: replays the recorded --session through a venue that kills every order
of the first --kills baskets (the session must offer that many opportunities); the
run is written as runs/<run-id>/ (mode 'drill') of that session.

promote-check counts a drill's breaker cycle for runs of a profile with the same
sha256. The profile file is read, never written (sha256 checked before and after).
"""

EPILOG = """\
examples:
  polyarb import negrisk
  polyarb drill breaker --profile profiles/live_shadow_negrisk_v1.yaml
  polyarb drill breaker --profile P --feed replay --session shadow-day-12 --kills 3

exit codes: 0 the breaker opened and recovered; 1 it did not (the reason on stderr);
2 bad input (e.g. --feed replay with a binary profile: a recorded feed never shows it an
edge). See docs/PRODUCTION_RUNBOOK.md (Breaker drill).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "drill",
        help="fault drills with no real money (breaker)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("drill", choices=("breaker",), help="which drill")
    p.add_argument("--profile", type=Path, required=True, help="the operator's profile YAML")
    p.add_argument(
        "--feed",
        choices=("serve", "generated", "replay"),
        default="serve",
        help="serve: loopback polyarb serve + shadow path (default); generated: the same drill "
        "session replayed in-process; replay: a recorded session",
    )
    p.add_argument(
        "--session",
        default="negrisk-2028-dem-nominee",
        help="session id under --recordings, or a path: the neg-risk event to plant baskets "
        "in (serve, generated) or the session to replay (replay); default negrisk-2028-dem-nominee",
    )
    p.add_argument(
        "--speed",
        type=positive_float,
        default=20.0,
        help="serve: feed and shadow clock this many times faster than the wall (default 20)",
    )
    p.add_argument(
        "--kills",
        type=int,
        default=3,
        help="replay: baskets whose orders the venue kills (default 3, 1-100)",
    )
    p.add_argument("--run-id", default="drill-breaker", help="run folder name (replaced)")
    p.add_argument("--json", action="store_true", help="print the drill result as JSON")
    add_recordings_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from polyarb.config.profile import ProfileError
    from polyarb.ops.drill import drill_breaker, drill_breaker_generated, drill_breaker_served
    from polyarb.ops.drill_session import DrillInputError
    from polyarb.recording.reader import SessionError, SessionReader

    plain_name(args.run_id, "--run-id")
    if not 1 <= args.kills <= 100:
        raise CliError(f"--kills: must be 1-100, got {args.kills}")
    if not 1 <= args.speed <= 200:
        raise CliError(f"--speed: must be 1-200, got {args.speed}")
    if not args.profile.is_file():
        raise CliError(f"--profile: {args.profile}: no such file")
    path = session_path(args.recordings, args.session)
    try:
        SessionReader(path).verify()
        if args.feed == "serve":
            result = drill_breaker_served(
                path, args.profile, Path(args.recordings), speed=args.speed, run_id=args.run_id
            )
        elif args.feed == "generated":
            result = drill_breaker_generated(
                path, args.profile, Path(args.recordings), run_id=args.run_id
            )
        else:
            result = drill_breaker(path, args.profile, kills=args.kills, run_id=args.run_id)
    except DrillInputError as exc:
        raise CliError(str(exc)) from None
    except (SessionError, ProfileError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print_json(result.to_dict())
    else:
        verdict = "PASS" if result.ok else "FAIL"
        print(
            f"breaker drill {verdict} ({result.feed}): profile {result.profile_name} "
            f"(sha256 {result.profile_sha256[:12]}, file unchanged {result.file_sha256[:12]}), "
            f"session {result.session}: {result.baskets_killed} basket(s) killed, breaker "
            f"opened {result.opened}, recovered {result.recovered} "
            f"(threshold {result.consecutive_failures}, cool-down {result.cooldown_s} s); "
            f"run {result.run_dir}"
        )
        if result.ran_dry:
            print(
                f"ran dry: profile mode 'live', drilled on the simulated venue (no key read, no "
                f"order sent); the evidence counts for sha256 {result.profile_sha256[:12]}"
            )
        if result.mirror_guard_off:
            print(
                "binary drill: the detector's mirror guard was off for this run, so the "
                "planted inconsistent YES/NO books reached the profile's sizing and risk"
            )
    if not result.ok:
        print(f"polyarb drill: {result.problem}", file=sys.stderr)
        return 1
    return 0
