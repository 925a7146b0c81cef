"""The breaker drill: replay a session with the operator's profile through a faulty venue.

A drill proves, without money, that the circuit breaker opens after the profile's
``risk.consecutive_failures`` and closes after ``risk.breaker_cooldown_s``
(docs/PRODUCTION_RUNBOOK.md §Breaker drill). Time is engine time (the session's rows), so a 300 s cool-down passes in the
seconds a replay takes. The fault is in the venue, never in the profile: :class:`FaultVenue`
kills every order of the first ``kills`` baskets (FOK killed, nothing filled, so nothing needs
an unwind and no UNWIND_HELD halts the run before the breaker opens). The run is written as
``mode: drill`` under the session's ``runs/``; promote-check counts its CIRCUIT_BREAKER_OPEN
fired → cleared rows as breaker evidence for the profile with the same sha256.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from polyarb.execution.orders import KILLED, Order, OrderResult
from polyarb.execution.venue_api import BookView, UserUpdate, Venue
from polyarb.protocol.markets import MarketMeta

DEFAULT_KILLS = 3
BREAKER_RULE = "CIRCUIT_BREAKER_OPEN"


class FaultVenue:
    """Drill-only :class:`Venue`: kills every order of the first ``kills`` baskets, else ``inner``."""

    def __init__(self, inner: Venue, kills: int) -> None:
        self.inner = inner
        self.simulated = inner.simulated
        self._left = kills
        self._faulted: set[str] = set()
        self._killed: list[tuple[int, int, Order, int]] = []
        self._counter = 0

    def submit(self, order: Order, now_ns: int) -> int:
        """Kill the order if its basket is one of the first ``kills``; else pass it on."""
        if order.decision_id not in self._faulted and self._left > 0:
            self._faulted.add(order.decision_id)
            self._left -= 1
        if order.decision_id not in self._faulted:
            return self.inner.submit(order, now_ns)
        # Answered at once: the fault is the exchange killing the FOK, not a slow one.
        heapq.heappush(self._killed, (now_ns, self._counter, order, now_ns))
        self._counter += 1
        return now_ns

    @property
    def faulted(self) -> int:
        """Baskets killed so far."""
        return len(self._faulted)

    def next_arrival_ns(self) -> int | None:
        """The earliest answer due, killed or real."""
        times = [t for t in (self.inner.next_arrival_ns(),) if t is not None]
        if self._killed:
            times.append(self._killed[0][0])
        return min(times) if times else None

    def pending(self) -> int:
        """Orders in flight, killed ones included."""
        return len(self._killed) + self.inner.pending()

    def on_time(self, now_ns: int, book: BookView, seq: int) -> list[OrderResult]:
        """Killed answers due by ``now_ns`` first (submission order), then the inner venue's."""
        out: list[OrderResult] = []
        while self._killed and self._killed[0][0] <= now_ns:
            arrive, _, order, submit_ns = heapq.heappop(self._killed)
            out.append(
                OrderResult(
                    order,
                    KILLED,
                    "insufficient_liquidity",
                    submit_ns,
                    arrive,
                    seq,
                    order.limit_price,
                    order.size,
                )
            )
        out.extend(self.inner.on_time(now_ns, book, seq))
        return out

    def on_user(self, seq: int, now_ns: int, payload: str) -> UserUpdate:
        """Delegated."""
        return self.inner.on_user(seq, now_ns, payload)

    def on_level(self, asset_id: str, side: str, price: int, size: int) -> None:
        """Delegated."""
        self.inner.on_level(asset_id, side, price, size)

    def on_snapshot(self, asset_id: str, bids: Mapping[int, int], asks: Mapping[int, int]) -> None:
        """Delegated."""
        self.inner.on_snapshot(asset_id, bids, asks)

    def update_market(self, meta: MarketMeta) -> None:
        """Delegated."""
        self.inner.update_market(meta)


@dataclass(frozen=True)
class DrillResult:
    """What a breaker drill saw; ``ok`` when the breaker opened and closed again."""

    session: str
    run_id: str
    run_dir: str
    profile: str
    profile_name: str
    profile_sha256: str
    file_sha256: str
    consecutive_failures: int
    cooldown_s: int
    kills: int
    baskets_killed: int
    opened: int
    recovered: int
    halted: bool
    problem: str

    @property
    def ok(self) -> bool:
        """The breaker opened and recovered at least once."""
        return self.recovered > 0 and not self.problem

    def to_dict(self) -> dict[str, object]:
        """JSON-ready, with ``ok``."""
        return {**asdict(self), "ok": self.ok}


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes: the drill proves it did not change the profile file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def breaker_cycles(alerts_jsonl: Path) -> tuple[int, int]:
    """(opened, recovered) from a run's ``alerts.jsonl``: fired rows, fired rows then cleared."""
    states: list[str] = []
    if alerts_jsonl.is_file():
        for line in alerts_jsonl.read_text().splitlines():
            row = json.loads(line)
            if row.get("rule") == BREAKER_RULE:
                states.append(str(row.get("state")))
    opened = states.count("fired")
    recovered = sum(1 for a, b in itertools.pairwise(states) if a == "fired" and b == "cleared")
    return opened, recovered


def drill_breaker(
    session: Path, profile_path: Path, *, kills: int = DEFAULT_KILLS, run_id: str = "drill-breaker"
) -> DrillResult:
    """Replay ``session`` with the profile at ``profile_path`` through a :class:`FaultVenue`."""
    from polyarb.alerts import rules_for_profile
    from polyarb.config.profile import load_profile
    from polyarb.engine.replay import replay
    from polyarb.execution.latency import Latency
    from polyarb.execution.venue import SimVenue
    from polyarb.recording.reader import SessionReader

    before = file_sha256(profile_path)
    profile = load_profile(profile_path)
    rules = rules_for_profile(profile_path, profile.alerts)
    reader = SessionReader(session)
    # The engine hands every market to the venue (update_market) before the first row.
    venue = FaultVenue(SimVenue(Latency.from_profile(profile.latency), {}), kills)
    run = replay(session, profile, run_id=run_id, alert_rules=rules, venue=venue, mode="drill")
    after = file_sha256(profile_path)
    run_dir = Path(run.run_dir or reader.dir / "runs" / run_id)
    opened, recovered = breaker_cycles(run_dir / "alerts.jsonl")
    threshold = profile.risk.consecutive_failures
    cooldown_s = profile.risk.breaker_cooldown_s
    problem = ""
    if after != before:
        problem = f"{profile_path}: the profile file changed during the drill"
    elif not rules.rule(BREAKER_RULE).enabled:
        problem = f"{profile_path}: its alert rules do not include {BREAKER_RULE}"
    elif opened == 0 and threshold > kills:
        problem = (
            f"breaker did not open: the profile's risk.consecutive_failures={threshold} "
            f"is more than the drill's --kills {kills}"
        )
    elif opened == 0:
        problem = (
            f"breaker did not open: the session gave {venue.faulted} basket(s) to kill, the "
            f"profile needs {threshold} consecutive failures; drill a session with more "
            "opportunities"
        )
    elif recovered == 0:
        problem = (
            f"breaker opened but did not close: the session ends before the "
            f"{cooldown_s} s cool-down passed (engine time); drill a longer session"
        )
    return DrillResult(
        session=reader.id,
        run_id=run_id,
        run_dir=str(run_dir),
        profile=str(profile_path),
        profile_name=profile.name,
        profile_sha256=profile.sha256(),
        file_sha256=after,
        consecutive_failures=threshold,
        cooldown_s=cooldown_s,
        kills=kills,
        baskets_killed=venue.faulted,
        opened=opened,
        recovered=recovered,
        halted=bool(run.summary.halts),
        problem=problem,
    )
