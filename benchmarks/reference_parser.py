"""The market-channel parse path as it was before issue 16: one generic decode, five calls per number.

That path still lives in the product as the fallback of :func:`polyarb.protocol.parser.parse_frame`
(every shape, every rejection reason); this module calls it directly, skipping the typed fast
path, so it is the reference the fast parser must agree with exactly
(tests/protocol/test_parser_fast.py) and the baseline ``bench_replay.py`` measures the gain
against in the same run. One copy of the code, not two.
"""

from __future__ import annotations

from polyarb.events import CONTROL_TEXTS, ControlText, MarketEvent
from polyarb.protocol.parser import _parse_generic


def parse_frame(text: str) -> list[MarketEvent]:
    """Parse one received text frame the pre-issue-16 way (generic decode only)."""
    if text in CONTROL_TEXTS:
        return [ControlText(text)]
    return _parse_generic(text)
