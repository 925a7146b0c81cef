"""Issue 13 items 6, 7, 9: `polyarb live` behind its guards, SIGTERM as the kill switch, and the
private key in no output of a live run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from live_support import KEY, PROFILES, REPO

from polyarb.live.runner import STOPPED_FILE

PROFILE = PROFILES / "live_negrisk_v1.yaml"


def _root(tmp: Path, *, phase: int = 3, status: str = "PASS", age_s: int = 0) -> Path:
    root = tmp / "root"
    (root / "reports" / "go_no_go").mkdir(parents=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - age_s))
    (root / "reports" / "go_no_go" / "latest.json").write_text(
        json.dumps({"phase": phase, "status": status, "ts": stamp, "checks": []})
    )
    return root


def _env(tmp: Path, *, mode: int = 0o600, dry_run: str = "false", key: str = KEY) -> Path:
    env = tmp / ".env"
    env.write_text(f"POLYARB_PRIVATE_KEY={key}\nPOLYARB_DRY_RUN={dry_run}\n")
    env.chmod(mode)
    return env


def _live(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "polyarb", "live", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


GUARDS = {
    "profile_mode": lambda t: ("--profile", str(PROFILES / "live_shadow_negrisk_v1.yaml")),
    "env_mode": lambda t: ("--env", str(_env(t, mode=0o644))),
    "dry_run": lambda t: ("--env", str(_env(t, dry_run="true"))),
    "private_key": lambda t: ("--env", str(_env(t, key="0x1234"))),
    "go_no_go": lambda t: ("--root", str(_root(t, age_s=7200))),
    "confirm": lambda t: ("--no-confirm",),
}


@pytest.mark.parametrize("guard", list(GUARDS))
def test_each_missing_guard_exits_2_before_connecting(tmp_path: Path, guard: str) -> None:
    """With every other guard in place, the one missing names itself, exit 2; nothing listens
    at the CLOB URL, so a connection attempt would have failed differently."""
    args = {
        "--profile": str(PROFILE),
        "--env": None,
        "--root": None,
    }
    override = GUARDS[guard](tmp_path)
    confirm = override != ("--no-confirm",)
    if override[0] in args:
        args[override[0]] = override[1]
    args["--env"] = args["--env"] or str(_env(tmp_path))
    args["--root"] = args["--root"] or str(_root(tmp_path))
    flat = [x for kv in args.items() for x in kv]
    proc = _live(*flat, *(["--confirm"] if confirm else []), "--clob-url", "http://127.0.0.1:9",
                 "--url", "ws://127.0.0.1:9", "some-token-id")  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert f"guard {guard}" in proc.stderr or (guard == "profile_mode" and "mode" in proc.stderr)
    assert KEY[2:].lower() not in (proc.stdout + proc.stderr).lower()


@pytest.mark.slow
def test_live_cli_sigterm_cancels_and_no_output_holds_the_key(
    negrisk_source: Path, tmp_path: Path, serve
) -> None:  # type: ignore[no-untyped-def]
    """A real `polyarb live` against the double: SIGTERM triggers the kill switch (orders
    cancelled and confirmed, session sealed), and no file of the run, report, log or console
    output contains the private key."""
    ws, clob = serve(negrisk_source, "--speed", "10")
    recordings = tmp_path / "recordings"
    shutil.copytree(negrisk_source, recordings / negrisk_source.name)
    root = _root(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "polyarb", "live", "--profile", str(PROFILE), "--confirm",
         "--env", str(_env(tmp_path)), "--root", str(root), "--recordings", str(recordings),
         "--session", "cli-live", "--markets-from", negrisk_source.name, "--url", ws,
         "--clob-url", clob, "--duration", "60"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    run_dir = recordings / "cli-live" / "runs" / "live"
    deadline = time.monotonic() + 60
    while not (run_dir / "run.log").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    # Let it trade: SIGTERM once the log shows an order answered (a condition, not a guess).
    while time.monotonic() < deadline and " filled=" not in (run_dir / "run.log").read_text():
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    kill = json.loads((run_dir / STOPPED_FILE).read_text())
    assert kill["reason"] == "SIGTERM" and kill["confirmed"]
    assert json.loads((run_dir / "run.json").read_text())["live"]["orders_sent"] > 0
    parity = subprocess.run(
        [sys.executable, "-m", "polyarb", "parity", "--recordings", str(recordings),
         "--session", "cli-live"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert parity.returncode == 0 and "parity PASS" in parity.stdout, parity.stdout + parity.stderr
    secret = KEY[2:].lower()
    assert secret not in (out + err).lower()
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file() and path.name != ".env":
            data = path.read_bytes().lower()
            assert secret.encode() not in data, path
            if path.suffix == ".parquet":  # compressed: read the values too
                import pyarrow.parquet as pq

                text = str(pq.read_table(str(path)).to_pylist()).lower()
                assert secret not in text, path
