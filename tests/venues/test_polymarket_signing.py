"""The adapter's signing equals py-clob-client-v2's, byte for byte, with integer amounts.

The adapter hashes the typed data once (for speed) instead of calling the
SDK's ``build_signed_order``; these tests prove the result is the SDK's own:
same amounts, same signature, same order hash, same L2 headers.
"""

from __future__ import annotations

import math

import pytest
from clob_support import KEY
from hypothesis import given, settings
from hypothesis import strategies as st
from py_clob_client_v2.clob_types import ApiCreds as SdkCreds
from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2, RequestArgs
from py_clob_client_v2.headers.headers import create_level_2_headers
from py_clob_client_v2.order_builder.builder import ROUNDING_CONFIG, OrderBuilder
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2
from py_clob_client_v2.order_utils.model.side import Side
from py_clob_client_v2.signer import Signer

from polyarb.units import format_fixed
from polyarb.venues.polymarket.signing import (
    BUY,
    SELL,
    ApiCreds,
    MarketParams,
    exchange_address,
    l2_headers,
    order_amounts,
    order_hash,
    order_salt,
    recover_order_signer,
    sign_order,
)


@pytest.mark.parametrize("neg_risk", [False, True])
@pytest.mark.parametrize("side", [BUY, SELL])
def test_signature_and_hash_equal_the_sdks(neg_risk: bool, side: str) -> None:
    """Same salt and timestamp: the SDK's builder signs the identical order (RFC 6979 ECDSA)."""
    market = MarketParams(
        "71321045679252212594626385532706912750332728571942532289631379312455583992563",
        10_000,
        neg_risk,
    )
    ours = sign_order(KEY, market, side=side, price=530_000, size=5_000_000, order_type="FOK",
                      owner="owner-key", client_order_id="c-1", timestamp_ms=1_790_000_000_123)  # fmt: skip
    signer = Signer(KEY, 137)
    exchange = exchange_address(137, neg_risk)
    builder = ExchangeOrderBuilderV2(
        exchange, 137, signer, generate_salt=lambda: str(order_salt("c-1"))
    )
    maker, taker = order_amounts(side, 530_000, 5_000_000)
    sdk = builder.build_signed_order(
        OrderDataV2(
            maker=signer.address(),
            tokenId=market.token_id,
            makerAmount=str(maker),
            takerAmount=str(taker),
            side=Side.BUY if side == BUY else Side.SELL,
            signer=signer.address(),
            timestamp="1790000000123",
        )
    )
    assert ours.body["order"]["signature"] == sdk.signature
    assert ours.order_id == builder.build_order_hash(builder.build_order_typed_data(sdk))
    assert ours.order_id == order_hash(ours.body["order"], 137, exchange)
    assert recover_order_signer(ours.body["order"], 137, exchange) == signer.address()


ticks = st.sampled_from([(100_000, "0.1"), (10_000, "0.01"), (1_000, "0.001"), (100, "0.0001")])


@settings(max_examples=80, deadline=None)
@given(ticks, st.integers(1, 9_999), st.integers(1, 100_000), st.sampled_from([BUY, SELL]))
def test_integer_amounts_are_exact_where_the_sdks_floats_slip(
    tick: tuple[int, str], steps: int, hundredths: int, side: str
) -> None:
    """Ours: cash = price × size exactly. The SDK agrees, except when its float floor drops a cent.

    ``round_down(0.29, 2)`` is 0.28 in the SDK (0.29 × 100 = 28.999…), so it would
    sign 0.01 share less than asked; the adapter computes amounts in integers.
    """
    tick_micro, tick_text = tick
    price = tick_micro * (1 + steps % (1_000_000 // tick_micro - 1))
    size = hundredths * 10_000
    maker, taker = order_amounts(side, price, size)
    shares, cash = (taker, maker) if side == BUY else (maker, taker)
    assert shares == size and cash * 1_000_000 == price * size
    sdk = OrderBuilder(Signer(KEY, 137)).get_order_amounts(
        side, float(format_fixed(size)), float(format_fixed(price)), ROUNDING_CONFIG[tick_text]
    )
    if math.floor(float(format_fixed(size)) * 100) == hundredths:
        assert (sdk[1], sdk[2]) == (maker, taker)
    else:  # the float artifact: one size quantum less
        sdk_shares = sdk[2] if side == BUY else sdk[1]
        assert sdk_shares == size - 10_000


def test_sdk_limit_order_for_the_same_decision_has_our_amounts() -> None:
    """The SDK's own OrderArgs path (0.53 × 5 shares, tick 0.01) signs 2.65 pUSD for 5 shares."""
    built = OrderBuilder(Signer(KEY, 137)).build_order(
        OrderArgsV2(token_id="123", price=0.53, size=5.0, side="BUY"),
        CreateOrderOptions(tick_size="0.01", neg_risk=False),
    )
    assert (int(built.makerAmount), int(built.takerAmount)) == order_amounts(
        BUY, 530_000, 5_000_000
    )


def test_l2_headers_equal_the_sdks() -> None:
    """HMAC over timestamp+method+path+body, as the SDK builds it."""
    creds = ApiCreds("key-1", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "pass")
    body = '{"orderID":"0xabc"}'
    ours = l2_headers(
        creds, "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A", 1_790_000_000, "DELETE", "/order", body
    )
    sdk = create_level_2_headers(
        Signer(KEY, 137),
        SdkCreds(creds.api_key, creds.secret, creds.passphrase),
        RequestArgs("DELETE", "/order", {"orderID": "0xabc"}, body),
        timestamp=1_790_000_000,
    )
    assert ours == sdk
