"""``polyarb chain split|merge|redeem`` and ``polyarb withdraw`` against the real local chain."""

from __future__ import annotations

import io
import json

from eth_account import Account

from polyarb.chain.ctf import Ctf
from polyarb.chain.localchain import report_payouts
from polyarb.chain.wallet import Wallet
from polyarb.cli import main
from polyarb.config.profile import load_profile
from polyarb.env import Secret


def _ctf(chain, profile) -> Ctf:
    return Ctf(Wallet(chain.url, Secret(chain.key)), load_profile(profile).chain)


def _journal(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_chain_split_merge_redeem_send_book_and_never_print_the_key(
    chain137, chain_env, make_profile, tmp_path, capsys
):
    """Acceptance 2: each command sends a real transaction from the .env wallet, waits for
    the receipt and journals it with the receipt's gas in micro pUSD; the key is never shown."""
    env, profile = chain_env, make_profile()
    journal = tmp_path / "journal.jsonl"
    cid, qid = chain137.condition("cli")
    common = ["--profile", str(profile), "--env-file", str(env), "--journal", str(journal)]
    assert main(["chain", "split", "--condition-id", cid, "--amount", "3", *common]) == 0
    assert main(["chain", "merge", "--condition-id", cid, "--amount", "1.5", *common]) == 0
    ctf = _ctf(chain137, profile)
    yes, no = ctf.token_ids(cid)
    assert ctf.balance(yes) == ctf.balance(no) == 1_500_000
    report_payouts(chain137.url, chain137.oracle_key, chain137.ctf, qid, [1, 0])
    assert main(["chain", "redeem", "--condition-id", cid, *common]) == 0
    assert ctf.balance(yes) == 0
    rows = _journal(journal)
    assert [r["kind"] for r in rows] == ["split", "merge", "redeem"]
    for r in rows:
        assert r["status"] == 1 and r["gas"] > 0 and r["tx_hash"].startswith("0x")
        own = -(-r["gas_used"] * r["effective_gas_price"] * 500_000 // 10**18)
        if r["kind"] == "split":  # the first split also approved the operator: its gas too
            a = r["approval"]
            own += -(-a["gas_used"] * a["effective_gas_price"] * 500_000 // 10**18)
        assert r["gas"] == own
    assert rows[2]["payout"] == 1_500_000 and rows[2]["winning_token_id"] == yes
    assert rows[1]["booked"] == {"cash": 1_500_000 - rows[1]["gas"], "gas": rows[1]["gas"]}
    out = capsys.readouterr()
    key = chain137.key.removeprefix("0x")
    assert key not in out.out + out.err + journal.read_text()


def test_chain_bad_input_exits_2_naming_the_argument(
    chain137, chain_env, make_profile, tmp_path, capsys
):
    env, profile = chain_env, make_profile()
    args = ["--profile", str(profile), "--env-file", str(env)]
    assert main(["chain", "split", "--condition-id", "0x12", "--amount", "1", *args]) == 2
    assert "--condition-id" in capsys.readouterr().err
    cid, _ = chain137.condition("bad-input")
    assert main(["chain", "merge", "--condition-id", cid, "--amount", "1", *args]) == 2
    assert "complete sets" in capsys.readouterr().err
    assert main(["chain", "redeem", "--condition-id", cid, *args]) == 2
    assert "not resolved" in capsys.readouterr().err
    env.chmod(0o644)
    assert main(["chain", "split", "--condition-id", cid, "--amount", "1", *args]) == 2
    assert "must be 600" in capsys.readouterr().err


def test_withdraw_confirms_moves_collateral_and_refuses_with_open_orders(
    chain137, chain_env, make_profile, tmp_path, capsys, monkeypatch
):
    """Acceptance 3: withdraw asks for a typed confirmation, transfers to the cold address,
    and refuses while a run lists open orders."""
    env, profile = chain_env, make_profile()
    recordings = tmp_path / "recordings"
    cold = Account.create().address
    args = ["withdraw", "--to", cold, "--profile", str(profile), "--env-file", str(env),
            "--recordings", str(recordings), "--journal", str(tmp_path / "j.jsonl")]  # fmt: skip
    ctf = _ctf(chain137, profile)
    before = ctf.collateral_balance()

    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    assert main([*args, "--amount", "7"]) == 1
    assert ctf.collateral_balance(cold) == 0

    monkeypatch.setattr("sys.stdin", io.StringIO("withdraw\n"))
    assert main([*args, "--amount", "7"]) == 0
    assert ctf.collateral_balance(cold) == 7_000_000
    assert ctf.collateral_balance() == before - 7_000_000

    run = recordings / "live-session" / "runs" / "live-1"
    run.mkdir(parents=True)
    (run / "open_orders.json").write_text(json.dumps({"orders": ["0xabc"]}))
    assert main([*args, "--amount", "1", "--yes"]) == 1
    assert "live-session/live-1: 1 open order(s)" in capsys.readouterr().err
    (run / "open_orders.json").write_text("{not json")
    assert main([*args, "--amount", "1", "--yes"]) == 1
    (run / "open_orders.json").write_text(json.dumps({"orders": []}))
    assert main([*args, "--amount", "1", "--yes"]) == 0
    assert ctf.collateral_balance(cold) == 8_000_000

    assert main([*args, "--amount", "100000", "--yes"]) == 2
    assert "holds" in capsys.readouterr().err
    bad = ["--to", "0x" + "0" * 40]
    assert main([*args[:1], *bad, *args[3:], "--amount", "1", "--yes"]) == 2
    assert "zero address" in capsys.readouterr().err
