"""``polyarb chain split|merge|redeem``: Conditional Tokens operations from the profile's wallet."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyarb.cli.common import CliError, print_json

if TYPE_CHECKING:
    from polyarb.chain.ctf import Ctf

DEFAULT_JOURNAL = Path("reports") / "chain" / "journal.jsonl"


def open_ctf(profile_path: Path, env_file: Path) -> tuple[Any, Ctf]:
    """``(profile, Ctf)`` from a profile file and the ``.env`` holding key and RPC (exit 2 on bad input)."""
    from polyarb.chain.client import ChainError
    from polyarb.chain.ctf import Ctf
    from polyarb.chain.wallet import wallet_from_env
    from polyarb.config.profile import ProfileError, load_profile
    from polyarb.env import EnvError

    try:
        profile = load_profile(profile_path)
    except ProfileError as exc:
        raise CliError(str(exc)) from None
    if not env_file.is_file():
        raise CliError(f"--env-file {env_file}: no such file (it holds the key and the RPC URL)")
    try:
        wallet = wallet_from_env(env_file, profile.chain.chain_id)
    except EnvError as exc:
        raise CliError(str(exc)) from None
    except ChainError as exc:
        raise CliError(str(exc), 1) from None
    return profile, Ctf(wallet, profile.chain)


def amount_arg(text: str, what: str = "--amount") -> int:
    """A positive USD/share amount with at most 6 decimals, in micro units."""
    from polyarb.units import FixedPointError, parse_fixed

    try:
        value = parse_fixed(text)
    except FixedPointError as exc:
        raise CliError(f"{what} {text!r}: {exc}") from None
    if value <= 0:
        raise CliError(f"{what} {text!r}: must be more than 0")
    return value


def _run(args: argparse.Namespace) -> int:
    from polyarb.chain.client import ChainError
    from polyarb.chain.ctf import append_journal, condition_bytes

    try:
        condition_bytes(args.condition_id)
    except ValueError as exc:
        raise CliError(f"--condition-id: {exc}") from None
    if args.op != "redeem" and args.amount is None:
        raise CliError(f"chain {args.op} needs --amount (sets, e.g. 5 or 2.5)")
    amount = amount_arg(args.amount) if args.amount is not None else 0
    _profile, ctf = open_ctf(args.profile, args.env_file)
    try:
        ids = ctf.token_ids(args.condition_id)
        held = {t: ctf.balance(t) for t in ids}
        if args.op == "merge" and min(held.values()) < amount:
            raise CliError(
                f"--amount: merge of {amount} micro sets, but the wallet holds "
                f"{min(held.values())} complete sets of {args.condition_id}"
            )
        if args.op == "redeem" and ctf.payouts(args.condition_id) is None:
            raise CliError(f"condition {args.condition_id} is not resolved yet: nothing to redeem")
        if args.op == "split":
            op = ctf.split(args.condition_id, amount)
        elif args.op == "merge":
            op = ctf.merge(args.condition_id, amount)
        else:
            op = ctf.redeem(args.condition_id)
    except ChainError as exc:
        print(f"polyarb chain {args.op}: failed: {exc}")
        return 1
    row = op.row()
    row["booked"] = _booked(op)
    append_journal(args.journal, row)
    if args.json:
        print_json(row)
    else:
        print(
            f"{op.kind} {op.condition_id}: {op.size} micro, tx {op.receipt.tx_hash} "
            f"block {op.receipt.block_number}, gas {op.receipt.gas_used} × "
            f"{op.receipt.effective_gas_price} wei = {op.gas} micro pUSD "
            f"(POL at ${ctf.settings.pol_usd}); journal {args.journal}"
        )
    return 0


def _booked(op: Any) -> dict[str, Any]:
    """What :func:`polyarb.chain.ctf.book` does to a ledger's cash and gas for ``op`` (micro pUSD).

    The CLI has no running ledger: the journal line is the record, and the live runner
    books the same op into its own ledger with ``book``.
    """
    if op.kind == "split":
        cash = -op.size - op.gas
    elif op.kind == "merge":
        cash = op.size - op.gas
    else:
        cash = op.payout - op.gas
    return {"cash": cash, "gas": op.gas}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "chain",
        help="split, merge or redeem positions on chain from the profile's wallet",
        description=(
            "Send a Conditional Tokens transaction for a binary condition from the wallet in "
            ".env (POLYARB_PRIVATE_KEY, POLYGON_RPC_URL; never printed) to the profile's "
            "chain.operator, wait for the receipt, and book it: the journal line carries the "
            "receipt's gas in micro pUSD (gas used × effective gas price × chain.pol_usd). "
            "Exit 0 on success, 1 on a failed transaction or unreachable RPC, 2 on bad input."
        ),
    )
    ops = p.add_subparsers(dest="op", metavar="OP", required=True)
    for op, text in (
        ("split", "collateral → AMOUNT of each outcome"),
        ("merge", "AMOUNT complete sets → collateral"),
        ("redeem", "every position of a resolved condition → its payout"),
    ):
        q = ops.add_parser(op, help=text, description=text)
        q.add_argument("--profile", type=Path, required=True, help="profile (its chain: section)")
        q.add_argument("--condition-id", required=True, help="0x and 64 hex digits")
        if op != "redeem":
            q.add_argument("--amount", required=True, help="sets, in shares/USD (e.g. 5 or 2.5)")
        q.add_argument("--env-file", type=Path, default=Path(".env"), help="default: ./.env")
        q.add_argument(
            "--journal", type=Path, default=DEFAULT_JOURNAL, help=f"default: {DEFAULT_JOURNAL}"
        )
        q.add_argument("--json", action="store_true", help="print the journal line as JSON")
        q.set_defaults(func=_run, amount=None)
