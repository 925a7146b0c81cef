"""``polyarb go-no-go --phase N``: the pre-start checklist (PASS/WARN/FAIL per check)."""

from __future__ import annotations

import argparse
from pathlib import Path

from polyarb.cli.common import CliError, print_json


def _run(args: argparse.Namespace) -> int:
    from polyarb.ops.gonogo import GoNoGoInputs, result, run_checks, write_latest

    if args.phase not in (0, 1, 2, 3):
        raise CliError(f"--phase {args.phase}: allowed 0 (shadow), 1 ($2), 2 ($5), 3 ($10-20)", 2)
    if args.rollback and args.phase != 0:
        raise CliError("--rollback: only with --phase 0 (rolling back means back to shadow)", 2)
    if not args.root.is_dir():  # before any check runs or any report is written
        raise CliError(f"--root {args.root}: no such folder", 2)
    if args.profile is not None and not args.profile.is_file():
        raise CliError(f"--profile {args.profile}: no such file", 2)
    inp = GoNoGoInputs(
        phase=args.phase,
        root=args.root,
        profile=args.profile,
        env_file=args.env_file if args.env_file is not None else args.root / ".env",
        recordings=args.recordings if args.recordings is not None else args.root / "recordings",
        reports=args.reports if args.reports is not None else args.root / "reports",
        backups=args.backups if args.backups is not None else args.root / "backups",
        port=args.port,
        rpc_timeout_s=args.rpc_timeout,
        rollback=args.rollback,
    )
    checks = run_checks(inp)
    data = result(inp, checks)
    path = write_latest(inp.reports, data)
    if args.json:
        print_json(data)
    else:
        _table(data, path)
    return 1 if data["status"] == "FAIL" else 0


def _table(data: dict, path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    colour = {"PASS": "green", "WARN": "yellow", "FAIL": "bold red"}
    table = Table(title=f"go/no-go for phase {data['phase']}", show_lines=False)
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for c in data["checks"]:
        table.add_row(c["name"], f"[{colour[c['status']]}]{c['status']}[/]", c["detail"])
    console = Console(width=140)
    console.print(table)
    console.print(f"overall: [{colour[data['status']]}]{data['status']}[/]  (written to {path})")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "go-no-go",
        help="pre-start checklist for a phase: PASS/WARN/FAIL table, exit 1 on any FAIL",
        description=(
            "Run the go/no-go checklist for phase N (0 shadow, 1 $2, 2 $5, 3 $10-20 per trade): "
            "profile and config validity, DRY_RUN state vs phase, .env present with mode 600, "
            "private key well-formed (never printed), Polygon RPC reachable with chain id 137, "
            "gas, pUSD balance and allowances (live), disk space, writable folders, clock, last "
            "backup age, promote-check verdict, alert rules, port free, no HALT file. What is a "
            "WARN in phase 0 is usually a FAIL in live phases. The result is written to "
            "REPORTS/go_no_go/phase<N>.json (kept per phase) and latest.json. Exit 0 on PASS or "
            "WARN, 1 on any FAIL, 2 on bad input."
        ),
    )
    p.add_argument("--phase", type=int, required=True, help="phase to check: 0, 1, 2 or 3")
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="profile to check (default: the phase's profile under profiles/)",
    )
    p.add_argument("--root", type=Path, default=Path(), help="project folder (default: .)")
    p.add_argument("--env-file", type=Path, default=None, help="secrets file (default: ROOT/.env)")
    p.add_argument("--recordings", type=Path, default=None, help="default: ROOT/recordings")
    p.add_argument("--reports", type=Path, default=None, help="default: ROOT/reports")
    p.add_argument("--backups", type=Path, default=None, help="default: ROOT/backups")
    p.add_argument(
        "--port",
        type=int,
        default=8083,
        help="port the dashboard will bind on 127.0.0.1 (default: 8083)",
    )
    p.add_argument("--rpc-timeout", type=float, default=3.0, help="seconds per RPC call")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--rollback",
        action="store_true",
        help="phase 0 only: emergency rollback to shadow; a live opt-in (DRY_RUN=false) left "
        "in .env is a WARN instead of a FAIL, so .env need not be edited under pressure",
    )
    p.set_defaults(func=_run)
