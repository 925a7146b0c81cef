"""HTTP helpers for the dashboard tests (fixtures are in conftest.py)."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyarb.dashboard import DashboardServer

REPO = Path(__file__).resolve().parents[2]
BURST = "crossing-burst-2026-09-29"
NEGRISK = "negrisk-2028-dem-nominee"
SECRET = "dashboard-test-secret-7f3a9c"
"""Written to files beside (outside) the recordings folder; no response may contain it."""


@dataclass
class Data:
    root: Path
    recordings: Path
    reports: Path
    burst_run: dict[str, Any]  # run.json of a real replay of a copied bundled session
    trade_run: dict[str, Any]  # run.json of a real replay that trades (fills, PnL, alerts)


def request(
    srv: DashboardServer, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One raw request (the path is sent exactly as given, unnormalised)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        res = conn.getresponse()
        return res.status, dict(res.getheaders()), res.read()
    finally:
        conn.close()


def get_json(srv: DashboardServer, path: str, status: int = 200) -> Any:
    code, headers, body = request(srv, path)
    assert code == status, (path, code, body[:500])
    assert headers["Content-Type"].startswith("application/json")
    return json.loads(body)
