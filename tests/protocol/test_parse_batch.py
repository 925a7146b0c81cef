"""The batch parser prototype (benchmarks/batch_parser.py) gives exactly parse_frame's events.

It is measured by bench_replay.py against the per-frame parser; a timing only means something
if the answers are the same, so every frame of a batch — books the bulk path takes, books it
must hand back (odd layout, bad numbers, prices outside (0, 1)), other shapes, rejections —
must equal ``parse_frame`` of that frame alone, whatever else shares its batch.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parser_fast import _BOOK, _SHAPES, REJECTIONS, _mutated, _ws_samples

from polyarb.events import MarketEvent
from polyarb.protocol.parser import parse_frame
from polyarb.recording import SessionReader

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "batch_parser.py"


def _module() -> Any:
    spec = importlib.util.spec_from_file_location("batch_parser", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # msgspec resolves the module's struct annotations there
    spec.loader.exec_module(module)
    return module


batch_parser = _module()
parse_batch: Callable[[list[str]], list[list[MarketEvent]]] = batch_parser.parse_batch


def _same(payloads: list[str]) -> None:
    assert parse_batch(payloads) == [parse_frame(p) for p in payloads], payloads


def _book_text(bids: str, asks: str = "[]") -> str:
    head = json.dumps({k: v for k, v in _BOOK.items() if k not in ("bids", "asks")})
    return head[:-1] + f', "bids": {bids}, "asks": {asks}}}'


_L = '{"price":"0.4","size":"10"}'
# raw level arrays the bulk path must refuse (parse_frame decides): each differs from the
# plain '[{"price":"P","size":"S"},...]' layout or holds a number the strict pattern skips
ODD_SIDES = [
    "[]", f"[{_L}]", f"[{_L},{_L}]", f"[ {_L} ]", f"[{_L}, {_L}]", f"[[{_L}]]", f"[{_L},5]",
    f"[{_L},null]", f'[{_L},"x"]', '""', "{}", "5", "null", '[{"size":"10","price":"0.4"}]',
    '[{"price": "0.4", "size": "10"}]', '[{"price":"0.4","size":"10","x":1}]',
    '[{"price":"0.4","size":"10"},{}]', '[{"price":"1","size":"10"}]',
    '[{"price":"0","size":"10"}]', '[{"price":".4","size":"10"}]', '[{"price":"0.4","size":"10."}]',
    '[{"price":"0.4","size":"1.5000000"}]', '[{"price":"0.4","size":"1.0000001"}]',
    '[{"price":"0.4","size":"1234567890123"}]', '[{"price":"0.4","size":"123456789012.123456"}]',
    '[{"price":"0.4","size":"-1"}]', '[{"price":"0.4","size":"1e3"}]', '[{"price":"0.4","size":""}]',
    '[{"price":"0.4","size":10}]', '[{"price":"0.4","size":"1\\u0030"}]',
    '[{"pr\\u0069ce":"0.4","size":"10"}]', '[{"price":"0.999999","size":"000000000001"}]',
]  # fmt: skip


@pytest.mark.parametrize("side", ODD_SIDES)
def test_an_odd_side_among_plain_books_parses_as_parse_frame_does(side: str) -> None:
    """One odd book hidden in a batch of plain ones: only it leaves the bulk path."""
    plain = _book_text(f"[{_L},{_L}]", f"[{_L}]")
    _same([plain] * 5 + [_book_text(side)] + [plain] * 3 + [_book_text(f"[{_L}]", side)])


def test_plain_books_take_the_bulk_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The equality tests above mean something only if plain books skip parse_frame."""
    handed_back: list[str] = []

    def spy(text: str) -> list[MarketEvent]:
        handed_back.append(text)
        return parse_frame(text)

    monkeypatch.setattr(batch_parser, "parse_frame", spy)
    plain = [_book_text(f"[{_L},{_L}]", f"[{_L}]"), _book_text("[]"), "PONG"]
    odd = _book_text('[{"price":"1","size":"10"}]')
    assert parse_batch(plain * 4 + [odd]) == [parse_frame(p) for p in plain * 4 + [odd]]
    assert handed_back == ["PONG"] * 4 + [odd]


def test_every_rejection_reason_is_parse_frames_inside_a_batch() -> None:
    plain = _book_text(f"[{_L}]")
    _same([t for text, _ in REJECTIONS for t in (plain, text)])


def test_every_real_frame_parses_identically(bundled_recordings: Path) -> None:
    """Both bundled sessions, in replay's batches: same events as frame-by-frame."""
    n = 0
    for session in ("resolvedkit-btc15m", "crossing-burst-2026-09-29"):
        reader = SessionReader(bundled_recordings / session)
        payloads = [f.payload for f in reader.frames() if f.kind == "frame"]
        for start in range(0, len(payloads), 4096):
            _same(payloads[start : start + 4096])
        n += len(payloads)
    assert n > 30_000


def test_sample_message_shapes_parse_identically(shared_data: Path) -> None:
    _same(_ws_samples(shared_data))


_side = st.lists(
    st.tuples(
        st.sampled_from(["0.4", "0.01", "0.999", "0.5", "1", "0", ".3", "0.4000000"]),
        st.sampled_from(["10", "0", "459.31", "0.000001", "999999999999", "1.25", "5."]),
    ),
    max_size=4,
).map(lambda levels: json.dumps([{"price": p, "size": s} for p, s in levels]))


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_batches_parse_identically(data: st.DataObject) -> None:
    """Random batches of books (valid and not), every other shape mutated, and control texts."""
    draw = data.draw
    batch = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            batch.append(_book_text(draw(_side), draw(_side)))
        elif kind == 1:
            batch.append(_book_text(draw(st.sampled_from(ODD_SIDES))))
        elif kind == 2:
            batch.append(json.dumps(_mutated(draw(st.sampled_from(_SHAPES)), draw)))
        else:
            batch.append(draw(st.sampled_from(["PONG", "", "[]", "{", "null"])))
    _same(batch)
