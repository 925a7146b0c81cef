"""Resolve what to record (token ids, market slugs, condition ids, events) via Gamma and CLOB.

The only module that talks HTTP to Polymarket's discovery APIs; stdlib only.
"""

from polyarb.discovery.http import HttpError, JsonHttp
from polyarb.discovery.resolve import (
    CLOB_URL,
    GAMMA_URL,
    Resolution,
    ResolveError,
    Target,
    parse_target,
    resolve,
)

__all__ = [
    "CLOB_URL",
    "GAMMA_URL",
    "HttpError",
    "JsonHttp",
    "Resolution",
    "ResolveError",
    "Target",
    "parse_target",
    "resolve",
]
