"""Automatic settlement (polyarb.chain.settle) against the real CTF on the local chain."""

from __future__ import annotations

from typing import Any

import pytest

from polyarb.chain.ctf import Ctf, book
from polyarb.chain.localchain import artifact, report_payouts
from polyarb.chain.settle import SettlementFailed, Settler
from polyarb.chain.wallet import Receipt, Wallet
from polyarb.config.profile import ProfileError, load_profile, parse_profile
from polyarb.env import Secret
from polyarb.ledger import Ledger


class FlakyWallet(Wallet):
    """A real wallet whose first ``fail`` merge transactions run out of gas: mined, reverted."""

    fail = 1

    def send(self, what: str, fn: Any, gas: int | None = None) -> Receipt:
        if what.startswith("mergePositions") and self.fail > 0:
            self.fail -= 1
            return super().send(what, fn, gas=30_000)
        return super().send(what, fn, gas)


def _setup(chain, profile_path, wallet_cls=Wallet, name="settle") -> tuple[Ctf, Ledger, str, bytes]:
    profile = load_profile(profile_path)
    ctf = Ctf(wallet_cls(chain.url, Secret(chain.key)), profile.chain)
    cid, qid = chain.condition(name)
    ledger = Ledger(initial_cash=ctf.collateral_balance())
    book(ledger, ctf.split(cid, 4_000_000))
    return ctf, ledger, cid, qid


def test_resolved_market_merges_sets_and_redeems_winners(chain137, make_profile) -> None:
    """Acceptance 4: after resolution, complete sets are merged and the winning rest redeemed;
    the ledger ends flat in the market with the receipts' gas booked, matching the chain."""
    path = make_profile()
    ctf, ledger, cid, qid = _setup(chain137, path)
    yes, no = ctf.token_ids(cid)
    settler = Settler(ctf, load_profile(path).settlement)
    assert not settler.settle(cid, ledger).resolved  # still open: nothing happens
    report_payouts(chain137.url, chain137.oracle_key, chain137.ctf, qid, [1, 0])
    result = settler.settle(cid, ledger)
    assert result.resolved and [op.kind for op in result.ops] == ["merge"]
    assert ctf.balance(yes) == ctf.balance(no) == 0
    assert ledger.position(yes) == ledger.position(no) == 0
    assert ledger.cash == ctf.collateral_balance() - ledger.gas_paid
    assert result.alerts == []


def test_unmatched_winner_is_redeemed(chain137, make_profile) -> None:
    """Sets are merged first, then the winning shares left over are redeemed for their payout."""
    path = make_profile()
    ctf, _ledger, cid, qid = _setup(chain137, path, name="unmatched")
    yes, no = ctf.token_ids(cid)
    abi, _ = artifact("ConditionalTokens")
    erc1155 = ctf.wallet.contract(chain137.ctf, abi)
    me = ctf.wallet.address
    give = erc1155.functions.safeTransferFrom(me, chain137.oracle, int(no), 1_000_000, b"")
    ctf.wallet.send("give 1 NO away", give)  # 3 complete sets + 1 unmatched YES
    report_payouts(chain137.url, chain137.oracle_key, chain137.ctf, qid, [1, 0])
    before = ctf.collateral_balance()
    result = Settler(ctf, load_profile(path).settlement).settle(cid)
    assert [op.kind for op in result.ops] == ["merge", "redeem"]
    assert result.ops[0].size == 3_000_000 and result.ops[1].payout == 1_000_000
    assert result.ops[1].winning_token_id == yes
    assert ctf.balance(yes) == ctf.balance(no) == 0
    assert ctf.collateral_balance() == before + 4_000_000


def test_losing_leftovers_are_not_redeemed(chain137, make_profile) -> None:
    """Only paying positions are redeemed: a leftover loser would burn gas for nothing."""
    path = make_profile()
    ctf, _ledger, cid, qid = _setup(chain137, path, name="loser-left")
    yes, no = ctf.token_ids(cid)
    erc1155 = ctf.wallet.contract(chain137.ctf, artifact("ConditionalTokens")[0])
    give = erc1155.functions.safeTransferFrom(
        ctf.wallet.address, chain137.oracle, int(yes), 1_000_000, b""
    )
    ctf.wallet.send("give 1 YES away", give)
    report_payouts(chain137.url, chain137.oracle_key, chain137.ctf, qid, [1, 0])
    result = Settler(ctf, load_profile(path).settlement).settle(cid)
    assert [op.kind for op in result.ops] == ["merge"]
    assert ctf.balance(no) == 1_000_000 and ctf.balance(yes) == 0


def test_failed_transaction_is_retried_and_its_gas_booked(chain137, make_profile) -> None:
    """A merge that reverts (out of gas, mined) is sent again; the failed one's gas is paid."""
    path = make_profile(retries=2)
    ctf, ledger, cid, qid = _setup(chain137, path, FlakyWallet, name="retry")
    report_payouts(chain137.url, chain137.oracle_key, chain137.ctf, qid, [1, 0])
    slept: list[float] = []
    split_gas = ledger.gas_paid
    result = Settler(ctf, load_profile(path).settlement, sleep=slept.append).settle(cid, ledger)
    assert len(result.failed) == 1 and not result.failed[0].ok and slept == [1.0]
    assert [op.kind for op in result.ops] == ["merge"]
    assert ledger.gas_paid - split_gas == result.ops[0].gas + result.failed[0].gas_cost(
        ctf.pol_usd_micro
    )
    assert ledger.cash == ctf.collateral_balance() - ledger.gas_paid


def test_gives_up_after_the_retries(chain137, make_profile) -> None:
    path = make_profile(retries=1)
    ctf, ledger, cid, qid = _setup(chain137, path, FlakyWallet, name="give-up")
    ctf.wallet.fail = 5  # type: ignore[attr-defined]
    report_payouts(chain137.url, chain137.oracle_key, chain137.ctf, qid, [1, 0])
    split_gas = ledger.gas_paid
    with pytest.raises(SettlementFailed, match="after 2 attempt") as err:
        Settler(ctf, load_profile(path).settlement, sleep=lambda s: None).settle(cid, ledger)
    failed = err.value.result.failed
    assert len(failed) == 2 and err.value.result.ops == []
    assert ledger.gas_paid - split_gas == sum(r.gas_cost(ctf.pol_usd_micro) for r in failed)


def test_gas_over_the_profile_limit_raises_the_alert(chain137, make_profile) -> None:
    """SETTLEMENT_GAS_HIGH fires (and is notified) when a transaction costs more than
    settlement.max_gas_usd: POL at $1000 makes ganache's 2 gwei merge cost > $0.0001."""
    path = make_profile(max_gas_usd="0.0001")
    text = path.read_text().replace("pol_usd: '0.50'", "pol_usd: '1000'")
    path.write_text(text)
    ctf, ledger, cid, qid = _setup(chain137, path, name="gas")
    report_payouts(chain137.url, chain137.oracle_key, chain137.ctf, qid, [1, 0])
    sent: list[Any] = []
    result = Settler(ctf, load_profile(path).settlement, notify=sent.extend).settle(cid, ledger)
    assert [e.rule for e in result.alerts] == ["SETTLEMENT_GAS_HIGH", "SETTLEMENT_GAS_HIGH"]
    assert [e.state for e in result.alerts] == ["fired", "cleared"]
    assert result.alerts[0].value == result.ops[0].gas > result.alerts[0].threshold == 100
    assert sent == result.alerts


def test_switch_off_does_nothing_and_bad_values_are_refused(chain137, make_profile) -> None:
    path = make_profile(auto=False)
    ctf, ledger, cid, qid = _setup(chain137, path, name="off")
    report_payouts(chain137.url, chain137.oracle_key, chain137.ctf, qid, [1, 0])
    assert not Settler(ctf, load_profile(path).settlement).settle(cid, ledger).resolved
    assert ledger.position(ctf.token_ids(cid)[0]) == 4_000_000
    for bad in ({"auto": "maybe"}, {"retries": -1}, {"max_gas_usd": "0"}):
        with pytest.raises(ProfileError, match="settlement"):
            parse_profile({"name": "x", "settlement": bad})
