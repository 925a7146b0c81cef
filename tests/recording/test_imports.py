"""The bundled real sessions: lossless conversion, real settlements, credit kept."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from polyarb.events import BookSnapshot, MarketResolved
from polyarb.protocol.book_hash import book_hash
from polyarb.protocol.parser import parse_frame
from polyarb.recording import SessionReader
from polyarb.units import format_fixed


def _exact(x: float) -> int:
    from decimal import Decimal

    return int((Decimal(repr(x)) * 10**6).to_integral_value())


def test_resolvedkit_session_is_lossless(bundled_recordings: Path, shared_data: Path) -> None:
    reader = SessionReader(bundled_recordings / "resolvedkit-btc15m")
    source = shared_data / "resolvedkit_btc15m"
    with gzip.open(source / "books.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh]
    raw_markets = {m["market_id"]: m for m in json.loads((source / "markets.json").read_text())}
    metas = {m.condition_id: m for m in reader.markets()}
    assert len(metas) == 18 and len(reader.manifest["assets"]) == 36
    assert "CC BY 4.0" in reader.manifest["source"]["credit"]
    assert "Resolved Markets" in reader.manifest["source"]["credit"]

    books: list[BookSnapshot] = []
    resolved: list[MarketResolved] = []
    kinds: Counter[str] = Counter()
    for frame in reader.frames():
        kinds[frame.kind] += 1
        if frame.kind != "frame":
            continue
        for event in parse_frame(frame.payload):
            if isinstance(event, BookSnapshot):
                books.append(event)
            else:
                assert isinstance(event, MarketResolved)
                resolved.append(event)
    assert len(books) == len(rows) == 38_333
    assert kinds["tick"] > 5 * 3600  # a tick row per second over five hours
    for row, book in zip(rows, books, strict=True):
        meta = metas[row["market_id"]]
        token = meta.token_ids[0 if row["side"] == "UP" else 1]
        assert (book.market, book.asset_id, book.ts_ms) == (row["market_id"], token, row["ts"])
        # resolvedkit lists best first; the wire lists best last.
        assert [(_exact(p), _exact(s)) for p, s in row["bids"]] == list(reversed(book.bids))
        assert [(_exact(p), _exact(s)) for p, s in row["asks"]] == list(reversed(book.asks))
    # Every book hash follows the current rule, so the engine can verify it.
    sample = books[123]
    assert sample.hash == book_hash(
        market=sample.market,
        asset_id=sample.asset_id,
        timestamp=str(sample.ts_ms),
        bids=sample.bids,
        asks=sample.asks,
        min_order_size="5",
        tick_size=format_fixed(metas[sample.market].tick_size),
        neg_risk=False,
        last_trade_price="",
    )
    assert len(resolved) == 18
    for event in resolved:
        m = raw_markets[event.market]
        meta = metas[event.market]
        winner = meta.token_ids[0] if m["payout_up"] == 1 else meta.token_ids[1]
        assert event.winning_asset_id == winner == meta.winning_token_id
    # Each resolution comes after that market's last snapshot.
    last_book = {b.market: b.ts_ms for b in books}
    assert all(r.ts_ms > last_book[r.market] for r in resolved)


def test_resolvedkit_recv_times_are_ordered(bundled_recordings: Path) -> None:
    reader = SessionReader(bundled_recordings / "resolvedkit-btc15m")
    recv = [f.recv_ns for f in reader.frames()]
    assert recv == sorted(recv)


def test_burst_session(bundled_recordings: Path, shared_data: Path) -> None:
    reader = SessionReader(bundled_recordings / "crossing-burst-2026-09-29")
    frames = [f for f in reader.frames() if f.kind == "frame"]
    raw = json.loads(
        (shared_data / "ws_market/price_change_crossing_burst_2026-09-29.json").read_text()
    )
    assert len(frames) == len(raw) == 51
    assert [json.loads(f.payload) for f in frames] == raw
    (meta,) = reader.markets()
    assert meta.token_ids[0] == raw[0]["asset_id"] and meta.tick_size == 1_000


def _visible(recordings: Path) -> list[str]:
    return sorted(p.name for p in recordings.iterdir() if not p.name.startswith("."))


def test_import_that_fails_midway_leaves_no_session(tmp_path: Path, shared_data: Path) -> None:
    """Issue 18 item 10: an import that raises part-way leaves nothing under recordings/ (the old
    code left an unsealed, half-written session folder) and keeps an older copy intact."""
    from polyarb.recording.imports import import_burst, import_resolvedkit

    recordings = tmp_path / "recordings"

    def boom(done: int, total: int) -> None:
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_resolvedkit(shared_data / "resolvedkit_btc15m", recordings, progress=boom)
    assert _visible(recordings) == [] and list(recordings.iterdir()) == []
    # A sealed earlier import survives a failed re-import unchanged.
    old = import_burst(shared_data, recordings, session_id="resolvedkit-btc15m")
    before = (old / "manifest.json").read_bytes()
    with pytest.raises(KeyboardInterrupt):
        import_resolvedkit(shared_data / "resolvedkit_btc15m", recordings, progress=boom)
    assert (old / "manifest.json").read_bytes() == before and SessionReader(old).sealed
    assert _visible(recordings) == ["resolvedkit-btc15m"]


def test_import_killed_midway_leaves_no_session(tmp_path: Path, shared_data: Path) -> None:
    """Issue 18 item 10: a real SIGKILL part-way through an import leaves no session folder (only a
    hidden staging folder, which the next import clears); before, an empty unsealed session
    was listed."""
    from polyarb.recording import list_sessions

    recordings = tmp_path / "recordings"
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from polyarb.recording.imports import import_resolvedkit\n"
        "def kill(done, total):\n"
        "    if done > 0:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "import_resolvedkit(Path(sys.argv[1]), Path(sys.argv[2]), progress=kill)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(shared_data / "resolvedkit_btc15m"), str(recordings)],
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL
    assert _visible(recordings) == [] and list_sessions(recordings) == []
    (stage,) = recordings.iterdir()
    assert stage.name.startswith(".importing-")
    from polyarb.recording.imports import import_burst

    import_burst(shared_data, recordings)
    assert [p.name for p in recordings.iterdir()] == ["crossing-burst-2026-09-29"]


def test_reimport_keeps_the_runs_of_the_session_and_says_so(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15 item 8: re-importing a session that has runs (a replay, a shadow run with its
    parity report) keeps every run folder byte for byte and names them. Old code: the swap
    moved the whole old folder aside and deleted it, runs included."""
    from polyarb.cli import main

    recordings = tmp_path / "recordings"
    assert (
        main(["import", "burst", "--data", str(shared_data), "--recordings", str(recordings)]) == 0
    )
    (session,) = [p for p in recordings.iterdir() if not p.name.startswith(".")]
    assert main(["replay", "--session", session.name, "--recordings", str(recordings),
                 "--run-id", "r1"]) == 0  # fmt: skip
    parity = session / "runs" / "r1" / "parity.json"
    parity.write_text('{"status": "PASS"}\n')
    before = {
        p.relative_to(session): p.read_bytes() for p in (session / "runs").rglob("*") if p.is_file()
    }
    capsys.readouterr()
    assert (
        main(["import", "burst", "--data", str(shared_data), "--recordings", str(recordings)]) == 0
    )
    out = capsys.readouterr().out
    assert f"kept 1 existing run(s) of {session.name}: r1" in out
    after = {
        p.relative_to(session): p.read_bytes() for p in (session / "runs").rglob("*") if p.is_file()
    }
    assert after == before
    assert SessionReader(session).sealed
    assert _visible(recordings) == [session.name]
