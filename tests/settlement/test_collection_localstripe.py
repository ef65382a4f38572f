"""Collecting from net payers with the real ``stripe`` client against localstripe (run as
a process, see ``tests/stripe_servers.py``): the payer's Stripe customer is the one
billing made for it, its card is a real PaymentMethod attached and set as the default,
and the PaymentIntent is created and confirmed off-session under
``jifen-settlement-<batch>-<tenant>``. A declined card fails that line only; after the
tenant saves another card, paying again cancels the declined PaymentIntent and charges
the new card under the next key. A tenant cannot register another tenant's customer."""

from __future__ import annotations

import pytest
import stripe
from factories import assert_error
from settlement_support import deliver
from stripe_servers import API_KEY, stripe_event

from jifen.platform.billing import services as billing
from jifen.platform.billing.model import BillingAccount
from jifen.platform.db import unit_of_work

VISA = "4242424242424242"
DECLINES_CHARGES = "4000000000000341"  # attaches, then every charge is declined


@pytest.fixture
def stripe_client(localstripe_on) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe_on})


def customer_of(tenant_id: str) -> str:
    """The customer billing made on Stripe for the tenant (the sync is safe to repeat)."""
    billing.sync_with_stripe(tenant_id)
    with unit_of_work(tenant_id=tenant_id) as uow:
        account = uow.session.query(BillingAccount).filter_by(tenant_id=tenant_id).one()
        return account.stripe_customer_id


def save_card(settlement, stripe_client, tenant, number: str) -> tuple[str, str]:
    """Attach a card to the tenant's customer, make it the default, register both."""
    customer = customer_of(tenant.id)
    method = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    stripe_client.v1.payment_methods.attach(method.id, params={"customer": customer})
    stripe_client.v1.customers.update(
        customer, params={"invoice_settings": {"default_payment_method": method.id}}
    )
    response = settlement.client.put(
        "/v1/settlement/account",
        json={"stripe_customer_id": customer, "stripe_payment_method_id": method.id},
        headers=tenant.auth,
    )
    assert response.status_code == 200, response.get_json()
    return customer, method.id


def intents_of(stripe_client, batch_id: str, tenant_id: str) -> list:
    listed = stripe_client.v1.payment_intents.list(params={"limit": 100})
    return [
        intent
        for intent in listed.auto_paging_iter()
        if intent.metadata.to_dict().get("jifen_batch") == batch_id
        and intent.metadata.to_dict().get("jifen_tenant") == tenant_id
    ]


def test_a_net_payer_is_charged_off_session_once(settlement, stripe_client):
    payer, receiver = settlement.tenant("0.8"), settlement.tenant("1.5")
    customer, method = save_card(settlement, stripe_client, payer, VISA)
    settlement.swap(settlement.card(payer), payer, receiver, 1000)
    batch = settlement.closed()
    assert settlement.approve(batch["id"]).status_code == 200
    owed = -next(p for p in batch["positions"] if p["tenant"] == payer.id)["net"]

    assert settlement.pay(batch["id"]).status_code == 200
    line = settlement.instructions(batch["id"])[payer.id]
    assert line["status"] == "paid", line
    assert line["collection"] == "payment_intent" and line["stripe_status"] == "succeeded"
    assert line["idempotency_key"] == f"jifen-settlement-{batch['id']}-{payer.id}"
    intent = stripe_client.v1.payment_intents.retrieve(line["stripe_object_id"])
    assert (intent.amount, intent.currency, intent.status) == (owed, "cny", "succeeded")
    assert (intent.customer, intent.payment_method) == (customer, method)
    assert intent.metadata.to_dict() == {
        "jifen_batch": batch["id"],
        "jifen_tenant": payer.id,
        "jifen_instruction": line["id"],
    }
    # localstripe has no Connect: the receiver's transfer is not possible here
    assert settlement.instructions(batch["id"])[receiver.id]["status"] == "failed"

    settlement.pay(batch["id"])  # retries the receiver; the payer is not charged again
    assert [i.id for i in intents_of(stripe_client, batch["id"], payer.id)] == [intent.id]
    assert settlement.instructions(batch["id"])[payer.id] == line


def test_a_declined_card_fails_that_line_and_a_new_card_pays_it(settlement, stripe_client):
    declined, fine = settlement.tenant("0.8"), settlement.tenant("0.9")
    receiver = settlement.tenant("1.5")
    save_card(settlement, stripe_client, declined, DECLINES_CHARGES)
    save_card(settlement, stripe_client, fine, VISA)
    settlement.swap(settlement.card(declined), declined, receiver, 1000)
    settlement.swap(settlement.card(fine), fine, receiver, 700)
    batch = settlement.closed()
    assert settlement.approve(batch["id"]).status_code == 200

    settlement.pay(batch["id"])
    lines = settlement.instructions(batch["id"])
    assert lines[declined.id]["status"] == "failed"
    assert "CardError" in lines[declined.id]["last_error"]
    assert "declined" in lines[declined.id]["last_error"]
    assert lines[fine.id]["status"] == "paid"
    [failed] = intents_of(stripe_client, batch["id"], declined.id)
    assert failed.status == "requires_payment_method"
    # localstripe's decline names no PaymentIntent (Stripe's does): its webhook tells us
    event = stripe_event("payment_intent.payment_failed", failed.to_dict())
    assert deliver(settlement.client, event).status_code == 200
    assert settlement.instructions(batch["id"])[declined.id]["stripe_object_id"] == failed.id

    _, new_card = save_card(settlement, stripe_client, declined, VISA)
    settlement.pay(batch["id"])
    retried = settlement.instructions(batch["id"])
    assert retried[declined.id]["status"] == "paid" and retried[declined.id]["last_error"] is None
    assert retried[fine.id] == lines[fine.id]  # untouched
    intents = intents_of(stripe_client, batch["id"], declined.id)
    # the declined intent is cancelled before the new key charges: it can never pay too
    assert sorted(i.status for i in intents) == ["canceled", "succeeded"]
    [paid] = [i for i in intents if i.status == "succeeded"]
    assert paid.id == retried[declined.id]["stripe_object_id"] and paid.payment_method == new_card
    assert len(intents_of(stripe_client, batch["id"], fine.id)) == 1


def test_a_tenant_cannot_register_another_tenants_customer_or_card(settlement, stripe_client):
    victim, thief = settlement.tenant("1"), settlement.tenant("1")
    customer, method = save_card(settlement, stripe_client, victim, VISA)
    stolen = settlement.client.put(
        "/v1/settlement/account",
        json={"stripe_customer_id": customer, "stripe_payment_method_id": method},
        headers=thief.auth,
    )
    assert_error(stolen, 422, "stripe_customer_mismatch")
    own = customer_of(thief.id)
    borrowed_card = settlement.client.put(
        "/v1/settlement/account",
        json={"stripe_customer_id": own, "stripe_payment_method_id": method},
        headers=thief.auth,
    )
    assert_error(borrowed_card, 422, "stripe_payment_method_mismatch")
    assert settlement.client.get("/v1/settlement/account", headers=thief.auth).status_code == 404
