"""A compiled scanner for a ``book`` frame's level arrays (numba), the parser's fastest path.

A level costs the memo path ~200 ns in Python (decode two strings, read two fields, two dict
hits, a tuple); this scanner reads both sides' raw JSON bytes in one compiled call and
leaves only the ints and tuples to build. It accepts one grammar only, the compact one the
market channel sends: ``[{"price":"D","size":"D"},...]`` where ``D`` is exactly what
:func:`polyarb.units.parse_fixed` accepts (digits, an optional ``.``, at least one digit in
all, at most 12 whole digits, decimals past the sixth only zeros), and every price strictly
inside (0, 1). Anything else (spaces, other key orders or keys, escapes, a number
parse_fixed or the price range rejects) is declined, never decided: the caller falls back to
the memo path, which owns every rejection reason. tests/protocol/test_levels_jit.py pins the
accepted set to parse_fixed's.

Imported lazily by :mod:`polyarb.protocol.parser` on the first frame (numba and LLVM take
~0.35 s to import), never when ``POLYARB_JIT=0``. Compiled code is cached on disk, in
``$NUMBA_CACHE_DIR`` or else ``$POLYARB_CACHE/numba`` (default ``~/.cache/polyarb/numba``), not
beside this file: the install may be read-only, and numba's atomic writes let the many
processes of a test run share one folder.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from numba import njit
from numba.core import config as numba_config


def _cache_dir() -> str:
    """A per-user folder numba can write to (the temp folder if the home one is not)."""
    base = Path(os.environ.get("POLYARB_CACHE") or Path.home() / ".cache" / "polyarb")
    for path in (base / "numba", Path(tempfile.gettempdir()) / f"polyarb-numba-{os.getuid()}"):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return str(path)
    return ""  # numba then tries __pycache__ and its own user cache


@contextmanager
def _cache_home() -> Iterator[None]:
    """Functions compiled inside cache to our folder unless the user set $NUMBA_CACHE_DIR.

    numba fixes a function's cache folder when it is decorated; setting its config only
    around our decorations leaves the rest of the process (and child processes) alone.
    """
    saved = numba_config.CACHE_DIR  # type: ignore[attr-defined]
    if not saved:
        numba_config.CACHE_DIR = _cache_dir()  # type: ignore[attr-defined]
    try:
        yield
    finally:
        numba_config.CACHE_DIR = saved  # type: ignore[attr-defined]


_ONE = 1_000_000  # polyarb.units.ONE; numba freezes globals at compile time either way
_MAX_WHOLE = 12  # parse_fixed's "number too large" bound
_LEVEL_BYTES = 24  # shortest level text, {"price":"1","size":"1"}, so n // 24 bounds the count


def _number(buf, i, n):
    """The decimal string at ``buf[i:]`` up to its closing quote: (micro units, index after it).

    (-1, i) when it is not one parse_fixed accepts.
    """
    value = 0
    whole = 0
    while i < n and 48 <= buf[i] <= 57:
        value = value * 10 + (buf[i] - 48)
        whole += 1
        i += 1
    if whole > _MAX_WHOLE:
        return -1, i
    frac = 0
    if i < n and buf[i] == 46:  # '.'
        i += 1
        while i < n and 48 <= buf[i] <= 57:
            if frac < 6:
                value = value * 10 + (buf[i] - 48)
            elif buf[i] != 48:  # a seventh decimal other than 0 is not exact
                return -1, i
            frac += 1
            i += 1
    if whole + frac == 0:  # "", "." (a lone dot counts no digit)
        return -1, i
    for _ in range(min(frac, 6), 6):
        value *= 10
    if i >= n or buf[i] != 34:  # '"'; anything else (e, -, \, space, a second dot) declines
        return -1, i
    return value, i + 1


def _side(buf, out, k):
    """Append one side's levels to ``out`` from level ``k`` on; the new count, or -1 to decline."""
    n = len(buf)
    if n < 2 or buf[0] != 91 or buf[n - 1] != 93:  # '[' ... ']'
        return -1
    if n == 2:
        return k
    i = 1
    while True:
        # {"price":"
        if (
            i + 10 > n
            or buf[i] != 123
            or buf[i + 1] != 34
            or buf[i + 2] != 112
            or buf[i + 3] != 114
            or buf[i + 4] != 105
            or buf[i + 5] != 99
            or buf[i + 6] != 101
            or buf[i + 7] != 34
            or buf[i + 8] != 58
            or buf[i + 9] != 34
        ):
            return -1
        price, i = _number(buf, i + 10, n)
        if price <= 0 or price >= _ONE:  # -1 (declined) included
            return -1
        # ,"size":"
        if (
            i + 9 > n
            or buf[i] != 44
            or buf[i + 1] != 34
            or buf[i + 2] != 115
            or buf[i + 3] != 105
            or buf[i + 4] != 122
            or buf[i + 5] != 101
            or buf[i + 6] != 34
            or buf[i + 7] != 58
            or buf[i + 8] != 34
        ):
            return -1
        size, i = _number(buf, i + 9, n)
        if size < 0 or 2 * k + 1 >= len(out):
            return -1
        out[2 * k] = price
        out[2 * k + 1] = size
        k += 1
        if i >= n or buf[i] != 125:  # '}'
            return -1
        i += 1
        if i == n - 1:
            return k
        if buf[i] != 44:  # ','
            return -1
        i += 1


def _scan(bids, asks):
    """Both sides in one call: (prices and sizes interleaved, bid count), or an empty array.

    The array is allocated here, not reused across calls, so two threads parsing at once
    cannot read each other's numbers.
    """
    out = np.empty(2 * ((len(bids) + len(asks)) // _LEVEL_BYTES) + 2, np.int64)
    n_bids = _side(bids, out, 0)
    if n_bids < 0:
        return out[:0], -1
    k = _side(asks, out, n_bids)
    if k < 0:
        return out[:0], -1
    return out[: 2 * k], n_bids


with _cache_home():
    # _side and _scan reach the others through these module globals once compiled
    _number = njit(cache=True, nogil=True)(_number)
    _side = njit(cache=True, nogil=True)(_side)
    _scan = njit(cache=True, nogil=True)(_scan)

Level = tuple[int, int]


def book_sides(bids: bytes, asks: bytes) -> tuple[tuple[Level, ...], tuple[Level, ...]] | None:
    """A book's bid and ask levels from their raw JSON arrays, or None to decline.

    ``bids`` and ``asks`` are any byte buffers (``msgspec.Raw`` as the parser decodes them).
    """
    flat, n_bids = _scan(bids, asks)
    if n_bids < 0:
        return None
    values = flat.tolist()
    m = 2 * n_bids
    # C iterators over the flat list: no Python frame per level
    bids_out = tuple(zip(values[0:m:2], values[1:m:2], strict=True))
    return bids_out, tuple(zip(values[m::2], values[m + 1 :: 2], strict=True))
