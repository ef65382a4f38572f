"""Paying with Stripe: the real ``stripe`` client against a Stripe-compatible server in
the test (Connect accounts, transfers, payment intents with Idempotency-Key rules).

Net receivers get one transfer to their Connect account and net payers one
PaymentIntent on their saved card, each under ``jifen-settlement-<batch>-<tenant>``; paying
again creates nothing new; a Stripe outage for one tenant fails that line only, and the
next ``/pay`` retries just that line; reconciliation finds what Stripe holds."""

from __future__ import annotations

import pytest
import stripe
from factories import assert_error
from settlement_support import BATCHES, position


def connect(settlement, fake, tenant) -> str:
    client = stripe.StripeClient("sk_test_settlement", base_addresses={"api": fake.url})
    account = client.v1.accounts.create(params={"type": "custom", "country": "CN"})
    return account.id


def set_account(settlement, tenant, **fields):
    response = settlement.client.put("/v1/settlement/account", json=fields, headers=tenant.auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def approved(settlement, stripe_on):
    """A batch where A and C owe B: B has a Connect account, A and C saved cards."""
    a, b, c = settlement.tenant("0.8"), settlement.tenant("1.5"), settlement.tenant("1")
    set_account(settlement, b, stripe_account_id=connect(settlement, stripe_on, b))
    for payer in (a, c):
        set_account(
            settlement,
            payer,
            stripe_customer_id=f"cus_{payer.id[-8:]}",
            stripe_payment_method_id="pm_card_visa",
        )
    settlement.swap(settlement.card(a), a, b, 1000)
    settlement.swap(settlement.card(c), c, b, 500)
    batch = settlement.closed()
    assert settlement.approve(batch["id"]).status_code == 200
    return batch, a, b, c


def ours(fake, batch_id: str, kind: str) -> list[dict]:
    return [o for o in fake.created(kind) if o["metadata"].get("jifen_batch") == batch_id]


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


def test_an_unknown_connect_account_is_refused(settlement, stripe_on):
    tenant = settlement.tenant("1")
    response = settlement.client.put(
        "/v1/settlement/account", json={"stripe_account_id": "acct_nope"}, headers=tenant.auth
    )
    assert_error(response, 422, "unknown_stripe_account")
