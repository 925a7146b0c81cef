"""The engine's market-frame path keeps books lazy and answers as the eager books did."""

from __future__ import annotations

from engine_support import book_frame

from polyarb.config.profile import Profile
from polyarb.engine import Engine, MemorySink
from polyarb.recording import SessionReader

MS = 1_000_000


def test_snapshot_boundaries_detect_and_verify_without_building_dicts(bundled_recordings):
    """Snapshots, their boundary (crossing check) and the detector leave both books' dicts unbuilt.

    Fails if the frame path (the venue's ``on_snapshot``, the boundary checks, the binary
    detector's top-of-book test) reads a book through its dicts: each snapshot would build
    two. The answers it gives are the exact ones (tradable, not crossed, tops).
    """
    meta = SessionReader(bundled_recordings / "resolvedkit-btc15m").markets()[0]
    engine = Engine([meta], Profile(name="t"), MemorySink())
    yes, no = meta.token_ids
    cid = meta.condition_id
    engine.on_frame(1, 1_000 * MS, "frame", book_frame(yes, cid, 1_000, ["0.40", "0.41"], ["0.46"]))
    engine.on_frame(2, 1_001 * MS, "frame", book_frame(no, cid, 1_000, ["0.54"], ["0.60", "0.59"]))
    engine.on_frame(3, 1_100 * MS, "tick", "")
    state = engine.state
    assert state.counters["boundaries"] == 1 and state.counters["crossed_at_boundary"] == 0
    assert state.untradable(yes) is None and state.untradable(no) is None
    for asset in (yes, no):
        book = state.books[asset]
        assert book._bids is None and book._asks is None, asset
    assert (state.books[yes].best_bid(), state.books[no].best_ask()) == (410_000, 590_000)
    # The venue's view of a tradable book is the sorted walk, built on demand.
    assert list(state.asks(no)) == [(590_000, 100_000_000), (600_000, 100_000_000)]
