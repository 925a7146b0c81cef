"""``polyarb serve`` as a command: help, startup line, stats file, input errors."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from serve_support import subscribe
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from polyarb.recording import SessionReader

REPO = Path(__file__).resolve().parents[2]


def polyarb(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "polyarb", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
    )


def test_help_explains_the_protocol_and_faults() -> None:
    out = polyarb("serve", "--help")
    assert out.returncode == 0
    for words in ("INVALID OPERATION", "1008", "--max", "--disconnect-after", "--freeze-after"):
        assert words in out.stdout


def test_bad_input_exits_2_with_a_message(bundled_recordings: Path) -> None:
    missing = polyarb("serve", "--session", "nope", "--recordings", str(bundled_recordings))
    assert missing.returncode == 2 and "no session 'nope'" in missing.stderr
    speed = polyarb("serve", "--session", str(bundled_recordings / "crossing-burst-2026-09-29"),
                    "--speed", "0")  # fmt: skip
    assert speed.returncode == 2 and "--speed: must be positive, got 0" in speed.stderr


def test_serves_on_the_announced_port_and_writes_stats(
    bundled_recordings: Path, tmp_path: Path
) -> None:
    session = bundled_recordings / "crossing-burst-2026-09-29"
    stats = tmp_path / "stats.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "polyarb", "serve", "--session", str(session), "--port", "0",
         "--max", "--exit-at-end", "--digest", "--stats", str(stats)],
        stdout=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("serving crossing-burst-2026-09-29 on ws://127.0.0.1:")
    url = line.split(" on ")[1].split()[0]

    async def client() -> list[str]:
        got: list[str] = []
        async with connect(url, ping_interval=None) as ws:
            await ws.send(subscribe(SessionReader(session).manifest["assets"]))
            try:
                while True:
                    got.append(str(await asyncio.wait_for(ws.recv(), 10)))
            except ConnectionClosed:
                assert ws.close_code == 1000
        return got

    got = asyncio.run(client())
    assert proc.wait(30) == 0
    data = json.loads(stats.read_text())
    assert data["finished"] and data["frames"] == len(got) == 51
    assert data["connections"][0]["sha256"]
