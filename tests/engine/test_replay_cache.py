"""The decoded-session cache (issue 16 item 4): replays from it equal replays from the frames."""

from __future__ import annotations

import importlib
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_support import big_profile

from polyarb.cli import main
from polyarb.engine import replay, replay_many
from polyarb.protocol.parser import parse_frame
from polyarb.recording import SessionReader, event_cache
from polyarb.recording.event_cache import (
    build_cache,
    decode_events,
    encode_events,
    ensure_cache,
    open_cache,
)


@pytest.fixture
def session(negrisk_session: Path, tmp_path: Path) -> Path:
    copy = tmp_path / negrisk_session.name
    shutil.copytree(negrisk_session, copy)
    return copy


def test_events_round_trip_through_the_cache_encoding(session: Path) -> None:
    """Every real frame's events decode from the cache equal (type and value) to the parse."""
    reader = SessionReader(session)
    frames = [f.payload for f in reader.frames() if f.kind == "frame"]
    assert frames
    for payload in frames:
        parsed = parse_frame(payload)
        decoded = decode_events(*encode_events(parsed))
        assert decoded == parsed
        assert [type(e) for e in decoded] == [type(e) for e in parsed]
    mixed = parse_frame(frames[0]) + parse_frame("PONG") + parse_frame("{not json")
    assert decode_events(*encode_events(mixed)) == mixed


def test_replay_from_the_cache_gives_byte_identical_decisions(
    session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same decisions_sha256, summary and decisions.parquet bytes, and no frame is parsed.

    Before the cache existed ``replay`` had no ``cache`` argument and always parsed.
    """
    profile = big_profile()
    plain = replay(session, profile, run_id="plain")
    assert plain.summary.decisions > 0
    build_cache(SessionReader(session))

    def no_parse(payload: str) -> None:
        raise AssertionError("a cached replay parsed a frame")

    # the package exports a function named replay, which shadows the module as an attribute
    monkeypatch.setattr(importlib.import_module("polyarb.engine.replay"), "parse_frame", no_parse)
    monkeypatch.setattr(importlib.import_module("polyarb.engine.engine"), "parse_frame", no_parse)
    cached = replay(session, profile, run_id="cached", cache=True)
    assert cached.decisions_sha256 == plain.decisions_sha256
    assert cached.summary == plain.summary
    runs = session / "runs"
    assert (runs / "cached" / "decisions.parquet").read_bytes() == (
        runs / "plain" / "decisions.parquet"
    ).read_bytes()
    many = replay_many(session, [profile], run_ids=["many"], cache=True)
    assert many[0].decisions_sha256 == plain.decisions_sha256


def test_a_stale_or_corrupt_cache_is_ignored_with_a_log_line_and_rebuilt(
    session: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A flipped byte, a missing .sha256, another parser version, changed frames: each is
    named, never read, and the rebuilt cache replays to the same decisions."""
    reader = SessionReader(session)
    plain = replay(session, big_profile(), run_id="plain")
    path = build_cache(reader)
    assert open_cache(reader) == (path, "")

    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    found, why = open_cache(reader)
    assert found is None and "corrupt" in why and "SHA-256" in why
    with caplog.at_level(logging.WARNING, logger="polyarb.replay"):
        again = replay(session, big_profile(), run_id="again", cache=True)
    assert again.decisions_sha256 == plain.decisions_sha256
    assert "corrupt" in caplog.text and "rebuilding" in caplog.text
    assert "rebuilding" in (session / "runs" / "again" / "run.log").read_text()
    assert open_cache(reader) == (path, "")

    path.with_name(path.name + ".sha256").unlink()
    assert "cut short" in open_cache(reader)[1]
    build_cache(reader)

    monkeypatch.setattr(event_cache, "parser_version", lambda: "another")
    found, why = open_cache(reader)
    assert found is None and "stale" in why
    notes: list[str] = []
    rebuilt = ensure_cache(reader, log=notes.append)
    assert rebuilt.name.startswith("events-another-") and "stale" in notes[0]
    assert not path.exists()  # the old one is gone, not left to pile up
    monkeypatch.undo()

    part = sorted((session / "frames").glob("part-*.parquet"))[0]
    raw = bytearray(part.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # same size and footer, other frames
    part.write_bytes(bytes(raw))
    assert "stale" in open_cache(reader)[1]


def test_cli_cache_build_verify_drop_and_replay_cache(
    copy_session: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    session = copy_session("crossing-burst-2026-09-29")
    assert main(["sessions", "cache", "verify", str(session)]) == 1
    assert "no cache" in capsys.readouterr().out
    assert main(["sessions", "cache", "build", str(session)]) == 0
    assert "built cache/events-" in capsys.readouterr().out
    assert main(["sessions", "cache", "verify", str(session)]) == 0
    assert main(["replay", "--session", str(session), "--cache", "--run-id", "c"]) == 0
    assert main(["replay", "--session", str(session), "--run-id", "p"]) == 0
    runs = session / "runs"
    assert (runs / "c" / "decisions.parquet").read_bytes() == (
        runs / "p" / "decisions.parquet"
    ).read_bytes()
    assert main(["sessions", "cache", "drop", str(session)]) == 0
    assert not (session / "cache").exists()
    assert main(["sessions", "cache", "build", str(session / "nope")]) == 2
