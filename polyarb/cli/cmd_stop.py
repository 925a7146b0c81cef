"""``polyarb stop``: the kill switch from another terminal (docs/live.md §Kill switch)."""

from __future__ import annotations

import argparse
import json
import time

from polyarb.cli.common import CliError, add_recordings_arg, print_json, session_path

DESCRIPTION = """\
Ask a running 'polyarb live' session to stop: writes runs/live/STOP, which the run's
kill-switch thread polls every 50 ms. The run then refuses new orders, cancels all
open orders at the exchange, reads back until none is open, writes runs/live/stopped.json
and seals the session. This command waits for stopped.json (--wait seconds).

exit codes: 0 stopped and confirmed (no open order left); 1 not confirmed in time or
orders still open; 2 bad input (no such live session).
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    p = sub.add_parser(
        "stop",
        help="kill switch: cancel all open orders of a live run and stop it",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_recordings_arg(p)
    p.add_argument("--session", required=True, help="the live session (id or path)")
    p.add_argument("--wait", type=float, default=10.0, help="seconds to wait for confirmation")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from polyarb.live.runner import LIVE_RUN_ID, STOP_FILE, STOPPED_FILE

    run_dir = session_path(args.recordings, args.session) / "runs" / LIVE_RUN_ID
    if not run_dir.is_dir():
        raise CliError(f"--session {args.session}: no live run folder at {run_dir}")
    (run_dir / STOP_FILE).write_text(f"{time.time_ns()}\n")
    deadline = time.monotonic() + args.wait
    done = run_dir / STOPPED_FILE
    while time.monotonic() < deadline:
        if done.is_file():
            data = json.loads(done.read_text())
            print_json(data)
            return 0 if data.get("confirmed") else 1
        time.sleep(0.05)
    print(f"stop requested ({run_dir / STOP_FILE}); no confirmation within {args.wait} s")
    return 1
