"""The HTTP side: a stdlib ``ThreadingHTTPServer`` serving the API and three static files."""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from polyarb.dashboard.api import Api, ApiError

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
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
    """Serves :class:`Api` and the static page; ``local_only`` enforces loopback Host headers."""

    daemon_threads = True  # a stuck browser connection must not block shutdown

    def __init__(
        self,
        address: tuple[str, int],
        api: Api,
        *,
        local_only: bool = True,
        log_requests: bool = False,
    ) -> None:
        self.api = api
        self.local_only = local_only
        self.log_requests = log_requests
        self.files = _static_files()
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


class Handler(BaseHTTPRequestHandler):
    """GET only; every answer is JSON except the three static files."""

    server: DashboardServer
    server_version = "polyarb-dashboard"

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
) -> DashboardServer:
    """A bound (not yet serving) dashboard; raises ``ValueError`` for a non-loopback host
    without ``allow_remote`` and ``OSError`` when the address cannot be bound."""
    local = is_loopback(host)
    if not local and not allow_remote:
        raise ValueError(
            f"refusing to serve on {host!r}: not a loopback address. The dashboard has no "
            "authentication; pass --allow-remote only on a trusted network"
        )
    api = Api(recordings, reports, max_age_s=max_age_s)
    return DashboardServer((host, port), api, local_only=local, log_requests=log_requests)
