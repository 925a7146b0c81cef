"""``polyarb demo``: replay a bundled session with the default profile and print the summary."""

from __future__ import annotations

import argparse

from polyarb.cli.common import add_recordings_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="replay a session with the default profile and print what happened",
        description=(
            "What 'make demo' runs after 'polyarb import resolvedkit': 'polyarb replay' with the "
            "built-in default profile (every detector on), then the summary and the data credit. "
            "On the real resolvedkit BTC 15-minute books the binary detector finds nothing: the "
            "sub-1 ask sums there are crossed or stale-leg artefacts, which the guards count."
        ),
    )
    p.add_argument("--session", default="resolvedkit-btc15m", help="session id or path")
    p.add_argument("--json", action="store_true", help="print run.json instead of the summary")
    add_recordings_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from polyarb.cli.cmd_replay import replay_and_report
    from polyarb.cli.common import session_path
    from polyarb.recording import SessionReader

    code = replay_and_report(args.recordings, args.session, None, None, args.json)
    if not args.json:
        credit = SessionReader(session_path(args.recordings, args.session)).manifest.source.get(
            "credit"
        )
        if credit:
            print(f"  data credit     {credit}")
    return code
