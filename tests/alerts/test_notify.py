"""Notifiers against a real HTTP server on 127.0.0.1: delivery, retry on 500, no retry on 4xx."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from polyarb.alerts.notify import Notifier, WebhookNotifier, notifier_from_env
from polyarb.alerts.rules import AlertEvaluator, HealthSnapshot, Webhook


class Hook:
    """A local webhook receiver that answers with the next scripted status codes."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.bodies: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers["content-length"]))
                hook.bodies.append(json.loads(data))
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/SECRETTOKEN"


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    t = threading.Thread(target=h.server.serve_forever, daemon=True)
    t.start()
    yield h
    h.server.shutdown()
    h.server.server_close()


def _events():
    ev = AlertEvaluator()
    fired = ev.evaluate(HealthSnapshot(ts_ns=1, seq=1, breaker_open=True, new_trades=2))
    cleared = ev.evaluate(HealthSnapshot(ts_ns=2, seq=2))
    return fired + cleared


def test_webhook_retries_after_500_then_delivers(hook: Hook) -> None:
    hook.statuses = [500, 503]
    sleeps: list[float] = []
    w = WebhookNotifier(hook.url, Webhook(retries=3, backoff_ms=100), sleep=sleeps.append)
    (event,) = [e for e in _events() if e.level == "CRITICAL" and e.state == "fired"]
    d = w.send(event)
    assert d.ok and d.attempts == 3 and d.status == 200
    assert sleeps == [0.1, 0.2]
    assert len(hook.bodies) == 3
    assert hook.bodies[-1]["rule"] == "CIRCUIT_BREAKER_OPEN" and hook.bodies[-1]["halts"] is True


def test_webhook_gives_up_after_retries_and_never_logs_the_url(hook: Hook, caplog) -> None:
    hook.statuses = [500] * 10
    w = WebhookNotifier(hook.url, Webhook(retries=2, backoff_ms=0))
    with caplog.at_level(logging.WARNING, "polyarb.alerts"):
        d = w.send(_events()[0])
    assert not d.ok and d.attempts == 3 and d.status == 500
    assert "failed after 3 attempt(s): HTTP 500" in caplog.text
    assert "SECRETTOKEN" not in caplog.text


def test_webhook_does_not_retry_a_4xx(hook: Hook) -> None:
    hook.statuses = [400]
    d = WebhookNotifier(hook.url, Webhook(retries=3, backoff_ms=0)).send(_events()[0])
    assert not d.ok and d.attempts == 1 and len(hook.bodies) == 1


def test_notifier_logs_everything_and_posts_from_min_level(hook: Hook, caplog) -> None:
    n = notifier_from_env(
        Webhook(min_level="WARNING", backoff_ms=0), {"POLYARB_ALERT_WEBHOOK_URL": hook.url}.get
    )
    with caplog.at_level(logging.INFO, "polyarb.alerts"):
        deliveries = n.notify(_events())
    assert [(b["rule"], b["state"]) for b in hook.bodies] == [
        ("CIRCUIT_BREAKER_OPEN", "fired"),
        ("CIRCUIT_BREAKER_OPEN", "cleared"),
    ]
    assert all(d.ok for d in deliveries)
    assert "TRADE_EXECUTED" in caplog.text and "(halts trading)" in caplog.text


def test_unreachable_webhook_fails_cleanly() -> None:
    from polyarb.chain.localchain import free_port

    w = WebhookNotifier(f"http://127.0.0.1:{free_port()}/x", Webhook(retries=1, backoff_ms=0))
    d = w.send(_events()[0])
    assert not d.ok and d.attempts == 2 and d.status is None


def test_missing_url_means_log_only(caplog) -> None:
    with caplog.at_level(logging.WARNING, "polyarb.alerts"):
        n = notifier_from_env(Webhook(), {}.get)
    assert n.webhook is None and "log only" in caplog.text
    assert isinstance(notifier_from_env(None, {}.get), Notifier)


def test_core_engine_never_imports_the_notifier() -> None:
    import subprocess
    import sys

    code = ("import sys, polyarb.engine.engine, polyarb.alerts.rules; "
            "print('polyarb.alerts.notify' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_webhook_names_host_session_and_run_and_shutdown_clears_every_active_alert(
    hook: Hook,
) -> None:
    """Issue 15 item 9: every webhook body names the host, the session and the run, and
    clear_all() at shutdown sends a "cleared" for each alert still active (and none for one
    already cleared). Old code: no host/session/run, nothing sent at shutdown."""
    import socket

    from polyarb.alerts.rules import AlertEvent

    n = notifier_from_env(
        Webhook(min_level="INFO"),
        {"POLYARB_ALERT_WEBHOOK_URL": hook.url}.get,
        context={"session": "shadow-day-12", "run": "shadow"},
    )

    def ev(rule: str, state: str) -> AlertEvent:
        return AlertEvent(1, 1, rule, "CRITICAL", state, f"{rule} msg", 1, 0)  # type: ignore[arg-type]

    n.notify([ev("WS_DISCONNECTED", "fired"), ev("CIRCUIT_BREAKER_OPEN", "fired")])
    n.notify([ev("WS_DISCONNECTED", "cleared")])
    deliveries = n.clear_all("shadow shadow-day-12 stopped")
    assert [d.ok for d in deliveries] == [True]
    body = hook.bodies[0]
    assert body["host"] == socket.gethostname()
    assert body["session"] == "shadow-day-12" and body["run"] == "shadow"
    last = hook.bodies[-1]
    assert (last["rule"], last["state"]) == ("CIRCUIT_BREAKER_OPEN", "cleared")
    assert "stopped" in last["message"] and last["session"] == "shadow-day-12"
    assert len(hook.bodies) == 4 and n.active == {}
