"""Paying with Stripe: the real ``stripe`` client against a Stripe-compatible server in
the test (Connect accounts, transfers, payment intents with Idempotency-Key rules).

Net receivers get one transfer to their Connect account and net payers one
PaymentIntent on their saved card, each under ``jifen-settlement-<batch>-<tenant>``; paying
again creates nothing new; a Stripe outage for one tenant fails that line only, and the
next ``/pay`` retries just that line; reconciliation finds what Stripe holds."""

from __future__ import annotations

import pytest
from factories import assert_error
from settlement_support import (
    BATCHES,
    attach_card,
    ours,
    position,
    set_account,
    set_payer,
    stripe_customer,
)


def test_paying_transfers_to_receivers_and_charges_payers_once(settlement, stripe_on, approved):
    batch, a, b, c = approved
    response = settlement.pay(batch["id"])
    assert response.status_code == 200, response.get_json()
    paid = settlement.get(batch["id"])
    lines = settlement.instructions(batch["id"])
    others_failed = [t for t, line in lines.items() if line["status"] != "paid"]
    # other tests' tenants in this batch have no Stripe account: only ours must be paid
    assert lines[b.id]["status"] == "paid" and lines[b.id]["stripe_object_id"].startswith("tr_")
    assert lines[a.id]["status"] == "paid" and lines[a.id]["stripe_object_id"].startswith("pi_")
    assert lines[b.id]["idempotency_key"] == f"jifen-settlement-{batch['id']}-{b.id}"
    [transfer] = [
        t for t in ours(stripe_on, batch["id"], "transfer") if t["metadata"]["jifen_tenant"] == b.id
    ]
    assert transfer["amount"] == position(batch, b)["net"] and transfer["currency"] == "cny"
    assert transfer["transfer_group"] == batch["id"]
    intents = {
        i["metadata"]["jifen_tenant"]: i for i in ours(stripe_on, batch["id"], "payment_intent")
    }
    assert intents[a.id]["amount"] == -position(batch, a)["net"]
    assert intents[c.id]["amount"] == -position(batch, c)["net"]
    assert paid["status"] == ("paid" if not others_failed else "paying")

    before = len(stripe_on.objects)
    again = settlement.pay(batch["id"])
    assert again.status_code == 200
    assert len(stripe_on.objects) == before  # nothing paid twice
    assert settlement.instructions(batch["id"])[b.id] == lines[b.id]


def test_a_stripe_outage_for_one_tenant_fails_that_line_and_a_rerun_pays_it(
    settlement, stripe_on, approved
):
    batch, a, b, c = approved
    stripe_on.fail(
        c.id, times=100, should_retry=False, path="/v1/payment_intents"
    )  # every call naming C answers 500
    settlement.pay(batch["id"])
    lines = settlement.instructions(batch["id"])
    assert lines[c.id]["status"] == "failed" and "Stripe" in lines[c.id]["last_error"]
    assert lines[a.id]["status"] == "paid" and lines[b.id]["status"] == "paid"
    assert settlement.get(batch["id"])["status"] == "paying"
    calls_for_a = [call for call in stripe_on.calls if a.id in str(call[2])]

    stripe_on.failures.clear()
    settlement.pay(batch["id"])
    retried = settlement.instructions(batch["id"])
    assert retried[c.id]["status"] == "paid" and retried[c.id]["attempts"] == 2
    assert retried[a.id] == lines[a.id] and retried[b.id] == lines[b.id]  # untouched
    assert [call for call in stripe_on.calls if a.id in str(call[2])] == calls_for_a
    assert (
        len(
            [
                i
                for i in ours(stripe_on, batch["id"], "payment_intent")
                if i["metadata"]["jifen_tenant"] == c.id
            ]
        )
        == 1
    )


def test_a_transient_500_is_retried_by_the_client_with_the_same_key(
    settlement, stripe_on, approved
):
    batch, a, b, c = approved
    stripe_on.fail(b.id, times=1, should_retry=True, path="/v1/transfers")
    settlement.pay(batch["id"])
    lines = settlement.instructions(batch["id"])
    assert lines[b.id]["status"] == "paid" and lines[b.id]["attempts"] == 1
    posts = [
        call
        for call in stripe_on.calls
        if call[0] == "POST" and call[1] == "/v1/transfers" and b.id in str(call[2])
    ]
    assert len(posts) == 2  # the 500, then the retry
    assert (
        len(
            [
                t
                for t in ours(stripe_on, batch["id"], "transfer")
                if t["metadata"]["jifen_tenant"] == b.id
            ]
        )
        == 1
    )


def test_a_line_sent_but_not_recorded_is_not_paid_twice(
    settlement, stripe_on, approved, monkeypatch
):
    """A crash between Stripe's answer and our record: the rerun gets the same object."""
    from jifen.settlement import payments

    batch, a, b, c = approved
    real_record = payments._record
    crashed = {"done": False}

    def crash_once(instruction_id, outcome):
        if not crashed["done"]:
            crashed["done"] = True
            raise RuntimeError("worker killed")
        real_record(instruction_id, outcome)

    monkeypatch.setattr(payments, "_record", crash_once)
    settlement.pay(batch["id"])  # the job dies after Stripe's first answer
    assert crashed["done"]
    monkeypatch.setattr(payments, "_record", real_record)
    settlement.pay(batch["id"])
    for tenant in (a, b, c):
        kind = "transfer" if tenant is b else "payment_intent"
        mine = [
            o
            for o in ours(stripe_on, batch["id"], kind)
            if o["metadata"]["jifen_tenant"] == tenant.id
        ]
        assert len(mine) == 1, tenant
        assert settlement.instructions(batch["id"])[tenant.id]["status"] == "paid"


def test_reconciliation_matches_stripe_and_lists_mismatches(settlement, stripe_on, approved):
    batch, a, b, c = approved
    settlement.pay(batch["id"])
    status = settlement.get(batch["id"])["status"]
    reconcile = settlement.client.post(
        f"{BATCHES}/{batch['id']}/reconcile", headers=settlement.approver.auth
    )
    if status != "paid":  # other tests' tenants without Stripe accounts hold it at paying
        assert_error(reconcile, 409, "invalid_state")
        return
    assert reconcile.status_code == 200, reconcile.get_json()
    assert reconcile.get_json()["status"] == "reconciled"


def declined_once(settlement, stripe_on, approved):
    """A's card is declined (its intent is left requiring a payment method), then works."""
    batch, a, b, c = approved
    set_payer(settlement, stripe_on, a, card="pm_card_chargeDeclined")
    stripe_on.decline("pm_card_chargeDeclined")
    settlement.pay(batch["id"])
    line = settlement.instructions(batch["id"])[a.id]
    assert (line["status"], line["refusals"]) == ("failed", 1)
    [intent] = [
        i
        for i in ours(stripe_on, batch["id"], "payment_intent")
        if i["metadata"]["jifen_tenant"] == a.id
    ]
    assert line["stripe_object_id"] == intent["id"]
    assert intent["status"] == "requires_payment_method"
    stripe_on.declines.clear()
    return batch, a, intent


def intents_for(stripe_on, batch_id, tenant) -> list[dict]:
    found = ours(stripe_on, batch_id, "payment_intent")
    return [i for i in found if i["metadata"]["jifen_tenant"] == tenant.id]


def test_a_declined_intent_is_cancelled_before_the_next_key_charges(
    settlement, stripe_on, approved
):
    batch, a, declined = declined_once(settlement, stripe_on, approved)
    settlement.pay(batch["id"])
    line = settlement.instructions(batch["id"])[a.id]
    first, second = intents_for(stripe_on, batch["id"], a)
    assert first["id"] == declined["id"] and first["status"] == "canceled"
    assert (line["status"], line["stripe_object_id"]) == ("paid", second["id"])
    assert second["status"] == "succeeded"
    cancels = [c for c in stripe_on.calls if c[1] == f"/v1/payment_intents/{first['id']}/cancel"]
    assert len(cancels) == 1


@pytest.mark.parametrize("when", ["before_retrieve", "before_cancel"])
def test_a_declined_intent_completed_after_all_pays_the_line_without_a_new_charge(
    settlement, stripe_on, approved, monkeypatch, when
):
    from jifen.settlement import stripe_money

    batch, a, declined = declined_once(settlement, stripe_on, approved)
    if when == "before_retrieve":
        stripe_on.objects[declined["id"]]["status"] = "succeeded"
    else:  # completed between our look at it and our cancel: the cancel is refused
        real = stripe_money._retrieve_or_none

        def racing(retrieve, object_id):
            found = real(retrieve, object_id)
            stripe_on.objects[object_id]["status"] = "succeeded"
            return found

        monkeypatch.setattr(stripe_money, "_retrieve_or_none", racing)
    settlement.pay(batch["id"])
    line = settlement.instructions(batch["id"])[a.id]
    assert (line["status"], line["stripe_object_id"]) == ("paid", declined["id"])
    assert line["last_error"] is None
    assert [i["id"] for i in intents_for(stripe_on, batch["id"], a)] == [declined["id"]]


def test_a_tenant_can_register_only_its_own_customer_and_its_cards(settlement, stripe_on):
    owner, other = settlement.tenant("1"), settlement.tenant("1")
    mine = set_payer(settlement, stripe_on, owner)
    theirs = stripe_customer(stripe_on, other)
    their_card = attach_card(stripe_on, theirs)
    put = "/v1/settlement/account"

    stolen = settlement.client.put(
        put,
        json={"stripe_customer_id": theirs, "stripe_payment_method_id": their_card},
        headers=owner.auth,
    )
    assert_error(stolen, 422, "stripe_customer_mismatch")
    unknown = settlement.client.put(
        put, json={"stripe_customer_id": "cus_nope"}, headers=owner.auth
    )
    assert_error(unknown, 422, "stripe_customer_mismatch")
    borrowed = settlement.client.put(
        put, json={"stripe_payment_method_id": their_card}, headers=owner.auth
    )
    assert_error(borrowed, 422, "stripe_payment_method_mismatch")
    assert settlement.client.get(put, headers=owner.auth).get_json() == mine  # unchanged

    second_card = attach_card(stripe_on, mine["stripe_customer_id"], "pm_card_mastercard")
    changed = set_account(settlement, owner, stripe_payment_method_id=second_card)
    assert changed["stripe_customer_id"] == mine["stripe_customer_id"]
    # a new customer of its own needs a card attached to that customer, not the old one's
    new_customer = stripe_customer(stripe_on, owner)
    kept_card = settlement.client.put(
        put, json={"stripe_customer_id": new_customer}, headers=owner.auth
    )
    assert_error(kept_card, 422, "stripe_payment_method_mismatch")
    cleared = set_account(settlement, owner, stripe_customer_id=None, stripe_payment_method_id=None)
    assert cleared["stripe_customer_id"] is None is cleared["stripe_payment_method_id"]


def test_without_stripe_no_customer_can_be_registered(settlement):
    tenant = settlement.tenant("1")
    response = settlement.client.put(
        "/v1/settlement/account", json={"stripe_customer_id": "cus_any"}, headers=tenant.auth
    )
    assert_error(response, 422, "stripe_not_configured")
