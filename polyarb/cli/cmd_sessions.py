"""``polyarb sessions``: list sessions, certify their data quality (``check``), ``compact`` them."""

from __future__ import annotations

import argparse
from typing import Any

from polyarb.cli import cmd_sessions_cache
from polyarb.cli.common import (
    CliError,
    add_recordings_arg,
    console,
    number_in,
    positive_float,
    print_json,
    session_path,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sessions",
        help="list recorded sessions",
        description="List the sessions under --recordings: id, time span, frames, assets, markets.",
    )
    add_recordings_arg(p, remote_ok=True)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_list)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    ls = actions.add_parser("list", help="list sessions (the default)")
    add_recordings_arg(ls, remote_ok=True)
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(func=run_list)
    _register_check(actions)
    _register_compact(actions)
    _register_transfer(actions)
    cmd_sessions_cache.register(actions)


def _register_transfer(actions: argparse._SubParsersAction) -> None:
    push = actions.add_parser(
        "push",
        help="copy sealed sessions to object storage (s3://bucket/prefix) with checksums",
        description=(
            "Upload each sealed session (runs excluded) to URL/<id>/ and write URL/<id>/SHA256SUMS "
            "last; an identical copy already there is skipped. Exit 0 ok, 2 bad input."
        ),
    )
    push.add_argument("url", help="s3://bucket/prefix (endpoint: $AWS_ENDPOINT_URL)")
    push.add_argument("sessions", nargs="+", help="session ids under --recordings, or paths")
    push.add_argument("--force", action="store_true", help="upload even an identical copy")
    add_recordings_arg(push)
    push.set_defaults(func=run_push)
    pull = actions.add_parser(
        "pull",
        help="copy pushed sessions from object storage, every file checked against SHA256SUMS",
        description=(
            "Download URL/<id>/ into --recordings/<id>/; every file must match SHA256SUMS before "
            "the copy is moved into place. Exit 0 ok, 1 a checksum failed, 2 bad input."
        ),
    )
    pull.add_argument("url", help="s3://bucket/prefix (endpoint: $AWS_ENDPOINT_URL)")
    pull.add_argument("sessions", nargs="*", help="session ids (default: every pushed session)")
    add_recordings_arg(pull)
    pull.set_defaults(func=run_pull)


def run_push(args: argparse.Namespace) -> int:
    from polyarb.cli.common import CliError, session_path
    from polyarb.recording.reader import SessionError
    from polyarb.recording.storage import StorageError, is_remote, push_session

    if not is_remote(args.url):
        raise CliError(f"{args.url}: not an object-storage URL (s3://bucket/prefix)")
    for session in args.sessions:
        try:
            done = push_session(session_path(args.recordings, session), args.url, force=args.force)
        except (StorageError, SessionError) as exc:
            raise CliError(str(exc)) from None
        state = "up to date" if not done["uploaded"] else f"{done['uploaded']} files uploaded"
        print(f"pushed {done['session']} -> {done['url']} ({state})")
    return 0


def run_pull(args: argparse.Namespace) -> int:
    from pathlib import Path

    from polyarb.cli.common import CliError
    from polyarb.recording.storage import StorageError, is_remote, list_remote, pull_session

    if not is_remote(args.url):
        raise CliError(f"{args.url}: not an object-storage URL (s3://bucket/prefix)")
    try:
        ids = args.sessions or list(list_remote(args.url))
        for sid in ids:
            path = pull_session(args.url, sid, Path(args.recordings))
            print(f"pulled {sid} -> {path} (checksums ok)")
    except StorageError as exc:
        raise CliError(str(exc), 1 if "checksum" in str(exc) else 2) from None
    return 0


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
    p.add_argument(
        "--level",
        type=number_in(1, 22, kind=int),
        default=None,
        help="zstd level (1-22, default 9)",
    )
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
            "frames; a session that never connected is an issue. Every part is first checked "
            "against the manifest (inside the folder, size, rows, SHA-256). Exit 0, 1 with "
            "--strict and issues, 2 if a part is missing, extra or changed (named) or the "
            "session is unreadable."
        ),
    )
    p.add_argument("session", help="session id under --recordings, or a path")
    add_recordings_arg(p)
    p.add_argument("--json", action="store_true", help="print the certificate as JSON")
    p.add_argument(
        "--silence",
        type=positive_float,
        default=30.0,
        help="report data silences longer than this (s)",
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when any issue is found")
    p.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    from polyarb.recording import SessionReader
    from polyarb.recording.quality import certify, render

    path = session_path(args.recordings, args.session)
    missing = SessionReader(path).frames_missing
    if missing:
        raise CliError(missing, 1)
    cert = certify(path, silence_s=args.silence)
    if args.json:
        print_json(cert)
    else:
        print(render(cert))
    return 1 if args.strict and cert["issues"] else 0


def _remote_readers(url: str) -> list[Any]:
    """Pushed sessions as reader-like objects (manifest only; runs from the local cache)."""
    from types import SimpleNamespace

    from polyarb.cli.common import CliError
    from polyarb.recording.manifest import manifest_from_dict
    from polyarb.recording.storage import StorageError, cache_root, list_remote

    try:
        manifests = list_remote(url)
    except StorageError as exc:
        raise CliError(str(exc)) from None
    root = cache_root(url)
    return [
        SimpleNamespace(id=sid, manifest=manifest_from_dict(m, f"{url}/{sid}"), dir=root / sid)
        for sid, m in manifests.items()
    ]


def session_rows(recordings: Any) -> list[dict[str, Any]]:
    """``session_summary`` of every session, folder order; ``damaged`` says why if not whole.

    A session whose manifest does not read gets a row with only ``id`` and ``damaged``, so
    one bad folder is listed, not fatal, and the others are listed as before.
    """
    from polyarb.recording.reader import scan_sessions, session_summary

    readers, damaged = scan_sessions(recordings)
    rows = {r.dir.name: {**session_summary(r), "damaged": damaged.get(r.dir.name)} for r in readers}
    for name, reason in damaged.items():
        rows.setdefault(name, {"id": name, "damaged": reason, "frames": 0, "runs": []})
    return [rows[k] for k in sorted(rows)]


def run_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from polyarb.recording import session_summary
    from polyarb.recording.storage import is_remote

    if is_remote(args.recordings):
        rows = [session_summary(r) for r in _remote_readers(args.recordings)]
    else:
        rows = session_rows(args.recordings)
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
        if r["damaged"]:
            table.add_row(r["id"], f"[bold red]DAMAGED[/]: {r['damaged']}", *[""] * 6)
            continue
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
