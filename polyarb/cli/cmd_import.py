"""``polyarb import``: turn published real data into sessions."""

from __future__ import annotations

import argparse
from pathlib import Path

from polyarb.cli.common import CliError, add_recordings_arg, shared_data_dir

SOURCES = ("resolvedkit", "burst", "negrisk", "all")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="convert a bundled real data sample into a session",
        description=(
            "Convert real Polymarket data from ../shared/data/polymarket into a session. "
            "'resolvedkit': 5 h of 1 Hz two-sided books for 18 BTC 15-minute markets with real "
            "settlements (CC BY 4.0, Resolved Markets). 'burst': 51 frames of the 2026-09-29 "
            "crossing burst. 'negrisk': the real 2028 Democratic-nominee neg-risk event with cloned "
            "outcomes and planted mispricings (synthetic books; see "
            "polyarb/recording/imports/negrisk.py). 'all': every one."
        ),
    )
    p.add_argument("source", choices=SOURCES, help="which sample to import")
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="the shared polymarket data folder (default: ../shared/data/polymarket)",
    )
    add_recordings_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from polyarb.cli.progress import progress_bar
    from polyarb.recording.imports import import_burst, import_resolvedkit

    data: Path = args.data or shared_data_dir()
    if not data.is_dir():
        raise CliError(f"shared data folder not found: {data} (pass --data)")
    from polyarb.recording.imports.common import existing_runs

    before = existing_runs(args.recordings) if args.recordings.is_dir() else {}
    done = []
    if args.source in ("resolvedkit", "all"):
        with progress_bar("import resolvedkit") as update:
            try:
                done.append(
                    import_resolvedkit(
                        data / "resolvedkit_btc15m", args.recordings, progress=update
                    )
                )
            except FileNotFoundError as exc:
                raise CliError(str(exc)) from exc
    if args.source in ("burst", "all"):
        try:
            done.append(import_burst(data, args.recordings))
        except FileNotFoundError as exc:
            raise CliError(str(exc)) from exc
    if args.source in ("negrisk", "all"):
        from polyarb.recording.imports.negrisk import import_negrisk

        try:
            done.append(import_negrisk(data, args.recordings))
        except FileNotFoundError as exc:
            raise CliError(str(exc)) from exc
    from polyarb.recording import SessionReader

    for path in done:
        reader = SessionReader(path)
        print(f"imported {reader.id}: {reader.manifest.frames} rows -> {path}")
        credit = reader.manifest.source.get("credit")
        if credit:
            print(f"  credit: {credit}")
        kept = before.get(path.name, [])
        if kept:
            # A re-import replaces the frames, never the work done on them.
            print(f"  kept {len(kept)} existing run(s) of {path.name}: {', '.join(kept)}")
    return 0
