"""The consumer wallet shows each membership's SPU value at its currency's current rate
(API.md, Consumer: ``GET /v1/me/wallet``), and null for a currency not in the exchange."""

from factories import holder_token


def test_wallet_shows_spu_value_per_membership(exchange, api, client):
    member = exchange.funded(points=125)  # A's rate is 0.8: 125 × 0.8 = 100 SPU
    in_b = exchange.member(exchange.b, card_number=member["card_number"])
    exchange.award(exchange.b, in_b["id"], 3)  # B's rate is 1.5: 3 × 1.5 = 4.5 SPU
    unpriced = api.signup()  # never opted in to the exchange
    exchange.member(unpriced, card_number=member["card_number"])

    token = holder_token(member["card_number"])  # the holder sees every membership
    wallet = client.get("/v1/me/wallet", headers={"Authorization": f"Bearer {token}"}).get_json()

    values = {entry["currency"]["code"]: entry["spu_value"] for entry in wallet["memberships"]}
    assert values == {
        exchange.a.currency_code: "100",
        exchange.b.currency_code: "4.5",
        unpriced.currency_code: None,
    }
