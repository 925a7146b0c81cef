"""``polyarb calibrate --sessions S1 S2 …``: fit latency and fills to live sessions."""

from __future__ import annotations

import argparse
from pathlib import Path

from polyarb.cli.common import CliError, add_recordings_arg, print_json, session_path


def _run(args: argparse.Namespace) -> int:
    from polyarb.analytics.calibrate import CalibrationError, fit, load_sessions, render_table
    from polyarb.config.profile import ProfileError, load_profile

    if not args.sessions:
        raise CliError("--sessions: name at least one live session")
    model = None
    if args.profile is not None:
        try:
            model = load_profile(args.profile).latency
        except ProfileError as exc:
            raise CliError(str(exc)) from None
    dirs = [session_path(args.recordings, s) for s in args.sessions]
    try:
        result = fit(load_sessions(dirs), model)
    except CalibrationError as exc:
        raise CliError(str(exc)) from None
    snippet = result.snippet()
    if args.out is not None:
        try:
            args.out.write_text(snippet)
        except OSError as exc:
            raise CliError(f"--out {args.out}: {exc.strerror or exc}", 1) from None
    if args.json:
        print_json({**result.to_json(), "out": str(args.out) if args.out else None})
        return 0
    against = f"profile {args.profile}" if args.profile else "the recorded runs' profile"
    print(
        f"{result.answered} answered of {result.orders} live orders from "
        f"{', '.join(result.sessions)}; model: {against}"
    )
    print(render_table(result))
    print()
    print(snippet if args.out is None else f"profile snippet written to {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit an empirical latency model and a fill model to live sessions",
        description=(
            "Reads the calibration rows of the live runs of the sessions (SimVenue's prediction "
            "beside the real outcome of every live order, docs/calibration.md), prints the "
            "current model's error (metric, model, observed, error) and a profile snippet with "
            "an empirical latency model that replay and shadow accept. Exit 0 ok, 2 bad input."
        ),
    )
    p.add_argument(
        "--sessions", nargs="+", required=True, metavar="S", help="live session ids or paths"
    )
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="profile whose latency model is compared (default: what the runs predicted)",
    )
    p.add_argument("--out", type=Path, default=None, help="write the profile snippet here")
    p.add_argument("--json", action="store_true", help="print the fit as JSON")
    add_recordings_arg(p)
    p.set_defaults(func=_run)
