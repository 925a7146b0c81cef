"""A sweep file: a base profile, parameter overrides (a grid and/or a list) and sessions.

Example (docs/sweeps.md)::

    name: edge-vs-latency
    base: ../profiles/live_shadow_atomic_v1.yaml   # relative to this file; omit for defaults
    grid:                                         # every combination, in file order
      risk.min_edge: ["0.005", "0.01", "0.02"]
      latency.mean_ms: [50, 150]
    cells:                                        # extra explicit override sets
      - {risk.min_edge: "0.03", latency.mean_ms: 500}
    sessions: ["crossing-burst-*", "resolvedkit-btc15m"]   # ids or globs
    # sessions: {from: 2026-09-01, to: 2026-09-30}        # or a UTC date range (inclusive)

Each override set is applied to the base profile's data and validated again
by :func:`polyarb.config.profile.parse_profile`, so a bad value gets the
profile's own error naming the key.
"""

from __future__ import annotations

import copy
import datetime as dt
import fnmatch
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyarb.config.profile import Profile, ProfileError, parse_profile
from polyarb.configfile import load_yaml
from polyarb.errors import PolyarbError


class SweepError(ValueError, PolyarbError):
    """A sweep file or selection that cannot be used; the message names the file and key."""


_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")


@dataclass(frozen=True)
class Cell:
    """One parameter set: its overrides and the validated profile they give."""

    index: int
    params: dict[str, Any]
    profile: Profile

    @property
    def sha256(self) -> str:
        return self.profile.sha256()


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file."""

    name: str
    source: str
    base_path: Path | None
    cells: list[Cell]
    sessions: list[str] | dict[str, str]
    keys: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """What ``sweep.json`` records about the spec."""
        return {
            "name": self.name,
            "source": self.source,
            "base": str(self.base_path) if self.base_path else None,
            "keys": self.keys,
            "cells": [
                {"index": c.index, "params": c.params, "profile_sha256": c.sha256}
                for c in self.cells
            ],
            "sessions": self.sessions,
        }


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with each dotted key (``risk.min_edge``) set to its value."""
    out = copy.deepcopy(data)
    for key, value in overrides.items():
        parts = str(key).split(".")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return out


def _grid_cells(grid: Any, source: str) -> list[dict[str, Any]]:
    if grid is None:
        return []
    if not isinstance(grid, dict) or not grid:
        raise SweepError(f"{source}: grid must be a mapping of dotted keys to lists of values")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SweepError(f"{source}: grid.{key} must be a non-empty list of values")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def _list_cells(cells: Any, source: str) -> list[dict[str, Any]]:
    if cells is None:
        return []
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise SweepError(f"{source}: cells must be a list of mappings of dotted keys to values")
    return [dict(c) for c in cells]


def _sessions(value: Any, source: str) -> list[str] | dict[str, str]:
    if value is None:
        return ["*"]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value) and value:
        return list(value)
    if isinstance(value, dict) and set(value) <= {"from", "to"} and value:
        out = {}
        for k, v in value.items():
            try:
                out[k] = dt.date.fromisoformat(str(v)).isoformat()
            except ValueError:
                raise SweepError(f"{source}: sessions.{k} = {v!r}: not a YYYY-MM-DD date") from None
        return out
    raise SweepError(
        f"{source}: sessions must be a list of ids/globs or {{from: YYYY-MM-DD, to: YYYY-MM-DD}}"
    )


def build_cells(base: dict[str, Any], overrides: list[dict[str, Any]], source: str) -> list[Cell]:
    """Validate every override set against ``base``; duplicates (same profile hash) kept once."""
    cells: list[Cell] = []
    seen: set[str] = set()
    for params in overrides or [{}]:
        label = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "base"
        try:
            profile = parse_profile(apply_overrides(base, params), f"{source} cell [{label}]")
        except ProfileError as exc:
            raise SweepError(str(exc)) from None
        if profile.sha256() in seen:
            continue
        seen.add(profile.sha256())
        cells.append(Cell(len(cells), {str(k): v for k, v in params.items()}, profile))
    return cells


def load_sweep(path: Path | str) -> SweepSpec:
    """Parse and validate a sweep file (every cell's profile is built here, on the client)."""
    p = Path(path)
    data = load_yaml(p, SweepError, "sweep")
    source = str(p)
    if not isinstance(data, dict):
        raise SweepError(f"{source}: a sweep must be a mapping (name, base, grid/cells, sessions)")
    unknown = set(data) - {"name", "base", "grid", "cells", "sessions", "description"}
    if unknown:
        raise SweepError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
    name = str(data.get("name") or p.stem)
    if not _NAME.match(name):
        raise SweepError(f"{source}: name = {name!r}: use letters, digits, '_', '-', '.'")
    base_path: Path | None = None
    base: dict[str, Any] = {"name": name, "detectors": ["binary_complete_set", "negrisk_basket"]}
    if data.get("base"):
        base_path = (p.parent / str(data["base"])).resolve()
        loaded = load_yaml(base_path, SweepError, "base profile")
        if not isinstance(loaded, dict):
            raise SweepError(f"{base_path}: a profile must be a mapping of keys")
        base = loaded
    overrides = _grid_cells(data.get("grid"), source) + _list_cells(data.get("cells"), source)
    keys = list(dict.fromkeys(k for o in overrides for k in o))
    cells = build_cells(base, overrides, source)
    return SweepSpec(name, source, base_path, cells, _sessions(data.get("sessions"), source), keys)


def select_sessions(
    spec: list[str] | dict[str, str], available: dict[str, dict[str, Any]]
) -> list[str]:
    """Session ids (sorted) matching id globs or a ``{from, to}`` UTC date range of start times.

    ``available`` maps each id to its manifest.
    """
    if isinstance(spec, dict):
        lo = spec.get("from", "0001-01-01")
        hi = spec.get("to", "9999-12-31")
        chosen = []
        for sid, manifest in available.items():
            start = manifest.get("start_ns")
            if start is None:
                continue
            day = dt.datetime.fromtimestamp(start / 1e9, dt.UTC).date().isoformat()
            if lo <= day <= hi:
                chosen.append(sid)
        return sorted(chosen)
    chosen_set: set[str] = set()
    for pattern in spec:
        hits = fnmatch.filter(sorted(available), pattern)
        if not hits:
            raise SweepError(
                f"sessions: {pattern!r} matches no session (known: {', '.join(sorted(available)) or 'none'})"
            )
        chosen_set.update(hits)
    return sorted(chosen_set)


def cell_id(session_id: str, profile_sha256: str) -> str:
    """A cell's stable id: the same session and profile are the same cell in any sweep."""
    return hashlib.sha256(f"{session_id}\n{profile_sha256}".encode()).hexdigest()[:16]


def params_json(params: dict[str, Any]) -> str:
    """Canonical JSON of a cell's overrides (file order kept: it is the grid's order)."""
    return json.dumps(params, separators=(",", ":"), default=str)
