"""The start scripts run go-no-go first and never start trading when it fails."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
POLYARB = str(Path(sys.executable).parent / "polyarb")


def _run(script: str, root: Path, marker: Path, *args: str) -> subprocess.CompletedProcess:
    fake = marker.with_suffix(".sh")  # stands in for `polyarb shadow`: records its arguments
    fake.write_text(f'printf "%s " "$@" > "{marker}"\n')
    env = dict(os.environ, POLYARB_ROOT=str(root), POLYARB=POLYARB,
               POLYARB_SHADOW_CMD=f"bash {fake}", POLYARB_LIVE_CMD=f"bash {fake}")  # fmt: skip
    return subprocess.run(["bash", str(REPO / "scripts" / script), *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def _bare(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(REPO / "profiles", root / "profiles")
    return root


def test_start_shadow_refuses_when_go_no_go_fails(tmp_path: Path) -> None:
    root = _bare(tmp_path)
    (root / "HALT").write_text("operator stop\n")
    marker = tmp_path / "started"
    r = _run("start_shadow.sh", root, marker, "--event", "x")
    assert r.returncode == 1
    assert "go-no-go FAILED for phase 0: NOT starting shadow" in r.stderr
    assert not marker.exists()


def test_start_shadow_starts_the_shadow_command_after_the_gate(tmp_path: Path) -> None:
    root = _bare(tmp_path)
    marker = tmp_path / "started"
    r = _run("start_shadow.sh", root, marker, "--minutes", "1")
    assert r.returncode == 0, r.stderr
    assert (
        marker.read_text() == f"--profile {root}/profiles/live_shadow_atomic_v1.yaml --minutes 1 "
    )
    assert (root / "reports" / "go_no_go" / "phase0.json").is_file()


def test_start_live_safe_refuses_when_go_no_go_fails(tmp_path: Path) -> None:
    root = _bare(tmp_path)  # no .env, no key, no RPC: phase 1 must FAIL
    r = _run("start_live_safe.sh", root, tmp_path / "m")
    assert r.returncode == 1
    assert "live trading stays OFF" in r.stderr and "live venue" not in r.stderr


def test_start_live_safe_runs_polyarb_live_after_the_gate(project, wallet137, tmp_path) -> None:
    """After a passing phase-1 gate the script runs `polyarb live` with the phase-1 profile,
    the project's .env and reports, and the operator's arguments (issue 13 item 6)."""
    root = project(wallet137, phase=1)
    marker = tmp_path / "m"
    r = _run("start_live_safe.sh", root, marker, "--confirm", "--event", "e")
    assert r.returncode == 0, r.stdout + r.stderr
    assert marker.read_text() == (
        f"--profile {root}/profiles/live_safe_atomic_v1.yaml --root {root} --env {root}/.env "
        "--confirm --event e "
    )
    assert wallet137.key[2:] not in r.stdout + r.stderr


def test_start_shadow_gates_on_the_profile_it_runs(tmp_path: Path) -> None:
    """Issue 15 item 6: --profile X is the profile go-no-go checks (a neg-risk profile here)
    and the one shadow starts with. Old code: the gate checked the default profile and the
    shadow got two --profile flags."""
    root = _bare(tmp_path)
    marker = tmp_path / "started"
    negrisk = root / "profiles" / "live_shadow_negrisk_v1.yaml"
    r = _run("start_shadow.sh", root, marker, "--profile", str(negrisk), "--event", "x")
    assert r.returncode == 0, r.stderr
    assert marker.read_text() == f"--profile {negrisk} --event x "
    saved = json.loads((root / "reports" / "go_no_go" / "phase0.json").read_text())
    assert saved["profile"] == str(negrisk)


def test_a_bad_profile_is_refused_by_the_gate(tmp_path: Path) -> None:
    """Issue 15 item 6: the gate refuses a profile it cannot check; nothing starts."""
    root = _bare(tmp_path)
    marker = tmp_path / "started"
    r = _run("start_shadow.sh", root, marker, "--profile", str(tmp_path / "nope.yaml"), "1")
    assert r.returncode == 1 and not marker.exists()
    assert "nope.yaml" in r.stderr


def test_start_shadow_negrisk_runs_the_negrisk_profile(tmp_path: Path) -> None:
    """Issue 15 item 6: a start script for the neg-risk shadow profile. Old code: none."""
    root = _bare(tmp_path)
    marker = tmp_path / "started"
    r = _run("start_shadow_negrisk.sh", root, marker, "--event", "some-negrisk-event")
    assert r.returncode == 0, r.stderr
    started = marker.read_text()
    assert "live_shadow_negrisk_v1.yaml --event some-negrisk-event" in started


def test_start_shadow_without_arguments_explains_what_to_subscribe(tmp_path: Path) -> None:
    """Issue 15 item 6: no arguments explains how to name markets (exit 2, no gate run).
    Old code: go-no-go ran, then 'error: nothing to subscribe'."""
    root = _bare(tmp_path)
    r = _run("start_shadow.sh", root, tmp_path / "m")
    assert r.returncode == 2
    assert "--event" in r.stderr and "--markets-from" in r.stderr
    assert not (root / "reports").exists()


def test_start_shadow_rollback_accepts_the_live_opt_in(tmp_path: Path) -> None:
    """Issue 15 item 5: the documented rollback (start_shadow.sh --rollback) starts shadow with
    POLYARB_DRY_RUN=false still in .env; without the flag the gate refuses."""
    root = _bare(tmp_path)
    env = root / ".env"
    env.write_text("POLYARB_DRY_RUN=false\n")
    env.chmod(0o600)
    marker = tmp_path / "started"
    r = _run("start_shadow.sh", root, marker, "--event", "x")
    assert r.returncode == 1 and not marker.exists()
    r = _run("start_shadow.sh", root, marker, "--rollback", "--event", "x")
    assert r.returncode == 0, r.stderr
    assert "--rollback" not in marker.read_text()
