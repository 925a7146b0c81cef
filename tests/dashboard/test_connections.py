"""Idle connections cost no threads: a bounded pool serves requests, silent sockets are closed."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dashboard_support import request

from polyarb.dashboard import DashboardServer, make_server


@contextmanager
def serving(tmp_path: Path, **limits: Any) -> Iterator[DashboardServer]:
    (tmp_path / "recordings").mkdir(exist_ok=True)
    srv = make_server("127.0.0.1", 0, tmp_path / "recordings", tmp_path / "reports", **limits)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _open(srv: DashboardServer, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        socks.append(s)
    return socks


def _closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


def _wait_for(condition: Any, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds  # generous: only a broken server waits this long
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_300_idle_sockets_do_not_mean_300_threads(tmp_path: Path) -> None:
    """Issue 18 item 10: every accepted socket got its own thread blocked reading a request
    that never came (3,000 idle sockets, 3,000 threads). Now silent sockets wait in a selector:
    the thread count stays within the pool size and a real request is still answered."""
    baseline = threading.active_count()
    with serving(tmp_path, max_workers=4, idle_timeout_s=60, max_idle=1000) as srv:
        socks = _open(srv, 300)
        try:
            code, _, _ = request(srv, "/api/health")  # answered past 300 silent sockets
            assert code == 200
            # the server thread, the idle watcher and at most max_workers workers
            assert threading.active_count() - baseline <= 4 + 2
            assert not any(_closed_by_server(s) for s in socks[:5])  # still open, just idle
        finally:
            for s in socks:
                s.close()


def test_idle_and_excess_sockets_are_closed(tmp_path: Path) -> None:
    """A socket silent for idle_timeout_s is closed; past max_idle the oldest go first."""
    with serving(tmp_path, max_workers=2, idle_timeout_s=0.5, max_idle=1000) as srv:
        socks = _open(srv, 20)
        try:
            assert _wait_for(lambda: all(_closed_by_server(s) for s in socks))
        finally:
            for s in socks:
                s.close()
    with serving(tmp_path, max_workers=2, idle_timeout_s=60, max_idle=50) as srv:
        socks = _open(srv, 120)
        try:
            assert request(srv, "/api/health")[0] == 200
            assert _wait_for(lambda: sum(_closed_by_server(s) for s in socks) >= 70)
            assert not _closed_by_server(socks[-1])  # the newest wait on
        finally:
            for s in socks:
                s.close()


def test_stalled_requests_time_out_and_free_their_worker(tmp_path: Path) -> None:
    """A request that starts and stalls (slowloris) holds a worker only for request_timeout_s,
    so with every worker taken by stalled requests the server still answers afterwards."""
    with serving(tmp_path, max_workers=2, idle_timeout_s=60, request_timeout_s=0.5) as srv:
        socks = _open(srv, 6)
        try:
            for s in socks:
                s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
            code, _, _ = request(srv, "/api/health")
            assert code == 200
            assert _wait_for(lambda: all(_closed_by_server(s) for s in socks))
        finally:
            for s in socks:
                s.close()
