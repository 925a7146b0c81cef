"""Health the alert rules need from outside the feed: pUSD balance (exchange, chain) and RPC health.

A :class:`HealthMonitor` polls on its own thread and keeps the latest answer;
the feed merges :meth:`HealthMonitor.fields` into every ``tick`` row, so the
engine's LOW_BALANCE and RPC_UNHEALTHY rules read them from the recording and
a replay sees exactly what the live (or shadow) run saw.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from polyarb.chain.client import ChainClient
    from polyarb.config.profile import Profile
    from polyarb.env import EnvFile


class HealthMonitor:
    """``balance()`` (micro pUSD) and ``rpc`` polled every ``interval_s``; ``fields()`` for ticks.

    ``chain_balance`` (see :func:`chain_collateral`) is a second balance source; the tick's
    ``balance`` is the lowest of the sources that answered.

    ``rpc_ok`` is false when the node does not answer or its latest block is older than
    ``max_block_age_s`` (a stalled node answers with old blocks).
    """

    def __init__(
        self,
        *,
        balance: Callable[[], int] | None = None,
        rpc: ChainClient | None = None,
        chain_balance: Callable[[], int] | None = None,
        interval_s: float = 5.0,
        max_block_age_s: float | None = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Exchange first, then chain: the usable balance is the lower of those that answer
        # (the exchange's view and the wallet's pUSD/allowance on chain can disagree).
        self._balances = [b for b in (balance, chain_balance) if b is not None]
        self._rpc = rpc
        self.interval_s = interval_s
        self.max_block_age_s = max_block_age_s
        self.clock = clock
        self._fields: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0

    def poll_once(self) -> dict[str, Any]:
        """Ask both sources now; a source that fails leaves its field out (balance) or false."""
        out: dict[str, Any] = {}
        seen: list[int] = []
        for read in self._balances:
            try:
                seen.append(int(read()))
            except Exception:  # an unreachable source: no observation, the rule keeps state
                self.errors += 1
        if seen:
            out["balance"] = min(seen)
        if self._rpc is not None:
            health = self._rpc.health()
            ok = health.ok
            if ok and self.max_block_age_s is not None and health.block_timestamp is not None:
                ok = self.clock() - health.block_timestamp <= self.max_block_age_s
            out["rpc_ok"] = ok
        self._fields = out
        return out

    def fields(self) -> dict[str, Any]:
        """The latest answers (called by the feed when it writes a tick row)."""
        return dict(self._fields)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="polyarb-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.interval_s)


def chain_collateral(
    rpc: ChainClient, token: str, owner: str, spenders: tuple[str, ...] = ()
) -> Callable[[], int]:
    """Usable on-chain pUSD of ``owner``: its ERC-20 balance, capped by the smallest allowance
    to ``spenders`` (collateral the exchange may not pull cannot back an order)."""

    def read() -> int:
        usable = rpc.erc20_balance(token, owner)
        for spender in spenders:
            usable = min(usable, rpc.erc20_allowance(token, owner, spender))
        return usable

    return read


def shadow_monitor(
    env: EnvFile | None, profile: Profile, *, interval_s: float = 5.0
) -> HealthMonitor | None:
    """The monitor ``polyarb shadow`` runs when ``.env`` names a Polygon RPC, else None.

    Shadow has no exchange account, so LOW_BALANCE reads the wallet's pUSD on chain
    (``profile.chain.collateral``; the wallet from the private key or ``POLYARB_WALLET_ADDRESS``;
    allowances to ``POLYARB_ALLOWANCE_SPENDERS`` or Polymarket's spenders, as go/no-go checks).
    Without a wallet only RPC_UNHEALTHY is watched.
    """
    from polyarb.env import PRIVATE_KEY_VAR, RPC_URL_VAR, key_address

    url = env.secret(RPC_URL_VAR) if env is not None else None
    if env is None or not url:
        return None
    from polyarb.chain.client import ChainClient
    from polyarb.ops.gonogo import spenders_from_env

    rpc = ChainClient(url)
    key = env.get(PRIVATE_KEY_VAR)
    owner = key_address(key) if key else env.plain("POLYARB_WALLET_ADDRESS")
    balance = None
    if owner:
        spenders = tuple(spenders_from_env(env).values())
        balance = chain_collateral(rpc, profile.chain.collateral, owner, spenders)
    return HealthMonitor(balance=balance, rpc=rpc, interval_s=interval_s)
