"""A loopback Gamma + CLOB HTTP server that answers from the real samples in shared data."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


class FakeApis:
    """Gamma ``/markets``, ``/events``, ``/events/{id}`` and CLOB ``/markets/{cid}``.

    Like Gamma, closed markets and events are hidden unless ``closed=true``.
    """

    def __init__(self, shared: Path) -> None:
        self.events: list[dict[str, Any]] = []
        self.markets: list[dict[str, Any]] = []
        for path in sorted((shared / "gamma").glob("*.json")):
            data = json.loads(path.read_text())
            if path.name.startswith("event_"):
                self.events += data if isinstance(data, list) else [data]
            else:
                self.markets.append(data)
        for event in self.events:
            self.markets += event["markets"]
        self.clob = {}
        for path in sorted((shared / "rest").glob("clob_market_*.json")):
            record = json.loads(path.read_text())
            self.clob[record["condition_id"]] = record
        self.requests: list[str] = []

    def answer(self, raw_path: str) -> tuple[int, Any]:
        self.requests.append(raw_path)
        url = urllib.parse.urlsplit(raw_path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        closed_ok = query.get("closed") == "true"
        if parts[:1] == ["gamma"] and parts[1:2] == ["markets"]:
            return 200, [
                m for m in self.markets if self._match(m, query) and self._open(m, closed_ok)
            ]
        if parts[:2] == ["gamma", "events"] and len(parts) == 3:
            found = [e for e in self.events if str(e["id"]) == parts[2]]
            return (200, found[0]) if found else (404, {"error": "not found"})
        if parts[:2] == ["gamma", "events"]:
            slug = query.get("slug")
            return 200, [e for e in self.events if e["slug"] == slug and self._open(e, closed_ok)]
        if parts[:2] == ["clob", "markets"] and len(parts) == 3:
            record = self.clob.get(parts[2])
            return (200, record) if record else (404, {"error": "market not found"})
        return 404, {"error": "no such endpoint"}

    @staticmethod
    def _open(record: dict[str, Any], closed_ok: bool) -> bool:
        return closed_ok or not record.get("closed")

    @staticmethod
    def _match(m: dict[str, Any], query: dict[str, str]) -> bool:
        if "slug" in query:
            return bool(m.get("slug") == query["slug"])
        if "id" in query:
            return str(m.get("id")) == query["id"]
        if "condition_ids" in query:
            return m.get("conditionId", "").lower() in query["condition_ids"].lower().split(",")
        if "clob_token_ids" in query:
            tokens = json.loads(m.get("clobTokenIds") or "[]")
            return bool(set(tokens) & set(query["clob_token_ids"].split(",")))
        return False


@pytest.fixture
def apis(shared_data: Path) -> Iterator[tuple[str, str, FakeApis]]:
    """``(gamma_url, clob_url, fake)`` served on 127.0.0.1."""
    fake = FakeApis(shared_data)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = fake.answer(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield f"{base}/gamma", f"{base}/clob", fake
    finally:
        server.shutdown()
        server.server_close()
