"""The HTTP side: a stdlib ``ThreadingHTTPServer`` serving the API and a fixed set of static files."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import selectors
import socket
import sys
import threading
import time
import traceback
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from polyarb.dashboard.api import Api, ApiError

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/dashboard.html": ("index.html", "text/html; charset=utf-8"),
    "/profiles.html": ("profiles.html", "text/html; charset=utf-8"),
    "/alerts.html": ("alerts.html", "text/html; charset=utf-8"),
    "/common.js": ("common.js", "text/javascript; charset=utf-8"),
    "/pages.js": ("pages.js", "text/javascript; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
"""The only files ever served: a fixed table, so no URL can name a file on disk."""

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address) can only be reached from this machine."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    """The name in a Host header, without port or IPv6 brackets."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _static_files() -> dict[str, bytes]:
    folder = resources.files("polyarb.dashboard").joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name, _ in set(STATIC.values())}


class DashboardServer(ThreadingHTTPServer):
    """Serves :class:`Api` and the static page; ``local_only`` enforces loopback Host headers.

    Connections cost a thread only while a request is being read or answered: an
    accepted socket waits in a selector until its first bytes arrive, then a pool of
    at most ``max_workers`` threads serves it (each read or write bounded by
    ``request_timeout_s``). A socket that sends nothing for ``idle_timeout_s``, or the
    oldest waiting one when more than ``max_idle`` wait, is closed. So thousands of
    idle sockets (a browser's pre-opened connections, a slowloris) cost file
    descriptors for a few seconds, not thousands of threads, and real requests are
    still answered.
    """

    daemon_threads = True  # a stuck browser connection must not block shutdown
    request_queue_size = 128  # listen backlog: socketserver's 5 drops bursts of connects

    def __init__(
        self,
        address: tuple[str, int],
        api: Api,
        *,
        local_only: bool = True,
        log_requests: bool = False,
        max_workers: int = 16,
        idle_timeout_s: float = 10.0,
        request_timeout_s: float = 10.0,
        max_idle: int = 256,
    ) -> None:
        self.api = api
        self.local_only = local_only
        self.log_requests = log_requests
        self.files = _static_files()
        self.max_workers = max_workers
        self.idle_timeout_s = idle_timeout_s
        self.request_timeout_s = request_timeout_s
        self.max_idle = max_idle
        # before binding: a failed bind calls server_close(), which uses them
        self._lock = threading.Lock()
        self._incoming: list[tuple[socket.socket, Any]] = []
        self._ready: deque[tuple[socket.socket, Any]] = deque()
        self._work = threading.Condition(self._lock)
        self._workers: list[threading.Thread] = []
        self._idle_workers = 0
        self._closed = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._watcher: threading.Thread | None = None
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        host = str(self.server_address[0])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/"

    def process_request(self, request: Any, client_address: Any) -> None:
        """Park the new connection until it has bytes to read (no thread for it yet)."""
        with self._lock:
            if self._closed:
                self.shutdown_request(request)
                return
            self._incoming.append((request, client_address))
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch, name="dashboard-idle", daemon=True
                )
                self._watcher.start()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _watch(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._wake_r, selectors.EVENT_READ)
        waiting: dict[socket.socket, tuple[Any, float]] = {}  # insertion order = age
        try:
            while True:
                now = time.monotonic()
                expired = [s for s, (_, t) in waiting.items() if now - t >= self.idle_timeout_s]
                for sock in expired:
                    sel.unregister(sock)
                    del waiting[sock]
                    self.shutdown_request(sock)
                timeout = min(
                    (t + self.idle_timeout_s - now for _, t in waiting.values()), default=None
                )
                events = sel.select(None if timeout is None else max(timeout, 0.01))
                for key, _ in events:
                    if key.fileobj is self._wake_r:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                        continue
                    conn = key.fileobj
                    assert isinstance(conn, socket.socket)
                    sel.unregister(conn)
                    address, _ = waiting.pop(conn)
                    self._dispatch(conn, address)
                with self._lock:
                    if self._closed:
                        break
                    incoming, self._incoming = self._incoming, []
                for sock, address in incoming:
                    sel.register(sock, selectors.EVENT_READ)
                    waiting[sock] = (address, time.monotonic())
                while len(waiting) > self.max_idle:  # too many silent sockets: oldest go first
                    sock = next(iter(waiting))
                    sel.unregister(sock)
                    del waiting[sock]
                    self.shutdown_request(sock)
        finally:
            for sock in waiting:
                self.shutdown_request(sock)
            sel.close()

    def _dispatch(self, sock: socket.socket, address: Any) -> None:
        with self._lock:
            self._ready.append((sock, address))
            if self._idle_workers == 0 and len(self._workers) < self.max_workers:
                worker = threading.Thread(
                    target=self._serve_ready,
                    name=f"dashboard-{len(self._workers)}",
                    daemon=True,
                )
                self._workers.append(worker)
                worker.start()
            else:
                self._work.notify()

    def _serve_ready(self) -> None:
        while True:
            with self._lock:
                self._idle_workers += 1
                while not self._ready and not self._closed:
                    self._work.wait()
                self._idle_workers -= 1
                if self._closed:
                    return
                sock, address = self._ready.popleft()
            self.process_request_thread(sock, address)

    def server_close(self) -> None:
        with self._lock:
            self._closed = True
            ready, self._ready = list(self._ready), deque()
            self._work.notify_all()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        for sock, _ in ready:
            self.shutdown_request(sock)
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()


class Handler(BaseHTTPRequestHandler):
    """GET only; every answer is JSON except the three static files."""

    server: DashboardServer
    server_version = "polyarb-dashboard"

    def setup(self) -> None:
        super().setup()
        # a stalled read or write ends the request (and frees its worker)
        self.connection.settimeout(self.server.request_timeout_s)

    def do_GET(self) -> None:
        try:
            self._get()
        except Exception as exc:  # a bug must become a 500, not a dropped connection
            traceback.print_exc(file=sys.stderr)
            self._json(500, {"error": f"internal error: {type(exc).__name__}: {exc}"})

    def _get(self) -> None:
        if self.server.local_only:
            # DNS rebinding guard: a web page on another origin can point a name at
            # 127.0.0.1, but its requests then carry that name in Host.
            host = _host_name(self.headers.get("Host", ""))
            if host not in _LOCAL_HOSTS:
                self._json(403, {"error": f"Host {host!r} not allowed; open {self.server.url}"})
                return
        url = urlsplit(self.path)
        if url.path.startswith("/api/") or url.path == "/api":
            try:
                body = self.server.api.handle(url.path, parse_qs(url.query))
            except ApiError as exc:
                self._json(exc.status, {"error": str(exc), "status": exc.status})
                return
            self._json(200, body)
            return
        static = STATIC.get(url.path)
        if static is None:
            self._json(404, {"error": f"not found: {url.path}", "status": 404})
            return
        name, ctype = static
        self._send(200, self.server.files[name], ctype)

    def _not_allowed(self) -> None:
        self._json(
            405, {"error": f"{self.command} not allowed: read-only, GET only", "status": 405}
        )

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _not_allowed

    def _json(self, status: int, data: Any) -> None:
        body = json.dumps(data, default=str, separators=(",", ":")).encode()
        self._send(status, body, "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        # the page loads nothing from anywhere else (the machine may have no internet anyway)
        self.send_header(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'"
        )
        if status == 405:
            self.send_header("Allow", "GET")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log_requests:
            super().log_message(format, *args)


def make_server(
    host: str,
    port: int,
    recordings: Path,
    reports: Path,
    *,
    allow_remote: bool = False,
    log_requests: bool = False,
    max_age_s: float = 2.0,
    profiles: Path | None = None,
    **limits: Any,
) -> DashboardServer:
    """A bound (not yet serving) dashboard; raises ``ValueError`` for a non-loopback host
    without ``allow_remote`` and ``OSError`` when the address cannot be bound. ``limits``
    are :class:`DashboardServer`'s connection limits (``max_workers``, ``idle_timeout_s``,
    ``request_timeout_s``, ``max_idle``)."""
    local = is_loopback(host)
    if not local and not allow_remote:
        raise ValueError(
            f"refusing to serve on {host!r}: not a loopback address. The dashboard has no "
            "authentication; pass --allow-remote only on a trusted network"
        )
    api = Api(recordings, reports, max_age_s=max_age_s, profiles=profiles)
    return DashboardServer((host, port), api, local_only=local, log_requests=log_requests, **limits)
