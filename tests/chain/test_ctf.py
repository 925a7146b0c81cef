"""The real Conditional Tokens contract on the local chain: split, hold, merge, redeem, booked."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from polyarb.chain.contracts import CTF_ABI
from polyarb.chain.ctf import Ctf, book
from polyarb.chain.localchain import ARTIFACTS, TOOLS, report_payouts
from polyarb.chain.wallet import Wallet, gas_micro
from polyarb.config.profile import ChainSettings
from polyarb.env import Secret
from polyarb.ledger import Ledger


def _ctf(chain) -> Ctf:
    settings = ChainSettings(
        collateral=chain.token, conditional_tokens=chain.ctf, operator=chain.ctf, pol_usd="0.50"
    )
    return Ctf(Wallet(chain.url, Secret(chain.key), expect_chain_id=137), settings)


def test_our_ctf_abi_matches_the_published_artifact() -> None:
    """Every function we call exists in the npm artifact with the same inputs and outputs."""
    published = json.loads((TOOLS / "node_modules" / ARTIFACTS["ConditionalTokens"]).read_text())
    by_name = {
        (e.get("name"), tuple(i["type"] for i in e.get("inputs", []))): e for e in published["abi"]
    }
    for entry in CTF_ABI:
        key = (entry["name"], tuple(i["type"] for i in entry["inputs"]))
        assert key in by_name, key
        assert [o["type"] for o in by_name[key]["outputs"]] == [o["type"] for o in entry["outputs"]]


def test_split_holds_positions_then_merge_books_receipt_gas(chain137) -> None:
    """Acceptance 1+2: a prepared condition on the real CTF; split gives both positions,
    merge returns collateral; the ledger books the receipt's gas, not the simulated one."""
    cid, _ = chain137.condition("split-merge")
    ctf = _ctf(chain137)
    start = ctf.collateral_balance()
    yes, no = ctf.token_ids(cid)
    assert yes != no and int(yes) > 0
    ledger = Ledger(initial_cash=start)
    op = ctf.split(cid, 5_000_000)
    assert ctf.balance(yes) == ctf.balance(no) == 5_000_000
    assert ctf.collateral_balance() == start - 5_000_000
    assert op.receipt.ok and op.receipt.gas_used > 50_000
    book(ledger, op)
    assert ledger.position(yes) == ledger.position(no) == 5_000_000
    merged = ctf.merge(cid, 2_000_000)
    assert ctf.balance(yes) == 3_000_000
    assert merged.gas == gas_micro(
        merged.receipt.gas_used, merged.receipt.effective_gas_price, 500_000
    )
    assert merged.gas > 0  # ganache's gas price is non-zero: real gas is booked
    book(ledger, merged)
    assert ledger.position(yes) == 3_000_000
    assert ledger.gas_paid == op.gas + merged.gas
    assert ledger.cash == start - 5_000_000 + 2_000_000 - op.gas - merged.gas


def test_redeem_after_resolution_pays_the_winner(chain137) -> None:
    """Acceptance 2: redeem on the real CTF after the oracle reports; booked as a settlement
    with the receipt's gas (the ledger's settle had no gas before)."""
    cid, qid = chain137.condition("redeem")
    ctf = _ctf(chain137)
    yes, no = ctf.token_ids(cid)
    ledger = Ledger(initial_cash=ctf.collateral_balance())
    book(ledger, ctf.split(cid, 1_000_000))
    assert ctf.payouts(cid) is None
    report_payouts(chain137.url, chain137.oracle_key, chain137.ctf, qid, [0, 1])
    assert ctf.payouts(cid) == (0, 1)
    op = ctf.redeem(cid)
    assert op.winning_token_id == no and op.payout == 1_000_000 and op.size == 1_000_000
    assert ctf.balance(yes) == ctf.balance(no) == 0
    book(ledger, op)
    assert ledger.position(no) == 0 and ledger.gas_paid > 0
    # gas is paid in POL, so the ledger's cash is the on-chain collateral less the booked gas
    assert ledger.cash == ctf.collateral_balance() - ledger.gas_paid


def test_gas_micro_rounds_up_and_is_exact() -> None:
    """100k gas at 30 gwei with POL at $0.25 is $0.00075 = 750 micro; any remainder rounds up."""
    assert gas_micro(100_000, 30 * 10**9, 250_000) == 750
    assert gas_micro(1, 1, 1) == 1
    assert gas_micro(0, 30 * 10**9, 250_000) == 0


def test_an_adapter_operator_is_approved_once_for_our_positions(chain137) -> None:
    """Merging through Polymarket's collateral adapter needs it approved on the CTF for our
    ERC-1155 shares: the first call approves (on the real CTF), the second does nothing."""
    from eth_account import Account

    adapter = Account.create().address
    settings = ChainSettings(
        collateral=chain137.token, conditional_tokens=chain137.ctf, operator=adapter
    )
    ctf = Ctf(Wallet(chain137.url, Secret(chain137.key)), settings)
    approved = ctf._ctf.functions.isApprovedForAll(ctf.wallet.address, adapter)
    assert not approved.call()
    receipt = ctf.ensure_operator_approval()
    assert receipt is not None and receipt.ok and approved.call()
    assert ctf.ensure_operator_approval() is None
    assert _ctf(chain137).ensure_operator_approval() is None  # the CTF itself needs none


@given(st.integers(0, 30_000_000), st.integers(0, 10**13), st.integers(1, 1_000 * 10**6))
def test_gas_micro_never_undercounts_by_a_micro_unit(gas: int, price: int, pol: int) -> None:
    """The conversion is the exact value rounded up: never below it, less than 1 micro above."""
    got = gas_micro(gas, price, pol)
    exact_num = gas * price * pol
    assert got * 10**18 >= exact_num > (got - 1) * 10**18 or exact_num == got == 0
