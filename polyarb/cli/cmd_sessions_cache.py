"""``polyarb sessions cache build|verify|drop``: the decoded-session cache (docs/sessions.md)."""

from __future__ import annotations

import argparse

from polyarb.cli.common import CliError, add_recordings_arg, session_path


def register(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser(
        "cache",
        help="build, verify or drop a session's decoded-events cache (replay --cache reads it)",
        description=(
            "A session's frames parsed once into <session>/cache/events-<parser version>-"
            "<content hash>.arrow, so replays skip parsing (polyarb replay --cache). The frames "
            "stay the source of truth: a cache built from other frames or by another parser is "
            "stale, one whose SHA-256 differs is corrupt; either is ignored and rebuilt. "
            "build: (re)build it; verify: exit 0 valid, 1 missing, stale or corrupt; drop: "
            "remove it. Exit 2 bad input."
        ),
    )
    p.add_argument("action", choices=("build", "verify", "drop"))
    p.add_argument("session", help="session id under --recordings, or a path")
    add_recordings_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from polyarb.recording.event_cache import build_cache, drop_cache, open_cache
    from polyarb.recording.reader import SessionError, SessionReader

    path = session_path(args.recordings, args.session)
    try:
        reader = SessionReader(path)
        if args.action == "drop":
            print(f"{reader.id}: removed {drop_cache(reader)} cache file(s)")
            return 0
        if args.action == "verify":
            cache, why = open_cache(reader)
            if cache is None:
                print(f"{reader.id}: {why}")
                return 1
            print(f"{reader.id}: cache {cache.name} is valid")
            return 0
        built = build_cache(reader)
    except SessionError as exc:
        raise CliError(str(exc)) from None
    print(f"{reader.id}: built {built.relative_to(reader.dir)} ({built.stat().st_size:,} bytes)")
    return 0
