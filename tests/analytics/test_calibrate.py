"""Issue 14 item 6: `polyarb calibrate` on recorded live sessions (synthetic history, no processes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from polyarb.cli import main
from polyarb.config.profile import load_profile
from polyarb.testing.history import Faults, write_history

PROFILES = Path(__file__).resolve().parents[2] / "profiles"


def _live(root: Path, **faults: int) -> list[str]:
    truths = write_history(root, days=2, phase=2, mode="live", faults=Faults(**faults))  # type: ignore[arg-type]
    return [t.session_id for t in truths]


def test_calibrate_prints_the_error_table_and_writes_an_empirical_snippet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Live answers 200 ms later than the 50 ms the runs modelled: the table shows the
    latency error, the fill model is per order type and size bucket, and the snippet is an
    empirical latency model (integer ns quantiles of the real latencies) a profile loads."""
    recordings = tmp_path / "rec"
    sessions = _live(recordings, calib_latency_ms=200)
    snippet = tmp_path / "snippet.yaml"
    argv = ["calibrate", "--sessions", *sessions, "--recordings", str(recordings)]
    assert main([*argv, "--out", str(snippet)]) == 0
    out = capsys.readouterr().out
    assert "metric" in out and "latency_p50_ms" in out and "fill_rate_pct[FOK" in out
    p50 = next(line for line in out.splitlines() if line.startswith("latency_p50_ms")).split()
    assert float(p50[1]) == 50.0 and 250 <= float(p50[2]) <= 254

    latency = yaml.safe_load(snippet.read_text())["latency"]
    assert latency["kind"] == "empirical" and len(latency["quantiles_ns"]) == 21
    assert latency["quantiles_ns"][0] == 250_000_000 and latency["quantiles_ns"][-1] == 254_000_000
    data = yaml.safe_load((PROFILES / "live_shadow_atomic_v1.yaml").read_text()) | {
        "latency": latency
    }
    data.pop("alerts", None)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    assert load_profile(tmp_path / "p.yaml").latency.kind == "empirical"

    assert main([*argv, "--json", "--profile", str(PROFILES / "live_shadow_atomic_v1.yaml")]) == 0
    fit = json.loads(capsys.readouterr().out)
    assert {"metric", "model", "observed", "error"} <= set(fit["errors"][0])
    assert fit["fill_model"][0]["order_type"] == "FOK"


def test_calibrate_refuses_sessions_without_live_calibration_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 with one line naming the problem: a shadow-only session, an unknown session,
    no session at all."""
    recordings = tmp_path / "rec"
    shadow = write_history(recordings, days=1)[0].session_id
    assert main(["calibrate", "--sessions", shadow, "--recordings", str(recordings)]) == 2
    assert f"session {shadow}: no live run with calibration rows" in capsys.readouterr().err
    assert main(["calibrate", "--sessions", "nope", "--recordings", str(recordings)]) == 2
    assert "no session 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["calibrate", "--sessions"])
    assert exc.value.code == 2


def test_replay_accepts_an_empirical_latency_profile(
    copy_session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """A profile carrying calibrate's snippet replays (the engine's SimVenue draws from it)."""
    session = copy_session("crossing-burst-2026-09-29")
    data = {
        "name": "calibrated",
        "detectors": ["binary_complete_set"],
        "latency": {"kind": "empirical", "seed": 2, "quantiles_ns": [1_000_000, 5_000_000]},
    }
    profile = tmp_path / "calibrated.yaml"
    profile.write_text(yaml.safe_dump(data))
    argv = ["replay", "--session", str(session), "--profile", str(profile), "--run-id", "cal"]
    assert main(argv) == 0
    assert (session / "runs" / "cal" / "run.json").is_file()
