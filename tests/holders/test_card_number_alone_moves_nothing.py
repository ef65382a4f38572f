"""The attacks of an outsider who knows every card number, over HTTP: each is refused
with 403 ``holder_authorization_required`` (or ``not_a_party``) and changes nothing; the
holder's counter code lets the same call through once.

Tenant A issued the card and holds its points; tenant B is any other tenant on the
platform, in the exchange and accepting points, as an attacker would be.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from factories import TenantHandle, assert_error, holder_code, unique
from holder_support import Holder
from sqlalchemy import func, select

from jifen.platform.clearing import ClearingRecord
from jifen.platform.db import unit_of_work


@dataclass
class World:
    client: object
    a: TenantHandle
    b: TenantHandle
    card: dict  # A's member, with 1,000 points
    email: str

    def post(self, tenant, path, body):
        return self.client.post(path, json=body, headers=tenant.auth)

    def balance(self) -> int:
        response = self.client.get(f"/v1/members/{self.card['id']}/balance", headers=self.a.auth)
        return response.get_json()["points"]

    def members_of_b(self) -> int:
        response = self.client.get("/v1/members", query_string={"limit": 100}, headers=self.b.auth)
        return len(response.get_json()["data"])


def clearing_records() -> int:
    with unit_of_work(platform=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(ClearingRecord))


@pytest.fixture
def world(client, api) -> World:
    a, b = api.signup(plan="growth"), api.signup(plan="growth")
    for tenant, rate in ((a, "0.8"), (b, "1.5")):
        response = client.put(
            "/v1/exchange/settings",
            json={"spu_rate": rate, "inbound": True, "outbound": True, "acceptance": True},
            headers=tenant.auth,
        )
        assert response.status_code == 200, response.get_json()
    email = f"{unique('h')}@example.com"
    card = client.post(
        "/v1/members", json={"external_id": unique("c-"), "email": email}, headers=a.auth
    ).get_json()
    award = {"member_id": card["id"], "event": "manual", "points": 1000, "reason": "t"}
    assert client.post("/v1/awards", json=award, headers=a.auth).status_code == 201
    return World(client, a, b, card, email)


def unchanged(world: World, before: tuple) -> None:
    assert (world.balance(), world.members_of_b(), clearing_records()) == before


def snapshot(world: World) -> tuple:
    return world.balance(), world.members_of_b(), clearing_records()


# --- linking a card -------------------------------------------------------------------


def test_another_tenant_cannot_enrol_a_card_by_its_number(world):
    before = snapshot(world)
    body = {"external_id": unique("x-"), "card_number": world.card["card_number"]}
    assert_error(world.post(world.b, "/v1/members", body), 403, "holder_authorization_required")
    wrong = {**body, "holder_code": "123456789012345678"}
    assert_error(world.post(world.b, "/v1/members", wrong), 403, "holder_authorization_required")
    unchanged(world, before)


def test_an_unknown_card_number_gets_the_same_answer(world):
    from jifen.tenants.members.cards import new_card_number

    body = {"external_id": unique("x-"), "card_number": new_card_number()}
    error = assert_error(world.post(world.b, "/v1/members", body), 403)
    assert error["code"] == "holder_authorization_required"


def test_the_holders_code_links_the_card_once(world):
    code = holder_code(world.card["card_number"])
    body = {"external_id": unique("x-"), "card_number": world.card["card_number"]}
    linked = world.post(world.b, "/v1/members", {**body, "holder_code": code})
    assert linked.status_code == 201, linked.get_json()
    assert linked.get_json()["card_number"] == world.card["card_number"]
    again = world.post(world.b, "/v1/members", {**body, "external_id": unique("y-"),
                                                "holder_code": code})  # fmt: skip
    assert again.status_code in (403, 409)


def test_a_code_alone_names_its_card(world):
    code = holder_code(world.card["card_number"])
    linked = world.post(world.b, "/v1/members", {"external_id": unique("x-"), "holder_code": code})
    assert linked.status_code == 201, linked.get_json()
    assert linked.get_json()["card_number"] == world.card["card_number"]


def test_another_cards_code_does_not_link_this_one(world, client):
    other = client.post(
        "/v1/members", json={"external_id": unique("o-")}, headers=world.a.auth
    ).get_json()
    body = {
        "external_id": unique("x-"),
        "card_number": world.card["card_number"],
        "holder_code": holder_code(other["card_number"]),
    }
    assert_error(world.post(world.b, "/v1/members", body), 403, "holder_authorization_required")


# --- member tokens are one membership's -------------------------------------------------


def test_a_member_token_sees_and_spends_only_its_own_membership(world, client):
    linked = world.post(
        world.b,
        "/v1/members",
        {
            "external_id": unique("x-"),
            "card_number": world.card["card_number"],
            "holder_code": holder_code(world.card["card_number"]),
        },
    ).get_json()
    token = world.post(world.b, f"/v1/members/{linked['id']}/tokens", {}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    wallet = client.get("/v1/me/wallet", headers=bearer).get_json()
    assert [m["tenant"]["id"] for m in wallet["memberships"]] == [world.b.id]

    before = snapshot(world)
    swap = {"from_currency": world.a.currency_code, "to_currency": world.b.currency_code,
            "points": 100}  # fmt: skip
    assert_error(client.post("/v1/me/swaps", json=swap, headers=bearer), 403, "not_a_party")
    quote = {**swap, "card_number": world.card["card_number"]}
    assert_error(client.post("/v1/exchange/quotes", json=quote, headers=bearer), 403)
    assert_error(client.get("/v1/me/balance", query_string={"currency": world.a.currency_code},
                            headers=bearer), 404)  # fmt: skip
    unchanged(world, before)


def test_a_free_plan_tenants_balance_shows_only_to_the_holder(world, client, api):
    free = api.signup()
    linked = world.post(
        free,
        "/v1/members",
        {
            "external_id": unique("x-"),
            "card_number": world.card["card_number"],
            "holder_code": holder_code(world.card["card_number"]),
        },
    ).get_json()
    token = world.post(free, f"/v1/members/{linked['id']}/tokens", {}).get_json()["token"]
    wallet = client.get("/v1/me/wallet", headers={"Authorization": f"Bearer {token}"})
    assert [m["tenant"]["id"] for m in wallet.get_json()["memberships"]] == [free.id]


# --- quotes and swaps -----------------------------------------------------------------


def quote_body(world, **extra) -> dict:
    return {
        "card_number": world.card["card_number"],
        "from_currency": world.a.currency_code,
        "to_currency": world.b.currency_code,
        "points": 100,
        **extra,
    }


def test_the_destination_tenant_cannot_quote_out_of_another_tenants_points(world):
    before = snapshot(world)
    response = world.post(world.b, "/v1/exchange/quotes", quote_body(world))
    assert_error(response, 403, "holder_authorization_required")
    stale = quote_body(world, holder_code="000000000000000000")
    assert_error(world.post(world.b, "/v1/exchange/quotes", stale), 403)
    unchanged(world, before)


def test_with_the_holders_code_the_destination_quotes_and_swaps(world):
    code = holder_code(world.card["card_number"])
    quote = world.post(world.b, "/v1/exchange/quotes", quote_body(world, holder_code=code))
    assert quote.status_code == 201, quote.get_json()
    swap = world.post(world.b, "/v1/exchange/swaps", {"quote_id": quote.get_json()["id"]})
    assert swap.status_code == 201, swap.get_json()
    assert world.balance() == 900
    reused = world.post(world.b, "/v1/exchange/quotes", quote_body(world, holder_code=code))
    assert_error(reused, 403, "holder_authorization_required")


def test_the_source_tenant_quotes_its_own_members_points(world):
    quote = world.post(world.a, "/v1/exchange/quotes", quote_body(world))
    assert quote.status_code == 201, quote.get_json()


def test_the_holder_swaps_with_a_session(world, client):
    holder = Holder(client, world.card["card_number"])
    holder.sign_in(world.email)
    swap = holder.post("/v1/me/swaps", {k: v for k, v in quote_body(world).items()
                                        if k != "card_number"})  # fmt: skip
    assert swap.status_code == 201, swap.get_json()
    assert world.balance() == 900


# --- acceptance -----------------------------------------------------------------------


def authorization(world, **extra) -> dict:
    return {"currency": world.a.currency_code, "points": 100, "reference": "till-1", **extra}


def test_acceptance_needs_the_holders_code(world):
    before = snapshot(world)
    path = "/v1/acceptance/authorizations"
    by_number = authorization(world, card_number=world.card["card_number"])
    assert_error(world.post(world.b, path, by_number), 403, "holder_authorization_required")
    made_up = authorization(world, holder_code="111111111111111111")
    assert_error(world.post(world.b, path, made_up), 403, "holder_authorization_required")
    held = world.client.get(f"/v1/members/{world.card['id']}/balance", headers=world.a.auth)
    assert held.get_json()["held"] == 0
    unchanged(world, before)


def test_acceptance_with_the_code_holds_and_captures(world):
    path = "/v1/acceptance/authorizations"
    code = holder_code(world.card["card_number"])
    created = world.post(world.b, path, authorization(world, holder_code=code))
    assert created.status_code == 201, created.get_json()
    auth = created.get_json()
    captured = world.post(world.b, f"{path}/{auth['id']}/capture", {})
    assert captured.status_code == 200 and world.balance() == 900
    again = world.post(world.b, path, authorization(world, holder_code=code))
    assert_error(again, 403, "holder_authorization_required")


def test_acceptance_code_must_be_the_named_cards(world, client):
    other = client.post(
        "/v1/members", json={"external_id": unique("o-")}, headers=world.a.auth
    ).get_json()
    body = authorization(
        world,
        card_number=world.card["card_number"],
        holder_code=holder_code(other["card_number"]),
    )
    assert_error(world.post(world.b, "/v1/acceptance/authorizations", body), 403)


def test_holder_code_inputs_never_5xx(world):
    path = "/v1/acceptance/authorizations"
    for code in ("", "x" * 70, 12, None, ["1"], "1" * 64, "１２３４５６"):
        response = world.post(world.b, path, authorization(world, holder_code=code))
        assert 400 <= response.status_code < 500, (code, response.get_json())
