"""``polyarb sessions``: list sessions, certify their data quality (``check``), ``compact`` them."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from polyarb.cli.common import add_recordings_arg, console, number_in, print_json


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
    from polyarb.recording.compact import ARCHIVE_LEVEL

    p = actions.add_parser(
        "compact",
        help="rewrite a sealed session's parts smaller (book-delta codec), verified lossless",
        description=(
            "Archive a sealed session: book frames are stored as changes against the asset's "
            "previous book or as the mirror of the other token's book, every other row raw, "
            f"zstd level --level (default {ARCHIVE_LEVEL}). Each part is decoded and compared "
            "payload by payload (SHA-256) before it replaces the original. polyarb reads "
            "compacted sessions as before; a plain Parquet reader sees null payloads for the "
            "encoded rows. Exit 0 done, 1 a part failed (left as it was), 2 bad input."
        ),
    )
    p.add_argument("session", help="session id under --recordings, or a path")
    add_recordings_arg(p)
    p.add_argument(
        "--level", type=number_in(1, 22, kind=int), default=ARCHIVE_LEVEL, help="zstd level (1-22)"
    )
    p.set_defaults(func=run_compact)


def run_compact(args: argparse.Namespace) -> int:
    from polyarb.cli.common import CliError, session_path
    from polyarb.recording.compact import CompactError, compact_session

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
    try:
        from polyarb.recording.quality import register_check
    except ImportError:
        return
    register_check(actions)


def _int(value: Any) -> int | None:
    """A manifest number, or None when the manifest holds something else there."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _fmt_ns(ns: int | None) -> str:
    if ns is None:
        return "-"
    try:
        return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "?"


def _duration(start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return "-"
    seconds = (end - start) // 10**9
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


def session_summary(reader: Any) -> dict[str, Any]:
    """The one-line facts of a session, as ``sessions`` prints them."""
    m = reader.manifest
    start, end = _int(m.get("start_ns")), _int(m.get("end_ns"))
    counts = m.get("counts")
    assets = m.get("assets")
    return {
        "id": reader.id,
        "start": _fmt_ns(start),
        "end": _fmt_ns(end),
        "span": _duration(start, end),
        "frames": _int(m.get("frames")) or 0,
        "counts": counts if isinstance(counts, dict) else {},
        "assets": len(assets) if isinstance(assets, list) else 0,
        "markets": _int(m.get("markets")) or 0,
        "sealed": m.get("sealed") is True,
        "runs": sorted(p.name for p in (reader.dir / "runs").glob("*") if p.is_dir()),
    }


def session_rows(recordings: Any) -> list[dict[str, Any]]:
    """:func:`session_summary` of every session, folder order; ``damaged`` says why if not whole.

    A session whose manifest does not read gets a row with only ``id`` and ``damaged``, so
    one bad folder is listed, not fatal, and the others are listed as before.
    """
    from polyarb.recording.reader import scan_sessions

    readers, damaged = scan_sessions(recordings)
    rows = {r.dir.name: {**session_summary(r), "damaged": damaged.get(r.dir.name)} for r in readers}
    for name, reason in damaged.items():
        rows.setdefault(name, {"id": name, "damaged": reason, "frames": 0, "runs": []})
    return [rows[k] for k in sorted(rows)]


def run_list(args: argparse.Namespace) -> int:
    from rich.table import Table

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
