"""``polyarb drill breaker``: the breaker opens and recovers with an unchanged operator profile.

The real neg-risk session has two baskets (the binary sessions none: a mirrored binary book
never clears), so the operator's profile here is the shipped neg-risk one opening after 2
failures, and the fixture appends 400 s of tick rows so the 300 s cool-down passes in engine
time.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

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
                 str(recordings), "--session", drill_session.name]) == 0  # fmt: skip
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
                 str(drill_session.parent), "--session", drill_session.name, "--kills", "2"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "consecutive_failures=3" in err and "--kills 2" in err
