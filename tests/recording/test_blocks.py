"""Frame blocks: a socket read's frames stored from one buffer, exactly, in order with rows."""

from __future__ import annotations

import tempfile
from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyarb.frames import FrameBlock, block_of
from polyarb.recording import SessionReader, SessionWriter
from polyarb.recording import writer as writer_module

texts = st.text(st.characters(codec="utf-8"), max_size=40)
rows = st.tuples(st.sampled_from(["open", "tick", "gap"]), texts).map(lambda r: ("row", r))
blocks = st.lists(texts, min_size=0, max_size=12).map(lambda b: ("block", b))
items = st.lists(st.one_of(rows, blocks), max_size=30)


def test_block_payloads_and_texts() -> None:
    block = block_of(["PONG", "", '{"a":"ü"}'], 5, 6, 1)
    assert len(block) == 3 and list(block.ends) == [4, 4, 14]
    assert block.payloads() == [b"PONG", b"", '{"a":"ü"}'.encode()]
    assert block.texts() == ["PONG", "", '{"a":"ü"}']


@settings(max_examples=60, deadline=None)
@given(items=items, flush_every=st.integers(1, 5), batch_bytes=st.sampled_from([8, 1 << 30]))
def test_rows_and_blocks_read_back_exactly_in_order(
    items: list[tuple[str, object]], flush_every: int, batch_bytes: int
) -> None:
    expected: list[tuple[int, int, int, int, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        # A tiny batch size splits every flush into many record batches.
        mp.setattr(writer_module, "_BATCH_BYTES", batch_bytes)
        writer = SessionWriter(tmp, "s")
        for i, (what, value) in enumerate(items):
            recv, mono, conn = 1_000 + i, 10 + i, i % 3
            if what == "row":
                kind, text = value  # type: ignore[misc]
                seq = writer.append(kind, text, recv, mono, conn)
                expected.append((seq, recv, mono, conn, kind, text))
            else:
                frames: list[str] = value  # type: ignore[assignment]
                seq = writer.append_block(block_of(frames, recv, mono, conn))
                expected += [
                    (seq + k, recv, mono, conn, "frame", text) for k, text in enumerate(frames)
                ]
            if i % flush_every == 0:
                writer.flush()
        writer.close()
        got = [
            (f.seq, f.recv_ns, f.mono_ns, f.conn_id, f.kind, f.payload)
            for f in SessionReader(Path(tmp) / "s").frames(batch_size=7)
        ]
    assert got == expected
    assert [row[0] for row in got] == list(range(len(got)))


def test_bytes_that_are_not_utf8_are_kept_as_a_reader_decodes_them(tmp_path: Path) -> None:
    bad = b'{"a":"\xff\xfe"}'
    good = b'{"b":1}'
    block = FrameBlock(good + bad + good, array("q", [7, 7 + len(bad), 14 + len(bad)]), 1, 1, 0)
    with SessionWriter(tmp_path, "s") as writer:
        writer.append("open", "{}", 0, 0, 0)
        writer.append_block(block)
    payloads = [f.payload for f in SessionReader(tmp_path / "s").frames()]
    assert payloads == ["{}", '{"b":1}', bad.decode("utf-8", "replace"), '{"b":1}']
    assert "\ufffd" in payloads[2]


def test_counts_and_part_bytes_follow_blocks(tmp_path: Path) -> None:
    with SessionWriter(tmp_path, "s") as writer:
        writer.append_block(block_of(["a", "bb", "ccc"], 1, 1, 0))
        writer.append("tick", "", 2, 2, -1)
        writer.append_block(block_of(["dddd"], 3, 3, 0))
        assert writer.next_seq == 5
    manifest = SessionReader(tmp_path / "s").manifest
    assert manifest["counts"] == {"frame": 4, "tick": 1}
    assert (manifest["start_ns"], manifest["end_ns"]) == (1, 3)
