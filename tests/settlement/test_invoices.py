"""Collecting from net payers by invoice (the platform's ``collection`` setting, or a
tenant's own), with the real ``stripe`` client against the suite's Stripe-compatible
server (localstripe only invoices subscriptions and cannot finalize or send): an invoice
item for the net amount naming the batch on a new invoice, finalized, then paid from the
default payment method or sent to a payer who has none."""

from __future__ import annotations

from settlement_support import connect, deliver, ours, position, set_account, set_payer
from stripe_servers import stripe_event


def setup_batch(settlement, fake, *, card: str | None, collection="payment_intent", own=None):
    """A owes B; B has a Connect account; A its own customer, with ``card`` attached;
    ``collection`` is the platform's setting, ``own`` A's."""
    settlement.settings("1", collection=collection)
    a, b = settlement.tenant("0.8"), settlement.tenant("1.5")
    connect(settlement, fake, b)
    set_payer(settlement, fake, a, card=card, **({"collection": own} if own else {}))
    settlement.swap(settlement.card(a), a, b, 1000)
    batch = settlement.closed()
    assert settlement.approve(batch["id"]).status_code == 200
    return batch, a, b


def invoices_of(fake, batch_id: str, tenant_id: str) -> list[dict]:
    found = ours(fake, batch_id, "invoice")
    return [i for i in found if i["metadata"]["jifen_tenant"] == tenant_id]


def test_the_platform_setting_invoices_a_payer_and_charges_its_default_method(
    settlement, stripe_on
):
    batch, a, b = setup_batch(settlement, stripe_on, card="pm_card_visa", collection="invoice")
    settlement.pay(batch["id"])
    line = settlement.instructions(batch["id"])[a.id]
    assert (line["status"], line["collection"]) == ("paid", "invoice")
    assert line["stripe_status"] == "paid"
    [invoice] = invoices_of(stripe_on, batch["id"], a.id)
    assert line["stripe_object_id"] == invoice["id"]
    owed = -position(batch, a)["net"]
    assert (invoice["total"], invoice["amount_paid"], invoice["currency"]) == (owed, owed, "cny")
    assert invoice["collection_method"] == "charge_automatically"
    account = settlement.client.get("/v1/settlement/account", headers=a.auth).get_json()
    assert invoice["default_payment_method"] == account["stripe_payment_method_id"]
    assert invoice["customer"] == account["stripe_customer_id"]
    assert batch["id"] in invoice["description"]
    [item] = [stripe_on.objects[i] for i in invoice["lines"]]
    assert item["amount"] == owed and batch["id"] in item["description"]
    assert item["metadata"]["jifen_instruction"] == line["id"]
    assert settlement.instructions(batch["id"])[b.id]["stripe_object_id"].startswith("tr_")

    before = len(stripe_on.objects)
    settlement.pay(batch["id"])
    assert len(stripe_on.objects) == before  # nothing invoiced twice


def test_a_payer_without_a_saved_method_is_sent_an_invoice_and_its_paid_event_settles_it(
    settlement, stripe_on, client
):
    batch, a, b = setup_batch(settlement, stripe_on, card=None, own="invoice")
    settlement.pay(batch["id"])
    line = settlement.instructions(batch["id"])[a.id]
    assert (line["status"], line["collection"], line["stripe_status"]) == (
        "processing",
        "invoice",
        "open",
    )
    [invoice] = invoices_of(stripe_on, batch["id"], a.id)
    assert invoice["collection_method"] == "send_invoice" and invoice["days_until_due"] == 7
    assert invoice["sent"] == 1 and invoice["status"] == "open"
    assert settlement.get(batch["id"])["status"] == "paying"

    settlement.pay(batch["id"])  # the rerun sees the invoice still open: not sent again
    assert invoice["sent"] == 1 and len(invoices_of(stripe_on, batch["id"], a.id)) == 1

    paid = dict(stripe_on.paid_out_of_band(invoice["id"]))
    event = stripe_event("invoice.paid", paid)
    response = deliver(client, event)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["outcome"] == "settlement_paid"
    settled = settlement.instructions(batch["id"])[a.id]
    assert settled["status"] == "paid" and settled["stripe_status"] == "paid"

    again = deliver(client, event)  # the same event once more: nothing changes
    assert again.status_code == 200 and again.get_json()["outcome"] == "duplicate"
    assert settlement.instructions(batch["id"])[a.id] == settled


def test_a_declined_invoice_payment_is_retried_on_the_same_invoice(settlement, stripe_on):
    batch, a, b = setup_batch(
        settlement, stripe_on, card="pm_card_chargeDeclined", collection="invoice"
    )
    stripe_on.decline("pm_card_chargeDeclined")
    settlement.pay(batch["id"])
    line = settlement.instructions(batch["id"])[a.id]
    assert line["status"] == "failed" and "CardError" in line["last_error"]
    assert line["stripe_object_id"].startswith("in_") and line["stripe_status"] == "open"
    assert settlement.instructions(batch["id"])[b.id]["status"] == "paid"

    stripe_on.declines.clear()  # the payer's bank lets it through now
    settlement.pay(batch["id"])
    retried = settlement.instructions(batch["id"])[a.id]
    assert retried["status"] == "paid" and retried["stripe_object_id"] == line["stripe_object_id"]
    assert len(invoices_of(stripe_on, batch["id"], a.id)) == 1
    pays = [c for c in stripe_on.calls if c[1] == f"/v1/invoices/{line['stripe_object_id']}/pay"]
    assert len(pays) == 2


def test_an_outage_after_the_invoice_is_made_carries_on_with_that_invoice(settlement, stripe_on):
    batch, a, b = setup_batch(settlement, stripe_on, card="pm_card_visa", collection="invoice")
    stripe_on.fail("false", times=100, should_retry=False, path="*/finalize")
    settlement.pay(batch["id"])
    line = settlement.instructions(batch["id"])[a.id]
    assert line["status"] == "failed" and line["stripe_object_id"].startswith("in_")
    assert line["stripe_status"] == "draft"
    transfer_line = settlement.instructions(batch["id"])[b.id]
    assert transfer_line["status"] == "paid"

    stripe_on.failures.clear()
    settlement.pay(batch["id"])
    retried = settlement.instructions(batch["id"])[a.id]
    assert retried["status"] == "paid" and retried["stripe_object_id"] == line["stripe_object_id"]
    [invoice] = invoices_of(stripe_on, batch["id"], a.id)
    assert len(invoice["lines"]) == 1 and invoice["total"] == -position(batch, a)["net"]
    assert settlement.instructions(batch["id"])[b.id] == transfer_line  # untouched


def test_collection_is_a_setting_and_a_tenant_choice(settlement, client):
    response = client.put(
        "/v1/platform/settlement/settings",
        json={"spu_value": "1", "collection": "invoice"},
        headers=settlement.closer.auth,
    )
    assert response.status_code == 200 and response.get_json()["collection"] == "invoice"
    kept = client.put(
        "/v1/platform/settlement/settings", json={"spu_value": "1"}, headers=settlement.closer.auth
    )
    assert kept.get_json()["collection"] == "invoice"  # omitted: unchanged
    bad = client.put(
        "/v1/platform/settlement/settings",
        json={"spu_value": "1", "collection": "cheque"},
        headers=settlement.closer.auth,
    )
    assert bad.status_code == 422
    settlement.settings("1")
    tenant = settlement.tenant("1")
    assert set_account(settlement, tenant, collection="invoice")["collection"] == "invoice"
    assert set_account(settlement, tenant, collection=None)["collection"] is None


def test_a_voided_invoice_event_fails_the_line_and_paying_again_invoices_anew(
    settlement, stripe_on, client
):
    batch, a, b = setup_batch(settlement, stripe_on, card=None, own="invoice")
    settlement.pay(batch["id"])
    [invoice] = invoices_of(stripe_on, batch["id"], a.id)
    assert settlement.instructions(batch["id"])[a.id]["stripe_status"] == "open"

    invoice["status"] = "void"  # finance voided it on Stripe
    voided = deliver(client, stripe_event("invoice.voided", dict(invoice)))
    assert voided.get_json()["outcome"] == "settlement_invoice_dead"
    line = settlement.instructions(batch["id"])[a.id]
    assert (line["status"], line["stripe_status"], line["refusals"]) == ("failed", "void", 1)
    late = stripe_event("invoice.payment_failed", {**invoice, "status": "open"})
    assert deliver(client, late).get_json()["outcome"] == "settlement_stale"

    settlement.pay(batch["id"])
    old, new = invoices_of(stripe_on, batch["id"], a.id)
    assert old["id"] == invoice["id"] and old["status"] == "void"
    again = settlement.instructions(batch["id"])[a.id]
    assert (again["status"], again["stripe_object_id"]) == ("processing", new["id"])
    assert new["status"] == "open" and new["sent"] == 1
    settlement.pay(batch["id"])
    assert len(invoices_of(stripe_on, batch["id"], a.id)) == 2  # the new one is kept


def test_an_uncollectible_invoice_is_voided_and_the_payer_invoiced_anew(settlement, stripe_on):
    batch, a, b = setup_batch(
        settlement, stripe_on, card="pm_card_chargeDeclined", collection="invoice"
    )
    stripe_on.decline("pm_card_chargeDeclined")
    settlement.pay(batch["id"])
    [invoice] = invoices_of(stripe_on, batch["id"], a.id)
    assert invoice["status"] == "open"
    assert settlement.instructions(batch["id"])[a.id]["refusals"] == 1
    invoice["status"] = "uncollectible"  # finance wrote it off on Stripe; no webhook came
    stripe_on.declines.clear()

    settlement.pay(batch["id"])  # the dead invoice is refused: the next try uses a new key
    line = settlement.instructions(batch["id"])[a.id]
    assert (line["status"], line["stripe_status"]) == ("failed", "uncollectible")
    assert line["refusals"] == 2 and line["stripe_object_id"] == invoice["id"]
    assert len(invoices_of(stripe_on, batch["id"], a.id)) == 1

    settlement.pay(batch["id"])
    old, new = invoices_of(stripe_on, batch["id"], a.id)
    assert old["status"] == "void"  # voided first: the payer can no longer pay it too
    paid = settlement.instructions(batch["id"])[a.id]
    assert (paid["status"], paid["stripe_object_id"]) == ("paid", new["id"])
    assert new["status"] == "paid" and new["total"] == -position(batch, a)["net"]


def test_an_uncollectible_invoice_paid_after_all_is_the_lines_answer(settlement, stripe_on):
    batch, a, b = setup_batch(settlement, stripe_on, card=None, own="invoice")
    settlement.pay(batch["id"])
    [invoice] = invoices_of(stripe_on, batch["id"], a.id)
    invoice["status"] = "uncollectible"
    settlement.pay(batch["id"])
    assert settlement.instructions(batch["id"])[a.id]["stripe_status"] == "uncollectible"

    stripe_on.paid_out_of_band(invoice["id"])  # the payer paid it late
    settlement.pay(batch["id"])
    line = settlement.instructions(batch["id"])[a.id]
    assert (line["status"], line["stripe_object_id"]) == ("paid", invoice["id"])
    assert len(invoices_of(stripe_on, batch["id"], a.id)) == 1
