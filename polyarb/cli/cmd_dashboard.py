"""``polyarb dashboard``: the read-only web dashboard and JSON API (default 127.0.0.1:8083)."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from polyarb.cli.common import CliError, add_recordings_arg, port

ENDPOINTS = """\
JSON API (GET only; money as int micro units, 10**6 = $1, plus *_usd decimal strings):
  /api/health                              version, folders, session and run counts
  /api/sessions                            id, span, frames, assets, markets, sealed, runs
  /api/sessions/<session>                  manifest summary, markets, runs
  /api/runs/<session>/<run>                run.json, key numbers, parity.json
  /api/runs/<session>/<run>/pnl            PnL curve: ts_ns, seq, realised, marked, total
  /api/runs/<session>/<run>/alerts         alert transitions and the rules active now
  /api/runs/<session>/<run>/decisions?limit=N   the newest N decisions (default 100)
  /api/promotion                           REPORTS/promotion/latest.json
  /api/go-no-go                            REPORTS/go_no_go/phase<N>.json (newest first)
  /api/alerts/state?limit=N                active alerts across runs (level, since, message,
                                           run), last transition per rule, history, rules
  /api/profiles                            every profile validated, phase, keys side by side
  /api/live                                shadow/live runs from their heartbeat.json: running,
                                           crashed (stale heartbeat, no run.json) or stopped

Pages: /dashboard.html (also /): the live view (frames/s, connections, reconnects,
connected %, latency p50/p95/p99, opportunities, orders, PnL, active alerts of every
running shadow/live run), sessions, the selected run (#<session>/<run> in the URL), its
PnL curve, alerts, decisions with market names, parity, promotion and go/no-go status;
/profiles.html: every profile validated, side by side with differing keys highlighted;
/alerts.html: the alert centre. Pages refresh every 3 s. Nothing is ever written; .env
is never read. Exit 0 after Ctrl-C/SIGTERM, 2 on bad input or a
port already in use."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dashboard",
        help="serve the read-only dashboard and JSON API on 127.0.0.1:8083",
        description=(
            "Serve a read-only HTML dashboard and JSON API over the sessions, runs and "
            "reports. Binds 127.0.0.1 by default; the server has no authentication, so "
            "other hosts are refused unless --allow-remote is given."
        ),
        epilog=ENDPOINTS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument(
        "--port", type=port, default=8083, help="port (default: 8083; 0 picks a free port)"
    )
    add_recordings_arg(p)
    p.add_argument(
        "--profiles",
        type=Path,
        default=Path("profiles"),
        help="profiles folder shown by /profiles.html and the alert rules (default: ./profiles)",
    )
    p.add_argument(
        "--reports",
        type=Path,
        default=Path(os.environ.get("POLYARB_REPORTS", "reports")),
        help="reports folder read for promotion/ and go_no_go/ (default: $POLYARB_REPORTS "
        "or ./reports)",
    )
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (anyone who can reach it can read every run)",
    )
    p.add_argument("--log-requests", action="store_true", help="log every request to stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from polyarb.dashboard.server import is_loopback, make_server

    if not 0 <= args.port <= 65535:
        raise CliError(f"--port must be 0..65535, not {args.port}")
    if not args.recordings.is_dir():
        raise CliError(
            f"recordings folder {args.recordings} does not exist (pass --recordings DIR "
            "or record/import a session first)"
        )
    if not is_loopback(args.host) and args.allow_remote:
        print(
            f"polyarb dashboard: WARNING: serving on {args.host} without authentication; "
            "anyone who can reach this port can read every session and run",
            file=sys.stderr,
        )
    try:
        server = make_server(
            args.host,
            args.port,
            args.recordings,
            args.reports,
            allow_remote=args.allow_remote,
            log_requests=args.log_requests,
            profiles=args.profiles,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CliError(
                f"port {args.port} on {args.host} is already in use: stop what listens there "
                "or pass --port"
            ) from None
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # serve_forever runs in a thread so the main thread is free to take signals;
    # server.shutdown() from a handler on the serving thread would deadlock.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    worker = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    worker.start()
    print(
        f"polyarb dashboard: serving {server.url} (recordings {args.recordings}, reports "
        f"{args.reports}); Ctrl-C to stop",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        worker.join(timeout=5)
        for s, handler in previous.items():
            signal.signal(s, handler)
    print("polyarb dashboard: stopped", flush=True)
    return 0
