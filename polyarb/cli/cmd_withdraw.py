"""``polyarb withdraw --to ADDRESS --amount X``: move collateral to a cold address."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from polyarb.cli.cmd_chain import DEFAULT_JOURNAL, amount_arg, open_ctf
from polyarb.cli.common import CliError, add_recordings_arg, print_json

CONFIRM_WORD = "withdraw"


def _run(args: argparse.Namespace) -> int:
    from polyarb.chain.client import ChainError
    from polyarb.chain.ctf import append_journal
    from polyarb.chain.withdraw import WithdrawRefused, check_destination, open_orders
    from polyarb.units import format_fixed

    amount = amount_arg(args.amount)
    busy = open_orders(args.recordings)
    if busy:
        raise CliError(
            "refusing to withdraw while orders are open (cancel them or stop the live run "
            "first): " + "; ".join(busy),
            1,
        )
    _profile, ctf = open_ctf(args.profile, args.env_file)
    try:
        to = check_destination(args.to, ctf.wallet.address)
        balance = ctf.collateral_balance()
    except WithdrawRefused as exc:
        raise CliError(str(exc)) from None
    except ChainError as exc:
        raise CliError(str(exc), 1) from None
    if amount > balance:
        raise CliError(
            f"--amount {args.amount}: the wallet holds {format_fixed(balance)} of collateral"
        )
    summary = (
        f"withdraw {format_fixed(amount)} collateral ({ctf.settings.collateral}) from "
        f"{ctf.wallet.address} to {to}"
    )
    if not args.yes:
        print(summary)
        print(f"type '{CONFIRM_WORD}' to confirm: ", end="", flush=True)
        answer = sys.stdin.readline().strip()
        if answer != CONFIRM_WORD:
            print("not confirmed: nothing sent")
            return 1
    try:
        receipt = ctf.transfer(to, amount)
    except ChainError as exc:
        print(f"polyarb withdraw: failed: {exc}")
        return 1
    row = {
        "kind": "withdraw",
        "to": to,
        "amount": amount,
        "gas": receipt.gas_cost(ctf.pol_usd_micro),
        "booked": {"cash": -amount, "gas": receipt.gas_cost(ctf.pol_usd_micro)},
        **receipt.row(),
    }
    append_journal(args.journal, row)
    if args.json:
        print_json(row)
    else:
        print(
            f"{summary}: tx {receipt.tx_hash} block {receipt.block_number}; balance now "
            f"{format_fixed(ctf.collateral_balance())}; journal {args.journal}"
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "withdraw",
        help="move collateral (pUSD) from the trading wallet to a cold address",
        description=(
            "The runbook's 'withdraw funds' procedure: refuses while any run under RECORDINGS "
            "lists open orders (runs/<id>/open_orders.json, written by the live runner), checks "
            "the address and the balance, asks for a typed confirmation (or --yes), sends the "
            "ERC-20 transfer from the wallet in .env, waits for the receipt and appends it to "
            "the journal. Exit 0 sent, 1 refused/not confirmed/failed, 2 bad input."
        ),
    )
    p.add_argument("--to", required=True, help="cold address (0x and 40 hex digits)")
    p.add_argument("--amount", required=True, help="collateral to move, in USD (e.g. 50 or 12.5)")
    p.add_argument("--profile", type=Path, required=True, help="profile (its chain: section)")
    p.add_argument("--env-file", type=Path, default=Path(".env"), help="default: ./.env")
    p.add_argument("--yes", action="store_true", help="skip the typed confirmation")
    p.add_argument(
        "--journal", type=Path, default=DEFAULT_JOURNAL, help=f"default: {DEFAULT_JOURNAL}"
    )
    p.add_argument("--json", action="store_true", help="print the journal line as JSON")
    add_recordings_arg(p)
    p.set_defaults(func=_run)
