"""promote-check: a passing history is GO; each criterion, broken alone, is the named reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from polyarb.analytics.promotion import (
    CRITERION_NAMES,
    PromotionConfigError,
    PromotionRules,
    evaluate,
    load_rules,
    parse_rules,
)
from polyarb.cli import main
from polyarb.testing.history import Faults, write_checklist, write_history

THRESHOLDS = Path(__file__).resolve().parents[2] / "profiles" / "promotion.yaml"
RULES = load_rules(THRESHOLDS)

# phase 1 → (kwargs for write_history, how to spoil the checklist or files), per criterion
PHASE1_FAILURES: list[tuple[str, str, dict[str, Any]]] = [
    ("coverage_days", "six days", {"days": 6}),
    ("crashes", "one run without clean_exit", {"faults": Faults(crash=True)}),
    ("connected_pct", "10% of ticks disconnected", {"faults": Faults(disconnected_pct=10)}),
    ("log_gaps", "a missing seq", {"faults": Faults(seq_hole=True)}),
    ("log_gaps", "a gap row without a reason", {"faults": Faults(unexplained_gap=True)}),
    ("breaker_recoveries", "breaker never cleared", {"faults": Faults(breaker_stuck=True)}),
    ("breaker_recoveries", "breaker never opened", {"faults": Faults(breaker_cycles=0)}),
    ("parity_failures", "one parity FAIL", {"faults": Faults(parity_fail=True)}),
    ("parity_failures", "a parity result missing", {"drop_parity": True}),
    ("latency_p95_ms", "10% of frames at 800 ms", {"faults": Faults(slow_pct=10)}),
    ("checklist", "go/no-go FAIL", {"checklist": "FAIL"}),
    ("checklist", "go/no-go missing", {"checklist": None}),
    ("checklist", "go/no-go for another phase", {"checklist_phase": 2}),
]


def _history(tmp_path: Path, phase: int = 1, **kw: Any) -> tuple[Path, Path]:
    recordings, reports = tmp_path / "recordings", tmp_path / "reports"
    status = kw.pop("checklist", "PASS")
    checklist_phase = kw.pop("checklist_phase", phase)
    drop_parity = kw.pop("drop_parity", False)
    defaults: dict[str, Any] = {
        1: {"phase": 0, "mode": "shadow", "days": 7},
        2: {"phase": 1, "mode": "live", "days": 7},
        3: {"phase": 2, "mode": "live", "days": 14, "with_replay": True},
    }[phase]
    write_history(recordings, **{**defaults, **kw})
    if status:
        write_checklist(reports, checklist_phase, status)
    if drop_parity:
        run = recordings / "shadow-p0-2026-03-03" / "runs" / "shadow"
        (run / "parity.json").unlink()  # the only parity verdict (run.json has no parity key)
    return recordings, reports


def _check(recordings: Path, reports: Path, phase: int, capsys: Any) -> tuple[int, dict[str, Any]]:
    code = main(
        [
            "promote-check",
            "--phase",
            str(phase),
            "--recordings",
            str(recordings),
            "--reports",
            str(reports),
            "--thresholds",
            str(THRESHOLDS),
            "--json",
        ]
    )
    return code, json.loads(capsys.readouterr().out)


def test_passing_week_is_go(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recordings, reports = _history(tmp_path)
    code, out = _check(recordings, reports, 1, capsys)
    assert out["verdict"] == "GO", out
    assert code == 0
    assert out["failed"] == []
    names = [c["name"] for c in out["criteria"]]
    assert names == [
        "coverage_days",
        "crashes",
        "connected_pct",
        "log_gaps",
        "breaker_recoveries",
        "parity_failures",
        "latency_p95_ms",
        "checklist",
    ]
    by_name = {c["name"]: c for c in out["criteria"]}
    assert by_name["coverage_days"]["value"] == pytest.approx(7.0)
    assert by_name["breaker_recoveries"]["value"] == 1
    assert out["runs"] == 7
    report = Path(out["report"])
    assert report.parent == reports / "promotion" and report.name.startswith("phase1-")
    text = report.read_text()
    assert "**GO**" in text and "| PASS |" in text and "FAIL" not in text


@pytest.mark.parametrize(
    ("criterion", "how", "kwargs"), PHASE1_FAILURES, ids=[f"{c}-{h}" for c, h, _ in PHASE1_FAILURES]
)
def test_phase1_each_criterion_fails_alone(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    criterion: str,
    how: str,
    kwargs: dict[str, Any],
) -> None:
    recordings, reports = _history(tmp_path, **kwargs)
    code, out = _check(recordings, reports, 1, capsys)
    assert code == 1, how
    assert out["verdict"] == "NO-GO"
    assert out["failed"] == [criterion], (how, out["criteria"])
    failed = next(c for c in out["criteria"] if c["name"] == criterion)
    assert failed["verdict"] == "FAIL" and failed["detail"]
    report = Path(out["report"]).read_text()
    assert "**NO-GO**" in report and f"failed: {criterion}" in report


def test_every_phase1_criterion_has_a_failing_case() -> None:
    phase1 = {c for c in CRITERION_NAMES if getattr(RULES.phase1, _key(c)) is not None}
    assert phase1 == {c for c, _, _ in PHASE1_FAILURES}


def _key(name: str) -> str:
    from polyarb.analytics.promotion import CRITERIA

    return next(c.key for c in CRITERIA if c.name == name)


PHASE23: list[tuple[int, str, str, dict[str, Any]]] = [
    (2, "coverage_days", "six days of Phase 1", {"days": 6}),
    (2, "critical_alerts", "a WS_DISCONNECTED", {"faults": Faults(critical_alert=True)}),
    (2, "checklist", "go/no-go FAIL", {"checklist": "FAIL"}),
    (3, "coverage_days", "thirteen days of Phase 2", {"days": 13}),
    (3, "critical_alerts", "a breaker opening is CRITICAL", {"faults": Faults(breaker_cycles=1)}),
    (3, "fill_error_bps", "live fills 2% off", {"faults": Faults(fill_error_bps=200)}),
    (3, "fill_error_bps", "no replay to compare with", {"with_replay": False}),
    (
        3,
        "latency_quantile_error_ms",
        "answers 200 ms late",
        {"faults": Faults(calib_latency_ms=200)},
    ),
    (3, "fill_price_error_ticks", "sim 2 ticks better", {"faults": Faults(calib_price_ticks=2)}),
    (3, "fill_rate_error_pct", "half the fills missed live", {"faults": Faults(calib_missed=True)}),
]


@pytest.mark.parametrize("phase", [2, 3])
def test_later_phases_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str], phase: int) -> None:
    recordings, reports = _history(tmp_path, phase)
    code, out = _check(recordings, reports, phase, capsys)
    assert (code, out["failed"]) == (0, []), out["criteria"]
    if phase == 3:
        err = next(c for c in out["criteria"] if c["name"] == "fill_error_bps")
        # the generator biases live leg prices by 5 bps: 240 on 480_000 micro
        assert err["value"] == pytest.approx(1e4 * 240 / 480_240)


@pytest.mark.parametrize(
    ("phase", "criterion", "how", "kwargs"),
    PHASE23,
    ids=[f"p{p}-{c}-{h}" for p, c, h, _ in PHASE23],
)
def test_later_phases_each_criterion_fails_alone(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    phase: int,
    criterion: str,
    how: str,
    kwargs: dict[str, Any],
) -> None:
    recordings, reports = _history(tmp_path, phase, **kwargs)
    code, out = _check(recordings, reports, phase, capsys)
    assert (code, out["failed"]) == (1, [criterion]), (how, out["criteria"])


def test_shadow_runs_do_not_count_for_phase2(
    shadow_week: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_checklist(tmp_path, 2)
    code, out = _check(shadow_week, tmp_path, 2, capsys)
    assert code == 1 and out["runs"] == 0
    # Shadow runs are out of scope for phase 2: nothing judged is NO DATA (issue 15 item 4).
    assert out["verdict"] == "NO DATA" and out["failed"] == []


def test_overlapping_runs_are_counted_once(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    write_history(recordings, days=4, profile_name="a")
    # a second profile shadowing the same days must not double the coverage
    other = tmp_path / "other"
    write_history(other, days=4, profile_name="b", seed=1)
    for session in other.iterdir():
        shutil.copytree(
            session / "runs" / "shadow", recordings / session.name / "runs" / "shadow-b"
        )
    write_checklist(tmp_path / "reports", 1)
    result = evaluate(1, RULES, recordings=recordings, reports=tmp_path / "reports")
    assert result.runs == 8
    days = next(c for c in result.criteria if c.name == "coverage_days")
    assert days.value == pytest.approx(4.0)
    only_b = evaluate(1, RULES, recordings=recordings, reports=tmp_path / "reports", profile="b")
    assert only_b.runs == 4


def test_since_judges_only_runs_from_that_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A week that passes; judged from its third day only, five days are too few and the
    # breaker's one open-and-recover cycle (in an earlier day's run) is out of scope.
    recordings, reports = _history(tmp_path)
    args = ["--recordings", str(recordings), "--reports", str(reports), "--json"]
    cmd = ["promote-check", "--phase", "1", "--thresholds", str(THRESHOLDS), *args]
    assert main([*cmd, "--since", "2026-03-01"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == 7
    assert main([*cmd, "--since", "2026-03-03"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["runs"] == 5 and out["failed"] == ["coverage_days", "breaker_recoveries"]
    assert out["scope"]["since"] == "2026-03-03"
    assert "since 2026-03-03" in Path(out["report"]).read_text()
    with pytest.raises(SystemExit) as bad:
        main([*cmd, "--since", "March"])
    assert bad.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err


def test_no_runs_at_all_is_no_data_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "recordings").mkdir()
    code, out = _check(tmp_path / "recordings", tmp_path / "reports", 1, capsys)
    assert code == 1 and out["runs"] == 0
    # Nothing judged is NO DATA (issue 15 item 4); only the missing checklist file fails.
    assert out["verdict"] == "NO DATA" and out["failed"] == ["checklist"]


def test_shipped_thresholds_equal_model_defaults() -> None:
    assert load_rules(THRESHOLDS) == PromotionRules()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"phase1": {"min_connected_pct": 120}}, "phase1.min_connected_pct = 120"),
        ({"phase1": {"max_latency_ms": 5}}, "phase1.max_latency_ms"),
        ({"phase3": {"checklist": ["MAYBE"]}}, "phase3.checklist.0"),
        ({"phase2": {"modes": []}}, "phase2.modes"),
        ({"phase4": {}}, "phase4"),
        ([1, 2], "must be a mapping"),
    ],
)
def test_bad_thresholds_name_the_key(data: Any, message: str) -> None:
    with pytest.raises(PromotionConfigError) as err:
        parse_rules(data, "promotion.yaml")
    assert message in str(err.value)


def test_bad_thresholds_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "promotion.yaml"
    bad.write_text(yaml.safe_dump({"phase1": {"min_coverage_days": -1}}))
    (tmp_path / "recordings").mkdir()
    args = ["promote-check", "--phase", "1", "--recordings", str(tmp_path / "recordings")]
    assert main([*args, "--thresholds", str(bad)]) == 2
    assert "phase1.min_coverage_days = -1" in capsys.readouterr().err
    assert main([*args, "--thresholds", str(tmp_path / "absent.yaml")]) == 2
    assert "no promotion rules" in capsys.readouterr().err
    assert (
        main(
            [
                "promote-check",
                "--phase",
                "1",
                "--recordings",
                str(tmp_path / "nope"),
                "--thresholds",
                str(THRESHOLDS),
            ]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err


def test_disabled_criterion_is_not_checked(tmp_path: Path) -> None:
    recordings, reports = _history(tmp_path, faults=Faults(slow_pct=10))
    rules = parse_rules({"phase1": {"max_latency_p95_ms": None}})
    result = evaluate(1, rules, recordings=recordings, reports=reports)
    assert result.go and "latency_p95_ms" not in [c.name for c in result.criteria]


def _gonogo(reports: Path, phase: int, checks: dict[str, str]) -> None:
    """latest.json exactly as polyarb.ops.gonogo.write_latest lays it out."""
    from polyarb.ops.gonogo import Check, overall, write_latest

    rows = [Check(name, status, "test") for name, status in checks.items()]
    write_latest(
        reports,
        {
            "phase": phase,
            "status": overall(rows),
            "checks": [{"name": c.name, "status": c.status, "detail": c.detail} for c in rows],
            "ts": "2026-03-08T00:00:00Z",
        },
    )


@pytest.mark.parametrize(
    ("checks", "go"),
    [
        ({"profile_valid": "PASS", "rpc_health": "PASS"}, True),
        ({"profile_valid": "PASS", "last_backup": "WARN"}, True),
        # go-no-go FAILs until promote-check said GO; that item must not block promote-check
        ({"profile_valid": "PASS", "promote_check": "FAIL"}, True),
        ({"profile_valid": "PASS", "rpc_health": "FAIL", "promote_check": "FAIL"}, False),
    ],
)
def test_checklist_reads_real_go_no_go_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], checks: dict[str, str], go: bool
) -> None:
    recordings, reports = _history(tmp_path, checklist=None)
    _gonogo(reports, 1, checks)
    code, out = _check(recordings, reports, 1, capsys)
    assert (code == 0) is go, out["criteria"]
    if not go:
        assert out["failed"] == ["checklist"]
        detail = next(c["detail"] for c in out["criteria"] if c["name"] == "checklist")
        assert "rpc_health FAIL" in detail and "promote_check" not in detail


def test_go_no_go_reads_the_promotion_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from polyarb.ops.gonogo import _promotion_go, read_promotion

    recordings, reports = _history(tmp_path)
    code, _ = _check(recordings, reports, 1, capsys)
    assert code == 0
    data = read_promotion(reports)
    assert data is not None and data["phase"] == 1 and _promotion_go(data) is True


def test_no_runs_in_scope_is_no_data_not_a_failed_criterion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15 item 4: with no run in scope the verdict is NO DATA (exit 1), every run-based
    criterion reads NO DATA, and none is listed as failed. Old code: NO-GO with every
    criterion FAILed, as if the runs had been judged bad."""
    recordings, reports = tmp_path / "recordings", tmp_path / "reports"
    recordings.mkdir()
    write_checklist(reports, 1, "PASS")
    code, out = _check(recordings, reports, 1, capsys)
    assert code == 1
    assert out["verdict"] == "NO DATA" and out["failed"] == [] and out["runs"] == 0
    verdicts = {c["name"]: c["verdict"] for c in out["criteria"]}
    assert verdicts.pop("checklist") == "PASS"
    assert set(verdicts.values()) == {"NO DATA"}
    report = Path(out["report"]).read_text()
    assert "**NO DATA**" in report and "FAIL" not in report
