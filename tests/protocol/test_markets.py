from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyarb.protocol.markets import (
    MetadataError,
    from_clob_market,
    from_gamma_event,
    from_gamma_market,
)


def _json(shared_data: Path, rel: str):  # type: ignore[no-untyped-def]
    return json.loads((shared_data / rel).read_text())


def test_gamma_event_neg_risk_augmented(shared_data: Path) -> None:
    (event,) = _json(shared_data, "gamma/event_neg_risk_2028_dem_nominee.json")
    markets = from_gamma_event(event)
    assert len(markets) == 2
    for raw, meta in zip(event["markets"], markets, strict=True):
        assert meta.condition_id == raw["conditionId"]
        assert list(meta.token_ids) == json.loads(raw["clobTokenIds"])  # JSON-encoded string field
        assert meta.outcomes == ("Yes", "No")
        assert meta.neg_risk and meta.neg_risk_augmented and not meta.neg_risk_other
        assert meta.neg_risk_market_id == event["negRiskMarketID"]
        assert meta.tick_size == 1_000 and meta.min_order_size == 5_000_000
        assert meta.fee_rate == 0  # no fee schedule on this event
        assert meta.event_slug == "democratic-presidential-nominee-2028"


def test_gamma_crypto_fee_schedule(shared_data: Path) -> None:
    meta = from_gamma_market(
        _json(shared_data, "gamma/market_btc_updown_5m_twap_2026-08-22_reduced.json")
    )
    assert (meta.fee_rate, meta.fee_exponent, meta.fee_taker_only) == (70_000, 1, True)
    assert meta.outcomes == ("Up", "Down") and meta.tick_size == 10_000
    assert meta.end_date_ms == 1787414700000 and not meta.closed


def test_gamma_resolved_sports_market(shared_data: Path) -> None:
    raw = _json(shared_data, "gamma/market_sports_moneyline_closed_2026-04-05.json")
    meta = from_gamma_market(raw)
    assert meta.fee_rate == 30_000 and meta.tick_size == 1_000
    assert meta.closed and meta.winning_token_id == json.loads(raw["clobTokenIds"])[0]
    assert meta.outcome_of(meta.winning_token_id) == "FaZe"


def test_clob_markets(shared_data: Path) -> None:
    neg = from_clob_market(_json(shared_data, "rest/clob_market_2024_neg_risk.json"))
    assert neg.neg_risk and neg.neg_risk_market_id.startswith("0xe3b1")
    assert neg.tick_size == 1_000 and neg.winning_token_id is None
    closed = from_clob_market(
        _json(shared_data, "rest/clob_market_closed_binary_accepting_orders_2026-04.json")
    )
    assert closed.closed and closed.winning_token_id == closed.token_ids[0]
    page = _json(shared_data, "rest/clob_markets_page_2024.json")
    assert len([from_clob_market(m) for m in page["data"]]) == 100


def test_bad_metadata_names_the_field() -> None:
    with pytest.raises(MetadataError, match="clobTokenIds"):
        from_gamma_market({"conditionId": "0x1", "outcomes": '["Yes","No"]'})
    with pytest.raises(MetadataError, match="2 token ids but 3 outcomes"):
        from_gamma_market(
            {"conditionId": "0x1", "clobTokenIds": '["1","2"]', "outcomes": '["a","b","c"]'}
        )


def test_gamma_market_placeholder_and_own_augmented_flag(shared_data: Path) -> None:
    """A bare market record (no parent event) keeps ``negRiskOther`` and its own
    ``negRiskAugmented`` (issue 11 item 9: either makes a YES basket non-exhaustive)."""
    (event,) = _json(shared_data, "gamma/event_neg_risk_2028_dem_nominee.json")
    raw = dict(event["markets"][0], negRiskOther=True, negRiskAugmented=True)
    raw.pop("events", None)
    meta = from_gamma_market(raw)
    assert meta.neg_risk and meta.neg_risk_other and meta.neg_risk_augmented
    plain = dict(event["markets"][0])
    plain.pop("events", None)
    assert not from_gamma_market(plain).neg_risk_augmented
