"""Issue 11, items 7, 8, 10, 11: one basket per mispricing, in-flight exposure, verify-all-then-detect,
resolution while a NO basket is in flight.

Every test drives a real engine with hand-built rows (``negrisk_rows``) and fails
on the engine before these changes (the docstrings say how).
"""

from __future__ import annotations

import json
from decimal import Decimal

from negrisk_rows import MS, T0_MS, Feed, bad_delta, group, profile, quotes, resolved

from polyarb.config.profile import LatencyModel


def test_a_mispricing_in_flight_is_not_traded_again():
    """Item 7. All three outcomes' events end on one row and each boundary sees the same YES
    basket: one is traded, the others are ``in_flight``, as is a later sighting before the
    orders arrive. Once the basket is done the mispricing may be traded again.

    The old engine accepted all five (three identical baskets on one row).
    """
    metas = group("a", 3)
    feed = Feed(metas, profile())
    feed.frame(quotes(metas, T0_MS, yes=(290_000, 300_000), no=(700_000, 710_000)), 0)
    feed.tick(30)  # the events go quiet: three boundaries, orders sent (arrive at 80 ms)
    assert feed.reasons() == ["ok", "in_flight", "in_flight"]
    feed.frame(quotes(metas[:1], T0_MS + 40, yes=(290_000, 300_000), no=(700_000, 710_000)), 40)
    feed.tick(70)  # seen again while the orders are still travelling
    assert feed.reasons()[-1] == "in_flight"
    verdict = json.loads(feed.decisions("verdict")[-1]["detail"])
    assert verdict["basket"] == feed.decisions("verdict")[0]["decision_id"].removesuffix("/verdict")
    feed.tick(200)  # the legs arrive and fill: the basket is done
    assert len(feed.sink.tables["fills"]) == 3
    feed.frame(quotes(metas[:1], T0_MS + 300, yes=(290_000, 300_000), no=(700_000, 710_000)), 300)
    feed.tick(400)
    assert feed.reasons()[-1] == "ok"
    summary = feed.engine.finish()
    assert summary["rejects_by_reason"] == {"in_flight": 3}
    assert summary["verdicts"] == {"accept": 2, "reject": 3}


def test_three_baskets_on_one_row_respect_the_total_limit_together():
    """Item 8 (total). Three events' baskets of ~$200 each are decided on one row, before any
    fill: with $500 in total the third is refused, counting the first two's orders in flight.

    The old risk check read only the ledger (still empty) and accepted all three.
    """
    metas = group("a", 3) + group("b", 3) + group("c", 3)
    prof = profile(
        max_position_per_market_usd=Decimal("300"), max_total_position_usd=Decimal("500")
    )
    feed = Feed(metas, prof)
    feed.frame(quotes(metas, T0_MS, yes=(290_000, 300_000), no=(700_000, 710_000)), 0)
    feed.tick(30)
    reasons = [r for r in feed.reasons() if r != "in_flight"]
    assert reasons == ["ok", "ok", "position_limit_total", "position_limit_total",
                       "position_limit_total"]  # fmt: skip
    refused = json.loads(feed.decisions("verdict")[6]["detail"])
    assert refused["in_flight"] > 390 * 1_000_000 and refused["exposure"] > 500 * 1_000_000
    feed.tick(200)
    summary = feed.engine.finish()
    assert summary["verdicts"]["accept"] == 2
    assert feed.engine.ledger.total_exposure() <= 500 * 1_000_000


def test_yes_and_no_baskets_on_one_row_respect_the_market_limit_together():
    """Item 8 (per market). A YES and a NO basket over the same two markets on one row: the
    second would put $266 in a $200 market once both fill, so it is refused.

    The old risk check accepted both (the ledger held nothing yet).
    """
    metas = group("d", 2)
    feed = Feed(metas, profile(max_position_per_market_usd=Decimal("200")))
    # YES asks 0.30 + 0.60 = 0.90 < 1 and NO asks 0.30 + 0.60 = 0.90 < n − 1 = 1
    feed.frame(
        [
            *quotes(metas[:1], T0_MS, yes=(250_000, 300_000), no=(250_000, 300_000)),
            *quotes(metas[1:], T0_MS, yes=(550_000, 600_000), no=(550_000, 600_000)),
        ],
        0,
    )
    feed.tick(30)
    reasons = [r for r in feed.reasons() if r != "in_flight"]
    assert reasons == ["ok", "position_limit_market", "position_limit_market"]
    detail = json.loads(feed.decisions("verdict")[1]["detail"])
    assert detail["market"] == metas[1].condition_id and detail["in_flight"] > 130 * 1_000_000


def test_every_closing_market_is_verified_before_any_detector_runs():
    """Item 10. On one row two events of a basket end: the first brings the mispricing, the
    second a delta whose hash does not match. The basket spans both, so it is not traded.

    The old engine verified the first market, ran the detector (the second book still
    counted as verified) and traded, then marked the second book unverified.
    """
    metas = group("e", 3)
    feed = Feed(metas, profile())
    feed.frame(quotes(metas, T0_MS, yes=(330_000, 340_000), no=(660_000, 670_000)), 0)
    feed.tick(30)  # Σ YES asks 1.02: nothing
    feed.frame(
        [
            *quotes(metas[:1], T0_MS + 100, yes=(290_000, 300_000), no=(700_000, 710_000)),
            bad_delta(metas[1], T0_MS + 100, 320_000),
        ],
        100,
    )
    feed.tick(130)
    summary = feed.engine.finish()
    assert summary["book"]["hash_mismatch"] == 1
    assert summary["opportunities_total"] == 0 and feed.sink.tables["orders"] == []
    assert summary["suppressed"]["negrisk_basket"]["unverified"] >= 1


def test_no_basket_outcome_resolving_mid_flight_settles_instead_of_crashing():
    """Item 11. A NO basket's legs arrive at different times; one outcome resolves after its
    leg filled and before the others arrive. Conversion is skipped (that NO has settled), the
    other NOs settle leg by leg, and the ledger ends balanced at n − 1 per set.

    The old engine converted all three NOs at completion and crashed with a LedgerError.
    """
    metas = group("f", 3)
    jitter = LatencyModel(kind="uniform", mean_ms=100, jitter_ms=80, seed=3)
    feed = Feed(metas, profile(latency=jitter))
    # Σ YES asks 1.02, Σ NO asks 2.01: nothing; then one NO ask drops to 0.55: Σ 1.89 < n − 1
    feed.frame(quotes(metas, T0_MS, yes=(330_000, 340_000), no=(660_000, 670_000)), 0)
    feed.tick(30)
    feed.frame(quotes(metas[:1], T0_MS + 100, yes=(450_000, 460_000), no=(540_000, 550_000)), 100)
    feed.tick(130)  # one boundary, one NO basket
    assert feed.reasons() == ["ok"]
    orders = sorted(
        (json.loads(d["detail"])["arrive_ns"], d["market"]) for d in feed.decisions("order")
    )
    (first, market), (second, _), (last, _) = orders
    assert first + 2 < second  # the legs really do arrive apart
    base = T0_MS * MS
    feed.at_ns(first - base + 1, "tick")  # the first leg fills
    meta = next(m for m in metas if m.condition_id == market)
    feed.at_ns(first - base + 2, "frame", json.dumps(resolved(meta, T0_MS + 1, meta.token_ids[0])))
    feed.at_ns(last - base + 1, "tick")  # the other two fill: the basket completes
    assert len(feed.sink.tables["fills"]) == 3
    for i, m in enumerate(metas):
        if m is not meta:
            feed.frame([resolved(m, T0_MS + 5_000 + i, m.token_ids[1])], 5_000 + i)
    summary = feed.engine.finish()
    ledger = feed.engine.ledger
    size = feed.decisions("opportunity")[0]["size"]
    spent = sum(
        -(-f["price"] * f["size"] // 1_000_000) + f["fee"] for f in feed.sink.tables["fills"]
    )
    assert summary["merges"] == 0 and summary["settlements"] == 3
    assert ledger.open_assets() == {}
    assert ledger.cash == ledger.realised_pnl == 2 * size - spent  # n − 1 per set, no gas
    assert ledger.equity() - ledger.initial_cash == ledger.realised_pnl + ledger.marked_pnl()
