"""Run a real shadow (feed → recorder + engine) against a real `serve` on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from polyarb.alerts import AlertRules
from polyarb.alerts.rules import load_alert_rules
from polyarb.config.profile import Profile, load_profile
from polyarb.feed import FeedConfig
from polyarb.recording import SessionReader
from polyarb.server import FaultPlan
from polyarb.server.thread import ServerThread
from polyarb.shadow.runner import ShadowOptions, ShadowRun

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "profiles"


def profile_for(session_id: str) -> Profile:
    name = "live_shadow_negrisk_v1" if session_id.startswith("negrisk") else "live_shadow_atomic_v1"
    return load_profile(PROFILES / f"{name}.yaml")


def production_rules() -> AlertRules:
    return load_alert_rules(PROFILES / "alerts.production.yaml")


def run_shadow(
    source: Path,
    recordings: Path,
    session_id: str = "sh",
    *,
    profile: Profile | None = None,
    rules: AlertRules | None = None,
    faults: FaultPlan | None = None,
    speed: float | None = None,
    drop_engine_frame: int | None = None,
    tick_s: float = 0.05,
    silence_s: float = 60.0,
    grace_s: float = 0.5,
    notify: Any = None,
    settle_until: Callable[[ShadowRun], bool] | None = None,
) -> dict[str, Any]:
    """Shadow ``source`` served by a real server until the server has played it all (and
    ``settle_until(shadow)`` holds: a condition, not a longer guess, on a loaded machine)."""
    reader = SessionReader(source)
    feed = FeedConfig(
        tick_interval_s=tick_s,
        silence_timeout_s=silence_s,
        backoff_initial_s=0.3,
        backoff_max_s=0.5,
        ping_interval_s=1.0,
    )
    with ServerThread(source, speed=speed, faults=faults) as server:
        opts = ShadowOptions(
            profile=profile or profile_for(reader.id),
            rules=rules or production_rules(),
            markets=reader.markets(),
            assets=list(reader.manifest["assets"]),
            recordings=recordings,
            session_id=session_id,
            feed=FeedConfig(**{**feed.__dict__, "url": server.url}),
            flush_interval_s=0.2,
            drop_engine_frame=drop_engine_frame,
            rng=random.Random(7),
            notify=notify,
        )
        shadow = ShadowRun(opts)

        async def main() -> dict[str, Any]:
            task = asyncio.create_task(shadow.run())
            await asyncio.to_thread(server.wait_finished, 120)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while settle_until is not None and not settle_until(shadow):
                assert loop.time() < deadline, "the shadow run never settled"
                await asyncio.sleep(0.05)
            # The server has written every frame; a loaded shadow may still be reading them.
            # Stop once its frame count has stood still for a second (a fixed grace lost the
            # last frame of a 38,351-frame session on a busy CI machine), then the grace.
            seen, still_since = -1, loop.time()
            while loop.time() - still_since < 1.0:
                assert loop.time() < deadline + 60, "the shadow never stopped receiving"
                if shadow._frames != seen:
                    seen, still_since = shadow._frames, loop.time()
                await asyncio.sleep(0.05)
            await asyncio.sleep(grace_s)
            shadow.stop()
            return await task

        return asyncio.run(main())
