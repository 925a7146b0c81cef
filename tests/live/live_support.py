"""Run `polyarb live`'s loop in-process against `polyarb serve --clob` on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from polyarb.alerts.rules import load_alert_rules
from polyarb.config.profile import Profile, load_profile
from polyarb.feed import FeedConfig
from polyarb.live.runner import LiveOptions, LiveRun
from polyarb.recording import SessionReader
from polyarb.shadow.runner import ShadowOptions
from polyarb.units import SCALE
from polyarb.venues.polymarket import PolymarketClient

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "profiles"
KEY = "0x" + "5a" * 32
"""A throwaway key: the double checks signatures, nothing holds funds."""


def start_serve(session: Path, *flags: str) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "polyarb", "serve", "--session", str(session), "--port", "0",
         "--clob", "--clob-port", "0", *flags],
        stdout=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert " on ws://" in first, first
    second = proc.stdout.readline()
    assert second.startswith("clob double on http://"), second
    return proc, first.split(" on ")[1].split()[0], second.split(" on ")[1].split()[0]


def live_profile() -> Profile:
    return load_profile(PROFILES / "live_negrisk_v1.yaml")


def live_options(
    source: Path,
    recordings: Path,
    ws_url: str,
    clob_url: str,
    *,
    duration_s: float = 12.0,
    session_id: str = "live",
    profile: Profile | None = None,
) -> LiveOptions:
    reader = SessionReader(source)
    feed = FeedConfig(
        url=ws_url,
        tick_interval_s=0.05,
        silence_timeout_s=60.0,
        backoff_initial_s=0.3,
        backoff_max_s=0.5,
        ping_interval_s=1.0,
    )
    shadow = ShadowOptions(
        profile=profile or live_profile(),
        rules=load_alert_rules(PROFILES / "alerts.production.yaml"),
        markets=reader.markets(),
        assets=list(reader.manifest["assets"]),
        recordings=recordings,
        session_id=session_id,
        feed=feed,
        flush_interval_s=0.2,
        rng=random.Random(7),
    )
    return LiveOptions(
        shadow=shadow,
        clob_url=clob_url,
        private_key=KEY,
        duration_s=duration_s,
        heartbeat_s=1.0,
        drain_s=15.0,
    )


def run_live(opts: LiveOptions) -> tuple[LiveRun, dict[str, Any]]:
    run = LiveRun(opts)
    return run, asyncio.run(run.run())


def exchange_account(clob_url: str, tokens: list[str]) -> tuple[int, dict[str, int]]:
    """The double's own view of the wallet: pUSD balance and shares per token."""
    client = PolymarketClient(clob_url, KEY)
    client.create_or_derive_api_key()
    balance = int(client.balance_allowance()["balance"])
    shares = {}
    for token in tokens:
        held = int(client.balance_allowance("CONDITIONAL", token)["balance"])
        if held:
            shares[token] = held
    return balance, shares


START_BALANCE = 1_000 * SCALE
