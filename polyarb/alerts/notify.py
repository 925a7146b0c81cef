"""Alert notifiers: an adapter at the edge (the engine never imports this module).

The shadow/live runner hands every :class:`~polyarb.alerts.rules.AlertEvent`
the engine produced to a :class:`Notifier`: a log line always, and a webhook
POST (JSON) for events at or above the configured level, retried with backoff
on errors and 5xx. The webhook URL is a secret from `.env` and is never
logged; failures are reported with the host only.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from polyarb.alerts.rules import AlertEvent, Webhook
from polyarb.env import redact_url

_RANK = {"INFO": 0, "WARNING": 1, "CRITICAL": 2}
_LOG_LEVEL = {"INFO": logging.INFO, "WARNING": logging.WARNING, "CRITICAL": logging.CRITICAL}

log = logging.getLogger("polyarb.alerts")


@dataclass(frozen=True)
class Delivery:
    """What happened to one webhook POST: how many attempts, the last status, success."""

    ok: bool
    attempts: int
    status: int | None
    error: str = ""


class WebhookNotifier:
    """POST each event as JSON; retry on connection errors and 5xx, never on 4xx."""

    def __init__(
        self,
        url: str,
        config: Webhook | None = None,
        sleep: Callable[[float], None] = time.sleep,
        source: str = "polyarb",
        context: dict[str, str] | None = None,
    ) -> None:
        self._url = url
        self.config = config or Webhook()
        self._sleep = sleep
        self.source = source
        self.context = {"host": socket.gethostname(), **(context or {})}
        """Sent with every event: which machine, session and run it is about (a person paged
        at night must not have to guess which of several bots spoke)."""

    def wants(self, event: AlertEvent) -> bool:
        return _RANK[event.level] >= _RANK[self.config.min_level]

    def send(self, event: AlertEvent) -> Delivery:
        body = json.dumps(
            {"source": self.source, **self.context, **asdict(event)}, sort_keys=True
        ).encode()
        attempts = 0
        status: int | None = None
        error = ""
        for attempt in range(self.config.retries + 1):
            attempts += 1
            if attempt:
                self._sleep(self.config.backoff_ms / 1000 * 2 ** (attempt - 1))
            req = urllib.request.Request(
                self._url, body, {"content-type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(req, timeout=self.config.timeout_ms / 1000) as resp:
                    status = resp.status
                return Delivery(True, attempts, status)
            except urllib.error.HTTPError as exc:
                status, error = exc.code, f"HTTP {exc.code}"
                if exc.code < 500:
                    break  # the receiver refused this payload; retrying cannot help
            except (urllib.error.URLError, OSError) as exc:
                status, error = None, type(exc).__name__
        log.warning(
            "webhook %s failed after %d attempt(s): %s", redact_url(self._url), attempts, error
        )
        return Delivery(False, attempts, status, error)


class Notifier:
    """Log every event; forward those the webhook wants. Returns the webhook deliveries."""

    def __init__(self, webhook: WebhookNotifier | None = None, logger: logging.Logger = log):
        self.webhook = webhook
        self.logger = logger
        self.active: dict[str, AlertEvent] = {}
        """Rules fired and not yet cleared, as delivered: what shutdown must clear."""

    def notify(self, events: Iterable[AlertEvent]) -> list[Delivery]:
        out: list[Delivery] = []
        for e in events:
            if e.state == "fired":
                self.active[e.rule] = e
            else:
                self.active.pop(e.rule, None)
            halts = " (halts trading)" if e.halts and e.state == "fired" else ""
            self.logger.log(
                _LOG_LEVEL[e.level], "alert %s %s %s%s", e.level, e.state, e.message, halts
            )
            if self.webhook is not None and self.webhook.wants(e):
                out.append(self.webhook.send(e))
        return out

    def clear_all(self, why: str = "the run stopped") -> list[Delivery]:
        """Send a ``cleared`` for every alert still active (at shutdown): a receiver that
        opened an incident on ``fired`` must not keep it open for a bot that is gone."""
        cleared = [
            dataclasses.replace(e, state="cleared", message=f"{e.message} (cleared: {why})")
            for _, e in sorted(self.active.items())
        ]
        return self.notify(cleared)


def notifier_from_env(
    webhook: Webhook | None,
    env_get: Callable[[str], str | None],
    context: dict[str, str] | None = None,
) -> Notifier:
    """Build the notifier from the rules' ``webhook`` block and a secret lookup (``.env``);
    ``context`` (``session``, ``run``) goes into every webhook body with the host name."""
    if webhook is None:
        return Notifier()
    url = env_get(webhook.url_env)
    if not url:
        log.warning("alert webhook: %s not set; alerts go to the log only", webhook.url_env)
        return Notifier()
    return Notifier(WebhookNotifier(url, webhook, context=context))
