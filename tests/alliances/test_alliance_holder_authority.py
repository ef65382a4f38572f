"""An alliance's points leave a card at a member merchant only where that merchant
enrolled the card, or with the holder's counter code: a card number alone spends
nothing (API.md, Card holders)."""

from __future__ import annotations

from alliance_support import card_of, join, signup
from factories import assert_error, holder_code


def earn(client, merchant, alliance, card: str, amount: int = 10_000):
    body = {"alliance": alliance.currency_code, "card_number": card, "order_id": card + "-o",
            "amount": amount, "currency": "CNY"}  # fmt: skip
    response = client.post("/v1/alliance/earn", json=body, headers=merchant.auth)
    assert response.status_code == 201, response.get_json()


def redeem(client, merchant, alliance, card: str, points: int = 10, **extra):
    body = {"alliance": alliance.currency_code, "card_number": card, "points": points,
            "reference": "till-9", **extra}  # fmt: skip
    return client.post("/v1/alliance/redeem", json=body, headers=merchant.auth)


def alliance_balance(client, alliance, card: str) -> int:
    members = client.get(
        "/v1/members", query_string={"card_number": card}, headers=alliance.auth
    ).get_json()["data"]
    balance = client.get(f"/v1/members/{members[0]['id']}/balance", headers=alliance.auth)
    return balance.get_json()["points"]


def test_a_merchant_that_did_not_enrol_the_card_needs_the_holders_code(api, client, alliance):
    shop, stranger = signup(api), signup(api)
    join(client, alliance, shop)
    join(client, alliance, stranger)
    card = card_of(client, shop)
    earn(client, shop, alliance, card)
    before = alliance_balance(client, alliance, card)

    assert_error(redeem(client, stranger, alliance, card), 403, "holder_authorization_required")
    bad = redeem(client, stranger, alliance, card, holder_code="999999999999999999")
    assert_error(bad, 403, "holder_authorization_required")
    assert alliance_balance(client, alliance, card) == before

    spent = redeem(client, stranger, alliance, card, holder_code=holder_code(card))
    assert spent.status_code == 201, spent.get_json()
    assert alliance_balance(client, alliance, card) == before - 10


def test_the_enrolling_merchant_redeems_without_a_code(api, client, alliance):
    shop = signup(api)
    join(client, alliance, shop)
    card = card_of(client, shop)
    earn(client, shop, alliance, card)
    assert redeem(client, shop, alliance, card).status_code == 201


def test_an_unknown_card_gets_the_same_answer_as_a_card_without_a_code(api, client, alliance):
    from jifen.tenants.members.cards import new_card_number

    stranger = signup(api)
    join(client, alliance, stranger)
    response = redeem(client, stranger, alliance, new_card_number())
    assert_error(response, 403, "holder_authorization_required")


def test_a_membership_a_swap_opened_is_no_consent(api, client, alliance):
    """The outside attack: a merchant gets a membership of a card it never saw (a swap
    into its currency opens one), then redeems the card's alliance points."""
    shop, thief = signup(api), signup(api)
    join(client, alliance, shop)
    join(client, alliance, thief)
    for tenant in (shop, thief):
        client.put(
            "/v1/exchange/settings",
            json={"spu_rate": "1", "inbound": True, "outbound": True},
            headers=tenant.auth,
        )
    card = card_of(client, shop)
    earn(client, shop, alliance, card)
    member = client.get(
        "/v1/members", query_string={"card_number": card}, headers=shop.auth
    ).get_json()["data"][0]
    award = {"member_id": member["id"], "event": "manual", "points": 50, "reason": "t"}
    assert client.post("/v1/awards", json=award, headers=shop.auth).status_code == 201
    quote = client.post(
        "/v1/exchange/quotes",
        json={"card_number": card, "from_currency": shop.currency_code,
              "to_currency": thief.currency_code, "points": 10},
        headers=shop.auth,
    ).get_json()  # fmt: skip
    assert client.post("/v1/exchange/swaps", json={"quote_id": quote["id"]},
                       headers=shop.auth).status_code == 201  # fmt: skip
    # The thief now holds a membership of the card, opened by the swap: still no consent.
    before = alliance_balance(client, alliance, card)
    assert_error(redeem(client, thief, alliance, card), 403, "holder_authorization_required")
    assert alliance_balance(client, alliance, card) == before


def test_an_earn_by_a_merchant_that_did_not_enrol_the_card_shows_no_balance(api, client, alliance):
    shop, other = signup(api), signup(api)
    join(client, alliance, shop)
    join(client, alliance, other)
    card = card_of(client, shop)
    earn(client, shop, alliance, card)
    body = {"alliance": alliance.currency_code, "card_number": card, "order_id": "o-other",
            "amount": 100, "currency": "CNY"}  # fmt: skip
    earned = client.post("/v1/alliance/earn", json=body, headers=other.auth)
    assert earned.status_code == 201, earned.get_json()
    assert earned.get_json()["balance_after"] is None
    mine = {**body, "order_id": "o-mine"}
    own = client.post("/v1/alliance/earn", json=mine, headers=shop.auth).get_json()
    assert own["balance_after"] == alliance_balance(client, alliance, card)
