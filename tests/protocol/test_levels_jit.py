"""The compiled level scanner accepts exactly what parse_fixed accepts, and loads lazily, once.

polyarb/protocol/levels_jit.py reads a book's raw level arrays; whatever it accepts skips
every Python check, so its accepted set must be parse_fixed's (prices also inside (0, 1)).
Anything else it must decline (None), leaving the memo and generic paths to decide.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_parser_fast import reference

from polyarb.events import BookSnapshot
from polyarb.protocol import parser
from polyarb.protocol.levels_jit import book_sides
from polyarb.recording.event_cache import parser_sources
from polyarb.units import ONE, FixedPointError, parse_fixed

_RAW = msgspec.json.Decoder(list[msgspec.Raw]).decode


def _sides(bids: str, asks: str = "[]") -> object:
    """book_sides on msgspec.Raw, the type parse_frame hands it."""
    raw = _RAW(f"[{bids},{asks}]")
    return book_sides(raw[0], raw[1])


def _expected(text: str, *, price: bool) -> int | None:
    try:
        value = parse_fixed(text)
    except FixedPointError:
        return None
    return None if price and not 0 < value < ONE else value


_DECIMALISH = st.text(alphabet="0123456789.", max_size=22)
_ANY = st.text(alphabet=st.sampled_from('0123456789.e+- \\/u"x²٣５\t'), max_size=10) | st.text(
    max_size=8
)


@settings(max_examples=3_000, deadline=None)
@given(text=_DECIMALISH | _ANY, as_price=st.booleans())
def test_the_scanner_accepts_exactly_what_parse_fixed_accepts(text: str, as_price: bool) -> None:
    """Would fail if the scanner took a number parse_fixed rejects (7 decimals, "1e5", "+1",
    " 1", non-ASCII digits, 13 whole digits) or declined or misread one it accepts."""
    level = {"price": text, "size": "1"} if as_price else {"price": "0.5", "size": text}
    got = _sides(msgspec.json.encode([level]).decode())
    want = _expected(text, price=as_price)
    if want is None:
        assert got is None, text
    else:
        pair = (want, ONE) if as_price else (500_000, want)
        assert got == ((pair,), ()), text


# compact-looking level arrays that are valid JSON but not the wire grammar: all declined
DECLINED = [
    '[{"price":"\\u0030.5","size":"1"}]',  # an escape, even of a digit
    '[{"price":"0.5","size":"\\u0031"}]',
    '[{"size":"1","price":"0.5"}]',  # keys swapped
    '[{"price": "0.5","size":"1"}]',  # whitespace between tokens
    '[ {"price":"0.5","size":"1"}]',
    '[{"price":"0.5","size":"1"} ]',
    '[{"price":"0.5","size":"1"}, {"price":"0.6","size":"1"}]',
    '[{"price":"0.4","price":"0.5","size":"1"}]',  # duplicate key
    '[{"price":"0.5","size":"1","size":"2"}]',
    '[{"price":"0.5","size":"1","x":1}]',  # an extra key
    '[{"price":0.5,"size":"1"}]',  # a JSON number, not a string
    '[{"price":"0.5","size":1}]',
    '[{"price":"0.5"}]',
    "[1]",
    '"x"',
    "null",
    '[{"price":"0.5","size":"1"},{}]',
    '[{"price":"1","size":"1"}]',  # outside (0, 1): the generic path names it
    '[{"price":"0","size":"1"}]',
    '[{"price":"0.5","size":"-1"}]',
]


@pytest.mark.parametrize("bids", DECLINED)
def test_anything_but_the_compact_grammar_is_declined(bids: str) -> None:
    try:
        raw = _RAW(f"[{bids},[]]")
    except msgspec.DecodeError:  # not JSON: parse_frame never gets that far
        return
    assert book_sides(raw[0], raw[1]) is None
    assert book_sides(raw[1], raw[0]) is None


@pytest.mark.parametrize("bids", DECLINED)
@pytest.mark.parametrize("jit", [True, False])
def test_declined_books_still_parse_like_the_reference(bids: str, jit: bool) -> None:
    """The memo and generic paths take over a declined book: same events or same rejection."""
    text = (
        '{"event_type":"book","market":"m","asset_id":"1","timestamp":"5","hash":"h",'
        f'"bids":{bids},"asks":[{{"price":"0.6","size":"5"}}]}}'
    )
    assert parser.use_jit(jit) is jit
    try:
        assert parser.parse_frame(text) == reference(text)
    finally:
        parser.use_jit()


_B = '"market":"m","asset_id":"1","timestamp":"5","bids":[{"price":"0.4","size":"1"}],"asks":[]'
_C = '"market":"m","timestamp":"5","price_changes":[{"asset_id":"1","price":"0.5","size":"3","side":"BUY"}]'
_PC, _BK = '{"event_type":"price_change",', '{"event_type":"book",'
ODD_FRAMES = [
    _PC + _B + ',"event_type":"book"}',  # the tag twice
    _BK + _B + ',"event_type":"price_change"}',
    _PC + _B + "," + _C + ',"event_type":"book"}',
    _BK + _B + "," + _C + ',"event_type":"price_change"}',
    _BK + _B + ',"bids":[]}',  # a side twice
    "[" + _BK + _B + "}," + _BK + _B + "}]",  # the initial dump
    _BK + _B + "} ",  # the book decoder's hint, then not the last byte
    '{"event_type":"book",' + _B.replace("[{", "[ {") + "}",  # declined, decided by the memo path
]


@pytest.mark.parametrize("text", ODD_FRAMES)
@pytest.mark.parametrize("jit", [True, False])
def test_odd_book_frames_parse_like_the_reference(text: str, jit: bool) -> None:
    """Duplicate keys and lists take the book decoder's shortcut or miss it; same events."""
    assert parser.use_jit(jit) is jit
    try:
        assert parser.parse_frame(text) == reference(text)
    finally:
        parser.use_jit()


def test_both_sides_come_back_in_order_from_one_call() -> None:
    bids = '[{"price":"0.31","size":"10"},{"price":".32","size":"5."}]'
    asks = '[{"price":"0.99","size":"0.000001"},{"price":"0.5000000","size":"0000123456789012"}]'
    assert _sides(bids, asks) is None  # 16 whole digits: too large
    asks = '[{"price":"0.99","size":"0.000001"},{"price":"0.5000000","size":"000012345678.9"}]'
    assert _sides(bids, asks) == (
        ((310_000, 10_000_000), (320_000, 5_000_000)),
        ((990_000, 1), (500_000, 12_345_678_900_000)),
    )
    assert _sides("[]", "[]") == ((), ())


def test_a_thousand_levels_a_side() -> None:
    """A 0.001-tick book can hold 999 levels a side; none is dropped or misplaced."""
    levels = [{"price": f"0.{i:03d}", "size": str(i)} for i in range(1, 1000)]
    text = json.dumps(levels, separators=(",", ":"))
    want = tuple((i * 1000, i * ONE) for i in range(1, 1000))
    assert _sides(text, text) == (want, want)


def test_a_book_frame_goes_through_the_scanner() -> None:
    """With the scanner on, parse_frame calls it for a book (the gain is not silently lost)."""
    assert parser.use_jit(True)
    calls = []
    real = parser._book_sides
    assert real is not None

    def spy(bids: bytes, asks: bytes) -> object:
        calls.append(1)
        return real(bids, asks)

    parser._book_sides = spy  # type: ignore[assignment]
    try:
        (event,) = parser.parse_frame(
            '{"event_type":"book","market":"m","asset_id":"1","timestamp":"5",'
            '"bids":[{"price":"0.4","size":"1"}],"asks":[]}'
        )
    finally:
        parser.use_jit()
    assert calls == [1]
    assert isinstance(event, BookSnapshot) and event.bids == ((400_000, ONE),)


def test_the_event_cache_version_covers_the_scanner() -> None:
    """A change to the scanner's code must rebuild decoded-session caches."""
    names = [p.name for p in parser_sources()]
    assert "levels_jit.py" in names and all(p.is_file() for p in parser_sources())
    assert "event_cache.py" in names  # the cache's own layout code


# -- loading: lazily, once, into a per-user cache ----------------------------------------

_BOOK = (
    '{"event_type":"book","market":"m","asset_id":"1","timestamp":"5",'
    '"bids":[{"price":"0.4","size":"1"}],"asks":[]}'
)
_PROBE = f"""
from polyarb.protocol import parser
from polyarb.protocol.levels_jit import _scan
(event,) = parser.parse_frame({_BOOK!r})
assert event.bids == ((400000, 1000000),), event
print("jit:", parser._book_sides is not None)
print("hits:", sum(_scan.stats.cache_hits.values()))
print("misses:", sum(_scan.stats.cache_misses.values()))
"""


def _probe(env: dict[str, str], code: str = _PROBE) -> dict[str, str]:
    """Run ``code`` in a fresh process; ``POLYARB_JIT=1`` (scanner at the first frame) unless
    ``env`` says otherwise (``"auto"``: the variable unset)."""
    full = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "POLYARB_JIT")}
    env = {"POLYARB_JIT": "1", **env}
    if env["POLYARB_JIT"] == "auto":
        del env["POLYARB_JIT"]
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**full, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def test_parser_import_leaves_numba_unloaded_until_a_frame(tmp_path: Path) -> None:
    """Importing the parser (as every CLI command does) must not pay numba's import."""
    code = (
        "import sys\nfrom polyarb.protocol import parser\n"
        "print('numba: ', 'numba' in sys.modules)\n"
        f"parser.parse_frame({_BOOK!r})\nprint('after: ', 'numba' in sys.modules)\n"
    )
    got = _probe({"NUMBA_CACHE_DIR": str(tmp_path)}, code)
    assert (got["numba"].strip(), got["after"].strip()) == ("False", "True")


def test_auto_mode_loads_numba_only_after_enough_books_and_preload_settles_it(
    tmp_path: Path,
) -> None:
    """By default a short parse (a small replay, serve, a test's subprocess) never imports
    numba; preload_jit (what shadow and live call before connecting) loads it at once unless
    POLYARB_JIT=0."""
    code = (
        "import sys\nfrom polyarb.protocol import parser\n"
        f"parser.parse_frame({_BOOK!r})\nprint('first: ', 'numba' in sys.modules)\n"
        "print('preload: ', parser.preload_jit(), 'numba' in sys.modules)\n"
    )
    got = _probe({"POLYARB_JIT": "auto", "NUMBA_CACHE_DIR": str(tmp_path)}, code)
    assert (got["first"].strip(), got["preload"].strip()) == ("False", "True True")
    got = _probe({"POLYARB_JIT": "0", "NUMBA_CACHE_DIR": str(tmp_path)}, code)
    assert (got["first"].strip(), got["preload"].strip()) == ("False", "False False")


def test_auto_mode_switches_to_the_scanner_after_jit_after_books(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """auto: the memo path parses the first JIT_AFTER_BOOKS book frames, the scanner the
    rest; every frame's events equal the reference parser's on both sides of the switch."""
    monkeypatch.delenv("POLYARB_JIT", raising=False)
    monkeypatch.setattr(parser, "JIT_AFTER_BOOKS", 3)
    frames = [_BOOK.replace('"size":"1"', f'"size":"{i}"') for i in range(1, 6)]
    assert parser.use_jit() is False
    seen = []
    try:
        for text in frames:
            assert parser.parse_frame(text) == reference(text)
            seen.append(parser._book_sides is not None)
    finally:
        parser.use_jit()
    assert seen == [False, False, True, True, True]


def test_polyarb_jit_0_keeps_numba_out(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom polyarb.protocol import parser\n"
        f"parser.parse_frame({_BOOK!r})\n"
        "print('numba: ', 'numba' in sys.modules, parser._book_sides is None)\n"
    )
    got = _probe({"POLYARB_JIT": "0", "NUMBA_CACHE_DIR": str(tmp_path)}, code)
    assert got["numba"].strip() == "False True"


def test_compiled_once_then_loaded_from_the_user_cache(tmp_path: Path) -> None:
    """Two processes at once compile into one fresh cache; a third loads, compiling nothing.

    The cache goes to $POLYARB_CACHE/numba, never beside the installed module (which may be
    read-only, and which concurrent test suites share).
    """
    env = {"POLYARB_CACHE": str(tmp_path / "cache"), "POLYARB_JIT": "1"}
    first = [
        subprocess.Popen(
            [sys.executable, "-c", _PROBE],
            env={**{k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}, **env},
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate()[0] for p in first]
    assert all(p.returncode == 0 for p in first), outs
    assert all("jit: True" in out for out in outs), outs
    assert list((tmp_path / "cache" / "numba").rglob("levels_jit._scan-*.nbi"))
    again = _probe(env)
    assert again["jit"] == "True"
    assert int(again["hits"]) > 0 and again["misses"] == "0", again
    module_dir = Path(parser.__file__).parent
    assert not list(module_dir.rglob("levels_jit*.nbi")), "numba cached beside the module"


def test_an_unwritable_cache_home_falls_back_to_the_temp_folder(tmp_path: Path) -> None:
    """$POLYARB_CACHE under a file (no folder can be made there): still compiled and cached."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    got = _probe({"POLYARB_CACHE": str(blocker / "cache")})
    assert got["jit"] == "True"


def test_without_numba_the_memo_path_parses_alone(tmp_path: Path) -> None:
    """numba not importable (a platform without wheels): same events, no error."""
    code = (
        "import sys\nsys.modules['numba'] = None  # import numba now raises ImportError\n"
        "from polyarb.protocol import parser\n"
        f"(event,) = parser.parse_frame({_BOOK!r})\n"
        "print('result: ', parser.use_jit(True), event.bids)\n"
    )
    got = _probe({"NUMBA_CACHE_DIR": str(tmp_path)}, code)
    assert got["result"].strip() == "False ((400000, 1000000),)"


def test_numba_imported_first_still_caches_in_the_user_folder(tmp_path: Path) -> None:
    """A notebook that imported numba before polyarb: our cache folder still applies, only to
    our functions (numba read $NUMBA_CACHE_DIR at its import, so setting it then is too late)."""
    code = (
        "import numba\nfrom numba.core import config\n"
        "from polyarb.protocol import parser\n"
        f"parser.parse_frame({_BOOK!r})\n"
        "print('jit: ', parser._book_sides is not None, repr(config.CACHE_DIR))\n"
    )
    got = _probe({"POLYARB_CACHE": str(tmp_path)}, code)
    assert got["jit"].strip() == "True ''"
    assert list((tmp_path / "numba").rglob("levels_jit._scan-*.nbi"))
    assert not list(Path(parser.__file__).parent.rglob("levels_jit*.nbi"))
