"""``polyarb serve --clob``: the exchange double next to the market channel, over the session's book."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from polyarb.recording import SessionReader
from polyarb.units import SCALE, parse_fixed
from polyarb.venues.polymarket import MarketParams, PolymarketClient

REPO = Path(__file__).resolve().parents[2]
KEY = "0x" + "33" * 32


def test_help_lists_the_clob_double() -> None:
    """The flag and its faults are documented in ``serve --help``."""
    out = subprocess.run(
        [sys.executable, "-m", "polyarb", "serve", "--help"],
        capture_output=True, text=True, cwd=REPO, check=True,
    )  # fmt: skip
    for words in ("--clob", "--clob-429-next", "--clob-timeout-next", "--clob-drop-user-after"):
        assert words in out.stdout


def test_serve_clob_fills_a_signed_fok_against_the_served_book(bundled_recordings: Path) -> None:
    """The second startup line names the double; its fault flag applies; a FOK at the served
    best ask is filled there."""
    session = bundled_recordings / "crossing-burst-2026-09-29"
    proc = subprocess.Popen(
        [sys.executable, "-m", "polyarb", "serve", "--session", str(session), "--port", "0",
         "--clob", "--clob-port", "0", "--clob-429-next", "2"],
        stdout=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("serving crossing-burst-2026-09-29 on ws://")
        line = proc.stdout.readline()
        assert line.startswith("clob double on http://127.0.0.1:"), line
        url = line.split(" on ")[1].split()[0]
        metas = SessionReader(session).markets()
        client = PolymarketClient(url, KEY, sleep=lambda _s: None)
        client.derive_api_key()
        assert client.stats.throttled == 2  # the --clob-429-next fault reached the client
        for meta in metas:
            for token in meta.token_ids:
                with urllib.request.urlopen(f"{url}/book?token_id={token}", timeout=30) as r:
                    book = json.loads(r.read())
                if not book["asks"]:
                    continue
                best = book["asks"][-1]  # asks descending on the wire: best last
                price, available = parse_fixed(best["price"]), parse_fixed(best["size"])
                size = -(-SCALE * SCALE // price) // 10_000 * 10_000 + 10_000  # just over $1
                if size > available:
                    continue
                ack = client.place(
                    MarketParams(token, meta.tick_size, meta.neg_risk),
                    side="BUY",
                    price=price,
                    size=size,
                    order_type="FOK",
                    client_order_id="cli-1",
                )
                assert ack.status == "matched"
                assert parse_fixed(ack.taking_amount) == size
                assert client.trades()[0]["asset_id"] == token
                return
        raise AssertionError("no served book had a best ask deep enough for a $1 order")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
