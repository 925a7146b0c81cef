"""``polyarb parity``: prove a shadow or live run equals the replay of its own recording."""

from __future__ import annotations

import argparse
import json
from typing import Any

from polyarb.cli.common import CliError, add_recordings_arg, print_json, session_path

DESCRIPTION = """\
Replay a shadow or live session's recording with the run's own profile and alert
rules (saved in runs/shadow/ or runs/live/: profile.json and alert_rules.json), then
compare the two decision streams row by row. A live run replays with its recorded
user rows (exchange answers, user-channel frames) as the only source of fills. PASS when identical; otherwise the first
divergence: its seq, the frame that caused it and both decisions, plus counts.
The verdict is written to runs/shadow/parity.json (promote-check reads it).

exit codes: 0 PASS, 1 FAIL, 2 bad input (no such session, not a finished shadow run).
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    p = sub.add_parser(
        "parity",
        help="check that a shadow run's decisions equal a replay of its recording",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_recordings_arg(p)
    p.add_argument("--session", required=True, help="the shadow session (id or path)")
    p.add_argument(
        "--run",
        default=None,
        help="the run folder to check (default: shadow, or live for a live session)",
    )
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=run)


def _short(decision: dict[str, Any] | None) -> str:
    if decision is None:
        return "(none: the stream ended)"
    keys = (
        "seq",
        "type",
        "detector",
        "market",
        "side",
        "size",
        "price",
        "edge",
        "verdict",
        "reason",
    )
    return json.dumps({k: decision.get(k) for k in keys}, default=str)


def run(args: argparse.Namespace) -> int:
    import msgspec

    from polyarb.recording import SessionReader
    from polyarb.recording.reader import SessionError
    from polyarb.shadow.parity import run_parity

    path = session_path(args.recordings, args.session)
    run_id = args.run
    if run_id is None:
        # A live session has runs/live (its user rows replay through UserRowVenue).
        live = (path / "runs" / "live").is_dir() and not (path / "runs" / "shadow").is_dir()
        run_id = "live" if live else "shadow"
    try:
        missing = SessionReader(path).frames_missing
    except SessionError as exc:
        raise CliError(str(exc)) from None
    if missing:  # parity replays the frames: without them it proves nothing
        raise CliError(missing, 1)
    try:
        result = run_parity(path, shadow_run=run_id)
    except (FileNotFoundError, SessionError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print_json(msgspec.to_builtins(result))
        return 0 if result.passed else 1
    print(
        f"parity {result.status}  session {path.name}: shadow {result.shadow_decisions:,} "
        f"decisions, replay {result.replay_decisions:,}"
    )
    print(f"  shadow  by type: {result.shadow_counts}")
    print(f"  replay  by type: {result.replay_counts}")
    div = result.first_divergence
    if div is not None:
        print(f"  first divergence at decision #{div.index}, seq {div.seq}")
        if div.frame is not None:
            payload = str(div.frame.get("payload", ""))
            shown = payload if len(payload) <= 300 else payload[:300] + "…"
            print(f"  frame   seq {div.frame['seq']} kind {div.frame['kind']}: {shown}")
        print(f"  shadow: {_short(div.actual)}")
        print(f"  replay: {_short(div.expected)}")
        print(f"  differing rows: {result.differing_rows:,}")
    return 0 if result.passed else 1
