"""POST /v1/stripe/webhooks: signed over the raw body, deduplicated by event id, safe
against events that arrive late, and moving the account through its states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from billing_support import account, set_account, stripe_event, stripe_signature
from factories import assert_error

from jifen.platform import clock
from jifen.platform.billing.model import StripeEvent
from jifen.platform.db import unit_of_work
from jifen.platform.jobs import run_periodic

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def subscribed(api, billing_config):
    """A tenant whose Stripe customer and subscription are known, webhooks configured."""
    from billing_support import WEBHOOK_SECRET

    billing_config(stripe_webhook_secret=WEBHOOK_SECRET, billing_grace_days=7)
    tenant = api.signup()
    suffix = tenant.id[-12:]
    set_account(
        tenant.id,
        plan="growth",
        stripe_customer_id=f"cus_{suffix}",
        stripe_subscription_id=f"sub_{suffix}",
    )
    return tenant


def _invoice(tenant, **extra) -> dict:
    suffix = tenant.id[-12:]
    return {
        "object": "invoice",
        "id": "in_1",
        "customer": f"cus_{suffix}",
        "subscription": f"sub_{suffix}",
        **extra,
    }


def _deliver(client, payload: bytes, signature: str | None = None):
    return client.post(
        "/v1/stripe/webhooks",
        data=payload,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": signature or stripe_signature(payload),
        },
    )


def test_a_failed_payment_makes_the_account_past_due_with_a_grace_period(client, subscribed):
    with clock.frozen_at(T0):
        response = _deliver(client, stripe_event("invoice.payment_failed", _invoice(subscribed)))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["outcome"] == "applied"
    state = account(subscribed.id)
    assert state.status == "past_due"
    assert state.grace_until == T0 + timedelta(days=7)


def test_grace_ends_read_only_and_paying_reopens_the_account(api, client, subscribed):
    with clock.frozen_at(T0):
        _deliver(client, stripe_event("invoice.payment_failed", _invoice(subscribed)))
    with clock.frozen_at(T0 + timedelta(days=6)):
        run_periodic("billing-grace")
        assert account(subscribed.id).status == "past_due"
        assert (
            api.client.post(
                "/v1/members", json={"external_id": "still-ok"}, headers=subscribed.auth
            ).status_code
            == 201
        )
    with clock.frozen_at(T0 + timedelta(days=7, minutes=1)):
        assert run_periodic("billing-grace")["read_only"] >= 1
        assert account(subscribed.id).status == "read_only"
        refused = api.client.post("/v1/members", json={"external_id": "x"}, headers=subscribed.auth)
        assert_error(refused, 403, "account_read_only")
    with clock.frozen_at(T0 + timedelta(days=8)):
        _deliver(client, stripe_event("invoice.paid", _invoice(subscribed, status="paid")))
        assert account(subscribed.id).status == "active"
        assert account(subscribed.id).grace_until is None
        assert (
            api.client.post(
                "/v1/members", json={"external_id": "x"}, headers=subscribed.auth
            ).status_code
            == 201
        )


def test_a_cancelled_subscription_makes_the_account_read_only(api, client, subscribed):
    suffix = subscribed.id[-12:]
    subscription = {"object": "subscription", "id": f"sub_{suffix}", "customer": f"cus_{suffix}"}
    response = _deliver(client, stripe_event("customer.subscription.deleted", subscription))
    assert response.get_json()["outcome"] == "applied"
    assert account(subscribed.id).status == "cancelled"
    assert account(subscribed.id).stripe_subscription_id is None
    assert_error(
        api.client.post("/v1/members", json={"external_id": "x"}, headers=subscribed.auth),
        403,
        "account_read_only",
    )
    assert api.client.get("/v1/billing", headers=subscribed.auth).status_code == 200


def test_a_redelivered_event_is_handled_once(client, subscribed):
    with clock.frozen_at(T0):
        payload = stripe_event("invoice.payment_failed", _invoice(subscribed))
        first = _deliver(client, payload)
    set_account(subscribed.id, status="active", grace_until=None, status_event_at=None)
    with clock.frozen_at(T0 + timedelta(minutes=1)):
        again = _deliver(client, payload)
    assert first.get_json()["outcome"] == "applied"
    assert again.status_code == 200
    assert again.get_json()["outcome"] == "duplicate"
    assert account(subscribed.id).status == "active"
    with unit_of_work(platform=True) as uow:
        event_id = first.get_json()["event"]
        assert uow.session.get(StripeEvent, event_id).tenant_id == subscribed.id


def test_a_replay_after_the_tolerance_is_refused(client, subscribed):
    with clock.frozen_at(T0):
        payload = stripe_event("invoice.payment_failed", _invoice(subscribed))
        signature = stripe_signature(payload)
    with clock.frozen_at(T0 + timedelta(minutes=10)):
        response = _deliver(client, payload, signature)
    assert_error(response, 400, "invalid_signature")
    assert account(subscribed.id).status == "active"


def test_a_forged_or_altered_delivery_changes_nothing(client, subscribed):
    payload = stripe_event("invoice.payment_failed", _invoice(subscribed))
    forged = stripe_signature(payload, secret="whsec_guessed")
    assert_error(_deliver(client, payload, forged), 400, "invalid_signature")
    signature = stripe_signature(payload)
    altered = payload.replace(b"invoice.payment_failed", b"invoice.payment_faile ")
    assert_error(_deliver(client, altered, signature), 400, "invalid_signature")
    response = client.post(
        "/v1/stripe/webhooks", data=payload, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_signature")
    assert account(subscribed.id).status == "active"


def test_the_signature_covers_the_raw_body_not_its_json(client, subscribed):
    """A body with Stripe's own spacing verifies as sent; re-serializing would break it."""
    payload = stripe_event("invoice.payment_failed", _invoice(subscribed))
    assert b"\n  " in payload
    assert _deliver(client, payload).status_code == 200


def test_an_older_event_arriving_late_changes_nothing(client, subscribed):
    with clock.frozen_at(T0):
        failed = stripe_event("invoice.payment_failed", _invoice(subscribed))
    with clock.frozen_at(T0 + timedelta(hours=1)):
        paid = stripe_event("invoice.paid", _invoice(subscribed))
        assert _deliver(client, paid).get_json()["outcome"] == "applied"
        assert _deliver(client, failed).get_json()["outcome"] == "unchanged"
    assert account(subscribed.id).status == "active"


def test_events_of_another_subscription_or_customer_are_only_recorded(client, subscribed):
    other_subscription = _invoice(subscribed, subscription="sub_replaced")
    response = _deliver(client, stripe_event("invoice.payment_failed", other_subscription))
    assert response.get_json()["outcome"] == "other_subscription"
    unknown = _invoice(subscribed, customer="cus_nobody")
    response = _deliver(client, stripe_event("invoice.payment_failed", unknown))
    assert response.get_json()["outcome"] == "unknown_customer"
    response = _deliver(client, stripe_event("customer.created", {"object": "customer"}))
    assert response.get_json()["outcome"] == "ignored"
    assert account(subscribed.id).status == "active"


def test_a_payload_that_is_not_an_event_is_a_400(client, subscribed):
    payload = b'{"hello": "world"}'
    assert_error(_deliver(client, payload), 400, "invalid_event")


def test_without_a_webhook_secret_the_endpoint_refuses_everything(client):
    payload = stripe_event("invoice.paid", {"object": "invoice"})
    assert_error(_deliver(client, payload), 400, "stripe_webhooks_not_configured")
