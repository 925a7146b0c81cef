"""The engine (docs/design.md §The pure core): book, detectors, risk, venue, ledger and alerts as one pure function.

Public API: :class:`Engine` (``on_frame`` row by row, ``finish``), :func:`replay`,
the sinks (:class:`MemorySink`, :class:`RunWriter`) and the canonical decision
form parity compares (:func:`canonical_decision`, :func:`decisions_sha256`).
"""

from polyarb.engine.engine import Engine, engine_markets
from polyarb.engine.replay import default_run_id, replay, replay_many, run_session
from polyarb.engine.run_writer import RunWriter
from polyarb.engine.sink import (
    MemorySink,
    RunSink,
    canonical_decision,
    decision_line,
    decisions_sha256,
)

__all__ = [
    "Engine",
    "MemorySink",
    "RunSink",
    "RunWriter",
    "canonical_decision",
    "decision_line",
    "decisions_sha256",
    "default_run_id",
    "engine_markets",
    "replay",
    "replay_many",
    "run_session",
]
