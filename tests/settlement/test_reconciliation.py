"""Reconciliation matches every line to its Stripe object — transfers, PaymentIntents and
invoices — and lists what does not tie: an amount that differs, an object Stripe does not
have, an object of the batch that matches no line."""

from __future__ import annotations

import pytest
from settlement_support import BATCHES, connect, deliver, set_payer
from stripe_servers import stripe_event


@pytest.fixture
def paid(settlement, stripe_on):
    """A paid batch holding only our tenants: A pays by PaymentIntent, C by invoice."""
    settlement.closed()  # earlier tests' records go to that batch, not ours
    a, b, c = settlement.tenant("0.8"), settlement.tenant("1.5"), settlement.tenant("1")
    connect(settlement, stripe_on, b)
    for payer, collection in ((a, "payment_intent"), (c, "invoice")):
        set_payer(settlement, stripe_on, payer, collection=collection)
    settlement.swap(settlement.card(a), a, b, 1000)
    settlement.swap(settlement.card(c), c, b, 500)
    batch = settlement.closed()
    assert {p["tenant"] for p in batch["positions"]} == {a.id, b.id, c.id}
    assert settlement.approve(batch["id"]).status_code == 200
    settlement.pay(batch["id"])
    assert settlement.get(batch["id"])["status"] == "paid"
    lines = settlement.instructions(batch["id"])
    assert lines[c.id]["stripe_object_id"].startswith("in_")
    return batch, a, b, c


def reconcile(settlement, batch_id: str) -> dict:
    response = settlement.client.post(
        f"{BATCHES}/{batch_id}/reconcile", headers=settlement.approver.auth
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_batch_that_ties_to_stripe_is_reconciled(settlement, stripe_on, paid):
    batch, a, b, c = paid
    result = reconcile(settlement, batch["id"])
    assert result["status"] == "reconciled" and result["reconciled_at"]
    assert result["reconciliation"]["mismatches"] == []
    assert result["reconciliation"]["matched"] == result["reconciliation"]["instructions"] == 3


def test_mismatches_are_listed_and_a_fixed_batch_reconciles(settlement, stripe_on, paid):
    batch, a, b, c = paid
    lines = settlement.instructions(batch["id"])
    intent = stripe_on.objects[lines[a.id]["stripe_object_id"]]
    intent["amount"] += 1
    transfer = stripe_on.objects.pop(lines[b.id]["stripe_object_id"])
    stripe_on.objects["pi_unasked"] = {
        "id": "pi_unasked",
        "object": "payment_intent",
        "amount": 5,
        "currency": "cny",
        "customer": settlement.client.get("/v1/settlement/account", headers=c.auth).get_json()[
            "stripe_customer_id"
        ],
        "status": "succeeded",
        "metadata": {"jifen_batch": batch["id"], "jifen_tenant": c.id},
    }
    stripe_on.objects["tr_unasked"] = {
        **transfer,
        "id": "tr_unasked",
        "metadata": {"jifen_batch": batch["id"], "jifen_tenant": b.id},
    }

    result = reconcile(settlement, batch["id"])
    assert result["status"] == "paid"
    found = {
        (m["kind"], m["tenant"], m["stripe_object"]) for m in result["reconciliation"]["mismatches"]
    }
    assert found == {
        ("amount", a.id, intent["id"]),
        ("missing", b.id, transfer["id"]),
        ("unknown", c.id, "pi_unasked"),
        ("unknown", b.id, "tr_unasked"),
    }
    assert result["reconciliation"]["matched"] == 1  # C's invoice

    intent["amount"] -= 1
    stripe_on.objects[transfer["id"]] = transfer
    del stripe_on.objects["pi_unasked"], stripe_on.objects["tr_unasked"]
    assert reconcile(settlement, batch["id"])["status"] == "reconciled"


def test_an_invoice_whose_amount_differs_is_a_mismatch(settlement, stripe_on, paid):
    batch, a, b, c = paid
    invoice = stripe_on.objects[settlement.instructions(batch["id"])[c.id]["stripe_object_id"]]
    invoice["total"] -= 1
    [mismatch] = reconcile(settlement, batch["id"])["reconciliation"]["mismatches"]
    assert (mismatch["kind"], mismatch["tenant"]) == ("amount", c.id)


def test_a_reversal_after_reconciliation_clears_it(settlement, stripe_on, paid, client):
    batch, a, b, c = paid
    assert reconcile(settlement, batch["id"])["status"] == "reconciled"
    transfer = stripe_on.objects[settlement.instructions(batch["id"])[b.id]["stripe_object_id"]]
    transfer.update(reversed=True, amount_reversed=transfer["amount"])
    response = deliver(client, stripe_event("transfer.reversed", dict(transfer)))
    assert response.get_json()["outcome"] == "settlement_reversed"
    reopened = settlement.get(batch["id"])
    assert reopened["status"] == "paying"
    assert reopened["reconciled_at"] is None and reopened["reconciliation"] is None
    assert reopened["paid_at"] is None

    settlement.pay(batch["id"])  # a new transfer; the batch is paid and reconciles again
    assert settlement.get(batch["id"])["status"] == "paid"
    again = reconcile(settlement, batch["id"])
    assert again["status"] == "reconciled", again["reconciliation"]
