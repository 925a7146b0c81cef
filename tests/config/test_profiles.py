"""Shipped profiles validate; broken ones are refused with file, key, value and allowed range."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from polyarb.cli import main
from polyarb.config.profile import ProfileError, RiskLimits, load_profile, parse_profile

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "profiles"
SHIPPED = {
    "live_shadow_atomic_v1.yaml": (0, "dry_run", "2.00"),
    "live_shadow_negrisk_v1.yaml": (0, "dry_run", "100.00"),
    "live_safe_atomic_v1.yaml": (1, "live", "2.00"),
    "live_constrained_atomic_v1.yaml": (2, "live", "5.00"),
    "live_scaled_atomic_v1.yaml": (3, "live", "15.00"),
    "live_negrisk_v1.yaml": (3, "live", "20.00"),
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_profile_validates_with_its_phase(name: str) -> None:
    p = load_profile(PROFILES / name)
    phase, mode, size = SHIPPED[name]
    assert (p.phase, p.mode, str(p.risk.trade_size_usd)) == (phase, mode, size)
    assert p.alerts == "alerts.production.yaml"
    assert len(p.sha256()) == 64


def test_halt_defaults_to_the_rest_of_the_run() -> None:
    """``risk.halt`` exists, defaults to ``rest_of_run`` and every shipped profile says so."""
    assert RiskLimits().halt == "rest_of_run"
    assert {load_profile(PROFILES / n).risk.halt for n in SHIPPED} == {"rest_of_run"}
    data = _set(_base(), "risk.halt", "while_active")
    assert parse_profile(data).risk.halt == "while_active"


def test_negrisk_profile_uses_the_basket_detector() -> None:
    assert load_profile(PROFILES / "live_shadow_negrisk_v1.yaml").detectors == ("negrisk_basket",)


def _base() -> dict:
    data = yaml.safe_load((PROFILES / "live_safe_atomic_v1.yaml").read_text())
    del data["alerts"]  # relative to profiles/, which tmp_path is not
    return data


def _set(data: dict, dotted: str, value: object) -> dict:
    *parents, last = dotted.split(".")
    node = data
    for k in parents:
        node = node[k]
    node[last] = value
    return data


BROKEN = [
    # (key, value, expected fragments of the message)
    ("risk.trade_size_usd", "-1", ["risk.trade_size_usd = '-1'", "greater than 0", "gt 0"]),
    ("risk.trade_size_usd", "5.00", ["risk.trade_size_usd = '5.00'", "phase 1", "le 2"]),
    ("risk.max_slippage", "0.9", ["risk.max_slippage = '0.9'", "le 0.5"]),
    ("risk.consecutive_failures", 0, ["risk.consecutive_failures = 0", "ge 1"]),
    ("risk.stale_book_ms", 10, ["risk.stale_book_ms = 10", "ge 100"]),
    ("risk.max_leg_skew_ms", 70_000, ["risk.max_leg_skew_ms = 70000", "le 60000"]),
    ("risk.max_daily_loss_usd", "0", ["risk.max_daily_loss_usd = '0'", "gt 0"]),
    ("risk.halt", "forever", ["risk.halt = 'forever'", "'rest_of_run' or 'while_active'"]),
    (
        "risk.max_position_per_market_usd",
        "1.00",
        ["risk.max_position_per_market_usd = '1.00'", "ge trade_size_usd 2.00"],
    ),
    ("risk.min_edge", "0.0000001", ["more than 6 decimals"]),
    ("latency.mean_ms", -5, ["latency.mean_ms = -5", "ge 0"]),
    (
        "latency.kind",
        "gamma",
        ["latency.kind = 'gamma'", "'constant', 'uniform', 'normal' or 'empirical'"],
    ),
    # issue 14 item 6: the empirical kind and its quantile points
    ("latency.kind", "empirical", ["latency", "quantiles_ns", "at least 2 quantile points"]),
    (
        "latency",
        {"kind": "empirical", "quantiles_ns": [5, 3]},
        ["quantiles_ns[1] = 3", "must not decrease"],
    ),
    ("latency", {"kind": "empirical", "quantiles_ns": [-1, 3]}, ["quantiles_ns[0] = -1", "ge 0"]),
    ("latency", {"quantiles_ns": [1, 3]}, ["only kind 'empirical' takes quantile points"]),
    ("phase", 4, ["phase = 4", "le 3"]),
    ("mode", "yolo", ["mode = 'yolo'", "'dry_run' or 'live'"]),
    ("execution.order_type", "GTC", ["execution.order_type = 'GTC'", "'FOK' or 'FAK'"]),
    ("tick_interval_ms", 10, ["tick_interval_ms = 10", "ge 50"]),
    ("risk.max_size_usd", "2", ["risk.max_size_usd", "unknown key"]),
    ("alerts", "missing.yaml", ["alerts = 'missing.yaml'", "cannot read alert rules"]),
]


@pytest.mark.parametrize(("key", "value", "fragments"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_profile_message_names_file_key_value_range(
    tmp_path: Path, key: str, value: object, fragments: list[str]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(_set(_base(), key, value)))
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    msg = str(err.value)
    assert str(path) in msg
    for fragment in fragments:
        assert fragment in msg, msg


@pytest.mark.parametrize(
    ("phase", "mode", "size", "fragment"),
    [
        (0, "live", "2", "phase 0 (shadow) must have mode: dry_run"),
        (3, "live", "5", "phase 3 trades $10-$20 per trade (allowed: ge 10, le 20)"),
        (3, "live", "25", "le 20"),
        (2, "live", "6", "le 5"),
    ],
)
def test_phase_rules(tmp_path: Path, phase: int, mode: str, size: str, fragment: str) -> None:
    data = _base() | {"phase": phase, "mode": mode}
    data["risk"] |= {
        "trade_size_usd": size,
        "max_position_per_market_usd": "100",
        "max_total_position_usd": "500",
    }
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ProfileError, match=None) as err:
        load_profile(path)
    assert fragment in str(err.value)


def test_live_mode_allowed_from_phase_one_and_dry_run_rehearsal_allowed(tmp_path: Path) -> None:
    data = _base() | {"mode": "dry_run"}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_profile(path).phase == 1 and not load_profile(path).live


def test_cli_validate_all_shipped_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "validate", "--dir", str(PROFILES)]) == 0
    out = capsys.readouterr().out
    for name in SHIPPED:
        assert f"OK      {PROFILES / name}" in out
    assert "alerts.production.yaml (alert rules 'production')" in out


def test_cli_validate_exit_1_on_any_invalid(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_set(_base(), "risk.max_slippage", "0.9")))
    good = PROFILES / "live_shadow_atomic_v1.yaml"
    assert main(["profiles", "validate", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out and "risk.max_slippage = '0.9'" in out and "1 valid, 1 invalid" in out
    assert main(["profiles", "validate", "--json", str(bad)]) == 1
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["ok"] is False and "le 0.5" in entry["error"]


def test_cli_validate_checks_alert_files_too(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "alerts.bad.yaml"
    bad.write_text("rules: {PNL_DRAWDOWN: {max_drawdown_usd: '-1'}}\n")
    assert main(["profiles", "validate", str(bad)]) == 1
    assert "rules.PNL_DRAWDOWN.max_drawdown_usd = '-1'" in capsys.readouterr().out


def test_cli_show_marks_defaults_and_prints_sha(tmp_path: Path, capsys) -> None:
    path = tmp_path / "mini.yaml"
    path.write_text("name: mini\n")
    assert main(["profiles", "show", str(path)]) == 0
    out = capsys.readouterr().out
    sha = load_profile(path).sha256()
    assert sha in out
    assert 'name: "mini"\n' in out
    assert 'risk.trade_size_usd: "2"  # default' in out
    assert main(["profiles", "show", "--json", str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sha256"] == sha and data["profile"]["risk"]["stale_book_ms"] == 5000


def test_cli_diff_lists_each_changed_key(capsys) -> None:
    a, b = PROFILES / "live_safe_atomic_v1.yaml", PROFILES / "live_scaled_atomic_v1.yaml"
    assert main(["profiles", "diff", "--json", str(a), str(b)]) == 0
    diff = {d["key"]: (d["a"], d["b"]) for d in json.loads(capsys.readouterr().out)["differences"]}
    assert diff["risk.trade_size_usd"] == ("2.00", "15.00")
    assert diff["phase"] == (1, 3)
    assert "execution.order_type" not in diff
    assert main(["profiles", "diff", str(a), str(a)]) == 0
    assert "identical settings" in capsys.readouterr().out


def test_cli_show_invalid_exits_1(tmp_path: Path, capsys) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: x\nphase: 9\n")
    assert main(["profiles", "show", str(path)]) == 1
    assert "phase = 9" in capsys.readouterr().err


def test_empirical_latency_loads_and_leaves_other_profiles_hashes_alone(tmp_path: Path) -> None:
    """A calibrated ``latency: {kind: empirical, quantiles_ns: [...]}`` loads; the new key is
    not in the hash of profiles without it (their sha256, and run ids, stay as they were)."""
    data = _base()
    data["latency"] = {"kind": "empirical", "seed": 4, "quantiles_ns": [1_000_000, 9_000_000]}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    profile = load_profile(path)
    assert profile.latency.quantiles_ns == (1_000_000, 9_000_000)
    assert "quantiles_ns" in profile.canonical_json()
    assert (
        "quantiles_ns"
        not in load_profile(REPO / "profiles" / "live_negrisk_v1.yaml").canonical_json()
    )
