"""Booking a live run's on-chain settlement from its recorded steps.

The live runner settles a resolved market on chain (:mod:`polyarb.chain.settle`, an edge
package the engine never imports) and records the outcome as a ``user`` row whose JSON
text starts with ``{"rest":"settlement"``; the engine books its steps with
:func:`book_step`, so a replay of the recording books the same ledger without a chain.
"""

from __future__ import annotations

from typing import Any

from polyarb.ledger.ledger import Ledger

SETTLEMENT_ROW = "settlement"
"""``rest`` of the user row holding a settlement's outcome; it leads the JSON text."""


def book_step(ledger: Ledger, step: dict[str, Any], market: str) -> None:
    """Book one settlement step: ``gas`` (a transaction that moved nothing), ``merge``,
    ``redeem`` (the market settles, with the redeem's gas) or ``close`` (settles, no tx)."""
    do = step["do"]
    if do == "gas":
        ledger.pay_gas(int(step["gas"]))
    elif do == "merge":
        ledger.merge(market, step["token_ids"], int(step["size"]), int(step["gas"]))
    elif do == "redeem":
        ledger.settle(market, step["winning_token_id"], gas=int(step["gas"]))
    elif do == "close":
        ledger.settle(market, step["winning_token_id"])
    else:
        raise ValueError(f"settlement step {do!r} unknown")


SETTLEMENT_PREFIX = '{"rest":"' + SETTLEMENT_ROW + '"'
"""How a settlement row's text begins (:meth:`SettleResult.row` writes ``rest`` first)."""
