"""go-no-go against real files, a real git checkout and a real local chain (chain id 137)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from polyarb.cli import main


def _by_name(result: dict) -> dict[str, tuple[str, str]]:
    return {c["name"]: (c["status"], c["detail"]) for c in result["checks"]}


def test_live_phase_passes_everything_on_a_ready_machine(project, go, wallet137) -> None:
    root = project(wallet137, phase=1)
    rc, res, raw = go(root, 1)
    checks = _by_name(res)
    assert len(checks) >= 18
    assert {n: s for n, (s, _) in checks.items() if s != "PASS"} == {}, raw
    assert rc == 0 and res["status"] == "PASS" and res["phase"] == 1
    assert checks["chain_id"] == ("PASS", "chain id 137 (Polygon)")
    assert checks["private_key"][1].startswith(f"well-formed; address {wallet137.address}")
    assert checks["collateral_balance"] == ("PASS", "$1,000.00 pUSD")
    saved = json.loads((root / "reports" / "go_no_go" / "latest.json").read_text())
    assert saved["status"] == "PASS" and saved["phase"] == 1 and saved["checks"] == res["checks"]
    assert {"phase", "status", "checks", "ts"} <= set(saved)


def test_secrets_never_appear_in_output_or_report(project, go, wallet137) -> None:
    root = project(wallet137, phase=1)
    _, _, raw = go(root, 1)
    table_rc = main(["go-no-go", "--phase", "1", "--root", str(root), "--port", "0"])
    report = (root / "reports" / "go_no_go" / "latest.json").read_text()
    key = wallet137.key.removeprefix("0x")
    for text in (raw, report):
        assert key not in text and key.lower() not in text.lower()
        assert "SECRETRPCKEY" not in text and "SECRETHOOK" not in text
    assert table_rc in (0, 1)


def test_wrong_chain_id_fails(project, go, wallet_wrong_chain) -> None:
    root = project(wallet_wrong_chain, phase=1)
    rc, res, _ = go(root, 1)
    checks = _by_name(res)
    assert rc == 1 and res["status"] == "FAIL"
    assert checks["rpc_reachable"][0] == "PASS"
    assert checks["chain_id"] == ("FAIL", "chain id 1, expected 137 (Polygon)")
    assert checks["gas_balance"][0] == "FAIL"


def test_unreachable_rpc_fails_live_and_warns_shadow(project, go) -> None:
    from polyarb.chain.localchain import free_port

    url = f"http://127.0.0.1:{free_port()}"
    root = project(None, phase=1, POLYGON_RPC_URL=url)
    rc, res, _ = go(root, 1)
    assert rc == 1 and _by_name(res)["rpc_reachable"][0] == "FAIL"
    root0 = project(None, phase=0, POLYGON_RPC_URL=url)
    rc0, res0, _ = go(root0, 0)
    assert rc0 == 0 and _by_name(res0)["rpc_reachable"][0] == "WARN"


def test_shadow_phase_on_bare_machine_warns_but_goes(tmp_path: Path, go) -> None:
    import shutil

    root = tmp_path / "bare"
    shutil.copytree(Path(__file__).resolve().parents[2] / "profiles", root / "profiles")
    rc, res, _ = go(root, 0)
    checks = _by_name(res)
    assert rc == 0 and res["status"] == "WARN"
    for name in ("env_file", "rpc_reachable", "last_backup", "promote_check"):
        assert checks[name][0] == "WARN", name
    assert checks["private_key"] == ("PASS", "not needed in phase 0 (dry run)")
    rc1, res1, _ = go(root, 1)
    assert rc1 == 1 and _by_name(res1)["env_file"][0] == "FAIL"


def test_allowance_short_fails(project, go, wallet137) -> None:
    from eth_account import Account

    unapproved = Account.create().address
    root = project(
        wallet137, phase=1, POLYARB_ALLOWANCE_SPENDERS=f"{wallet137.spenders[0]},{unapproved}"
    )
    rc, res, _ = go(root, 1)
    assert rc == 1
    assert _by_name(res)["allowances"] == ("FAIL", "allowance below $40.00 for: spender 2")


def test_phase_3_limits_against_the_same_wallet(project, go, wallet137) -> None:
    # Phase 3 needs allowances >= its $300 total position: the $500 approvals cover it.
    root = project(wallet137, phase=3)
    rc, res, _ = go(root, 3)
    assert _by_name(res)["collateral_balance"][0] == "PASS"
    assert _by_name(res)["allowances"][0] == "PASS" and rc == 0


def test_env_mode_must_be_600_for_live(project, go, wallet137) -> None:
    root = project(wallet137, phase=1)
    os.chmod(root / ".env", 0o644)
    rc, res, _ = go(root, 1)
    status, detail = _by_name(res)["env_permissions"]
    assert rc == 1 and status == "FAIL" and "mode 644" in detail and "chmod 600" in detail


def test_malformed_key_fails_without_echoing_it(project, go, wallet137) -> None:
    bad = "0x" + "zz" + wallet137.key[4:]
    root = project(wallet137, phase=1, POLYARB_PRIVATE_KEY=bad)
    rc, res, raw = go(root, 1)
    status, detail = _by_name(res)["private_key"]
    assert rc == 1 and status == "FAIL" and "malformed" in detail
    assert wallet137.key[4:] not in raw


def test_live_needs_explicit_dry_run_false(project, go, wallet137) -> None:
    root = project(wallet137, phase=1, POLYARB_DRY_RUN="true")
    rc, res, _ = go(root, 1)
    assert rc == 1 and _by_name(res)["dry_run_state"][0] == "FAIL"


def test_phase0_refuses_dry_run_false(project, go) -> None:
    root = project(None, phase=0, POLYARB_DRY_RUN="false")
    rc, res, _ = go(root, 0)
    assert rc == 1 and _by_name(res)["dry_run_state"][0] == "FAIL"


def test_promotion_report_gates_live(project, go, wallet137) -> None:
    root = project(wallet137, phase=1)
    (root / "reports" / "promotion" / "latest.json").write_text('{"phase": 1, "verdict": "NO-GO"}')
    rc, res, _ = go(root, 1)
    assert rc == 1 and _by_name(res)["promote_check"][0] == "FAIL"
    (root / "reports" / "promotion" / "latest.json").unlink()
    rc, res, _ = go(root, 1)
    assert rc == 1 and _by_name(res)["promote_check"][0] == "FAIL"


def test_port_in_use_and_halt_file_fail(project, go) -> None:
    root = project(None, phase=0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        rc, res, _ = go(root, 0, "--port", str(port))
    assert rc == 1 and _by_name(res)["port_free"][0] == "FAIL"
    (root / "HALT").write_text("stopped by operator\n")
    rc, res, _ = go(root, 0)
    assert rc == 1 and _by_name(res)["no_halt_file"][0] == "FAIL"


def test_profile_for_another_phase_fails(project, go) -> None:
    root = project(None, phase=0)
    rc, res, _ = go(root, 0, "--profile", str(root / "profiles" / "live_safe_atomic_v1.yaml"))
    assert rc == 1 and _by_name(res)["profile_phase"][0] == "FAIL"


def test_bad_input_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["go-no-go", "--phase", "7", "--root", str(tmp_path)]) == 2
    assert "allowed 0 (shadow)" in capsys.readouterr().err
    assert main(["go-no-go", "--phase", "0", "--profile", str(tmp_path / "nope.yaml")]) == 2


def test_env_values_never_print(tmp_path: Path) -> None:
    from polyarb.env import read_env

    path = tmp_path / ".env"
    path.write_text('# comment\nexport POLYARB_PRIVATE_KEY="0xabc"\nPOLYARB_DRY_RUN=true\n')
    env = read_env(path)
    key = env.get("POLYARB_PRIVATE_KEY")
    assert key is not None and str(key) == "***" and "abc" not in repr(env)
    assert env.secret("POLYARB_PRIVATE_KEY") == "0xabc" and env.plain("POLYARB_DRY_RUN") == "true"


def test_missing_root_exits_2_and_creates_nothing(tmp_path: Path, capsys) -> None:
    """Issue 18 item 10: ``--root /nonexistent`` made ROOT/recordings, ROOT/reports and
    reports/go_no_go/latest.json; now it is bad input (exit 2) and nothing is created. With a
    real root, a missing recordings folder is checked without being made."""
    missing = tmp_path / "nonexistent"
    assert main(["go-no-go", "--phase", "0", "--root", str(missing)]) == 2
    assert "--root" in capsys.readouterr().err
    assert not missing.exists() and list(tmp_path.iterdir()) == []
    root = tmp_path / "bare"
    root.mkdir()
    reports = tmp_path / "reports-elsewhere"
    assert main(["go-no-go", "--phase", "0", "--root", str(root), "--reports", str(reports),
                 "--json"]) in (0, 1)  # fmt: skip
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["recordings_writable"]["status"] == "PASS"
    assert "can be made" in checks["recordings_writable"]["detail"]
    assert list(root.iterdir()) == []
    assert [p.name for p in reports.iterdir()] == ["go_no_go"]


def test_results_are_kept_per_phase(project, go, wallet137) -> None:
    """Issue 15 item 5: a go-no-go for phase 0 run after one for phase 1 leaves phase 1's
    result in place (reports/go_no_go/phase1.json), and go-no-go --phase 1 reads the
    promote-check report of phase 1 even when a later promote-check for another phase wrote
    latest.json. Old code: one latest.json each, overwritten by the later command."""
    root = project(wallet137, phase=1)
    promotion = root / "reports" / "promotion"
    (promotion / "phase1.json").write_text(json.dumps({"phase": 1, "verdict": "GO"}))
    (promotion / "latest.json").write_text(json.dumps({"phase": 2, "verdict": "NO-GO"}))
    rc, res, _ = go(root, 1)
    assert rc == 0, res
    assert _by_name(res)["promote_check"][0] == "PASS"
    go(root, 0)
    folder = root / "reports" / "go_no_go"
    assert json.loads((folder / "phase1.json").read_text())["phase"] == 1
    assert json.loads((folder / "phase0.json").read_text())["phase"] == 0


def test_rollback_to_shadow_without_editing_env(project, go) -> None:
    """Issue 15 item 5: during an emergency the live opt-in stays in .env; go-no-go --phase 0
    --rollback passes with a WARN naming it (no hand edit of .env). Old code: no such flag,
    FAIL until .env was edited."""
    root = project(None, phase=0, POLYARB_DRY_RUN="false")
    rc, res, _ = go(root, 0, "--rollback")
    assert rc == 0, res
    status, detail = _by_name(res)["dry_run_state"]
    assert status == "WARN" and "--rollback" in detail
    assert main(["go-no-go", "--phase", "1", "--rollback", "--root", str(root)]) == 2
