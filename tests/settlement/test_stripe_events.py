"""Stripe's webhooks move settlement lines (``POST /v1/stripe/webhooks``, signed and
deduplicated by event id like billing's): payment intents that finish or fail after the
call, reversed transfers, and objects that match no line (connected accounts and their
payouts: ``test_connect.py``, ``test_connect_payouts.py``)."""

from __future__ import annotations

import json

import pytest
from factories import assert_error
from settlement_support import deliver, ours
from stripe_servers import stripe_event, stripe_signature

from jifen.platform.billing.model import StripeEvent
from jifen.platform.db import unit_of_work


def mine(fake, batch_id, kind, tenant) -> list[dict]:
    return [o for o in ours(fake, batch_id, kind) if o["metadata"]["jifen_tenant"] == tenant.id]


def outcome(client, payload: bytes) -> str:
    response = deliver(client, payload)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["outcome"]


@pytest.fixture
def processing(settlement, stripe_on, approved):
    """A's and C's PaymentIntents are still processing after the call (bank debits)."""
    batch, a, b, c = approved
    stripe_on.slow.add("pm_card_visa")
    settlement.pay(batch["id"])
    stripe_on.slow.clear()
    lines = settlement.instructions(batch["id"])
    assert lines[a.id]["status"] == "processing" == lines[c.id]["status"]
    assert lines[b.id]["status"] == "paid"
    return batch, a, b, c


def test_payment_intent_events_settle_or_fail_a_processing_line(
    settlement, stripe_on, processing, client
):
    batch, a, b, c = processing
    [intent_a] = mine(stripe_on, batch["id"], "payment_intent", a)
    [intent_c] = mine(stripe_on, batch["id"], "payment_intent", c)
    succeeded = {**intent_a, "status": "succeeded"}
    assert outcome(client, stripe_event("payment_intent.succeeded", succeeded)) == "settlement_paid"
    failed = {
        **intent_c,
        "status": "requires_payment_method",
        "last_payment_error": {"code": "insufficient_funds", "message": "Insufficient funds."},
    }
    stripe_on.objects[intent_c["id"]].update(failed)  # what Stripe holds after the failure
    assert outcome(client, stripe_event("payment_intent.payment_failed", failed)) == (
        "settlement_failed"
    )
    lines = settlement.instructions(batch["id"])
    assert lines[a.id]["status"] == "paid" and lines[a.id]["stripe_status"] == "succeeded"
    assert lines[c.id]["status"] == "failed" and "Insufficient funds" in lines[c.id]["last_error"]

    settlement.pay(batch["id"])  # C is charged again, under its next key
    retried = settlement.instructions(batch["id"])[c.id]
    assert retried["status"] == "paid" and retried["stripe_object_id"] != intent_c["id"]
    assert len(mine(stripe_on, batch["id"], "payment_intent", c)) == 2
    assert stripe_on.objects[intent_c["id"]]["status"] == "canceled"  # it can never pay too
    assert settlement.instructions(batch["id"])[a.id] == lines[a.id]
    # the old intent's failure, delivered again late under another event id: no change
    late = stripe_event("payment_intent.payment_failed", failed)
    assert outcome(client, late) == "settlement_stale"
    assert settlement.instructions(batch["id"])[c.id] == retried


def test_an_intent_whose_answer_was_lost_is_adopted_from_its_metadata(
    settlement,
    stripe_on,
    approved,
    client,
):
    batch, a, b, c = approved
    stripe_on.fail(a.id, times=100, should_retry=False, path="/v1/payment_intents")
    settlement.pay(batch["id"])
    assert settlement.instructions(batch["id"])[a.id]["stripe_object_id"] is None
    line = settlement.instructions(batch["id"])[a.id]
    made = {
        "id": "pi_made_while_we_were_down",
        "object": "payment_intent",
        "amount": line["amount"],
        "currency": "cny",
        "status": "succeeded",
        "metadata": {
            "jifen_batch": batch["id"],
            "jifen_tenant": a.id,
            "jifen_instruction": line["id"],
        },
    }
    assert outcome(client, stripe_event("payment_intent.succeeded", made)) == "settlement_paid"
    adopted = settlement.instructions(batch["id"])[a.id]
    assert adopted["status"] == "paid" and adopted["stripe_object_id"] == made["id"]


def test_a_reversed_transfer_reopens_the_line_and_paying_again_sends_a_new_one(
    settlement,
    stripe_on,
    approved,
    client,
):
    batch, a, b, c = approved
    settlement.pay(batch["id"])
    [transfer] = mine(stripe_on, batch["id"], "transfer", b)
    reversed_ = {**transfer, "reversed": True, "amount_reversed": transfer["amount"]}
    assert outcome(client, stripe_event("transfer.reversed", reversed_)) == "settlement_reversed"
    line = settlement.instructions(batch["id"])[b.id]
    assert line["status"] == "failed" and line["stripe_status"] == "reversed"
    assert settlement.get(batch["id"])["status"] == "paying"

    stripe_on.objects[transfer["id"]]["reversed"] = True
    settlement.pay(batch["id"])
    again = settlement.instructions(batch["id"])[b.id]
    transfers = mine(stripe_on, batch["id"], "transfer", b)
    assert again["status"] == "paid" and len(transfers) == 2
    assert again["stripe_object_id"] == transfers[1]["id"] != transfer["id"]


def test_objects_that_match_no_line_are_noted_on_their_batch(
    settlement,
    stripe_on,
    approved,
    client,
):
    batch, a, b, c = approved
    settlement.pay(batch["id"])
    stray = {
        "id": "tr_nobody_asked_for",
        "object": "transfer",
        "amount": 123,
        "currency": "cny",
        "transfer_group": batch["id"],
        "metadata": {},
    }
    assert outcome(client, stripe_event("transfer.created", stray)) == "settlement_unknown_object"
    [notice] = settlement.get(batch["id"])["stripe_notices"]
    assert notice["kind"] == "unknown" and notice["stripe_object"] == stray["id"]
    # a payment that is not settlement's (no batch in its metadata) is left to billing
    other = {"id": "pi_billing", "object": "payment_intent", "status": "succeeded", "metadata": {}}
    assert outcome(client, stripe_event("payment_intent.succeeded", other)) == "ignored"
    # a transfer naming no batch we know
    lost = {**stray, "id": "tr_lost", "transfer_group": "stb_unknown"}
    assert outcome(client, stripe_event("transfer.created", lost)) == "settlement_unknown_object"


def test_a_forged_or_replayed_event_changes_nothing(settlement, stripe_on, processing, client):
    batch, a, b, c = processing
    [intent] = mine(stripe_on, batch["id"], "payment_intent", a)
    payload = stripe_event("payment_intent.succeeded", {**intent, "status": "succeeded"})
    forged = deliver(client, payload, stripe_signature(payload, secret="whsec_someone_else"))
    assert_error(forged, 400, "invalid_signature")
    altered = json.loads(payload)
    altered["data"]["object"]["amount"] = 1
    tampered = deliver(client, json.dumps(altered).encode(), stripe_signature(payload))
    assert_error(tampered, 400, "invalid_signature")
    assert settlement.instructions(batch["id"])[a.id]["status"] == "processing"

    assert outcome(client, payload) == "settlement_paid"
    paid = settlement.instructions(batch["id"])[a.id]
    assert outcome(client, payload) == "duplicate"
    assert settlement.instructions(batch["id"])[a.id] == paid
    event_id = json.loads(payload)["id"]
    with unit_of_work(platform=True) as uow:
        recorded = uow.session.get(StripeEvent, event_id)
        assert (recorded.outcome, recorded.tenant_id) == ("settlement_paid", a.id)


def test_a_late_transfer_created_does_not_pay_a_reversed_line(
    settlement, stripe_on, approved, client
):
    batch, a, b, c = approved
    settlement.pay(batch["id"])
    [transfer] = mine(stripe_on, batch["id"], "transfer", b)
    reversed_ = {**transfer, "reversed": True, "amount_reversed": transfer["amount"]}
    assert outcome(client, stripe_event("transfer.reversed", reversed_)) == "settlement_reversed"
    failed = settlement.instructions(batch["id"])[b.id]

    # Stripe delivers events out of order: the transfer's creation comes after its reversal
    late = stripe_event("transfer.created", transfer)
    assert outcome(client, late) == "settlement_stale"
    line = settlement.instructions(batch["id"])[b.id]
    assert line == failed
    assert (line["status"], line["stripe_status"]) == ("failed", "reversed")
    assert settlement.get(batch["id"])["status"] == "paying"
