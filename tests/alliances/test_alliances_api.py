"""Alliances over HTTP: joining, earning and redeeming alliance points at members, the
clearing records against the alliance (worked by hand), and bad input changing nothing.

The alliance's currency is worth 0.5 SPU = 500,000 µSPU a point; it earns 1 point per
full 1.00 yuan (100 minor units).
"""

from __future__ import annotations

from alliance_support import card_of, join, signup
from factories import assert_error, holder_code
from sqlalchemy import select

from jifen.platform.clearing import ClearingRecord
from jifen.platform.db import unit_of_work


def clearing_of(transaction_id: str) -> list[ClearingRecord]:
    with unit_of_work(platform=True) as uow:
        return list(
            uow.session.scalars(
                select(ClearingRecord).where(ClearingRecord.source_transaction_id == transaction_id)
            )
        )


def earn(client, merchant, alliance, card: str, order_id: str, amount: int):
    body = {
        "alliance": alliance.currency_code,
        "card_number": card,
        "order_id": order_id,
        "amount": amount,
        "currency": "CNY",
    }
    return client.post("/v1/alliance/earn", json=body, headers=merchant.auth)


def redeem(client, merchant, alliance, card: str, points: int, reference: str = "till-1"):
    body = {
        "alliance": alliance.currency_code,
        "card_number": card,
        "points": points,
        "reference": reference,
        # The card holder's consent, as at a real till (a merchant that did not enrol the
        # card needs it; test_alliance_holder_authority covers the refusals).
        "holder_code": holder_code(card),
    }
    return client.post("/v1/alliance/redeem", json=body, headers=merchant.auth)


def members_of(client, alliance) -> dict:
    response = client.get("/v1/alliance/members", headers=alliance.auth)
    assert response.status_code == 200, response.get_json()
    return {row["merchant"]: row for row in response.get_json()["data"]}


def test_invite_then_accept_makes_an_active_member(api, client, alliance):
    merchant = signup(api)
    invited = client.post(
        "/v1/alliance/members", json={"tenant_slug": merchant.slug}, headers=alliance.auth
    )
    assert invited.status_code == 201
    assert invited.get_json()["status"] == "pending"
    seen = client.get("/v1/alliance/invitations", headers=merchant.auth).get_json()["data"]
    assert [row["id"] for row in seen] == [invited.get_json()["id"]]
    accepted = join_existing = client.post(
        f"/v1/alliance/invitations/{invited.get_json()['id']}/accept", headers=merchant.auth
    )
    assert join_existing.status_code == 200
    assert accepted.get_json()["status"] == "active"
    assert members_of(client, alliance)[merchant.id]["status"] == "active"


def test_members_earn_and_accept_alliance_points_with_clearing_against_the_alliance(
    api, client, alliance
):
    shop, cafe = signup(api), signup(api)
    join(client, alliance, shop)
    join(client, alliance, cafe)
    card = card_of(client, shop)

    # 123.45 yuan at 1 point per full 1.00 -> 123 points, worth 123 x 0.5 = 61.5 SPU.
    earned = earn(client, shop, alliance, card, "order-1", 12_345)
    assert earned.status_code == 201, earned.get_json()
    body = earned.get_json()
    assert body["points"] == 123 and body["currency"] == alliance.currency_code
    assert body["amount_spu"] == "61.5"
    [issued] = clearing_of(body["id"])
    assert (issued.kind, issued.payer_tenant_id, issued.payee_tenant_id) == (
        "alliance_issuance",
        shop.id,
        alliance.id,
    )
    assert (issued.points, issued.amount_spu, issued.fee_spu) == (123, 61_500_000, 0)

    # The card redeems 40 of them at the cafe: the alliance owes the cafe 20 SPU.
    spent = redeem(client, cafe, alliance, card, 40)
    assert spent.status_code == 201, spent.get_json()
    assert spent.get_json()["points"] == -40 and spent.get_json()["balance_after"] == 83
    [redeemed] = clearing_of(spent.get_json()["id"])
    assert (redeemed.kind, redeemed.payer_tenant_id, redeemed.payee_tenant_id) == (
        "alliance_redemption",
        alliance.id,
        cafe.id,
    )
    assert (redeemed.points, redeemed.amount_spu) == (40, 20_000_000)

    figures = members_of(client, alliance)
    assert figures[shop.id]["issued_points"] == 123
    assert figures[shop.id]["issued_spu"] == "61.5"
    assert figures[shop.id]["net_spu"] == "61.5"
    assert figures[cafe.id]["redeemed_points"] == 40
    assert figures[cafe.id]["redeemed_spu"] == "20"
    assert figures[cafe.id]["net_spu"] == "-20"

    # The card's alliance balance is on its membership in the alliance.
    listed = client.get("/v1/members", query_string={"card_number": card}, headers=alliance.auth)
    [member] = listed.get_json()["data"]
    balance = client.get(f"/v1/members/{member['id']}/balance", headers=alliance.auth)
    assert balance.get_json()["points"] == 83


def test_one_order_number_at_two_merchants_earns_twice_but_not_twice_at_one(api, client, alliance):
    shop, cafe = signup(api), signup(api)
    join(client, alliance, shop)
    join(client, alliance, cafe)
    card = card_of(client, shop)
    assert earn(client, shop, alliance, card, "A-1", 500).status_code == 201
    assert earn(client, cafe, alliance, card, "A-1", 500).status_code == 201
    assert_error(earn(client, shop, alliance, card, "A-1", 500), 409, "order_already_earned")


def test_a_merchant_cannot_invite(api, client, alliance):
    merchant, other = signup(api), signup(api)
    response = client.post(
        "/v1/alliance/members", json={"tenant_slug": other.slug}, headers=merchant.auth
    )
    assert_error(response, 403, "not_an_alliance")
    assert_error(client.get("/v1/alliance/members", headers=merchant.auth), 403, "not_an_alliance")


def test_unknown_slug_and_inviting_an_alliance_are_refused(api, client, alliance):
    response = client.post(
        "/v1/alliance/members", json={"tenant_slug": "no-such-shop"}, headers=alliance.auth
    )
    assert_error(response, 404)
    another = signup(api, "alliance")
    response = client.post(
        "/v1/alliance/members", json={"tenant_slug": another.slug}, headers=alliance.auth
    )
    assert_error(response, 422, "not_a_merchant")


def test_a_merchant_already_in_is_a_conflict(api, client, alliance):
    merchant = signup(api)
    join(client, alliance, merchant)
    response = client.post(
        "/v1/alliance/members", json={"tenant_slug": merchant.slug}, headers=alliance.auth
    )
    assert_error(response, 409, "already_member")


def test_an_alliance_on_a_plan_without_alliances_cannot_invite(api, client):
    small = signup(api, "alliance", plan="free")
    merchant = signup(api)
    response = client.post(
        "/v1/alliance/members", json={"tenant_slug": merchant.slug}, headers=small.auth
    )
    assert_error(response, 403, "plan_limit")


def test_only_the_invited_merchant_can_accept(api, client, alliance):
    merchant, stranger = signup(api), signup(api)
    invited = client.post(
        "/v1/alliance/members", json={"tenant_slug": merchant.slug}, headers=alliance.auth
    ).get_json()
    response = client.post(
        f"/v1/alliance/invitations/{invited['id']}/accept", headers=stranger.auth
    )
    assert_error(response, 404)


def test_non_members_and_pending_members_cannot_issue_or_redeem(api, client, alliance):
    outsider, pending = signup(api), signup(api)
    client.post("/v1/alliance/members", json={"tenant_slug": pending.slug}, headers=alliance.auth)
    card = card_of(client, outsider)
    for merchant in (outsider, pending):
        assert_error(
            earn(client, merchant, alliance, card, "X-1", 1000), 403, "not_alliance_member"
        )
        assert_error(redeem(client, merchant, alliance, card, 1), 403, "not_alliance_member")
    assert members_of(client, alliance)[pending.id]["issued_points"] == 0
    listed = client.get("/v1/members", query_string={"card_number": card}, headers=alliance.auth)
    assert listed.get_json()["data"] == []  # nothing was created, nothing posted


def test_earning_in_a_merchant_currency_or_an_unknown_one_is_refused(api, client, alliance):
    shop = signup(api)
    join(client, alliance, shop)
    card = card_of(client, shop)
    assert_error(earn(client, shop, shop, card, "X-2", 1000), 422, "not_an_alliance")
    ghost = type("Ghost", (), {"currency_code": "NOSUCH"})()
    assert_error(earn(client, shop, ghost, card, "X-3", 1000), 422, "unknown_currency")


def test_redeeming_more_than_the_card_holds_changes_nothing(api, client, alliance):
    shop = signup(api)
    join(client, alliance, shop)
    card = card_of(client, shop)
    assert earn(client, shop, alliance, card, "B-1", 1000).status_code == 201  # 10 points
    assert_error(redeem(client, shop, alliance, card, 11), 422, "insufficient_points")
    assert members_of(client, alliance)[shop.id]["redeemed_points"] == 0
