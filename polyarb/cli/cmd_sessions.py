"""``polyarb sessions``: list sessions, certify their data quality (``check``), ``compact`` them."""

from __future__ import annotations

import argparse

from polyarb.cli.common import CliError, add_recordings_arg, console, print_json, session_path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sessions",
        help="list recorded sessions",
        description="List the sessions under --recordings: id, time span, frames, assets, markets.",
    )
    add_recordings_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_list)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    ls = actions.add_parser("list", help="list sessions (the default)")
    add_recordings_arg(ls)
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(func=run_list)
    _register_check(actions)
    _register_compact(actions)


def _register_compact(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser(
        "compact",
        help="rewrite a sealed session's parts smaller (book-delta codec), verified lossless",
        description=(
            "Archive a sealed session: book frames are stored as changes against the asset's "
            "previous book or as the mirror of the other token's book, every other row raw, "
            "zstd level --level (default 9). Each part is decoded and compared "
            "payload by payload (SHA-256) before it replaces the original. polyarb reads "
            "compacted sessions as before; a plain Parquet reader sees null payloads for the "
            "encoded rows. Exit 0 done, 1 a part failed (left as it was), 2 bad input."
        ),
    )
    p.add_argument("session", help="session id under --recordings, or a path")
    add_recordings_arg(p)
    # 9 spelled out so --help need not import pyarrow; tests/cli/test_startup.py checks it
    p.add_argument("--level", type=int, default=None, help="zstd level (1-22, default 9)")
    p.set_defaults(func=run_compact)


def run_compact(args: argparse.Namespace) -> int:
    from polyarb.recording.compact import ARCHIVE_LEVEL, CompactError, compact_session

    if args.level is None:
        args.level = ARCHIVE_LEVEL

    if not 1 <= args.level <= 22:
        raise CliError(f"--level must be within 1..22, got {args.level}", 2)
    path = session_path(args.recordings, args.session)
    out = console()
    with out.status(f"compacting {path.name}") as status:

        def progress(part: str, before: int, after: int) -> None:
            status.update(f"compacting {path.name}: {part} {before:,} → {after:,} bytes")
            out.print(f"{part}: {before / 1e6:,.1f} MB → {after / 1e6:,.1f} MB")

        try:
            totals = compact_session(path, args.level, progress)
        except CompactError as exc:
            raise CliError(str(exc), 1) from exc
    before, after = totals["before"], totals["after"]
    ratio = after / before if before else 1.0
    out.print(
        f"{path.name}: {totals['parts']} parts, {before / 1e6:,.1f} MB → {after / 1e6:,.1f} MB "
        f"({ratio:.2f}×)"
    )
    return 0


def _register_check(actions: argparse._SubParsersAction) -> None:
    """Add ``polyarb sessions check SESSION``."""
    p = actions.add_parser(
        "check",
        help="print a data-quality certificate of a session",
        description=(
            "Certify a session: gaps, reconnects, silent periods, assets without a snapshot, "
            "book hashes verified at event boundaries (min_order_size/neg_risk from "
            "markets.parquet) with a diagnosis (hash rule does not match this session / book "
            "diverged) and the book_integrity setting to replay it with, rejected and duplicate "
            "frames. Exit 0 unless --strict and issues."
        ),
    )
    p.add_argument("session", help="session id under --recordings, or a path")
    add_recordings_arg(p)
    p.add_argument("--json", action="store_true", help="print the certificate as JSON")
    p.add_argument(
        "--silence", type=float, default=30.0, help="report data silences longer than this (s)"
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when any issue is found")
    p.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    from polyarb.recording.quality import certify, render

    if args.silence <= 0:
        raise CliError(f"--silence must be positive, got {args.silence}")
    cert = certify(session_path(args.recordings, args.session), silence_s=args.silence)
    if args.json:
        print_json(cert)
    else:
        print(render(cert))
    return 1 if args.strict and cert["issues"] else 0


def run_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from polyarb.recording import list_sessions, session_summary

    rows = [session_summary(r) for r in list_sessions(args.recordings)]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print(f"no sessions under {args.recordings} (try 'polyarb import resolvedkit')")
        return 0
    table = Table(title=f"sessions in {args.recordings}")
    for col in ("id", "start (UTC)", "span", "frames", "assets", "markets", "sealed", "runs"):
        table.add_column(col, justify="right" if col in ("frames", "assets", "markets") else "left")
    for r in rows:
        table.add_row(
            r["id"],
            r["start"],
            r["span"],
            f"{r['frames']:,}",
            str(r["assets"]),
            str(r["markets"]),
            "yes" if r["sealed"] else "NO",
            ", ".join(r["runs"]) or "-",
        )
    console().print(table)
    return 0
