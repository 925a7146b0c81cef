"""Automatic settlement: once a market resolves, merge complete sets and redeem the rest.

The live runner calls :meth:`Settler.settle` for every market it holds after the
market's resolution (profile ``settlement.auto: true``; with ``false`` it does nothing).
Each transaction is retried up to ``settlement.retries`` times when it fails to send or
reverts; the gas of every mined transaction, failed ones included, is booked in the
ledger in pUSD micro units (``chain.pol_usd``), and a transaction whose gas exceeds
``settlement.max_gas_usd`` raises the ``SETTLEMENT_GAS_HIGH`` alert (declared in
:data:`polyarb.alerts.rules.RULES`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from polyarb.alerts.rules import (
    AlertEvaluator,
    AlertEvent,
    AlertRules,
    HealthSnapshot,
    SettlementGasHigh,
)
from polyarb.chain.client import ChainError
from polyarb.chain.ctf import ChainOp, Ctf, winner
from polyarb.chain.wallet import Receipt, TxFailed
from polyarb.config.profile import Settlement
from polyarb.ledger import Ledger
from polyarb.ledger.settlement import SETTLEMENT_ROW, book_step
from polyarb.units import micro


@dataclass
class SettleResult:
    """What one :meth:`Settler.settle` call did."""

    condition_id: str
    resolved: bool
    ops: list[ChainOp] = field(default_factory=list)
    failed: list[Receipt] = field(default_factory=list)
    """Mined transactions that reverted (their gas was still paid)."""
    errors: list[str] = field(default_factory=list)
    approvals: list[Receipt] = field(default_factory=list)
    """An adapter operator's one-time ``setApprovalForAll`` (its gas is booked)."""
    alerts: list[AlertEvent] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    """What the ledger books, in order (:func:`book_step`): JSON-safe, so a live run
    records them and its replay books the same without a chain."""

    def row(self, market: str, error: str = "", decision: str = "") -> str:
        """The recorded ``user`` row a live run feeds its engine (docs/chain.md).

        ``decision``: the merge decision id of a basket's complete sets merged before
        resolution (:meth:`Settler.merge`); empty for a resolution's settlement.
        """
        return json.dumps(
            {
                "rest": SETTLEMENT_ROW,
                "decision": decision,
                "market": market,
                "condition_id": self.condition_id,
                "resolved": self.resolved,
                "steps": self.steps,
                "alerts": [asdict(a) for a in self.alerts],
                "error": error,
            },
            separators=(",", ":"),
        )


class SettlementFailed(ChainError):
    """A settlement transaction still failed after ``settlement.retries`` retries."""

    def __init__(self, message: str, result: SettleResult) -> None:
        super().__init__(message)
        self.result = result
        """What was done (and booked) before giving up."""


class Settler:
    """Settles resolved binary markets from one wallet; books into ``ledger`` when given."""

    def __init__(
        self,
        ctf: Ctf,
        settlement: Settlement,
        *,
        rules: AlertRules | None = None,
        notify: Callable[[list[AlertEvent]], object] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.ctf = ctf
        self.settlement = settlement
        self.gas_limit = micro(settlement.max_gas_usd)
        self._alerts = AlertEvaluator(rules, declared=(SettlementGasHigh,))
        self._notify = notify
        self._sleep = sleep
        self._clock_ns = clock_ns
        self._seq = 0

    def settle(
        self, condition_id: str, ledger: Ledger | None = None, market: str | None = None
    ) -> SettleResult:
        """Merge held complete sets, then redeem what remains, if the condition is resolved.

        Does nothing when ``settlement.auto`` is false or the condition is still open
        (``resolved`` says which). Raises :class:`SettlementFailed` when a transaction
        fails more than ``settlement.retries`` times (the result so far is on the error).
        """
        result = SettleResult(condition_id, resolved=False)
        payouts = self.ctf.payouts(condition_id) if self.settlement.auto else None
        if payouts is None:
            return result
        result.resolved = True
        ids = self.ctf.token_ids(condition_id)
        self._approve(result, ledger, market)
        sets = min(self.ctf.balance(t) for t in ids)
        if sets > 0:
            self._run(result, ledger, market, lambda: self.ctf.merge(condition_id, sets))
        # Redeem only what pays: burning losing shares would cost gas for nothing.
        if any(p > 0 and self.ctf.balance(t) > 0 for t, p in zip(ids, payouts, strict=True)):
            self._run(result, ledger, market, lambda: self.ctf.redeem(condition_id))
        else:
            # Nothing left that pays: close the market in the ledger without a transaction.
            self._step(
                result, ledger, market, {"do": "close", "winning_token_id": winner(ids, payouts)}
            )
        return result

    def merge(
        self, condition_id: str, sets: int, ledger: Ledger | None = None, market: str | None = None
    ) -> SettleResult:
        """Merge ``sets`` complete sets now (a live ``merge`` basket, before resolution),
        with the same retries, gas booking and gas alert as :meth:`settle`."""
        result = SettleResult(condition_id, resolved=False)
        self._approve(result, ledger, market)
        self._run(result, ledger, market, lambda: self.ctf.merge(condition_id, sets))
        return result

    def _approve(self, result: SettleResult, ledger: Ledger | None, market: str | None) -> None:
        # Approve an adapter operator up front, so a retried merge never loses its gas.
        approval = self.ctf.ensure_operator_approval()
        if approval is not None:
            result.approvals.append(approval)
            gas = approval.gas_cost(self.ctf.pol_usd_micro)
            self._step(result, ledger, market, {"do": "gas", "gas": gas, "tx": approval.tx_hash})

    def _step(
        self, result: SettleResult, ledger: Ledger | None, market: str | None, step: dict[str, Any]
    ) -> None:
        result.steps.append(step)
        if ledger is not None:
            book_step(ledger, step, market or result.condition_id)

    def _run(
        self,
        result: SettleResult,
        ledger: Ledger | None,
        market: str | None,
        send: Callable[[], ChainOp],
    ) -> None:
        for attempt in range(self.settlement.retries + 1):
            try:
                op = send()
            except ChainError as exc:
                result.errors.append(str(exc))
                if isinstance(exc, TxFailed):
                    result.failed.append(exc.receipt)
                    gas = exc.receipt.gas_cost(self.ctf.pol_usd_micro)
                    step = {"do": "gas", "gas": gas, "tx": exc.receipt.tx_hash}
                    self._step(result, ledger, market, step)
                    self._check_gas(result, gas)
                if attempt == self.settlement.retries:
                    raise SettlementFailed(
                        f"settlement of {result.condition_id} failed after {attempt + 1} "
                        f"attempt(s): {exc}",
                        result,
                    ) from None
                self._sleep(min(2.0**attempt, 30.0))
                continue
            result.ops.append(op)
            self._step(result, ledger, market, _op_step(op))
            self._check_gas(result, op.gas)
            return

    def _check_gas(self, result: SettleResult, gas: int) -> None:
        self._seq += 1
        snap = HealthSnapshot(
            ts_ns=self._clock_ns(),
            seq=self._seq,
            settlement_gas=gas,
            settlement_gas_limit=self.gas_limit,
        )
        events = self._alerts.evaluate(snap)
        if events:
            result.alerts.extend(events)
            if self._notify is not None:
                self._notify(events)


def _op_step(op: ChainOp) -> dict[str, Any]:
    if op.kind == "merge":
        return {
            "do": "merge",
            "token_ids": list(op.token_ids),
            "size": op.size,
            "gas": op.gas,
            "tx": op.receipt.tx_hash,
        }
    return {
        "do": "redeem",
        "winning_token_id": op.winning_token_id,
        "payout": op.payout,
        "gas": op.gas,
        "tx": op.receipt.tx_hash,
    }


class SettleWorker:
    """Runs :meth:`Settler.settle` off the engine's thread; each outcome reaches ``push``
    as one recorded row (:meth:`SettleResult.row`), which the engine books.

    One worker thread: the wallet's transactions go out one at a time (one nonce sequence).
    The chain may learn the payouts after the market channel says ``market_resolved``:
    an unresolved condition is asked again every ``poll_s`` for up to ``wait_s``.
    """

    def __init__(
        self,
        settler: Settler,
        push: Callable[[str], None],
        *,
        wait_s: float = 600.0,
        poll_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settler = settler
        self._push = push
        self._wait_s = wait_s
        self._poll_s = poll_s
        self._sleep = sleep
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="polyarb-settle")

    def submit(self, market: str, condition_id: str) -> Future[None]:
        """Settle ``condition_id`` (the engine's ``market``) in the background."""
        return self._pool.submit(self._settle, market, condition_id)

    def submit_merge(
        self, market: str, condition_id: str, sets: int, decision: str
    ) -> Future[None]:
        """Merge a completed basket's ``sets`` in the background (decision id ``decision``)."""
        return self._pool.submit(self._merge, market, condition_id, sets, decision)

    def close(self, *, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def _settle(self, market: str, condition_id: str) -> None:
        waited = 0.0
        while True:
            try:
                result = self.settler.settle(condition_id, None, market)
            except SettlementFailed as exc:
                self._push(exc.result.row(market, str(exc)))
                return
            except Exception as exc:  # any failure still answers, or the ledger waits forever
                error = f"{type(exc).__name__}: {exc}"
                self._push(SettleResult(condition_id, resolved=False).row(market, error))
                return
            if result.resolved or waited >= self._wait_s:
                error = "" if result.resolved else f"not resolved on chain after {waited:.0f}s"
                self._push(result.row(market, error))
                return
            self._sleep(self._poll_s)
            waited += self._poll_s

    def _merge(self, market: str, condition_id: str, sets: int, decision: str) -> None:
        try:
            result = self.settler.merge(condition_id, sets, None, market)
        except SettlementFailed as exc:
            self._push(exc.result.row(market, str(exc), decision))
            return
        except Exception as exc:  # any failure still answers: the sets stay held
            error = f"{type(exc).__name__}: {exc}"
            self._push(SettleResult(condition_id, resolved=False).row(market, error, decision))
            return
        self._push(result.row(market, "", decision))
