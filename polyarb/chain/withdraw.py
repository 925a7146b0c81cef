"""Withdrawing collateral to a cold address, and the open-orders guard in front of it.

The guard reads the runs folders: a run that has orders resting at the venue lists
them in ``recordings/<session>/runs/<run_id>/open_orders.json`` (``{"orders": [ids]}``),
which the live runner rewrites as orders rest and clear and empties (or deletes) when it
stops. Withdrawal refuses while any such file lists an order, or cannot be read
(a half-written file must not read as "no orders"). Replay and shadow never write one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from polyarb.errors import PolyarbError

OPEN_ORDERS_FILE = "open_orders.json"
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class WithdrawRefused(PolyarbError):
    """Withdrawal is not safe or not valid now; the message says why."""


def open_orders(recordings: Path) -> list[str]:
    """``"<session>/<run_id>: <n> open order(s)"`` for every run with resting orders."""
    found: list[str] = []
    for path in sorted(recordings.glob(f"*/runs/*/{OPEN_ORDERS_FILE}")):
        run = f"{path.parent.parent.parent.name}/{path.parent.name}"
        try:
            orders = json.loads(path.read_text())["orders"]
            if not isinstance(orders, list):
                raise TypeError("orders is not a list")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            found.append(f"{run}: {OPEN_ORDERS_FILE} unreadable ({type(exc).__name__})")
            continue
        if orders:
            found.append(f"{run}: {len(orders)} open order(s)")
    return found


def check_destination(to: str, own: str) -> str:
    """A well-formed address that is neither zero nor the hot wallet itself."""
    if not _ADDRESS.match(to):
        raise WithdrawRefused(f"--to {to!r}: not an address (0x and 40 hex digits)")
    if int(to, 16) == 0:
        raise WithdrawRefused("--to is the zero address: the funds would be burned")
    if to.lower() == own.lower():
        raise WithdrawRefused("--to is the trading wallet itself: nothing would move")
    return to
