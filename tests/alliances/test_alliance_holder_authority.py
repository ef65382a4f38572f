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
