"""The one base of every exception polyarb defines.

Each error also keeps its natural built-in base (``ValueError`` for bad input,
``RuntimeError`` for a failed operation), so ``except ValueError`` still works;
``except PolyarbError`` catches everything polyarb raises on purpose.
"""

from __future__ import annotations


class PolyarbError(Exception):
    """Base of every exception class in polyarb."""
