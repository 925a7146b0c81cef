"""Issue 11 item 14: book integrity across hash eras (``book_integrity: hash | quotes | off``).

The session is the real crossing burst with every ``price_change`` hash from a rule we do
not reproduce (``eras_support``): books and quotes are the exchange's own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from eras_support import foreign_hash_session

from polyarb.cli import main
from polyarb.config.profile import Profile, ProfileError, parse_profile
from polyarb.engine import Engine, MemorySink
from polyarb.recording import SessionReader
from polyarb.recording.quality import certify


@pytest.fixture(scope="module")
def era(bundled_recordings: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return foreign_hash_session(bundled_recordings, tmp_path_factory.mktemp("era"))


@pytest.fixture(scope="module")
def diverged(bundled_recordings: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("diverged")
    return foreign_hash_session(bundled_recordings, root, drop_top_move=True, name="diverged")


def _replay(session: Path, policy: str) -> tuple[dict, list[tuple[str | None, str | None]]]:
    """Summary, and why YES / NO may not be traded (None: tradable) on every tick row once the
    first ``price_change`` event has closed (boundary 1 is the snapshots' event)."""
    reader = SessionReader(session)
    engine = Engine(reader.markets(), Profile(name="t", book_integrity=policy), MemorySink())  # type: ignore[arg-type]
    yes, no = reader.markets()[0].token_ids
    seen = []
    for row in reader.frames():
        engine.on_frame(row.seq, row.recv_ns, row.kind, row.payload, row.conn_id)
        if row.kind == "tick" and engine.state.counters["boundaries"] >= 2:
            seen.append((engine.state.untradable(yes), engine.state.untradable(no)))
    return engine.finish(), seen


def test_hash_policy_on_a_foreign_era_leaves_nothing_tradable(era: Path) -> None:
    """Today's (and the default) behaviour, now counted: every delta hash fails, both books
    go unverified at the first boundary and stay so until the final snapshot."""
    summary, seen = _replay(era, "hash")
    book = summary["book"]
    assert book["hash_checked"] == 93 and book["hash_mismatch"] == 93
    assert book["resyncs_requested"] == 2  # one per book, not one per boundary
    assert len(seen) > 100
    assert all(pair == ("unverified", "unverified") for pair in seen)


def test_quotes_policy_verifies_the_same_books(era: Path) -> None:
    """Fails on the old code (no such policy): with ``quotes`` the changes' own best bid/ask
    verify every boundary, so neither book is ever unverified and nothing is resynced."""
    summary, seen = _replay(era, "quotes")
    book = summary["book"]
    assert book["quotes_checked"] == 93 and book["quotes_mismatch"] == 0
    assert book["hash_checked"] == 0 and book["resyncs_requested"] == 0
    assert len(seen) > 100 and all("unverified" not in pair for pair in seen)
    assert sum(pair == (None, None) for pair in seen) > 10  # both legs really tradable


def test_quotes_policy_still_catches_a_diverged_book(diverged: Path) -> None:
    """A lost frame makes the quotes disagree: ``quotes`` marks the book unverified too."""
    summary, seen = _replay(diverged, "quotes")
    assert summary["book"]["quotes_mismatch"] > 0 and summary["book"]["resyncs_requested"] >= 1
    assert any("unverified" in pair for pair in seen)


def test_off_policy_checks_nothing(era: Path) -> None:
    summary, seen = _replay(era, "off")
    assert summary["book"]["hash_checked"] == 0 and summary["book"]["resyncs_requested"] == 0
    assert "quotes_checked" not in summary["book"]
    assert all("unverified" not in pair for pair in seen)


def test_book_integrity_is_validated_with_a_clear_message() -> None:
    assert Profile(name="t").book_integrity == "hash"
    with pytest.raises(ProfileError) as err:
        parse_profile({"name": "t", "book_integrity": "sha1"}, "p.yaml")
    assert "p.yaml" in str(err.value) and "book_integrity = 'sha1'" in str(err.value)


def test_sessions_check_names_a_foreign_hash_rule(era: Path, capsys) -> None:
    """Fails on the old code (no diagnosis): every delta hash fails, every quote agrees."""
    cert = certify(era)
    assert cert["integrity"]["diagnosis"] == "hash_rule_mismatch"
    assert cert["integrity"]["recommend"] == "quotes"
    assert cert["quotes"] == {"checked": 93, "disagree": 0, "examples": []}
    assert main(["sessions", "check", str(era)]) == 0
    out = capsys.readouterr().out
    assert "hash rule does not match this session" in out
    assert "recommended book_integrity: quotes" in out


def test_sessions_check_names_a_diverged_book(diverged: Path, capsys) -> None:
    cert = certify(diverged)
    assert cert["integrity"]["diagnosis"] == "book_diverged"
    assert cert["integrity"]["recommend"] == "hash"
    assert cert["quotes"]["disagree"] > 0
    assert main(["sessions", "check", str(diverged)]) == 0
    out = capsys.readouterr().out
    assert "book_diverged" in out and "quotes disagree at seq" in out


def test_sessions_check_on_the_real_burst_keeps_hash(bundled_recordings: Path) -> None:
    """The burst's one failure (a trade print the sample omits) is not a rule mismatch."""
    cert = certify(bundled_recordings / "crossing-burst-2026-09-29")
    assert cert["integrity"]["diagnosis"] == "isolated_hash_failures"
    assert cert["integrity"]["recommend"] == "hash"
    assert cert["quotes"]["disagree"] == 0


def test_replay_reads_book_integrity_from_the_profile_file(era: Path, tmp_path: Path) -> None:
    """The YAML setting reaches the engine through ``polyarb replay`` (run.json says so)."""
    import json
    import shutil

    recordings = tmp_path / "recordings"
    shutil.copytree(era, recordings / era.name)
    profile = tmp_path / "quotes.yaml"
    profile.write_text("name: era_quotes\nbook_integrity: quotes\n")
    args = ["--session", era.name, "--recordings", str(recordings), "--run-id", "q"]
    assert main(["replay", *args, "--profile", str(profile)]) == 0
    run = json.loads((recordings / era.name / "runs" / "q" / "run.json").read_text())
    assert run["summary"]["book"]["quotes_checked"] == 93
    assert run["summary"]["book"]["resyncs_requested"] == 0
