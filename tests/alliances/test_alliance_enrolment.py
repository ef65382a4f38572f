"""An alliance earn for a card without alliance points enrols the card in the alliance
the one way cards are enrolled (tenants/members/enrolment.py): within the alliance's plan,
with member.created."""

from __future__ import annotations

import dataclasses

from alliance_support import card_of, join, signup
from factories import assert_error
from sqlalchemy import select

from jifen.platform.billing import plans
from jifen.platform.db import unit_of_work
from jifen.platform.webhooks.model import Event


def earn(client, merchant, alliance, card: str):
    body = {
        "alliance": alliance.currency_code,
        "card_number": card,
        "order_id": "order-1",
        "amount": 1000,
        "currency": "CNY",
    }
    return client.post("/v1/alliance/earn", json=body, headers=merchant.auth)


def member_created_events(tenant_id: str) -> list[dict]:
    with unit_of_work(tenant_id=tenant_id) as uow:
        rows = uow.session.scalars(select(Event).where(Event.type == "member.created"))
        return [row.data for row in rows]


def test_an_alliance_earn_that_enrols_the_card_emits_member_created(api, client, alliance):
    shop = signup(api)
    join(client, alliance, shop)
    card = card_of(client, shop)

    earned = earn(client, shop, alliance, card)

    assert earned.status_code == 201, earned.get_json()
    assert member_created_events(alliance.id) == [
        {"member": earned.get_json()["member"], "external_id": f"card:{card}"}
    ]


def test_an_alliance_earn_past_the_alliance_member_limit_is_refused(
    api, client, alliance, monkeypatch
):
    shop = signup(api)
    join(client, alliance, shop)
    card = card_of(client, shop)
    full = dataclasses.replace(plans.SCALE, members=0)  # the alliance has no room
    monkeypatch.setitem(plans.PLANS, "scale", full)

    refused = earn(client, shop, alliance, card)

    assert_error(refused, 422, "limit_exceeded")
    assert refused.get_json()["error"]["param"] == "card_number"
    assert member_created_events(alliance.id) == []
