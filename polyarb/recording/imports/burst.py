"""The 2026-09-29 crossing-burst sample (51 real frames) → a session.

Each element of the published JSON list becomes one frame, re-serialised
compactly with its key order kept (the sample was published pretty-printed,
so the original wire bytes are not available). Market metadata the sample
does not carry is stated here: tick 0.001 from its first ``book``, the usual
minimum order 5, not neg-risk; the YES token is the one with snapshots.
"""

from __future__ import annotations

import json
from pathlib import Path

from polyarb.frames import FrameKind
from polyarb.protocol.markets import MarketMeta
from polyarb.protocol.wire import compact, subscribe_text
from polyarb.recording.imports.common import TICK_INTERVAL_NS, staged
from polyarb.recording.writer import SessionWriter
from polyarb.units import SCALE

SESSION_ID = "crossing-burst-2026-09-29"
SAMPLE = "ws_market/price_change_crossing_burst_2026-09-29.json"


@staged
def import_burst(shared_data: Path, recordings: Path, *, session_id: str = SESSION_ID) -> Path:
    """Convert the crossing burst under ``shared_data`` into ``recordings/<session_id>``."""
    path = shared_data / SAMPLE
    if not path.is_file():
        raise FileNotFoundError(f"crossing-burst sample missing: {path}")
    events = json.loads(path.read_text())
    yes = events[0]["asset_id"]
    market = events[0]["market"]
    others = {
        e["asset_id"] for ev in events for e in ev.get("price_changes", []) if e["asset_id"] != yes
    }
    if len(others) != 1:
        raise ValueError(f"expected one complementary token in {path}, found {len(others)}")
    no = others.pop()
    meta = MarketMeta(
        condition_id=market,
        question="(crossing-burst sample; question not published)",
        slug="crossing-burst-2026-09-29",
        token_ids=(yes, no),
        outcomes=("Yes", "No"),
        tick_size=1_000,
        min_order_size=5 * SCALE,
    )
    writer = SessionWriter.fresh(
        recordings,
        session_id,
        feed_url="import:crossing-burst",
        source={
            "name": "NautilusTrader test fixture ws_market_price_change_crossing_burst.json",
            "licence": "LGPL-3.0 (test fixture of nautechsystems/nautilus_trader)",
            "derived": "converted by 'polyarb import burst'; frames re-serialised compactly",
        },
    )
    writer.set_assets([yes, no])
    writer.write_markets([meta], valid_from_seq=0)
    t0 = int(events[0]["timestamp"]) * 1_000_000
    writer.append(FrameKind.OPEN, compact({"url": "import:crossing-burst", "assets": 2}), t0, 0, 0)
    writer.append(FrameKind.SUBSCRIBE, subscribe_text([yes, no]), t0, 0, 0)
    next_tick = t0 + TICK_INTERVAL_NS
    for index, event in enumerate(events):
        # Frames of one matching event share a timestamp; keep them apart by 1 µs each.
        recv = int(event["timestamp"]) * 1_000_000 + index * 1_000
        while next_tick <= recv:
            writer.append(FrameKind.TICK, "", next_tick, next_tick - t0, 0)
            next_tick += TICK_INTERVAL_NS
        writer.append(FrameKind.FRAME, compact(event), recv, recv - t0, 0)
    writer.close()
    return writer.dir
