"""polyarb: record, replay, shadow and promote Polymarket arbitrage with one engine.

The public API. Names load their module on first use, so ``import polyarb`` (and
every CLI command's start-up) stays cheap::

    import polyarb

    run = polyarb.replay("crossing-burst-2026-09-29", "profiles/live_shadow_atomic_v1.yaml")
    print(run.summary.opportunities_total, run.decisions_sha256)

docs/design.md explains the architecture.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from polyarb._version import __version__
from polyarb.errors import PolyarbError

if TYPE_CHECKING:
    from polyarb.alerts.rules import AlertRulesError
    from polyarb.api import default_profile, replay, replay_many
    from polyarb.config.profile import Profile, ProfileError, load_profile
    from polyarb.engine.engine import Engine
    from polyarb.ledger.ledger import LedgerError
    from polyarb.protocol.markets import MetadataError
    from polyarb.recording.files import StoreError
    from polyarb.recording.reader import SessionError, SessionReader
    from polyarb.recording.writer import SessionWriter
    from polyarb.units import FixedPointError

_LAZY = {
    "AlertRulesError": "polyarb.alerts.rules",
    "Engine": "polyarb.engine.engine",
    "FixedPointError": "polyarb.units",
    "LedgerError": "polyarb.ledger.ledger",
    "MetadataError": "polyarb.protocol.markets",
    "Profile": "polyarb.config.profile",
    "ProfileError": "polyarb.config.profile",
    "SessionError": "polyarb.recording.reader",
    "SessionReader": "polyarb.recording.reader",
    "SessionWriter": "polyarb.recording.writer",
    "StoreError": "polyarb.recording.files",
    "default_profile": "polyarb.api",
    "load_profile": "polyarb.config.profile",
    "replay": "polyarb.api",
    "replay_many": "polyarb.api",
}

__all__ = [
    "AlertRulesError",
    "Engine",
    "FixedPointError",
    "LedgerError",
    "MetadataError",
    "PolyarbError",
    "Profile",
    "ProfileError",
    "SessionError",
    "SessionReader",
    "SessionWriter",
    "StoreError",
    "__version__",
    "default_profile",
    "load_profile",
    "replay",
    "replay_many",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'polyarb' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
