"""The breaker drill: the operator's profile, unchanged, against injected faults and no money.

A drill proves that the circuit breaker opens after the profile's
``risk.consecutive_failures`` and closes after ``risk.breaker_cooldown_s``
(docs/PRODUCTION_RUNBOOK.md §Breaker drill). Two feeds:

* ``serve`` (the default, :func:`drill_breaker_served`): a loopback ``polyarb serve`` plays a
  generated drill-only neg-risk session (:mod:`polyarb.ops.drill_session`) whose planted
  baskets lose their liquidity before the orders arrive, and the real shadow path
  (:class:`DrillShadowRun`: feed → recorder + engine, the profile's simulated venue) trades it
  until the breaker has opened and closed. Its clock runs ``speed`` times faster than the wall
  (the server plays at the same speed), so a 300 s cool-down passes in 300/speed s and the
  engine sees the session's own timing. The recorded session is the evidence.
* ``generated`` (:func:`drill_breaker_generated`): the same generated session, written under
  ``recordings`` and replayed in-process (no server, engine time only): quick, deterministic.
* ``replay`` (:func:`drill_breaker`): a recorded session replayed through :class:`FaultVenue`,
  which kills every order of the first ``kills`` baskets. Time is engine time (the rows).

Binary complete-set profiles get a binary drill market whose plants are inconsistent books
(:mod:`polyarb.ops.drill_session`); the run turns the detector's mirror guard off
(:func:`relax_mirror_guard`), as no mirrored feed can show a binary edge. Live-mode profiles
run dry: the same shadow path and simulated venue (no key, no order leaves the machine),
their limits, breaker and alert rules, and run.json carries their sha256 (``ran_dry``).

Either way the fault is never in the profile; its file's sha256 is checked before and after.
The run's ``mode`` is ``drill``; promote-check counts its CIRCUIT_BREAKER_OPEN fired → cleared
rows as breaker evidence for runs of the profile with the same sha256.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from polyarb.alerts import AlertRules
from polyarb.clock import WallClock
from polyarb.config.profile import Profile
from polyarb.engine import Engine
from polyarb.execution.orders import KILLED, Order, OrderResult
from polyarb.execution.venue_api import BookView, UserUpdate, Venue
from polyarb.ops.drill_session import DrillSession
from polyarb.protocol.markets import MarketMeta
from polyarb.runs.runjson import RunJson, RunMode
from polyarb.shadow.runner import ShadowOptions, ShadowRun

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
    feed: str = "replay"
    """``serve`` (a loopback ``polyarb serve`` and the shadow path) or ``replay``."""
    fills: int = 0
    """Fills the drill's run made: a drill's baskets are meant to fail, so normally 0."""
    reconnects: int = 0
    """Served drill: feed reconnects (the server cuts the first connection mid cool-down)."""
    ran_dry: bool = False
    """A live-mode profile drilled on the simulated venue (dry run): no order left the machine."""
    mirror_guard_off: bool = False
    """Binary drill: the detector's mirror guard was off so the inconsistent plants reach it."""

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


def relax_mirror_guard(engine: Engine) -> bool:
    """Turn off the binary detector's mirror guard for a drill run; True if there was one.

    A binary drill's plants are inconsistent books (drill_session); the guard exists to
    refuse them, so with it on no feed can make a binary profile trade. Nothing else of the
    detector, the profile's sizing, risk, breaker or alert rules changes.
    """
    from polyarb.detect.binary import BinaryCompleteSet

    found = False
    for detector in engine.detectors:
        if isinstance(detector, BinaryCompleteSet):
            detector.require_mirror = False
            found = True
    return found


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
    from polyarb.ops.drill_session import DrillInputError, is_binary_drill, untradable_reason
    from polyarb.recording.reader import SessionReader

    before = file_sha256(profile_path)
    profile = load_profile(profile_path)
    if reason := untradable_reason(profile):
        raise DrillInputError(reason)
    if is_binary_drill(profile):
        raise DrillInputError(
            f"profile {profile.name!r} trades binary complete sets: a recorded (consistent, "
            "mirrored) feed never shows one an edge, so --feed replay cannot open its breaker; "
            "use --feed serve (default) or --feed generated, which plant inconsistent books"
        )
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
    if threshold > kills:
        not_opened = (
            f"the profile's risk.consecutive_failures={threshold} is more than the drill's "
            f"--kills {kills}"
        )
    else:
        not_opened = (
            f"the session gave {venue.faulted} basket(s) to kill, the profile needs "
            f"{threshold} consecutive failures; drill a session with more opportunities (or "
            "the default --feed serve, which plants them)"
        )
    problem = _problem(
        profile_path, before, after, rules.rule(BREAKER_RULE).enabled, opened, recovered,
        threshold, cooldown_s, not_opened,
    )  # fmt: skip
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
        fills=run.summary.fills,
        ran_dry=profile.mode == "live",
    )


DEFAULT_SPEED = 20.0
"""How many times faster than the wall the served drill runs (feed and shadow clock)."""


class DrillClock(WallClock):
    """Receive times running ``speed`` times faster than the wall, from the moment it is made.

    The served drill's engine sees the served session's own timing (the server plays it
    at the same speed), so the profile's cool-down and latency are engine time as always;
    the monotonic clock (pings, silence, tick cadence) stays real.
    """

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._origin = time.time_ns()

    def now_ns(self) -> int:
        return self._origin + int((time.time_ns() - self._origin) * self.speed)


class DrillShadowRun(ShadowRun):
    """The shadow path (simulated venue) run as a drill: mode ``drill``, and it stops itself
    once the breaker has opened and closed again (the caller stops it when the feed is over)."""

    def __init__(self, opts: ShadowOptions, run_id: str) -> None:
        self.RUN_ID = run_id
        self.opened = 0
        self.recovered = 0
        self._was_open = False
        super().__init__(opts)
        self.mirror_guard_off = relax_mirror_guard(self.engine)

    def accepts(self, profile: Profile) -> bool:
        # A live-mode profile runs dry here: MODE stays dry_run, so the engine is not live
        # (no kill switch, simulated venue) while the profile's limits and breaker are its own.
        return True

    def run_mode(self) -> RunMode:
        return "drill"

    def _on_row(self, kind: str, payload: str, recv_ns: int, mono_ns: int, conn_id: int) -> None:
        super()._on_row(kind, payload, recv_ns, mono_ns, conn_id)
        if kind != "tick":
            return
        is_open = BREAKER_RULE in self.engine.alerts.active
        if is_open and not self._was_open:
            self.opened += 1
        elif self._was_open and not is_open:
            self.recovered += 1
            self.sink.log("drill: the breaker opened and recovered; stopping")
            self.stop()
        self._was_open = is_open


def _start_serve(
    session: Path, speed: float, disconnect_after: int
) -> tuple[subprocess.Popen[str], str]:
    """A loopback ``polyarb serve`` of ``session`` on a free port; (process, ws url).

    With ``disconnect_after`` the server cuts the first connection (close 1011) after that
    many frames: the feed fault the breaker must recover across.
    """
    cmd = [sys.executable, "-m", "polyarb", "serve", "--session", str(session),
           "--host", "127.0.0.1", "--port", "0", "--speed", str(speed), "--exit-at-end"]  # fmt: skip
    if disconnect_after:
        cmd += ["--disconnect-after", str(disconnect_after), "--fault-connections", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if " on ws://" not in first:
        proc.kill()
        _, err = proc.communicate(timeout=30)
        raise RuntimeError(f"polyarb serve did not start: {(err or first).strip()[-500:]}")
    return proc, first.split(" on ", 1)[1].split()[0]


def _stop_serve(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def drill_session_id(recordings: Path, profile_name: str) -> str:
    """A new session id for a served drill: ``drill-<profile>-<UTC time>`` (suffixed if taken)."""
    import datetime as dt

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    base = f"drill-{profile_name}-{stamp}"
    sid, n = base, 1
    while (recordings / sid).exists():
        n += 1
        sid = f"{base}-{n}"
    return sid


def drill_breaker_served(
    source: Path,
    profile_path: Path,
    recordings: Path,
    *,
    speed: float = DEFAULT_SPEED,
    run_id: str = "drill-breaker",
    session_id: str | None = None,
    rounds: int | None = None,
    reconnect: bool = True,
) -> DrillResult:
    """Serve a drill feed built from ``source``'s markets and shadow it with the profile.

    Raises :class:`~polyarb.ops.drill_session.DrillInputError` when the profile can never
    trade a drill feed (binary complete sets) or ``source`` has no complete neg-risk event.
    """
    import asyncio
    import random
    import tempfile

    from polyarb.alerts import rules_for_profile
    from polyarb.config.profile import load_profile
    from polyarb.feed import FeedConfig
    from polyarb.ops.drill_session import (
        DrillInputError,
        build_drill_session,
        untradable_reason,
    )
    from polyarb.recording.reader import SessionReader

    before = file_sha256(profile_path)
    profile = load_profile(profile_path)
    if reason := untradable_reason(profile):
        raise DrillInputError(reason)
    rules = rules_for_profile(profile_path, profile.alerts)
    sid = session_id or drill_session_id(recordings, profile.name)
    with tempfile.TemporaryDirectory(prefix="polyarb-drill-") as tmp:
        feed = build_drill_session(source, Path(tmp), "drill-feed", profile, rounds=rounds)
        reader = SessionReader(feed.path)
        proc, url = _start_serve(feed.path, speed, feed.disconnect_after if reconnect else 0)
        try:
            config = FeedConfig(
                url=url,
                tick_interval_s=profile.tick_interval_ms / 1000 / speed,
                backoff_initial_s=0.2,
                backoff_max_s=0.5,
                ping_interval_s=1.0,
            )
            shadow = DrillShadowRun(
                ShadowOptions(
                    profile=profile,
                    rules=rules,
                    markets=reader.markets(),
                    assets=list(reader.manifest["assets"]),
                    recordings=recordings,
                    session_id=sid,
                    feed=config,
                    flush_interval_s=0.5,
                    rng=random.Random(0),
                    clock=DrillClock(speed),
                ),
                run_id,
            )
            # The served session ends MARGIN_S after the cool-down: past it, nothing can recover.
            limit_s = feed.duration_s / speed * 3 + 60

            async def main() -> RunJson:
                task = asyncio.create_task(shadow.run())
                loop = asyncio.get_running_loop()
                started = loop.time()
                while not task.done():
                    over = proc.poll() is not None or loop.time() - started > limit_s
                    if over:
                        await asyncio.sleep(1.0)  # the last frames and a tick past them
                        shadow.stop()
                        break
                    await asyncio.sleep(0.1)
                return await task

            run = asyncio.run(main())
        finally:
            _stop_serve(proc)
    return _feed_result(
        run, feed, profile, profile_path, rules, before, recordings / sid, "serve",
        shadow.mirror_guard_off,
    )  # fmt: skip


def drill_breaker_generated(
    source: Path,
    profile_path: Path,
    recordings: Path,
    *,
    run_id: str = "drill-breaker",
    session_id: str | None = None,
) -> DrillResult:
    """The served drill's generated session, kept under ``recordings`` and replayed in-process.

    Same plants, profile and evidence (a ``source.mode: drill`` session with a mode-``drill``
    run) as :func:`drill_breaker_served`, without the server and the wall clock.
    """
    from polyarb.alerts import rules_for_profile
    from polyarb.config.profile import load_profile
    from polyarb.engine.replay import replay
    from polyarb.ops.drill_session import build_drill_session

    before = file_sha256(profile_path)
    profile = load_profile(profile_path)
    rules = rules_for_profile(profile_path, profile.alerts)
    sid = session_id or drill_session_id(recordings, profile.name)
    feed = build_drill_session(source, recordings, sid, profile)
    guard: list[bool] = []
    run = replay(
        feed.path, profile, run_id=run_id, alert_rules=rules, mode="drill",
        prepare=lambda engine: guard.append(relax_mirror_guard(engine)),
    )  # fmt: skip
    return _feed_result(
        run, feed, profile, profile_path, rules, before, feed.path, "generated", any(guard)
    )


def _feed_result(
    run: RunJson,
    feed: DrillSession,
    profile: Profile,
    profile_path: Path,
    rules: AlertRules,
    before: str,
    session_dir: Path,
    feed_name: str,
    mirror_guard_off: bool,
) -> DrillResult:
    """The result of a drill of the generated session (served or replayed in-process)."""
    after = file_sha256(profile_path)
    run_dir = Path(run.run_dir) if run.run_dir else session_dir / "runs" / run.run_id
    opened, recovered = breaker_cycles(run_dir / "alerts.jsonl")
    accepted = run.summary.verdicts.get("accept", 0)
    problem = _problem(
        profile_path, before, after, rules.rule(BREAKER_RULE).enabled, opened, recovered,
        profile.risk.consecutive_failures, profile.risk.breaker_cooldown_s,
        f"the drill feed offered {feed.rounds} basket(s) and {accepted} were traded "
        f"({run.summary.rejects_by_reason or 'no rejects'}); the profile needs "
        f"{profile.risk.consecutive_failures} consecutive failures",
    )  # fmt: skip
    if not problem and run.error:
        problem = f"the drill's engine stopped: {run.error}"
    return DrillResult(
        session=session_dir.name,
        run_id=run.run_id,
        run_dir=str(run_dir),
        profile=str(profile_path),
        profile_name=profile.name,
        profile_sha256=profile.sha256(),
        file_sha256=after,
        consecutive_failures=profile.risk.consecutive_failures,
        cooldown_s=profile.risk.breaker_cooldown_s,
        kills=feed.rounds,
        baskets_killed=accepted if run.summary.fills == 0 else 0,
        opened=opened,
        recovered=recovered,
        halted=bool(run.summary.halts),
        problem=problem,
        feed=feed_name,
        fills=run.summary.fills,
        reconnects=run.feed.reconnects if run.feed is not None else 0,
        ran_dry=profile.mode == "live",
        mirror_guard_off=mirror_guard_off,
    )


def _problem(
    profile_path: Path,
    before: str,
    after: str,
    rule_enabled: bool,
    opened: int,
    recovered: int,
    threshold: int,
    cooldown_s: int,
    not_opened: str,
) -> str:
    """Why a drill did not prove the breaker ("" when it did)."""
    if after != before:
        return f"{profile_path}: the profile file changed during the drill"
    if not rule_enabled:
        return f"{profile_path}: its alert rules do not include {BREAKER_RULE}"
    if opened == 0:
        return f"breaker did not open: {not_opened}"
    if recovered == 0:
        return (
            f"breaker opened but did not close: the feed ended before the {cooldown_s} s "
            "cool-down passed (engine time)"
        )
    return ""
