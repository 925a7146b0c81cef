"""Converters from published real data into polyarb sessions (read from ../shared, never copied)."""

from polyarb.recording.imports.burst import import_burst
from polyarb.recording.imports.resolvedkit import import_resolvedkit

__all__ = ["import_burst", "import_resolvedkit"]
