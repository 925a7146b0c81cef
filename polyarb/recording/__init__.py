"""Sessions on disk: raw frames exactly as received, market metadata, a manifest.

Layout and schema: ``docs/sessions.md``. The store is pure file I/O (pyarrow);
the live recorder that feeds it lives in :mod:`polyarb.recording.recorder`.
"""

from polyarb.frames import FRAME_KINDS, FrameKind
from polyarb.recording.reader import Frame, SessionReader, list_sessions, session_summary
from polyarb.recording.writer import SessionWriter

__all__ = [
    "FRAME_KINDS",
    "Frame",
    "FrameKind",
    "SessionReader",
    "SessionWriter",
    "list_sessions",
    "session_summary",
]
