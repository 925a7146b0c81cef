"""``polyarb sessions compact``: smaller archival parts that read back byte for byte."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyarb.config.profile import load_profile
from polyarb.engine import MemorySink, replay
from polyarb.recording import SessionReader, SessionWriter
from polyarb.recording import compacted as compacted_module
from polyarb.recording.codec import BookState, decode_row, encode_rows
from polyarb.recording.compact import CompactError, compact_session
from polyarb.units import format_fixed, parse_fixed

REPO = Path(__file__).resolve().parents[2]


def _rows(session: Path) -> list[tuple[int, str, str]]:
    return [(f.seq, f.kind, f.payload) for f in SessionReader(session).frames()]


def _decode_all(rows: list[tuple[str, str]]) -> list[str]:
    state = BookState()
    encoded = list(encode_rows(iter(rows)))
    texts = [
        decode_row(kind, e.payload, e.skeleton, e.ref, e.ops, state)
        for (kind, _), e in zip(rows, encoded, strict=True)
    ]
    return texts


def test_real_session_compacts_smaller_and_reads_back_exactly(copy_session) -> None:
    session = copy_session("resolvedkit-btc15m")
    before = _rows(session)
    part = session / SessionReader(session).manifest["parts"][0]["file"]
    size_before = part.stat().st_size
    totals = compact_session(session)
    assert totals["parts"] == 1 and totals["after"] == part.stat().st_size
    assert part.stat().st_size < 0.75 * size_before
    assert _rows(session) == before
    table = pq.read_table(part)
    frames = pc.sum(pc.equal(table.column("kind"), "frame")).as_py()
    encoded = table.column("payload").null_count
    assert encoded > 0.95 * frames  # nearly every book frame is a delta or a mirror
    refs = set(table.column("book_ref").drop_null().to_pylist())
    assert refs == {0, 1, 2}
    record = json.loads((session / "manifest.json").read_text())["parts"][0]
    assert record["codec"] == "book-delta-1" and record["bytes"] == part.stat().st_size
    assert record["sha256"] == hashlib.sha256(part.read_bytes()).hexdigest()
    # Columns without payload are read straight from the file.
    batch = next(SessionReader(session).iter_batches(columns=["seq", "kind"]))
    assert batch.schema.names == ["seq", "kind"]
    # Compacting again changes nothing.
    assert compact_session(session)["after"] == part.stat().st_size
    assert _rows(session) == before


def test_replay_of_a_compacted_session_decides_the_same(copy_session) -> None:
    profile = load_profile(REPO / "profiles" / "live_shadow_atomic_v1.yaml")
    session = copy_session("resolvedkit-btc15m")
    plain = replay(session, profile, sink=MemorySink())
    compact_session(session)
    packed = replay(session, profile, sink=MemorySink())
    assert packed["decisions_sha256"] == plain["decisions_sha256"]
    assert packed["summary"] == plain["summary"] and packed["frames"] == plain["frames"]


def test_a_part_that_does_not_decode_back_is_left_as_it_was(
    copy_session, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = copy_session("crossing-burst-2026-09-29")
    part = session / SessionReader(session).manifest["parts"][0]["file"]
    original = part.read_bytes()

    def broken(*row: object) -> str:
        return "not what was recorded"

    monkeypatch.setattr(compacted_module, "decode_row", broken)  # the decoder compact checks with
    with pytest.raises(CompactError, match="does not give it back"):
        compact_session(session)
    assert part.read_bytes() == original
    assert not list(part.parent.glob("*.tmp"))


prices = st.integers(1, 99).map(lambda c: format_fixed(c * 10_000))
sizes = st.sampled_from(["5", "10", "0.5", "100", "1234.56", "7"])
levels = st.dictionaries(prices, sizes, max_size=6)


def _book(asset: str, bids: dict[str, str], asks: dict[str, str], tail: str, order: bool) -> str:
    def side(d: dict[str, str], desc: bool) -> str:
        items = (
            sorted(d.items(), key=lambda kv: parse_fixed(kv[0]), reverse=desc)
            if order
            else d.items()
        )
        return ",".join(f'{{"price":"{p}","size":"{s}"}}' for p, s in items)

    return (
        f'{{"market":"0xm{asset[0]}","asset_id":"{asset}","timestamp":"1","hash":"h{tail}",'
        f'"bids":[{side(bids, False)}],"asks":[{side(asks, True)}],"event_type":"book"}}'
    )


def _mirror(d: dict[str, str]) -> dict[str, str]:
    return {format_fixed(1_000_000 - parse_fixed(p)): s for p, s in d.items()}


book_rows = st.builds(
    lambda asset, bids, asks, tail, order, mirror: (
        "frame",
        _book(
            asset, _mirror(asks) if mirror else bids, _mirror(bids) if mirror else asks, tail, order
        ),
    ),
    st.sampled_from(["11", "12", "21"]),
    levels,
    levels,
    st.text("ab", max_size=2),
    st.booleans(),
    st.booleans(),
)
other_rows = st.tuples(
    st.sampled_from(["frame", "tick", "subscribe"]),
    st.one_of(
        st.text(max_size=30),
        st.just('{"event_type":"book","bids":[],"asks":[]}'),
        st.just(
            '{"market":"0xm1","asset_id":"11","bids":[{"price":"0.50","size":"1"}],'
            '"asks":[],"event_type":"book"}'
        ),
    ),
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.one_of(book_rows, other_rows), max_size=40))
def test_decoding_gives_back_every_text_exactly(rows: list[tuple[str, str]]) -> None:
    assert _decode_all(rows) == [text for _, text in rows]


def test_cli_compacts_and_rejects_bad_input(copy_session, tmp_path: Path) -> None:
    session = copy_session("crossing-burst-2026-09-29")
    cmd = [sys.executable, "-m", "polyarb", "sessions", "compact"]
    ok = subprocess.run([*cmd, str(session)], capture_output=True, text=True, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    assert "parts" in ok.stdout and "MB" in ok.stdout
    bad = subprocess.run([*cmd, str(session), "--level", "40"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--level" in bad.stderr
    with SessionWriter(tmp_path / "rec", "open") as writer:
        writer.append("frame", "x", 1, 1, 0)
    manifest = tmp_path / "rec" / "open" / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "sealed": False}))
    unsealed = subprocess.run(
        [*cmd, str(tmp_path / "rec" / "open")], capture_output=True, text=True
    )
    assert unsealed.returncode == 1 and "not sealed" in unsealed.stderr


def test_a_part_that_would_grow_is_kept_as_it_was(tmp_path: Path) -> None:
    """Issue 18 item 10: a part the codec cannot shrink (a few non-book frames: the compacted
    schema only adds columns) replaced the original anyway and grew; now the original stays,
    byte for byte, and the manifest does not call it compacted."""
    writer = SessionWriter(tmp_path, "small")
    for i in range(3):
        writer.append("frame", f'{{"event_type":"tick_size_change","n":{i}}}', 10 + i, i, 0)
    writer.close()
    session = tmp_path / "small"
    record = SessionReader(session).manifest["parts"][0]
    part = session / record["file"]
    original = part.read_bytes()
    totals = compact_session(session)
    assert part.read_bytes() == original
    assert totals["after"] == totals["before"] == len(original)
    kept = SessionReader(session).manifest["parts"][0]
    assert "codec" not in kept and kept["sha256"] == record["sha256"]
    assert not list(part.parent.glob("*.tmp"))
    assert [f.payload for f in SessionReader(session).frames()][-1].endswith('"n":2}')
