"""The exact ledger: cash, positions with cost basis, realised and marked PnL, fees and gas.

Identities the property tests guard (docs/execution.md):

* ``equity − initial_cash == realised_pnl + marked_pnl`` at every moment,
  where ``equity = cash + position_value``.
* Under any fixed resolution, ``cash + Σ size × payout`` changes only by a
  fill's ``(payout − price) × size − fee``, by ``−gas`` on a merge, split,
  conversion or on-chain redemption, and not otherwise on settlement.

Realised PnL is net of fees and gas. No shorts: Polymarket has none, so
selling more than is held is an error (a SELL basket must split first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from polyarb.errors import PolyarbError
from polyarb.execution.orders import Fill
from polyarb.units import mul


class LedgerError(ValueError, PolyarbError):
    """An operation the account cannot do (oversell, merge without a full set, unknown asset)."""


class _Position:
    __slots__ = ("asset_id", "cost", "market", "size")

    def __init__(self, market: str, asset_id: str) -> None:
        self.market = market
        self.asset_id = asset_id
        self.size = 0
        self.cost = 0

    def take(self, size: int, *, short_ok: bool = False) -> int:
        """Remove ``size`` shares; returns the cost basis that leaves with them (pro rata).

        ``short_ok``: more than held may leave (the excess at zero basis), the position
        going short; otherwise that is an error.
        """
        if size > self.size:
            if not short_ok:
                raise LedgerError(
                    f"cannot remove {size} micro shares of {self.asset_id}: only {self.size} held"
                )
            part = self.cost if self.size > 0 else 0
            self.size -= size
            self.cost -= part
            return part
        part = self.cost if size == self.size else self.cost * size // self.size
        self.size -= size
        self.cost -= part
        return part


class Ledger:
    """One account's books, in micro units. Time-free: the engine stamps snapshots."""

    def __init__(self, initial_cash: int = 0) -> None:
        self.initial_cash = initial_cash
        self.cash = initial_cash
        self.realised_pnl = 0
        self.fees_paid = 0
        self.gas_paid = 0
        self._open: dict[str, _Position] = {}
        self._marks: dict[str, int] = {}
        self._settled: list[dict[str, Any]] = []
        self._closed_markets: set[str] = set()
        self._winners: dict[str, str | None] = {}

    # --- operations --------------------------------------------------------

    def apply_fill(self, fill: Fill, *, short_ok: bool = False) -> None:
        """Book a taker fill: cash moves by its notional and fee; the position by its size.

        ``short_ok`` (fills the exchange reported): a SELL of more than the ledger holds
        leaves the position short instead of failing. The exchange matched it on shares it
        held then; a FAILED buy reported first took them back here, and that SELL's own
        FAILED, which the exchange sends next, evens the position out (as
        :meth:`reverse_fill` lets a reversed BUY leave it short).
        """
        if fill.size <= 0:
            raise LedgerError(f"fill {fill.fill_id} has non-positive size {fill.size}")
        if fill.market in self._closed_markets:
            self._settled_fill(fill, 1)
            return
        pos = self._position(fill.market, fill.asset_id)
        cash = fill.cash
        if fill.side == "BUY":
            pos.size += fill.size
            pos.cost += cash
            self.cash -= cash + fill.fee
            self.realised_pnl -= fill.fee
        else:
            basis = pos.take(fill.size, short_ok=short_ok)
            self.cash += cash - fill.fee
            self.realised_pnl += cash - basis - fill.fee
        self.fees_paid += fill.fee
        self._drop_if_empty(fill.asset_id)

    def reverse_fill(self, fill: Fill) -> None:
        """Undo a fill the exchange FAILED after it matched: cash, shares and fee go back.

        A reversed BUY is exact (its shares and their cost leave, notional and fee
        return); if they were sold meanwhile the position goes negative, as the
        exchange's account does, until it is settled. A reversed SELL gives the
        shares back at the sale's notional as their cost basis: the basis that left
        with them is not kept per fill.
        """
        if fill.market in self._closed_markets:
            self._settled_fill(fill, -1)
            return
        pos = self._position(fill.market, fill.asset_id)
        cash = fill.cash
        if fill.side == "BUY":
            # Shares already sold (an unwind) leave the position short: the exchange's account
            # shows the same debt, and the engine raises it as a leg failure.
            pos.size -= fill.size
            pos.cost -= cash
            self.cash += cash + fill.fee
            self.realised_pnl += fill.fee
        else:
            pos.size += fill.size
            pos.cost += cash
            self.cash -= cash - fill.fee
            self.realised_pnl -= cash - fill.fee
        self.fees_paid -= fill.fee
        self._drop_if_empty(fill.asset_id)

    def _settled_fill(self, fill: Fill, sign: int) -> None:
        """A fill (``sign`` 1) or its reversal (-1) reported after its market settled.

        Live only: the exchange matched it before resolution, its answer came after the
        market channel's ``market_resolved``. Its shares settle on the spot at what the
        settlement paid (1 per winning share, 0 otherwise): a BUY realises payout − cost −
        fee, a SELL cash − fee − the payout those shares already collected.
        """
        payout = fill.size if fill.asset_id == self._winners.get(fill.market) else 0
        delta = (
            payout - fill.cash - fill.fee if fill.side == "BUY" else fill.cash - fill.fee - payout
        )
        self.cash += sign * delta
        self.realised_pnl += sign * delta
        self.fees_paid += sign * fill.fee
        shares = fill.size if fill.side == "BUY" else -fill.size
        self._settled.append(
            {
                "market": fill.market,
                "asset_id": fill.asset_id,
                "size": sign * shares,
                "cost": sign * (fill.cash if fill.side == "BUY" else -fill.cash),
                "settled": True,
                "payout": sign * (payout if fill.side == "BUY" else -payout),
            }
        )

    def carry(self, market: str, asset_id: str, size: int, cost: int) -> None:
        """Open with shares a previous run left (live startup): bought at ``cost`` before.

        Booked like a fee-free BUY at that cost basis, so the PnL identities hold
        and the shares' later sale or settlement realises against what they cost.
        """
        if size <= 0 or cost < 0:
            raise LedgerError(f"cannot carry {size} micro shares of {asset_id} at cost {cost}")
        pos = self._position(market, asset_id)
        pos.size += size
        pos.cost += cost
        self.cash -= cost

    def merge(self, market: str, token_ids: Iterable[str], size: int, gas: int) -> int:
        """Merge ``size`` complete sets of ``market`` back into ``size`` collateral, paying ``gas``.

        Returns the collateral credited (``size``). Every token must be held.
        """
        tokens = list(token_ids)
        self._require(size > 0 and len(tokens) >= 2, f"merge of {size} sets over {tokens}")
        for asset in tokens:
            held = self._open.get(asset)
            if held is None or held.size < size:
                raise LedgerError(
                    f"merge {size} sets of {market}: only {held.size if held else 0} of {asset}"
                )
        basis = sum(self._open[a].take(size) for a in tokens)
        self.cash += size - gas
        self.realised_pnl += size - basis - gas
        self.gas_paid += gas
        for asset in tokens:
            self._drop_if_empty(asset)
        return size

    def split(self, market: str, token_ids: Iterable[str], size: int, gas: int) -> None:
        """Split ``size`` collateral into ``size`` of every token of ``market``, paying ``gas``.

        The cost of 1 per set is spread evenly over the tokens (remainder on the first).
        """
        tokens = list(token_ids)
        self._require(size > 0 and len(tokens) >= 2, f"split of {size} sets over {tokens}")
        share, rest = divmod(size, len(tokens))
        for i, asset in enumerate(tokens):
            pos = self._position(market, asset)
            pos.size += size
            pos.cost += share + (rest if i == 0 else 0)
        self.cash -= size + gas
        self.realised_pnl -= gas
        self.gas_paid += gas

    def convert_all(self, no_assets: Iterable[tuple[str, str]], size: int, gas: int) -> int:
        """Neg-risk conversion of ``size`` NO of all n outcomes into ``size × (n − 1)`` collateral.

        ``no_assets`` are ``(market, no_token_id)`` pairs of every named outcome.
        Returns the collateral credited.
        """
        pairs = list(no_assets)
        self._require(size > 0 and len(pairs) >= 2, f"conversion of {size} over {pairs}")
        for _market, asset in pairs:
            held = self._open.get(asset)
            if held is None or held.size < size:
                raise LedgerError(f"convert {size}: only {held.size if held else 0} of {asset}")
        basis = sum(self._open[a].take(size) for _m, a in pairs)
        credit = size * (len(pairs) - 1)
        self.cash += credit - gas
        self.realised_pnl += credit - basis - gas
        self.gas_paid += gas
        for _market, asset in pairs:
            self._drop_if_empty(asset)
        return credit

    def settle(self, market: str, winning_token_id: str | None, gas: int = 0) -> int:
        """Resolve ``market``: the winning token pays 1 per share, the others 0.

        Each neg-risk outcome is its own market and settles on its own; a full
        YES basket therefore collects exactly 1 per set (one leg wins). Returns
        the payout. ``None`` means no token won (every position pays 0). ``gas`` is what
        redeeming on chain cost (0 in replay, which settles without a transaction).
        """
        payout_total = 0
        for asset in sorted(a for a, p in self._open.items() if p.market == market):
            pos = self._open.pop(asset)
            payout = pos.size if asset == winning_token_id else 0
            self.cash += payout
            self.realised_pnl += payout - pos.cost
            payout_total += payout
            self._settled.append(
                {
                    "market": market,
                    "asset_id": asset,
                    "size": pos.size,
                    "cost": pos.cost,
                    "settled": True,
                    "payout": payout,
                }
            )
        self._closed_markets.add(market)
        self._winners[market] = winning_token_id
        self.cash -= gas
        self.realised_pnl -= gas
        self.gas_paid += gas
        return payout_total

    def pay_gas(self, gas: int) -> None:
        """Gas of a transaction that moved nothing (one that reverted and was retried)."""
        self._require(gas >= 0, f"gas {gas}")
        self.cash -= gas
        self.realised_pnl -= gas
        self.gas_paid += gas

    def mark(self, prices: Mapping[str, int]) -> None:
        """Set mark prices (best bids); unmarked positions are valued at cost."""
        self._marks.update(prices)

    # --- views -------------------------------------------------------------

    def position(self, asset_id: str) -> int:
        """Shares held of ``asset_id`` (0 when none)."""
        pos = self._open.get(asset_id)
        return pos.size if pos else 0

    def cost(self, asset_id: str) -> int:
        """Cost basis of the open position in ``asset_id``."""
        pos = self._open.get(asset_id)
        return pos.cost if pos else 0

    def exposure(self, market: str) -> int:
        """Cost basis of the open positions in ``market``."""
        return sum(p.cost for p in self._open.values() if p.market == market)

    def total_exposure(self) -> int:
        """Cost basis of every open position."""
        return sum(p.cost for p in self._open.values())

    def position_value(self) -> int:
        """Open positions at their marks (floored per position), at cost when unmarked."""
        total = 0
        for asset, pos in self._open.items():
            mark = self._marks.get(asset)
            total += pos.cost if mark is None else mul(mark, pos.size)
        return total

    def marked_pnl(self) -> int:
        """Unrealised PnL: open positions at their marks minus their cost basis."""
        return self.position_value() - self.total_exposure()

    def total_pnl(self) -> int:
        """Realised plus marked PnL (what the daily loss limit watches)."""
        return self.realised_pnl + self.marked_pnl()

    def equity(self) -> int:
        """Cash plus marked positions."""
        return self.cash + self.position_value()

    def snapshot(self, seq: int, ts_ns: int) -> dict[str, Any]:
        """A row of the ``pnl`` table (:data:`polyarb.runs.schema.PNL`)."""
        value = self.position_value()
        exposure = self.total_exposure()
        return {
            "seq": seq,
            "ts_ns": ts_ns,
            "cash": self.cash,
            "position_value": value,
            "realised_pnl": self.realised_pnl,
            "marked_pnl": value - exposure,
            "fees_paid": self.fees_paid,
            "gas_paid": self.gas_paid,
            "exposure": exposure,
        }

    def position_rows(self) -> list[dict[str, Any]]:
        """Rows of the ``positions`` table: settled ones (in settlement order), then open ones."""
        rows = list(self._settled)
        for asset in sorted(self._open):
            pos = self._open[asset]
            rows.append(
                {
                    "market": pos.market,
                    "asset_id": asset,
                    "size": pos.size,
                    "cost": pos.cost,
                    "settled": False,
                    "payout": None,
                }
            )
        return rows

    def open_assets(self) -> dict[str, str]:
        """Asset id → market of every open position."""
        return {a: p.market for a, p in self._open.items()}

    # --- internals ---------------------------------------------------------

    def _position(self, market: str, asset_id: str) -> _Position:
        pos = self._open.get(asset_id)
        if pos is None:
            pos = self._open[asset_id] = _Position(market, asset_id)
        elif pos.market != market:
            raise LedgerError(f"asset {asset_id} booked under {pos.market}, not {market}")
        return pos

    def _drop_if_empty(self, asset_id: str) -> None:
        pos = self._open.get(asset_id)
        if pos is not None and pos.size == 0:
            del self._open[asset_id]

    @staticmethod
    def _require(ok: bool, what: str) -> None:
        if not ok:
            raise LedgerError(f"invalid {what}")
