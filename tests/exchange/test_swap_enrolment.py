"""A swap into a program the card has not joined enrols it there the one way cards are
enrolled (tenants/members/enrolment.py): within the program's plan, with member.created."""

from __future__ import annotations

import dataclasses

from factories import assert_error
from sqlalchemy import select

from jifen.platform.billing import plans
from jifen.platform.db import unit_of_work
from jifen.platform.webhooks.model import Event


def member_created_events(tenant_id: str) -> list[dict]:
    with unit_of_work(tenant_id=tenant_id) as uow:
        rows = uow.session.scalars(select(Event).where(Event.type == "member.created"))
        return [row.data for row in rows]


def test_a_swap_that_enrols_the_card_emits_member_created(exchange):
    card = exchange.funded(1000)["card_number"]

    swapped = exchange.swap(exchange.quote(card, 1000).get_json()["id"])

    assert swapped.status_code == 201, swapped.get_json()
    [joined] = exchange.members_of_card(exchange.b, card)
    assert member_created_events(exchange.b.id) == [
        {"member": joined["id"], "external_id": f"card:{card}"}
    ]


def test_a_swap_into_a_program_at_its_member_limit_is_refused_and_moves_nothing(
    exchange, monkeypatch
):
    member = exchange.funded(1000)
    card = member["card_number"]
    quote = exchange.quote(card, 1000)
    assert quote.status_code == 201, quote.get_json()
    full = dataclasses.replace(plans.GROWTH, members=0)  # the destination has no room
    monkeypatch.setitem(plans.PLANS, "growth", full)

    refused = exchange.swap(quote.get_json()["id"])

    assert_error(refused, 422, "limit_exceeded")
    assert refused.get_json()["error"]["param"] == "to_currency"
    assert exchange.balance(exchange.a, member["id"]) == 1000
    assert exchange.members_of_card(exchange.b, card) == []
    assert member_created_events(exchange.b.id) == []
