"""`polyarb shadow` and `polyarb parity` as a user runs them: real processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from polyarb.cli import main
from polyarb.recording import SessionReader

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
SHADOW_PROFILE = REPO / "profiles" / "live_shadow_atomic_v1.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(ready, what: str, proc: subprocess.Popen[str], timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    """Poll a condition instead of sleeping a guess: a loaded machine starts processes slowly."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert proc.poll() is None, f"process exited while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _journal_frames(session: Path) -> int:
    """``frame`` rows already flushed to the live journals (a torn tail is not counted)."""
    from polyarb.recording.files import journal_batches

    return sum(
        batch.column("kind").to_pylist().count("frame")
        for path in sorted(session.glob("frames/*.arrows"))
        for batch in journal_batches(path)
    )


def _polyarb(*args: str, recordings: Path, **kw: object) -> subprocess.Popen[str]:
    env = {**os.environ, "POLYARB_RECORDINGS": str(recordings)}
    return subprocess.Popen(
        [sys.executable, "-m", "polyarb", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def served(copy_session, tmp_path: Path):  # type: ignore[no-untyped-def]
    source = copy_session("resolvedkit-btc15m")
    port = _free_port()
    server = _polyarb(
        "serve",
        "--session",
        str(source),
        "--port",
        str(port),
        "--speed",
        "60",
        recordings=tmp_path / "recordings",
    )
    _wait_for(lambda: _accepts(port), "serve to listen", server)
    yield source, f"ws://127.0.0.1:{port}"
    server.terminate()
    server.wait(10)


def test_sigterm_stops_cleanly_and_parity_passes(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source, url = served
    out = tmp_path / "out"
    shadow = _polyarb(
        "shadow",
        "--profile",
        str(SHADOW_PROFILE),
        "--markets-from",
        str(source),
        "--url",
        url,
        "--session",
        "live1",
        "--no-status",
        "--env",
        str(tmp_path / "none.env"),
        recordings=out,
    )
    # SIGTERM once the frames asserted below are on disk, not after a fixed sleep or a byte
    # count (rows grew a payload_bin column, so bytes per frame are not a fixed number).
    _wait_for(lambda: _journal_frames(out / "live1") > 10, "recorded frames", shadow)
    shadow.send_signal(signal.SIGTERM)
    stdout, stderr = shadow.communicate(timeout=60)
    assert shadow.returncode == 0, stderr
    assert "shadow live1" in stdout
    run_dir = out / "live1" / "runs" / "shadow"
    run = json.loads((run_dir / "run.json").read_text())
    assert run["clean_exit"] and run["mode"] == "shadow"
    assert run["summary"]["rows_by_kind"]["frame"] > 10
    assert run["wall_end_ns"] > run["wall_start_ns"]
    assert json.loads((out / "live1" / "manifest.json").read_text())["sealed"]
    assert "finish seq=" in (run_dir / "run.log").read_text()
    code = main(["parity", "--session", "live1", "--recordings", str(out)])
    assert code == 0
    assert json.loads((run_dir / "parity.json").read_text())["status"] == "PASS"


def test_duration_soak_mode_ends_by_itself(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source, url = served
    out = tmp_path / "out"
    started = time.monotonic()
    shadow = _polyarb(
        "shadow",
        "--profile",
        str(SHADOW_PROFILE),
        "--markets-from",
        str(source),
        "--url",
        url,
        "--session",
        "soak",
        "--duration",
        "4",
        "--no-status",
        recordings=out,
    )
    _, stderr = shadow.communicate(timeout=60)
    assert shadow.returncode == 0, stderr
    assert 4 <= time.monotonic() - started < 40
    run = json.loads((out / "soak" / "runs" / "shadow" / "run.json").read_text())
    ticks = run["summary"]["rows_by_kind"]["tick"]
    # The profile's 1 s cadence over a 4 s soak; a starved event loop may fire fewer.
    assert 1 <= ticks <= 6
    # Connected from the first tick that saw the connection up to the end: a tick that
    # came before the (slowly started) connection may read 0, none after it.
    seen = [
        json.loads(f.payload)["connected"]
        for f in SessionReader(out / "soak").frames()
        if f.kind == "tick"
    ]
    assert len(seen) == ticks and seen[-1] == 1
    assert seen == sorted(seen)
    assert run["feed"]["connected_ticks"] == sum(seen)


def test_live_profile_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    live = REPO / "profiles" / "live_safe_atomic_v1.yaml"
    closed = "http://127.0.0.1:9"  # nothing listens; the refusal must come before any request
    code = main(
        [
            "shadow",
            "--profile",
            str(live),
            "123",
            "--recordings",
            str(tmp_path),
            "--url",
            "ws://127.0.0.1:9",
            "--gamma-url",
            closed,
            "--clob-url",
            closed,
        ]
    )
    assert code == 2
    assert "shadow runs dry_run profiles only" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing was started or written


def test_parity_on_a_session_without_a_shadow_run_is_exit_2(
    bundled_recordings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "parity",
            "--session",
            "crossing-burst-2026-09-29",
            "--recordings",
            str(bundled_recordings),
        ]
    )
    assert code == 2
    assert "not a finished shadow run" in capsys.readouterr().err


def test_shadow_imports_no_live_venue() -> None:
    code = (
        "import sys, polyarb.shadow.runner, polyarb.cli.cmd_shadow;"
        "bad=[m for m in sys.modules if m.startswith(('polyarb.venues','polyarb.chain','web3'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


UTC_LINE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "


def test_run_log_shows_signs_of_life(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 15 item 3: every run.log line carries its UTC time, a heartbeat line (frames,
    connections, latency, opportunities, PnL) is written at connect, events.jsonl records the
    connect and the disconnect, and heartbeat.json ends as "finished". Old code: untimed lines,
    no heartbeat, no feed events."""
    import re

    source, url = served
    out = tmp_path / "out"
    code = main(
        [
            "shadow",
            "--profile",
            str(SHADOW_PROFILE),
            "--markets-from",
            str(source),
            "--url",
            url,
            "--session",
            "alive",
            "--duration",
            "3",
            "--no-status",
            "--recordings",
            str(out),
            "--env",
            str(tmp_path / "none.env"),
        ]
    )
    assert code == 0
    run_dir = out / "alive" / "runs" / "shadow"
    lines = (run_dir / "run.log").read_text().splitlines()
    assert lines and all(re.match(UTC_LINE, line) for line in lines), lines[:3]
    beats = [line for line in lines if " heartbeat " in line]
    assert beats, lines
    for word in ("frames=", "connections=", "latency p50=", "opportunities=", "pnl_usd="):
        assert word in beats[0]
    assert any(" connect conn=0" in line for line in lines)
    events = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]
    feed = [e["event"] for e in events if e.get("table") == "feed"]
    assert feed[0] == "connect" and "disconnect" in feed
    beat = json.loads((run_dir / "heartbeat.json").read_text())
    assert beat["state"] == "finished" and beat["connections"] == 1


def test_a_feed_never_reachable_is_exit_1_with_the_reason(
    copy_session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """Issue 15 item 3: connection refused for the whole run is not a clean 0 exit; stderr
    says the feed was never reachable and why. Old code: exit 0."""
    source = copy_session("resolvedkit-btc15m")
    code = main(
        [
            "shadow",
            "--profile",
            str(SHADOW_PROFILE),
            "--markets-from",
            str(source),
            "--url",
            f"ws://127.0.0.1:{_free_port()}",
            "--session",
            "nofeed",
            "--duration",
            "1.5",
            "--no-status",
            "--recordings",
            str(tmp_path / "out"),
            "--env",
            str(tmp_path / "none.env"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1, err
    assert "never reachable" in err and "Connect" in err
    log = (tmp_path / "out" / "nofeed" / "runs" / "shadow" / "run.log").read_text()
    assert "feed error conn=0" in log


def test_shadow_watches_the_chain_named_in_env(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`polyarb shadow` builds the health monitor when `.env` names a Polygon RPC: every
    tick row carries rpc_ok and the wallet's on-chain pUSD, and a $5 wallet fires
    LOW_BALANCE in the shadow run (before, shadow ticks carried neither field)."""
    from eth_account import Account

    from polyarb.chain.localchain import LocalChain, approve, deploy_token

    source, url = served
    acct = Account.create()
    key = acct.key.hex()
    key = key if key.startswith("0x") else "0x" + key
    spender = Account.create().address
    out = tmp_path / "out"
    with LocalChain(137, {key: 10**21}) as chain:
        token = deploy_token(chain.url, key, 5_000_000)
        approve(chain.url, key, token, spender, 10**12)
        env = tmp_path / "chain.env"
        env.write_text(
            f"POLYARB_PRIVATE_KEY={key}\nPOLYGON_RPC_URL={chain.url}\n"
            f"POLYARB_ALLOWANCE_SPENDERS={spender}\n"
        )
        env.chmod(0o600)
        profile = tmp_path / "shadow.yaml"
        text = SHADOW_PROFILE.read_text()
        profile.write_text(text + f"\nchain:\n  collateral: '{token}'\n")
        (tmp_path / "alerts.production.yaml").write_text(
            (SHADOW_PROFILE.parent / "alerts.production.yaml").read_text()
        )
        shadow = _polyarb(
            "shadow",
            "--profile",
            str(profile),
            "--markets-from",
            str(source),
            "--url",
            url,
            "--session",
            "chainwatch",
            "--duration",
            "4",
            "--no-status",
            "--env",
            str(env),
            recordings=out,
        )
        _, stderr = shadow.communicate(timeout=90)
    assert shadow.returncode == 0, stderr
    ticks = [
        json.loads(f.payload)
        for f in SessionReader(out / "chainwatch").frames()
        if f.kind == "tick"
    ]
    assert ticks and all(t["rpc_ok"] is True and t["balance"] == 5_000_000 for t in ticks)
    assert key.removeprefix("0x") not in stderr
    events = (out / "chainwatch" / "runs" / "shadow" / "events.jsonl").read_text()
    assert "LOW_BALANCE" in events
