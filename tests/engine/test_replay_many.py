"""Several profiles from one parse (issue 16 item 3): each run equals that profile's own replay."""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from engine_support import big_profile

from polyarb.api import default_profile
from polyarb.cli import main
from polyarb.config.profile import load_profile
from polyarb.engine import replay, replay_many

# the package exports a function named replay, which shadows the module as an attribute
replay_module = importlib.import_module("polyarb.engine.replay")
REPO = Path(__file__).resolve().parents[2]
PROFILES = ("live_shadow_atomic_v1.yaml", "live_constrained_atomic_v1.yaml")


def test_each_run_equals_its_single_profile_replay(
    negrisk_session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """decisions_sha256, summary and table counts match, and every frame was parsed once."""
    session = tmp_path / negrisk_session.name
    shutil.copytree(negrisk_session, session)
    profiles = [
        big_profile(),
        big_profile(trade_size_usd=Decimal("50")),
        default_profile(),
        load_profile(REPO / "profiles" / PROFILES[0]),
    ]
    singles = [replay(session, p, run_id=f"single-{i}") for i, p in enumerate(profiles)]
    assert sum(s["counts"]["decisions"] for s in singles) > 0  # something to compare
    parses = 0
    real_parse = replay_module.parse_frame

    def counting_parse(payload: str):  # type: ignore[no-untyped-def]
        nonlocal parses
        parses += 1
        return real_parse(payload)

    monkeypatch.setattr(replay_module, "parse_frame", counting_parse)
    many = replay_many(session, profiles)
    assert [m["decisions_sha256"] for m in many] == [s["decisions_sha256"] for s in singles]
    assert [m["summary"] for m in many] == [s["summary"] for s in singles]
    assert [m["counts"] for m in many] == [s["counts"] for s in singles]
    assert parses == many[0]["summary"]["rows_by_kind"]["frame"]  # once, not once per profile
    for m in many:
        assert (Path(m["run_dir"]) / "run.json").is_file()


def test_cli_takes_repeated_profiles_and_rejects_a_shared_run_id(
    copy_session: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    session = copy_session("crossing-burst-2026-09-29")  # small: this checks the wiring
    args = ["replay", "--session", str(session), "--json"]
    for p in PROFILES:
        args += ["--profile", str(REPO / "profiles" / p)]
    assert main(args) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["profile_name"] for r in runs] == [
        load_profile(REPO / "profiles" / p).name for p in PROFILES
    ]
    assert main([*args, "--run-id", "x"]) == 2
    same = str(REPO / "profiles" / PROFILES[0])
    assert main(["replay", "--session", str(session), "--profile", same, "--profile", same]) == 2


def test_python_api_replays_many_profiles(copy_session: Callable[[str], Path]) -> None:
    """``polyarb.replay_many`` takes profile paths like ``polyarb.replay`` and matches it."""
    import polyarb

    session = copy_session("crossing-burst-2026-09-29")
    paths = [REPO / "profiles" / p for p in PROFILES]
    many = polyarb.replay_many(session, [*paths, None])
    singles = [polyarb.replay(session, p, run_id=f"one-{i}") for i, p in enumerate([*paths, None])]
    assert [m["decisions_sha256"] for m in many] == [s["decisions_sha256"] for s in singles]
    assert [m["summary"] for m in many] == [s["summary"] for s in singles]


def test_profiles_that_build_the_same_books_share_one_pass(
    negrisk_session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Books are built once per row for a group of profiles, and each engine still equals
    its own replay.

    The profiles differ in latency (so orders of different engines arrive, and close
    quiet events, at different times between rows), in size, and one in its stale-book
    limit (its own book pass). Before the shared pass each engine applied every snapshot
    itself: the count of ``apply_snapshot`` calls was one per snapshot per profile.
    """
    from polyarb.book import OrderBook
    from polyarb.config.profile import LatencyModel

    session = tmp_path / negrisk_session.name
    shutil.copytree(negrisk_session, session)
    latencies = [
        LatencyModel(mean_ms=0),
        LatencyModel(mean_ms=5, jitter_ms=4, kind="uniform", seed=3),
        LatencyModel(mean_ms=40, jitter_ms=30, kind="uniform", seed=7),
        LatencyModel(mean_ms=400),
    ]
    profiles = [big_profile(latency=lat).model_copy(update={"name": f"l{i}"})
                for i, lat in enumerate(latencies)]  # fmt: skip
    profiles.append(big_profile(stale_book_ms=500).model_copy(update={"name": "stale"}))
    singles = [replay(session, p, run_id=f"single-{i}") for i, p in enumerate(profiles)]
    assert sum(s["summary"]["fills"] for s in singles) > 0  # orders really arrived
    applied = 0
    real_apply = OrderBook.apply_snapshot

    def counting_apply(self: OrderBook, *args: object, **kwargs: object) -> None:
        nonlocal applied
        applied += 1
        real_apply(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(OrderBook, "apply_snapshot", counting_apply)
    many = replay_many(session, profiles)
    assert [m["decisions_sha256"] for m in many] == [s["decisions_sha256"] for s in singles]
    assert [m["summary"] for m in many] == [s["summary"] for s in singles]
    assert [m["counts"] for m in many] == [s["counts"] for s in singles]
    snapshots = many[0]["summary"]["events_by_type"]["BookSnapshot"]
    # two book passes (the stale-book limit differs for one profile), not five
    assert applied <= 2 * snapshots
