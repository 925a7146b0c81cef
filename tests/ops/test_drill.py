"""``polyarb drill breaker``: the breaker opens and recovers with an unchanged operator profile.

Every shipped profile is drilled unmodified: three through the default feed (serve: a
loopback ``polyarb serve`` of the drill's generated session and the real shadow path; the
neg-risk shadow, the binary shadow and a live neg-risk profile), the others through
``--feed generated`` (the same generated session replayed in-process). The replay feed is checked on the real neg-risk session, which has two baskets (the binary
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
BINARY_SHADOW = REPO / "profiles" / "live_shadow_atomic_v1.yaml"
SERVED = ("live_shadow_negrisk_v1", "live_shadow_atomic_v1", "live_negrisk_v1")
"""Served (about 20 s each): both Phase-0 shadow profiles, neg-risk and binary, and one live one."""
GENERATED = ("live_safe_atomic_v1", "live_constrained_atomic_v1", "live_scaled_atomic_v1")


class ServedDrills:
    """Served drills of shipped profiles, run once per module and kept (each in its own folder)."""

    def __init__(self, root: Path, shared_data: Path) -> None:
        self.root = root
        self.shared_data = shared_data
        self.done: dict[str, dict[str, Any]] = {}

    def __call__(self, name: str) -> dict[str, Any]:
        if name not in self.done:
            recordings = self.root / name / "recordings"
            import_negrisk(self.shared_data, recordings)
            profile = REPO / "profiles" / f"{name}.yaml"
            before = _sha(profile)
            out = subprocess.run(
                [sys.executable, "-m", "polyarb", "drill", "breaker", "--profile", str(profile),
                 "--recordings", str(recordings), "--json"],
                capture_output=True, text=True, cwd=REPO, timeout=600,
            )  # fmt: skip
            self.done[name] = {"recordings": recordings, "before": before, "proc": out}
        return self.done[name]


@pytest.fixture(scope="module")
def served_drills(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> ServedDrills:
    """Served drills of shipped profiles, as the operator runs them."""
    return ServedDrills(tmp_path_factory.mktemp("served"), shared_data)


@pytest.fixture(scope="module")
def served_drill(served_drills: ServedDrills) -> dict[str, Any]:
    """One served drill of the shipped neg-risk shadow profile."""
    return served_drills("live_shadow_negrisk_v1")


def test_every_shipped_profile_is_drilled() -> None:
    """Proves the drill tests below cover every trading profile in profiles/ (all phases)."""
    shipped = {p.stem for p in (REPO / "profiles").glob("*.yaml")} - {
        "alerts.production",
        "promotion",
    }
    assert shipped == set(SERVED) | set(GENERATED)


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


def _promote_breaker(recordings: Path, profile: Path, phase: int, tmp_path: Path, **rules: Any):  # type: ignore[no-untyped-def]
    """promote-check's breaker criterion after a shadow-like run of ``profile`` with no
    breaker cycle of its own (the bundled neg-risk session, run mode by the phase)."""
    from polyarb.analytics.promotion import parse_rules
    from polyarb.config.profile import load_profile
    from polyarb.engine.replay import replay

    negrisk = recordings / "negrisk-2028-dem-nominee"
    mode = "shadow" if phase == 1 else "live"
    run = replay(negrisk, load_profile(profile), run_id=f"{mode}-like", mode=mode)
    assert '"CIRCUIT_BREAKER_OPEN"' not in (Path(str(run.run_dir)) / "alerts.jsonl").read_text()
    base = load_rules(REPO / "profiles" / "promotion.yaml") if not rules else parse_rules(rules)
    result = evaluate(phase, base, recordings=recordings, reports=tmp_path / "reports")
    (crit,) = [c for c in result.criteria if c.name == "breaker_recoveries"]
    return crit


def test_promote_check_counts_the_served_drill(
    served_drill: dict[str, Any], tmp_path: Path
) -> None:
    """Proves promote-check --phase 1 counts the served drill's breaker cycle for shadow runs
    of the same (shipped, unmodified) profile, which had none of their own."""
    assert served_drill["proc"].returncode == 0, served_drill["proc"].stderr
    crit = _promote_breaker(served_drill["recordings"], SHIPPED, 1, tmp_path)
    assert crit.ok, crit
    assert "drill runs: 1" in crit.detail and "recovered 1" in crit.detail


@pytest.mark.parametrize("name", ["live_shadow_atomic_v1", "live_negrisk_v1"])
def test_served_drill_of_binary_and_live_profiles(name: str, served_drills: ServedDrills) -> None:
    """Proves the served drill opens and recovers the breaker of the binary Phase-0 shadow
    profile (the one promote-check --phase 1 judges) and of a live-mode profile, both as
    shipped, file bytes unchanged. Old code: both exit 2 (binary: 'no feed can make it
    trade'; live: 'the kill switch'). The binary drill's plants reach the detector only with
    its mirror guard off (said in the result); the live one runs dry (said too), no fills."""
    drill = served_drills(name)
    proc = drill["proc"]
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    profile = REPO / "profiles" / f"{name}.yaml"
    assert out["ok"] and out["feed"] == "serve" and out["fills"] == 0
    assert out["opened"] == 1 and out["recovered"] == 1 and out["reconnects"] == 1
    assert out["baskets_killed"] >= out["consecutive_failures"]
    assert _sha(profile) == drill["before"] == out["file_sha256"]
    assert out["mirror_guard_off"] == (name == "live_shadow_atomic_v1")
    assert out["ran_dry"] == (name == "live_negrisk_v1")
    run = json.loads((Path(out["run_dir"]) / "run.json").read_text())
    assert run["mode"] == "drill" and run["profile_sha256"] == out["profile_sha256"]
    session = Path(drill["recordings"]) / out["session"]
    assert json.loads((session / "manifest.json").read_text())["source"]["mode"] == "drill"


def test_promote_check_phase1_counts_the_binary_shadow_drill(
    served_drills: ServedDrills, tmp_path: Path
) -> None:
    """Proves promote-check --phase 1 meets breaker_recoveries for the binary shadow profile
    (live_shadow_atomic_v1, shipped) whose shadow history has only drill evidence of a
    breaker cycle. Old code: no drill could run for it, so the criterion could not be met."""
    drill = served_drills("live_shadow_atomic_v1")
    assert drill["proc"].returncode == 0, drill["proc"].stderr
    crit = _promote_breaker(drill["recordings"], BINARY_SHADOW, 1, tmp_path)
    assert crit.ok, crit
    assert "drill runs: 1" in crit.detail and "recovered 1" in crit.detail


@pytest.mark.parametrize("name", GENERATED)
def test_generated_drill_of_shipped_profiles(
    name: str, shared_data: Path, tmp_path: Path, capsys: Any
) -> None:
    """Proves the remaining shipped profiles (live-mode binary ones, all phases), unmodified,
    drill to exit 0 with the breaker opened and recovered through --feed generated (the
    served drill's session, replayed in-process), file sha256 unchanged, and the text output
    says the live profile ran dry. Old code: exit 2 for every one of them."""
    recordings = tmp_path / "recordings"
    import_negrisk(shared_data, recordings)
    profile = REPO / "profiles" / f"{name}.yaml"
    before = _sha(profile)
    args = ["drill", "breaker", "--profile", str(profile), "--recordings", str(recordings),
            "--feed", "generated"]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert "breaker drill PASS (generated)" in text and "opened 1, recovered 1" in text
    assert "ran dry" in text and "mirror guard was off" in text
    assert main([*args, "--json", "--run-id", "again"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["fills"] == 0 and out["ran_dry"] and out["mirror_guard_off"]
    assert _sha(profile) == before == out["file_sha256"]
    manifest = json.loads((Path(out["run_dir"]).parents[1] / "manifest.json").read_text())
    assert manifest["source"]["mode"] == "drill"


def test_promote_check_counts_a_dry_drill_for_live_runs(shared_data: Path, tmp_path: Path) -> None:
    """Proves drill evidence of a live-mode profile (run dry, mode 'drill') counts for that
    profile's live runs when a phase asks for breaker recoveries: the criterion keys on the
    profile's sha256, not on the drill's run mode."""
    recordings = tmp_path / "recordings"
    import_negrisk(shared_data, recordings)
    profile = REPO / "profiles" / "live_safe_atomic_v1.yaml"
    assert main(["drill", "breaker", "--profile", str(profile), "--recordings",
                 str(recordings), "--feed", "generated"]) == 0  # fmt: skip
    crit = _promote_breaker(recordings, profile, 2, tmp_path, phase2={"min_breaker_recoveries": 1})
    assert crit.ok, crit
    assert "drill runs: 1" in crit.detail and "recovered 1" in crit.detail


@pytest.mark.parametrize("name", ["live_shadow_atomic_v1", "live_safe_atomic_v1"])
def test_binary_profiles_replay_feed_is_exit_2_with_the_reason(
    name: str, drill_session: Path, capsys: Any
) -> None:
    """Proves --feed replay of a recorded (consistent) session with a binary profile is exit 2
    naming why and what to run instead, not a vague exit 1 ('breaker did not open')."""
    profile = REPO / "profiles" / f"{name}.yaml"
    code = main(["drill", "breaker", "--profile", str(profile), "--feed", "replay",
                 "--recordings", str(drill_session.parent), "--session", drill_session.name])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "binary complete sets" in err and "--feed generated" in err and name in err


def test_binary_drill_plants_are_refused_with_the_mirror_guard_on(
    shared_data: Path, tmp_path: Path
) -> None:
    """Proves what the binary drill relaxes and nothing more: replayed with the detector as in
    any non-drill run (mirror guard on), its plants are all refused as 'unmirrored' and
    nothing trades; with the guard off (the drill) each plant is traded and killed."""
    from polyarb.config.profile import load_profile
    from polyarb.engine.replay import replay
    from polyarb.ops.drill import relax_mirror_guard
    from polyarb.ops.drill_session import build_drill_session

    recordings = tmp_path / "recordings"
    source = import_negrisk(shared_data, recordings)
    profile = load_profile(BINARY_SHADOW)
    feed = build_drill_session(source, recordings, "drill-binary", profile)
    guarded = replay(feed.path, profile, run_id="guarded", mode="drill")
    assert guarded.summary.verdicts.get("accept", 0) == 0
    assert guarded.summary.suppressed["binary_complete_set"]["unmirrored"] == feed.rounds
    drilled = replay(feed.path, profile, run_id="drilled", mode="drill", prepare=relax_mirror_guard)
    assert drilled.summary.verdicts.get("accept", 0) >= profile.risk.consecutive_failures
    assert drilled.summary.fills == 0
