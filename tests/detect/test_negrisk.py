"""Neg-risk baskets on the session built from the real 2028 Dem-nominee event: exactly the plants."""

from __future__ import annotations

import json

from detect_support import FakeView, profile

from polyarb.detect.negrisk import NegRiskBasket, basket_groups, basket_of
from polyarb.engine import MemorySink, replay
from polyarb.recording import SessionReader
from polyarb.recording.imports.negrisk import PLANTS, T0_MS, import_negrisk, negrisk_markets


def test_groups_exclude_placeholder_and_augmented(shared_data):
    metas = negrisk_markets(shared_data, placeholder=True)
    groups = basket_groups(metas)
    (members,) = groups.values()
    assert len(members) == 5 and not any(m.neg_risk_other for m in members)
    assert len(metas) == 6 and not basket_of(metas).exhaustive
    assert basket_of(negrisk_markets(shared_data)).exhaustive
    assert [m.group_item_title for m in members[:2]] == ["Stephen A. Smith", "Gretchen Whitmer"]
    assert basket_groups(negrisk_markets(shared_data, augmented=True)) == {}
    real = negrisk_markets(shared_data, augmented=True)[:2]  # the sample as published
    assert all(m.neg_risk_augmented for m in real) and basket_groups(real) == {}


def _opportunities(path):
    sink = MemorySink()
    # $200: every leg reaches the venue's 5 shares and $1 (Smith's YES costs 0.011).
    replay(path, profile(trade_size="200"), sink=sink)
    return [d for d in sink.tables["decisions"] if d["type"] == "opportunity"]


def test_finds_exactly_the_planted_baskets(shared_data, tmp_path):
    path = import_negrisk(shared_data, tmp_path)
    opps = _opportunities(path)
    seconds = {}
    frames = {f.seq: f for f in SessionReader(path).frames()}
    for d in opps:
        detail = json.loads(d["detail"])
        boundary = frames[detail["boundary_seq"]]
        seconds[(boundary.recv_ns // 1_000_000 - T0_MS) // 1_000] = detail["variant"]
    planted = {p["second"]: p["variant"] for p in PLANTS if p["variant"]}
    assert seconds == planted  # no near miss, no mid-event transient, no placeholder basket
    assert all(d["detector"] == "negrisk_basket" for d in opps)
    assert all(d["edge"] >= 5_000 for d in opps)


def test_real_augmented_flag_excludes_the_event(shared_data, tmp_path):
    path = import_negrisk(shared_data, tmp_path, session_id="aug", augmented=True)
    assert _opportunities(path) == []
    assert basket_groups(SessionReader(path).markets()) == {}


def test_placeholder_session_has_no_yes_basket_but_keeps_the_no_basket(shared_data, tmp_path):
    """Issue 11 item 9: with a ``negRiskOther`` outcome the planted YES basket is not exhaustive
    ("Other" can win) and is suppressed; n named NOs still pay n − 1, so the NO plant stays.

    The old detector dropped the placeholder and traded the named YES legs as a basket.
    """
    path = import_negrisk(shared_data, tmp_path, session_id="other", placeholder=True)
    sink = MemorySink()
    run = replay(path, profile(trade_size="200"), sink=sink)
    variants = [json.loads(d["detail"])["variant"] for d in sink.tables["decisions"]
                if d["type"] == "opportunity"]  # fmt: skip
    assert set(variants) == {"buy_no"}
    assert run["summary"]["suppressed"]["negrisk_basket"]["placeholder_outcome"] >= 1


def test_negrisk_detector_honours_max_leg_skew_ms(shared_data):
    """Issue 11 item 12: legs whose books are current as of exchange times further apart than
    ``risk.max_leg_skew_ms`` are suppressed as ``leg_skew``; the old detector ignored it."""
    metas = [m for m in negrisk_markets(shared_data) if m.neg_risk][:5]
    view = FakeView(metas)
    for m in metas:
        view.set(m.token_ids[0], bids=[(180_000, 10**9)], asks=[(190_000, 10**9)], ts_ms=1_000)
        view.set(m.token_ids[1], bids=[(800_000, 10**9)], asks=[(820_000, 10**9)], ts_ms=1_000)
    det = NegRiskBasket(profile(trade_size="200", skew_ms=500), metas)
    assert [o.variant for o in det.on_boundary(view, metas[0], 1)] == ["buy_yes"]
    view.as_of[metas[3].token_ids[0]] = 1_600  # that leg's connection is 600 ms ahead
    assert det.on_boundary(view, metas[0], 2) == []
    assert det.suppressed == {"leg_skew": 1}
