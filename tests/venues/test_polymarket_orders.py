"""Orders from the Polymarket adapter, signed, sent and checked by the exchange double.

Every test runs the real adapter (py-clob-client-v2 signing, HTTP on loopback)
against the real double (L2 HMAC check, EIP-712 signer recovery with
eth_account). Keys are throwaway constants, never a real wallet.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clob_support import KEY, MARKET, NR_MARKET, OTHER_KEY, TOKEN, FakeClock, Sleeper

from polyarb.server.clob import ClobExchange, ClobServerThread
from polyarb.server.clob.exchange import (
    FAK_NO_MATCH,
    FOK_NOT_FILLED,
    INVALID_L1,
    INVALID_SIGNATURE,
    NOT_ENOUGH_BALANCE,
    SIGNER_NOT_KEY,
    UNAUTHORIZED,
)
from polyarb.units import SCALE
from polyarb.venues.polymarket import ApiCreds, ClobRejected, PolymarketClient, RetryPolicy
from polyarb.venues.polymarket.signing import (
    BUY,
    SELL,
    exchange_address,
    l1_headers,
    sign_order,
)


def _fixture_response(shared_data: Path, name: str) -> dict[str, object]:
    doc = json.loads((shared_data / "rest" / name).read_text())
    return dict(json.loads(doc["response"]["body_raw"]))


def test_fok_order_is_signed_accepted_and_answered_in_the_real_shape(
    client: PolymarketClient, exchange: ClobExchange, shared_data: Path
) -> None:
    """A FOK BUY signed by the adapter is accepted; the answer has the live response's keys."""
    ack = client.place(
        MARKET, side=BUY, price=540_000, size=10_000_000, order_type="FOK", client_order_id="d1"
    )
    assert ack.status == "matched"
    assert (ack.taking_amount, ack.making_amount) == ("10", "5.35")  # 5 @0.53 + 5 @0.54
    real = _fixture_response(shared_data, "order_post_fak_full_fill_2026-01-20.json")
    assert set(ack.raw) == set(real)
    record = client.get_order(ack.order_id)
    assert record is not None
    real_record = _fixture_response(shared_data, "order_get_status_full_2026-01-20.json")
    assert set(record) == set(real_record)
    assert record["status"] == "MATCHED" and record["size_matched"] == "10"
    # the taker pays the market's fee (0.07, exponent 1) on top of the cash
    acct = exchange.account(client.address)
    assert acct.tokens[TOKEN] == 10 * SCALE
    assert acct.collateral < 1_000 * SCALE - 5_350_000


def test_neg_risk_order_is_signed_for_the_neg_risk_exchange(client: PolymarketClient) -> None:
    """A neg-risk market's order verifies only under the neg-risk exchange's domain."""
    ack = client.place(
        NR_MARKET, side=BUY, price=535_000, size=5_000_000, order_type="FAK", client_order_id="n1"
    )
    assert ack.status == "matched" and ack.taking_amount == "5"


def test_fak_fills_what_is_there_and_fok_is_killed(client: PolymarketClient) -> None:
    """FAK takes the crossing 5 shares at 0.53; a FOK for more than crosses is refused whole."""
    ack = client.place(
        MARKET, side=BUY, price=530_000, size=8_000_000, order_type="FAK", client_order_id="f1"
    )
    assert ack.taking_amount == "5"
    with pytest.raises(ClobRejected) as fok:
        client.place(
            MARKET, side=BUY, price=530_000, size=8_000_000, order_type="FOK", client_order_id="f2"
        )
    assert fok.value.message == FOK_NOT_FILLED
    with pytest.raises(ClobRejected) as fak:  # the 0.53 level is used up now
        client.place(
            MARKET, side=BUY, price=530_000, size=2_000_000, order_type="FAK", client_order_id="f3"
        )
    assert fak.value.message == FAK_NO_MATCH


def _post(client: PolymarketClient, body: str) -> None:
    # Goes through the adapter's transport with correct L2 headers around a crafted body.
    client._call("POST", "/order", json.loads(body))


def test_signature_by_another_key_is_an_invalid_signature(client: PolymarketClient) -> None:
    """Order fields claim our address but the signature is another key's."""
    assert client.creds is not None
    other = sign_order(
        OTHER_KEY,
        MARKET,
        side=BUY,
        price=530_000,
        size=5_000_000,
        order_type="FOK",
        owner=client.creds.api_key,
        client_order_id="x",
        timestamp_ms=1,
    )
    body = dict(other.body)
    body["order"] = {**other.body["order"], "maker": client.address, "signer": client.address}
    with pytest.raises(ClobRejected) as exc:
        _post(client, json.dumps(body))
    assert (exc.value.status, exc.value.message) == (400, INVALID_SIGNATURE)


def test_order_signed_by_a_wallet_not_owning_the_key_is_refused(client: PolymarketClient) -> None:
    """The signer must be the API key's address."""
    assert client.creds is not None
    other = sign_order(
        OTHER_KEY,
        MARKET,
        side=BUY,
        price=530_000,
        size=5_000_000,
        order_type="FOK",
        owner=client.creds.api_key,
        client_order_id="y",
        timestamp_ms=1,
    )
    with pytest.raises(ClobRejected) as exc:
        _post(client, other.body_text)
    assert exc.value.message == SIGNER_NOT_KEY


@pytest.mark.parametrize(
    ("market", "exchange_neg_risk", "chain"),
    [(NR_MARKET, False, 137), (MARKET, True, 137), (MARKET, False, 80002)],
    ids=["neg-risk-market-signed-for-normal-exchange", "normal-market-for-neg-risk", "wrong-chain"],
)
def test_wrong_domain_is_an_invalid_signature(
    client: PolymarketClient, market: object, exchange_neg_risk: bool, chain: int
) -> None:
    """The exchange recovers the signer under the market's own domain: any other domain fails."""
    assert client.creds is not None
    signed = sign_order(
        KEY,
        market,  # type: ignore[arg-type]
        side=BUY,
        price=540_000,
        size=5_000_000,
        order_type="FOK",
        owner=client.creds.api_key,
        client_order_id=f"dom-{chain}-{exchange_neg_risk}",
        timestamp_ms=1,
        exchange=exchange_address(137, exchange_neg_risk),
        chain_id=chain,
    )
    with pytest.raises(ClobRejected) as exc:
        _post(client, signed.body_text)
    assert exc.value.message == INVALID_SIGNATURE


def test_off_tick_price_gets_the_tick_error(client: PolymarketClient) -> None:
    """0.535 is fine on a 0.001 grid but breaks the market's 0.01 tick."""
    wrong_tick = type(MARKET)(MARKET.token_id, 1_000)
    with pytest.raises(ClobRejected) as exc:
        client.place(
            wrong_tick,
            side=BUY,
            price=535_000,
            size=5_000_000,
            order_type="FOK",
            client_order_id="t",
        )
    assert "breaks minimum tick size rule: 0.01" in exc.value.message
    assert "Price (0.535)" in exc.value.message


def test_below_minimum_sizes_are_refused(client: PolymarketClient) -> None:
    """A marketable BUY under $1, a resting order under the market's 5 shares."""
    with pytest.raises(ClobRejected) as market_order:
        client.place(
            MARKET, side=BUY, price=540_000, size=1_000_000, order_type="FOK", client_order_id="m1"
        )
    assert market_order.value.message == (
        "invalid amount for a marketable BUY order ($0.54), min size: $1"
    )
    with pytest.raises(ClobRejected) as resting:
        client.place(
            MARKET, side=BUY, price=400_000, size=2_000_000, order_type="GTC", client_order_id="m2"
        )
    assert "Size (2) lower than the minimum: 5" in resting.value.message


@pytest.mark.parametrize("what", ["balance", "allowance", "shares"])
def test_insufficient_balance_or_allowance(
    client: PolymarketClient, double: ClobServerThread, what: str
) -> None:
    """Too little pUSD, too little allowance, or selling shares not held: the exchange's text."""
    if what == "balance":
        double.call(lambda ex: ex.fund(client.address, collateral=2 * SCALE))
    elif what == "allowance":
        double.call(lambda ex: ex.fund(client.address, allowance=0))
    side = SELL if what == "shares" else BUY
    with pytest.raises(ClobRejected) as exc:
        client.place(
            MARKET, side=side, price=480_000, size=5_000_000, order_type="FOK", client_order_id=what
        )
    assert (exc.value.status, exc.value.message) == (400, NOT_ENOUGH_BALANCE)


def test_balance_allowance_reports_the_account(client: PolymarketClient) -> None:
    """Balance in 6-decimal units and one allowance per V2 exchange."""
    out = client.balance_allowance()
    assert out["balance"] == str(1_000 * SCALE)
    assert set(out["allowances"]) == {exchange_address(137, False), exchange_address(137, True)}


def test_wrong_api_secret_is_unauthorized(client: PolymarketClient) -> None:
    """L2 HMAC made with the wrong secret: 401 with the exchange's text."""
    assert client.creds is not None
    client.creds = ApiCreds(client.creds.api_key, "c2VjcmV0LW5vdC10aGlz", client.creds.passphrase)
    with pytest.raises(ClobRejected) as exc:
        client.open_orders()
    assert (exc.value.status, exc.value.message) == (401, UNAUTHORIZED)


def test_l1_derivation_is_stable_and_checks_the_wallet_signature(
    double: ClobServerThread, clock: FakeClock, sleeper: Sleeper
) -> None:
    """Deriving twice gives the same key; an L1 signature by another wallet is refused."""
    a = PolymarketClient(double.url, KEY, clock=clock, sleep=sleeper)
    b = PolymarketClient(double.url, KEY, clock=clock, sleep=sleeper)
    assert a.derive_api_key() == b.derive_api_key()
    assert a.create_or_derive_api_key(nonce=1) != a.derive_api_key(nonce=0)
    forged = l1_headers(OTHER_KEY, 137, int(clock()), 0)
    forged["POLY_ADDRESS"] = a.address
    with pytest.raises(ClobRejected) as exc:
        a._call("GET", "/auth/derive-api-key", headers=lambda _body: forged)
    assert (exc.value.status, exc.value.message) == (401, INVALID_L1)
    a.close()
    b.close()


def test_cancel_and_cancel_all(client: PolymarketClient) -> None:
    """Resting GTC orders are listed, cancelled one by one and all at once."""
    ids = [
        client.place(
            MARKET,
            side=BUY,
            price=400_000,
            size=5_000_000,
            order_type="GTC",
            client_order_id=f"g{i}",
        ).order_id
        for i in range(3)
    ]
    assert [o["id"] for o in client.open_orders()] == ids
    assert client.cancel(ids[0]) == {"canceled": [ids[0]], "not_canceled": {}}
    assert client.cancel_all()["canceled"] == ids[1:]
    assert client.open_orders() == []
    assert ids[0] in client.cancel_orders([ids[0]])["not_canceled"]


def test_policy_is_used_for_the_client(double: ClobServerThread) -> None:
    """Hosts other than http(s) are refused up front."""
    with pytest.raises(ValueError, match="host must be"):
        PolymarketClient("ftp://127.0.0.1", KEY, policy=RetryPolicy())


def test_key_and_secrets_stay_out_of_reprs_and_errors(client: PolymarketClient) -> None:
    """The private key, the API secret and passphrase never show in a repr or an error text."""
    assert client.creds is not None
    texts = [repr(client), repr(client.creds), str(client.creds)]
    with pytest.raises(ClobRejected) as exc:
        client.place(
            MARKET, side=BUY, price=540_000, size=1_000_000, order_type="FOK", client_order_id="z"
        )
    texts.append(str(exc.value))
    for secret in (KEY, KEY[2:], client.creds.secret, client.creds.passphrase):
        assert not any(secret in t for t in texts)


def test_adapter_refuses_off_grid_orders_before_signing(client: PolymarketClient) -> None:
    """Price off the tick it was given, sizes with 3 decimals, unknown types: ValueError, nothing sent."""
    sent = client.stats.requests
    for price, size, kind in [(535_000, 5_000_000, "FOK"), (530_000, 5_001_000, "FOK"),
                              (530_000, 5_000_000, "IOC"), (0, 5_000_000, "FOK")]:  # fmt: skip
        with pytest.raises(ValueError):
            client.place(
                MARKET, side=BUY, price=price, size=size, order_type=kind,
                client_order_id=f"bad-{price}-{size}-{kind}",
            )  # fmt: skip
    assert client.stats.requests == sent


def test_batch_of_two_legs_answers_each_on_its_own(client: PolymarketClient) -> None:
    """POST /orders is not atomic: a filled leg and a killed FOK come back side by side."""
    legs = [
        client.sign(MARKET, side=BUY, price=540_000, size=5_000_000, order_type="FOK",
                    client_order_id="leg-a"),
        client.sign(MARKET, side=BUY, price=530_000, size=50_000_000, order_type="FOK",
                    client_order_id="leg-b"),
    ]  # fmt: skip
    acks = client.post_orders(legs)
    assert [a.client_order_id for a in acks] == ["leg-a", "leg-b"]
    assert acks[0].status == "matched" and acks[0].taking_amount == "5"
    assert (acks[1].status, acks[1].error) == ("rejected", FOK_NOT_FILLED)
    with pytest.raises(ValueError, match="1 to 15"):
        client.post_orders(legs * 8)
    with pytest.raises(ClobRejected) as exc:  # the exchange's own limit, past the client's check
        client._call("POST", "/orders", [legs[0].body] * 16)
    assert exc.value.message == "Too many orders in payload: 16, max allowed: 15"
