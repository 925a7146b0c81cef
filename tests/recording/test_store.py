"""The session store: gapless seqs, exact payloads, streaming reads, crash recovery, clear errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from polyarb.protocol.markets import MarketMeta
from polyarb.recording import SessionReader, SessionWriter, list_sessions
from polyarb.recording.writer import StoreError

PAYLOADS = ['{"event_type":"book"}', "PONG", "", "ünïcødé ✓", '[{"a":1}]']


def _write(root: Path, n: int, **kw: object) -> SessionWriter:
    writer = SessionWriter(root, "s1", **kw)  # type: ignore[arg-type]
    for i in range(n):
        writer.append("frame", PAYLOADS[i % len(PAYLOADS)] + str(i), 1_000 + i, 10 + i, i % 3)
    return writer


def test_round_trip_exact_and_gapless(tmp_path: Path) -> None:
    writer = _write(tmp_path, 10_000, part_max_rows=3_000, flush_interval_s=0)
    for _ in range(4):
        writer.flush()
        writer.rotate()
    writer.close()
    reader = SessionReader(tmp_path / "s1")
    frames = list(reader.frames(batch_size=777))
    assert [f.seq for f in frames] == list(range(10_000))
    assert [f.payload for f in frames] == [PAYLOADS[i % 5] + str(i) for i in range(10_000)]
    assert [f.conn_id for f in frames[:4]] == [0, 1, 2, 0]
    assert reader.sealed and reader.manifest["frames"] == 10_000 == reader.count()
    assert reader.manifest["counts"] == {"frame": 10_000}
    for part in reader.manifest["parts"]:
        assert (tmp_path / "s1" / part["file"]).is_file()
        assert len(part["sha256"]) == 64


def test_batches_are_bounded(tmp_path: Path) -> None:
    _write(tmp_path, 5_000).close()
    sizes = [b.num_rows for b in SessionReader(tmp_path / "s1").iter_batches(batch_size=1_000)]
    assert max(sizes) <= 1_000 and sum(sizes) == 5_000


def test_unsealed_journal_is_readable_and_recovered(tmp_path: Path) -> None:
    writer = _write(tmp_path, 1_000)
    writer.flush()  # the journal now holds 1,000 rows; simulate a crash: never close
    journal = next((tmp_path / "s1" / "frames").glob("*.arrows"))
    live = SessionReader(tmp_path / "s1")
    assert not live.sealed
    assert sum(1 for _ in live.frames(include_open=True)) == 1_000
    # A torn write at the tail (crash mid-flush) loses only that tail.
    with journal.open("ab") as fh:
        fh.write(b"\xff\xff\xff\xff\x10\x00")
    resumed = SessionWriter(tmp_path, "s1")
    assert resumed.recovered_rows == 1_000 and resumed.next_seq == 1_000
    resumed.append("frame", "after", 5_000, 5_000, 0)
    resumed.close()
    frames = list(SessionReader(tmp_path / "s1").frames())
    assert [f.seq for f in frames] == list(range(1_001))
    assert frames[-1].payload == "after"
    assert SessionReader(tmp_path / "s1").manifest["recoveries"] == 1


def test_markets_round_trip(tmp_path: Path) -> None:
    meta = MarketMeta(
        condition_id="0xabc",
        question="Q",
        slug="q",
        token_ids=("1", "2"),
        outcomes=("Yes", "No"),
        tick_size=1_000,
        min_order_size=5_000_000,
        neg_risk=True,
        fee_rate=70_000,
    )
    with SessionWriter(tmp_path, "s1") as writer:
        writer.write_markets([meta], valid_from_seq=0)
        writer.append("frame", "x", 1, 1, 0)
        writer.write_markets([meta])  # a later change takes effect from the next seq
    reader = SessionReader(tmp_path / "s1")
    assert reader.markets() == [meta]
    assert [s for s, _ in reader.market_history()] == [0, 1]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="cannot write session folder"):
            SessionWriter(tmp_path, "s1")
    finally:
        tmp_path.chmod(0o700)


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "recordings"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(StoreError, match="cannot write session folder"):
        SessionWriter(blocker, "s1")


def test_not_a_session_is_a_clear_error(tmp_path: Path) -> None:
    from polyarb.recording.reader import SessionError

    with pytest.raises(SessionError, match="not a session"):
        SessionReader(tmp_path)
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(SessionError, match="not valid JSON"):
        SessionReader(tmp_path)


def test_list_sessions_sorted(tmp_path: Path) -> None:
    for name in ("b", "a"):
        SessionWriter(tmp_path, name).close()
    assert [r.id for r in list_sessions(tmp_path)] == ["a", "b"]
    assert list_sessions(tmp_path / "missing") == []


def test_parquet_schema_documented_columns(tmp_path: Path) -> None:
    _write(tmp_path, 10).close()
    part = next((tmp_path / "s1" / "frames").glob("*.parquet"))
    assert pq.read_schema(part).names == [
        *("seq", "recv_ns", "mono_ns", "conn_id", "kind", "payload", "payload_bin")
    ]
    manifest = json.loads((tmp_path / "s1" / "manifest.json").read_text())
    assert {
        "id",
        "start_ns",
        "end_ns",
        "parts",
        "counts",
        "assets",
        "markets",
        "sealed",
    } <= manifest.keys()


def test_sealing_streams_the_journal_one_row_group_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from polyarb.recording import writer as writer_module

    # A tiny row-group budget: each few journal batches become their own row group, so a
    # part of any size is sealed holding one row group in memory, not the whole journal.
    monkeypatch.setattr(writer_module, "_ROW_GROUP_BYTES", 2_000)
    writer = SessionWriter(tmp_path, "s1")
    for i in range(60):
        writer.append("frame", "x" * 100 + str(i), i, i, 0)
        writer.flush()
    writer.close()
    reader = SessionReader(tmp_path / "s1")
    (part,) = reader.manifest["parts"]
    assert pq.ParquetFile(str(tmp_path / "s1" / part["file"])).num_row_groups >= 4
    assert (part["rows"], part["first_seq"], part["last_seq"]) == (60, 0, 59)
    assert [f.payload for f in reader.frames()] == ["x" * 100 + str(i) for i in range(60)]
