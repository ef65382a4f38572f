"""Stripe down or slow for one tenant, on both sides (transfers and charges): that line
is retried — by the client under the same key, then by paying again — and the other lines
are left alone; nothing is paid twice."""

from __future__ import annotations

import pytest
import stripe
from settlement_support import ours


def mine(fake, batch_id, kind, tenant) -> list[dict]:
    return [o for o in ours(fake, batch_id, kind) if o["metadata"]["jifen_tenant"] == tenant.id]


@pytest.fixture
def impatient(stripe_on, monkeypatch):
    """The app's Stripe client gives up on an answer after half a second (it still
    retries twice under the same key)."""
    from jifen.settlement import payments

    def client():
        return stripe.StripeClient(
            "sk_test_settlement",
            base_addresses={"api": stripe_on.url},
            max_network_retries=2,
            http_client=stripe.RequestsClient(timeout=0.5),
        )

    monkeypatch.setattr(payments, "stripe_client", client)
    return stripe_on


def account_of(settlement, tenant) -> dict:
    return settlement.client.get("/v1/settlement/account", headers=tenant.auth).get_json()


def test_a_transfer_that_keeps_failing_fails_that_line_only(settlement, stripe_on, approved):
    batch, a, b, c = approved
    destination = account_of(settlement, b)["stripe_account_id"]
    stripe_on.fail(destination, times=100, should_retry=False, path="/v1/transfers")
    settlement.pay(batch["id"])
    lines = settlement.instructions(batch["id"])
    assert lines[b.id]["status"] == "failed" and "APIError" in lines[b.id]["last_error"]
    assert lines[a.id]["status"] == "paid" == lines[c.id]["status"]

    stripe_on.failures.clear()
    settlement.pay(batch["id"])
    retried = settlement.instructions(batch["id"])
    assert (
        retried[b.id]["status"] == "paid" and len(mine(stripe_on, batch["id"], "transfer", b)) == 1
    )
    assert retried[a.id] == lines[a.id] and retried[c.id] == lines[c.id]


def test_a_transfer_whose_answer_times_out_is_retried_and_made_once(
    settlement, impatient, approved
):
    batch, a, b, c = approved
    impatient.hang(account_of(settlement, b)["stripe_account_id"], 1.5)
    settlement.pay(batch["id"])
    lines = settlement.instructions(batch["id"])
    assert lines[b.id]["status"] == "paid" and lines[b.id]["attempts"] == 1
    posts = [c for c in impatient.calls if c[:2] == ("POST", "/v1/transfers") and b.id in str(c[2])]
    assert len(posts) == 2  # timed out, then answered from the key
    [transfer] = mine(impatient, batch["id"], "transfer", b)
    assert lines[b.id]["stripe_object_id"] == transfer["id"]


def test_a_charge_that_keeps_timing_out_fails_that_line_and_paying_again_charges_once(
    settlement, impatient, approved
):
    batch, a, b, c = approved
    impatient.hang(account_of(settlement, c)["stripe_customer_id"], 1.5, times=3)
    settlement.pay(batch["id"])
    lines = settlement.instructions(batch["id"])
    assert lines[c.id]["status"] == "failed" and "APIConnectionError" in lines[c.id]["last_error"]
    assert lines[c.id]["refusals"] == 0  # no answer: the retry must use the same key
    assert lines[a.id]["status"] == "paid" == lines[b.id]["status"]
    [made] = mine(impatient, batch["id"], "payment_intent", c)  # Stripe did make it

    settlement.pay(batch["id"])
    retried = settlement.instructions(batch["id"])
    assert retried[c.id]["status"] == "paid" and retried[c.id]["stripe_object_id"] == made["id"]
    assert mine(impatient, batch["id"], "payment_intent", c) == [made]
    assert retried[a.id] == lines[a.id] and retried[b.id] == lines[b.id]
