"""``polyarb drill breaker``: the breaker opens and recovers with an unchanged operator profile.

The default feed (serve) runs the shipped neg-risk shadow profile, unmodified, through a
loopback ``polyarb serve`` of the drill's generated session and the real shadow path. The
replay feed is checked on the real neg-risk session, which has two baskets (the binary
sessions none), so there the profile is the shipped one opening after 2 failures and the
fixture appends 400 s of tick rows so the 300 s cool-down passes in engine time.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from polyarb.analytics.promotion import evaluate, load_rules
from polyarb.cli import main
from polyarb.recording.imports.negrisk import import_negrisk
from polyarb.recording.reader import SessionReader
from polyarb.recording.writer import SessionWriter

REPO = Path(__file__).resolve().parents[2]
S = 1_000_000_000
TICK = json.dumps({"connected": 1, "connections": 1}, separators=(",", ":"))


@pytest.fixture
def drill_session(tmp_path: Path, shared_data: Path) -> Path:
    """The real neg-risk session (two baskets) with 400 s more of tick rows after it."""
    path = import_negrisk(shared_data, tmp_path / "recordings")
    last = max(f.recv_ns for f in SessionReader(path).frames())
    with SessionWriter(path.parent, path.name) as w:
        for sec in range(1, 401):
            w.append("tick", TICK, last + sec * S, last + sec * S)
    return path


def _profile(tmp_path: Path, failures: int) -> Path:
    d = tmp_path / "profiles"
    d.mkdir(exist_ok=True)
    shutil.copy(REPO / "profiles" / "alerts.production.yaml", d / "alerts.production.yaml")
    text = (REPO / "profiles" / "live_shadow_negrisk_v1.yaml").read_text()
    assert "consecutive_failures: 3" in text
    out = d / f"negrisk_{failures}.yaml"
    out.write_text(text.replace("consecutive_failures: 3", f"consecutive_failures: {failures}"))
    return out


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    """An operator's profile: the shipped neg-risk one, opening after the session's 2 baskets."""
    return _profile(tmp_path, 2)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_drill_opens_and_recovers_breaker(drill_session: Path, profile: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Proves the drill opens and closes the breaker (exit 0), leaves the profile file's bytes
    alone, and writes a mode-'drill' run with a CIRCUIT_BREAKER_OPEN fired → cleared pair."""
    before = _sha(profile)
    args = [
        "drill",
        "breaker",
        "--profile",
        str(profile),
        "--recordings",
        str(drill_session.parent),
        "--feed",
        "replay",
    ]
    code = main([*args, "--session", drill_session.name, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["ok"] and out["opened"] == 1 and out["recovered"] == 1
    assert out["baskets_killed"] == 2
    assert _sha(profile) == before == out["file_sha256"]
    run = json.loads((Path(out["run_dir"]) / "run.json").read_text())
    assert run["mode"] == "drill" and run["profile_sha256"] == out["profile_sha256"]


def test_promote_check_counts_the_drill(drill_session: Path, profile: Path, tmp_path: Path) -> None:
    """Proves promote-check's breaker criterion counts a drill of the profile of the runs in
    scope (before: only scope runs' alerts counted, so a drill was no evidence)."""
    from polyarb.config.profile import load_profile
    from polyarb.engine.replay import replay

    recordings = drill_session.parent
    assert main(["drill", "breaker", "--profile", str(profile), "--recordings",
                 str(recordings), "--session", drill_session.name, "--feed", "replay"]) == 0  # fmt: skip
    # A shadow-like run in scope of the same profile, without breaker cycles of its own.
    replay(drill_session, load_profile(profile), run_id="shadow-like", mode="shadow")
    rules = load_rules(REPO / "profiles" / "promotion.yaml")
    result = evaluate(1, rules, recordings=recordings, reports=tmp_path / "reports")
    (crit,) = [c for c in result.criteria if c.name == "breaker_recoveries"]
    assert crit.ok, crit
    assert "drill runs: 1" in crit.detail


def test_drill_fails_when_breaker_cannot_open(drill_session: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Proves a profile needing more consecutive failures than the drill's kills is exit 1
    with the reason named, not a silent pass."""
    shipped = _profile(tmp_path, 3)
    code = main(["drill", "breaker", "--profile", str(shipped), "--recordings",
                 str(drill_session.parent), "--session", drill_session.name, "--kills", "2",
                 "--feed", "replay"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "consecutive_failures=3" in err and "--kills 2" in err


SHIPPED = REPO / "profiles" / "live_shadow_negrisk_v1.yaml"


@pytest.fixture(scope="module")
def served_drill(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Any]:
    """One served drill of the shipped neg-risk shadow profile, as the operator runs it."""
    recordings = tmp_path_factory.mktemp("served") / "recordings"
    import_negrisk(shared_data, recordings)
    before = _sha(SHIPPED)
    out = subprocess.run(
        [sys.executable, "-m", "polyarb", "drill", "breaker", "--profile", str(SHIPPED),
         "--recordings", str(recordings), "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )  # fmt: skip
    return {"recordings": recordings, "before": before, "proc": out}


def test_served_drill_with_the_shipped_profile_unmodified(served_drill: dict[str, Any]) -> None:
    """Proves `polyarb drill breaker` (default --feed serve) opens and recovers the breaker
    with profiles/live_shadow_negrisk_v1.yaml as shipped (3 failures, 300 s cool-down),
    through a loopback `polyarb serve` and the shadow path, and leaves the file's bytes
    alone. Old code: a replay of the bundled session (2 baskets) with this profile exited 1."""
    proc = served_drill["proc"]
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] and out["feed"] == "serve" and out["fills"] == 0
    assert out["reconnects"] == 1  # the server's injected disconnect, mid cool-down
    assert out["opened"] == 1 and out["recovered"] == 1 and out["baskets_killed"] >= 3
    assert out["consecutive_failures"] == 3 and out["cooldown_s"] == 300
    assert _sha(SHIPPED) == served_drill["before"] == out["file_sha256"]
    session = Path(served_drill["recordings"]) / out["session"]
    manifest = json.loads((session / "manifest.json").read_text())
    assert manifest["source"]["mode"] == "drill"  # never mistaken for a shadow recording
    run = json.loads((Path(out["run_dir"]) / "run.json").read_text())
    assert run["mode"] == "drill" and run["profile_sha256"] == out["profile_sha256"]
    assert run["feed"]["connections"] >= 1  # it came over the wire from polyarb serve
    # the engine saw the served session's timing: opened, then 300 s of engine time to close
    rows = [json.loads(line) for line in (Path(out["run_dir"]) / "alerts.jsonl").open()]
    breaker = [r for r in rows if r["rule"] == "CIRCUIT_BREAKER_OPEN"]
    assert [r["state"] for r in breaker] == ["fired", "cleared"]
    assert breaker[1]["ts_ns"] - breaker[0]["ts_ns"] >= 300 * S


def test_promote_check_counts_the_served_drill(
    served_drill: dict[str, Any], tmp_path: Path
) -> None:
    """Proves promote-check --phase 1 counts the served drill's breaker cycle for shadow runs
    of the same (shipped, unmodified) profile, which had none of their own."""
    from polyarb.config.profile import load_profile
    from polyarb.engine.replay import replay

    assert served_drill["proc"].returncode == 0, served_drill["proc"].stderr
    recordings = served_drill["recordings"]
    negrisk = recordings / "negrisk-2028-dem-nominee"
    replay(negrisk, load_profile(SHIPPED), run_id="shadow-like", mode="shadow")
    rules = load_rules(REPO / "profiles" / "promotion.yaml")
    result = evaluate(1, rules, recordings=recordings, reports=tmp_path / "reports")
    (crit,) = [c for c in result.criteria if c.name == "breaker_recoveries"]
    assert crit.ok, crit
    assert "drill runs: 1" in crit.detail and "recovered 1" in crit.detail


@pytest.mark.parametrize("name", ["live_shadow_atomic_v1", "live_safe_atomic_v1"])
@pytest.mark.parametrize("feed", ["serve", "replay"])
def test_binary_profiles_are_exit_2_with_the_reason(
    name: str, feed: str, drill_session: Path, capsys: Any
) -> None:
    """Proves a profile that can never trade a drill feed (binary complete sets: mirrored
    books) is exit 2 naming why, not a vague exit 1 (old code: 'breaker did not open')."""
    profile = REPO / "profiles" / f"{name}.yaml"
    code = main(["drill", "breaker", "--profile", str(profile), "--feed", feed,
                 "--recordings", str(drill_session.parent), "--session", drill_session.name])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "binary_complete_set" in err and "mirrored" in err and name in err


def test_live_profile_served_drill_is_exit_2_with_the_reason(
    drill_session: Path, capsys: Any
) -> None:
    """Proves the served drill refuses a live-mode profile with exit 2 and why: in live a
    halting CIRCUIT_BREAKER_OPEN fires the kill switch, so a live breaker never recovers."""
    profile = REPO / "profiles" / "live_negrisk_v1.yaml"
    code = main(["drill", "breaker", "--profile", str(profile), "--recordings",
                 str(drill_session.parent), "--session", drill_session.name])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "mode 'live'" in err and "kill switch" in err and "--feed replay" in err
