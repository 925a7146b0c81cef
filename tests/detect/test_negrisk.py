"""Neg-risk baskets on the session built from the real 2028 Dem-nominee event: exactly the plants."""

from __future__ import annotations

import json

from detect_support import profile

from polyarb.detect.negrisk import NegRiskBasket, basket_groups
from polyarb.engine import MemorySink, replay
from polyarb.recording import SessionReader
from polyarb.recording.imports.negrisk import PLANTS, T0_MS, import_negrisk, negrisk_markets


def test_groups_exclude_placeholder_and_augmented(shared_data):
    metas = negrisk_markets(shared_data)
    groups = basket_groups(metas)
    (members,) = groups.values()
    assert len(members) == 5 and not any(m.neg_risk_other for m in members)
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
    det = NegRiskBasket(profile(), SessionReader(path).markets())
    assert det.groups == {}
