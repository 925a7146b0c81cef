"""``polyarb sessions check``: the data-quality certificate."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from recorder_support import REPO, record

from polyarb.recording import SessionReader, SessionWriter
from polyarb.recording.quality import certify, render
from polyarb.server import FaultPlan
from polyarb.server.thread import ServerThread


def test_resolvedkit_hashes_all_verify(bundled_recordings: Path) -> None:
    cert = certify(bundled_recordings / "resolvedkit-btc15m")
    assert cert["hashes"]["failures"] == 0
    assert cert["hashes"]["checked"] == 38_333  # every book frame (18 resolutions carry none)
    assert cert["snapshots"]["assets_subscribed"] == 36
    assert cert["snapshots"]["assets_without_snapshot"] == []
    assert cert["gaps"]["count"] == 0 and cert["rejected_frames"]["count"] == 0
    assert "CLEAN" not in render(cert) or cert["verdict"] == "clean"


def test_burst_final_book_needs_a_last_trade_the_feed_never_sent(bundled_recordings: Path) -> None:
    # PROVENANCE: the burst's final book reproduces only with last_trade_price 0.301,
    # which no frame carries; every earlier YES event verifies.
    cert = certify(bundled_recordings / "crossing-burst-2026-09-29")
    assert cert["hashes"]["failures"] == 1
    assert cert["hashes"]["examples"][0]["timestamp"] == 1790658827000
    assert cert["hashes"]["checked"] == 48
    assert len(cert["snapshots"]["assets_without_snapshot"]) == 1  # the NO token


def test_a_tampered_book_fails_its_hash(bundled_recordings: Path, tmp_path: Path) -> None:
    src = SessionReader(bundled_recordings / "resolvedkit-btc15m")
    rows = []
    tampered_seq = None
    for f in src.frames():
        payload = f.payload
        if f.kind == "frame" and tampered_seq is None and f.seq > 100 and '"size":"' in payload:
            obj = json.loads(payload)
            obj["bids"][0]["size"] = str(int(float(obj["bids"][0]["size"])) + 1)
            payload = json.dumps(obj, separators=(",", ":"))
            tampered_seq = f.seq
        rows.append((f.kind, payload, f.recv_ns, f.mono_ns, f.conn_id))
        if len(rows) >= 400:
            break
    with SessionWriter(tmp_path, "t") as writer:
        writer.set_assets(src.manifest["assets"])
        writer.write_markets(src.markets(), valid_from_seq=0)
        writer.append_rows(rows)
    cert = certify(tmp_path / "t")
    assert cert["hashes"]["failures"] == 1
    assert cert["hashes"]["examples"][0]["seq"] == tampered_seq


@pytest.mark.slow
def test_faults_show_up_in_the_certificate(bundled_recordings: Path, tmp_path: Path) -> None:
    session = bundled_recordings / "resolvedkit-btc15m"
    plan = FaultPlan(disconnect_after=10_000, garbage_every=3_000, duplicate_every=4_000)
    assets = SessionReader(session).manifest["assets"]

    async def main(server: ServerThread) -> None:
        done = asyncio.Event()

        async def wait() -> None:
            while not server.wait_finished(0):
                await asyncio.sleep(0.05)
            done.set()

        waiter = asyncio.create_task(wait())
        await record(server.url, tmp_path, "rec", assets, until=done)
        await waiter

    with ServerThread(session, speed=None, faults=plan) as server:
        asyncio.run(main(server))
    writer = SessionWriter(tmp_path, "rec")  # add the metadata the test recorder lacked
    writer.write_markets(SessionReader(session).markets(), valid_from_seq=0)
    writer.close()
    cert = certify(tmp_path / "rec")
    connections = len(server.stats.connections)
    assert connections == 4
    assert cert["gaps"]["count"] == connections - 1
    assert cert["connections"]["reconnects"] == connections - 1
    streamed = [c.data_frames for c in server.stats.connections]
    assert cert["rejected_frames"]["count"] == sum(n // 3_000 for n in streamed)
    assert cert["duplicate_frames"] == sum(n // 4_000 for n in streamed)
    assert cert["hashes"]["failures"] == 0
    assert cert["verdict"] == "issues"


def test_check_cli_json_and_strict(bundled_recordings: Path) -> None:
    base = [sys.executable, "-m", "polyarb", "sessions", "check"]
    args = ["crossing-burst-2026-09-29", "--recordings", str(bundled_recordings)]
    out = subprocess.run([*base, *args, "--json"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    cert = json.loads(out.stdout)
    assert cert["hashes"]["failures"] == 1
    strict = subprocess.run([*base, *args, "--strict"], capture_output=True, text=True, cwd=REPO)
    assert strict.returncode == 1
    assert "data-quality certificate" in strict.stdout
    missing = subprocess.run(
        [*base, "nope", "--recordings", str(bundled_recordings)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert missing.returncode == 2 and "no session" in missing.stderr
