"""``polyarb sweep``: sessions × profile overrides as replays on Dask, and their report."""

from __future__ import annotations

import argparse
from pathlib import Path

from polyarb.cli.common import CliError, add_recordings_arg, console


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="replay sessions × profile overrides (local or remote Dask), then report",
        description=(
            "'sweep run FILE': every cell (one session with one profile override set) is a "
            "normal deterministic replay; results land in "
            "<recordings>/sweeps/<name>/results.parquet (the 'sweeps' view of polyarb sql) and "
            "the runs in each session's runs/ folder. Cells already recorded are not computed "
            "again (--force does). 'sweep report NAME': leaderboard with bootstrap intervals "
            "and an HTML page with a PnL heatmap. See docs/sweeps.md. Exit 0 ok, 2 bad input."
        ),
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = actions.add_parser("run", help="run a sweep file's cells")
    r.add_argument("file", type=Path, help="sweep YAML (base profile, grid/cells, sessions)")
    r.add_argument(
        "--scheduler",
        default="local",
        help="'local' (a Dask cluster on this machine, the default), 'serial' (in this "
        "process), or tcp://HOST:PORT of an existing Dask scheduler",
    )
    r.add_argument(
        "--workers", type=int, default=None, help="local cluster workers (default: CPUs)"
    )
    r.add_argument("--force", action="store_true", help="recompute cells already recorded")
    r.add_argument(
        "--sessions", nargs="+", default=None, help="session ids/globs (overrides the file)"
    )
    add_recordings_arg(r, remote_ok=True)
    r.set_defaults(func=run_sweep_cmd)
    rep = actions.add_parser("report", help="leaderboard and HTML page of a finished sweep")
    rep.add_argument("name", help="sweep name (its folder under <recordings>/sweeps/)")
    rep.add_argument("--x", default=None, help="heatmap x parameter (default: first swept key)")
    rep.add_argument("--y", default=None, help="heatmap y parameter (default: second swept key)")
    rep.add_argument(
        "--html", type=Path, default=None, help="page to write (default: <sweep>/report.html)"
    )
    rep.add_argument("--top", type=int, default=20, help="leaderboard rows shown (default 20)")
    rep.add_argument("--seed", type=int, default=0, help="bootstrap generator seed (default 0)")
    add_recordings_arg(rep, remote_ok=True)
    rep.set_defaults(func=run_report)


def _check_scheduler(value: str) -> str:
    if value in ("local", "serial") or value.startswith(("tcp://", "tls://", "ws://", "wss://")):
        return value
    raise CliError(f"--scheduler {value!r}: use local, serial or tcp://HOST:PORT")


def run_sweep_cmd(args: argparse.Namespace) -> int:
    from polyarb.cli.progress import count_bar
    from polyarb.recording.storage import StorageError
    from polyarb.sweep.grid import SweepError, load_sweep
    from polyarb.sweep.run import CellError, run_sweep

    scheduler = _check_scheduler(args.scheduler)
    if args.workers is not None and args.workers < 1:
        raise CliError(f"--workers must be at least 1, got {args.workers}")
    try:
        spec = load_sweep(args.file)
        with count_bar(f"sweep {spec.name}", "cells") as update:
            outcome = run_sweep(
                spec,
                args.recordings,
                scheduler=scheduler,
                workers=args.workers,
                force=args.force,
                progress=update,
                sessions=args.sessions,
            )
    except (SweepError, StorageError) as exc:
        raise CliError(str(exc)) from None
    except CellError as exc:
        raise CliError(f"{exc} (cells finished before it are kept; rerun to resume)", 1) from None
    except OSError as exc:
        if scheduler.startswith("tcp://"):
            raise CliError(f"--scheduler {scheduler}: cannot connect: {exc}") from None
        raise
    print(
        f"sweep {spec.name}: {len(outcome.tasks)} cells ({len(spec.cells)} parameter sets × "
        f"{len({t.session_id for t in outcome.tasks})} sessions), computed {outcome.computed}, "
        f"already done {outcome.reused}\n  results: {outcome.results}"
    )
    return 0


def run_report(args: argparse.Namespace) -> int:
    from polyarb.recording.storage import local_sessions_root
    from polyarb.sweep.report import ReportError, build_report, format_leaderboard
    from polyarb.sweep.store import SweepStore

    store = SweepStore(local_sessions_root(args.recordings), args.name)
    try:
        report = build_report(store, x=args.x, y=args.y, seed=args.seed)
        page = report.write_html(args.html or store.dir / "report.html")
    except ReportError as exc:
        raise CliError(str(exc)) from None
    out = console()
    out.print(format_leaderboard(report, args.top), markup=False, highlight=False)
    for warning in report.warnings:
        out.print(f"WARNING: {warning}", markup=False, highlight=False)
    out.print(f"report: {page}", markup=False, highlight=False)
    return 0
