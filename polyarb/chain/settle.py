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

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from polyarb.alerts.rules import (
    AlertEvaluator,
    AlertEvent,
    AlertRules,
    HealthSnapshot,
    SettlementGasHigh,
)
from polyarb.chain.client import ChainError
from polyarb.chain.ctf import ChainOp, Ctf, book, winner
from polyarb.chain.wallet import Receipt, TxFailed
from polyarb.config.profile import Settlement
from polyarb.ledger import Ledger
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
        # Approve an adapter operator up front, so a retried merge never loses its gas.
        approval = self.ctf.ensure_operator_approval()
        if approval is not None:
            result.approvals.append(approval)
            if ledger is not None:
                ledger.pay_gas(approval.gas_cost(self.ctf.pol_usd_micro))
        sets = min(self.ctf.balance(t) for t in ids)
        if sets > 0:
            self._run(result, ledger, market, lambda: self.ctf.merge(condition_id, sets))
        # Redeem only what pays: burning losing shares would cost gas for nothing.
        if any(p > 0 and self.ctf.balance(t) > 0 for t, p in zip(ids, payouts, strict=True)):
            self._run(result, ledger, market, lambda: self.ctf.redeem(condition_id))
        elif ledger is not None:
            # Nothing left that pays: close the market in the ledger without a transaction.
            ledger.settle(market or condition_id, winner(ids, payouts))
        return result

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
                    if ledger is not None:
                        ledger.pay_gas(gas)
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
            if ledger is not None:
                book(ledger, op, market)
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
