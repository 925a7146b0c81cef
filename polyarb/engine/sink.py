"""Where an engine's rows go, and the canonical form of a decision stream.

The engine hands every row to a :class:`RunSink`; it never opens a file.
:class:`MemorySink` keeps rows in lists (tests, parity, shadow comparisons);
:class:`polyarb.engine.run_writer.RunWriter` writes the run folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from polyarb.runs.schema import DECISIONS, TABLES

DECISION_COLUMNS: tuple[str, ...] = tuple(DECISIONS.names)


class RunSink(Protocol):
    """Receives a run's output as it happens."""

    def row(self, table: str, row: Mapping[str, Any]) -> None:
        """One row of ``table`` (a name in :data:`polyarb.runs.schema.TABLES`)."""
        ...

    def log(self, line: str) -> None:
        """One human-readable line for ``run.log``."""
        ...

    def alert(self, line: str) -> None:
        """One canonical JSON line for ``alerts.jsonl``."""
        ...


class MemorySink:
    """Keeps every row in memory, by table."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        self.lines: list[str] = []
        self.alert_lines: list[str] = []

    def row(self, table: str, row: Mapping[str, Any]) -> None:
        self.tables[table].append(dict(row))

    def log(self, line: str) -> None:
        self.lines.append(line)

    def alert(self, line: str) -> None:
        self.alert_lines.append(line)


def canonical_decision(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A decision row as a tuple in schema column order: what parity compares."""
    return tuple(
        tuple(row[c]) if isinstance(row.get(c), list) else row.get(c) for c in DECISION_COLUMNS
    )


def decision_line(row: Mapping[str, Any]) -> str:
    """One decision as compact JSON (a list in column order): the hashed serialisation."""
    values = [list(v) if isinstance(v, tuple) else v for v in canonical_decision(row)]
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False)


def decisions_sha256(rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 of the decision lines joined by ``\\n`` (each line ends with one)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(decision_line(row).encode())
        digest.update(b"\n")
    return digest.hexdigest()
