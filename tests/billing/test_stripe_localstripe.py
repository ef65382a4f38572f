"""The real ``stripe`` client against localstripe over HTTP: customers, subscriptions,
plan changes, usage on the next invoice, and Stripe's own webhooks reaching the app.

localstripe is a separate process (see conftest). It ignores idempotency keys, so these
tests also show that our own records keep repeated jobs from duplicating anything.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import requests
from billing_support import API_KEY, WEBHOOK_SECRET, account
from factories import signup_body
from werkzeug.serving import make_server

from jifen.platform import clock
from jifen.platform.billing import plans, services
from jifen.platform.billing.model import UsageReport
from jifen.platform.db import unit_of_work


def _customers_of(stripe_client, tenant_id: str) -> list:
    return [
        customer
        for customer in stripe_client.v1.customers.list(params={"limit": 100}).data
        if customer.metadata.to_dict().get("jifen_tenant_id") == tenant_id
    ]


def _attach_card(stripe_client, customer_id: str, number: str = "4242424242424242") -> str:
    method = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    stripe_client.v1.payment_methods.attach(method.id, params={"customer": customer_id})
    stripe_client.v1.customers.update(
        customer_id, params={"invoice_settings": {"default_payment_method": method.id}}
    )
    return method.id


def _synced(tenant_id: str):
    """Run the sync job (with Redis it was queued rather than run inline)."""
    services.sync_with_stripe(tenant_id)
    return account(tenant_id)


def test_signup_on_a_paid_plan_makes_a_customer_and_a_subscription(api, stripe_mode, stripe_client):
    body = signup_body()
    body["plan"] = "growth"
    response = api.client.post("/v1/signup", json=body)
    assert response.status_code == 201, response.get_json()
    tenant_id = response.get_json()["tenant"]["id"]
    record = _synced(tenant_id)
    assert record.stripe_customer_id.startswith("cus_")
    assert record.stripe_subscription_id.startswith("sub_")
    subscription = stripe_client.v1.subscriptions.retrieve(record.stripe_subscription_id)
    assert subscription.customer == record.stripe_customer_id
    assert subscription["items"].data[0].plan.id == plans.GROWTH.stripe_plan_id
    assert subscription["items"].data[0].plan.amount == plans.GROWTH.monthly_amount
    assert subscription.metadata.to_dict()["jifen_tenant_id"] == tenant_id


def test_a_free_tenant_gets_a_customer_and_no_subscription(api, stripe_mode, stripe_client):
    tenant = api.signup()
    record = _synced(tenant.id)
    assert record.stripe_customer_id.startswith("cus_")
    assert record.stripe_subscription_id is None
    customer = stripe_client.v1.customers.retrieve(record.stripe_customer_id)
    assert customer.name == f"Tenant {tenant.slug}"


def test_repeating_the_sync_makes_nothing_twice(api, stripe_mode, stripe_client):
    tenant = api.signup()
    api.client.post("/v1/billing/plan", json={"plan": "growth"}, headers=tenant.auth)
    first = _synced(tenant.id)
    second = _synced(tenant.id)
    assert (first.stripe_customer_id, first.stripe_subscription_id) == (
        second.stripe_customer_id,
        second.stripe_subscription_id,
    )
    assert len(_customers_of(stripe_client, tenant.id)) == 1
    subscriptions = stripe_client.v1.subscriptions.list(
        params={"customer": first.stripe_customer_id}
    ).data
    assert len(subscriptions) == 1


def test_plan_changes_follow_on_the_stripe_subscription(api, stripe_mode, stripe_client):
    tenant = api.signup()
    api.client.post("/v1/billing/plan", json={"plan": "growth"}, headers=tenant.auth)
    subscription_id = _synced(tenant.id).stripe_subscription_id
    api.client.post("/v1/billing/plan", json={"plan": "scale"}, headers=tenant.auth)
    assert _synced(tenant.id).stripe_subscription_id == subscription_id
    subscription = stripe_client.v1.subscriptions.retrieve(subscription_id)
    assert subscription["items"].data[0].plan.id == plans.SCALE.stripe_plan_id
    api.client.post("/v1/billing/plan", json={"plan": "free"}, headers=tenant.auth)
    assert _synced(tenant.id).stripe_subscription_id is None
    assert stripe_client.v1.subscriptions.retrieve(subscription_id).status == "canceled"
    assert account(tenant.id).status == "active"


def test_usage_lands_once_on_the_next_invoice_and_the_invoice_is_paid(
    api, stripe_mode, stripe_client, monkeypatch
):
    monkeypatch.setitem(
        plans.PLANS, "growth", plans.Plan(**{**plans.GROWTH.__dict__, "included_active_members": 1})
    )
    tenant = api.signup()
    api.client.post("/v1/billing/plan", json={"plan": "growth"}, headers=tenant.auth)
    record = _synced(tenant.id)
    with clock.frozen_at(datetime(2026, 6, 10, tzinfo=UTC)):
        for name in ("a", "b", "c"):
            member = api.client.post(
                "/v1/members", json={"external_id": name}, headers=tenant.auth
            ).get_json()["id"]
            api.client.post(
                "/v1/awards",
                json={"member_id": member, "event": "manual", "points": 5, "reason": "hi"},
                headers=tenant.auth,
            )
    services.report_usage("2026-06")
    services.report_usage("2026-06")
    with unit_of_work(tenant_id=tenant.id) as uow:
        report = uow.session.query(UsageReport).filter_by(month="2026-06").one()
    assert (report.active_members, report.billable_members, report.amount) == (3, 2, 10)
    items = stripe_client.v1.invoice_items.list(params={"customer": record.stripe_customer_id}).data
    usage_items = [i for i in items if i.metadata.to_dict().get("jifen_usage_month")]
    assert [(i.id, i.amount, i.currency) for i in usage_items] == [
        (report.stripe_invoice_item_id, 10, "cny")
    ]
    _attach_card(stripe_client, record.stripe_customer_id)
    invoice = stripe_client.v1.invoices.create(
        params={
            "customer": record.stripe_customer_id,
            "subscription": record.stripe_subscription_id,
        }
    )
    assert sorted(line.amount for line in invoice.lines.data) == [10, plans.GROWTH.monthly_amount]
    assert stripe_client.v1.invoices.pay(invoice.id).status == "paid"


@pytest.fixture
def app_server(app):
    """The app on a real loopback port, so localstripe can deliver webhooks to it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def _wait_for(predicate, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_stripes_webhooks_move_the_account(
    api, stripe_mode, stripe_client, localstripe, app_server, billing_config
):
    """localstripe signs and sends its events to the app: a declined payment of the
    subscription's first invoice makes the account past due, a paid invoice active.

    (localstripe reports a declined invoice payment only through its 3-D Secure path:
    the card asks for authentication, the card holder passes it, the bank declines.)
    """
    billing_config(billing_trial_days=0)
    requests.post(
        f"{localstripe}/_config/webhooks/jifen",
        data={"url": f"{app_server}/v1/stripe/webhooks", "secret": WEBHOOK_SECRET},
        timeout=5,
    ).raise_for_status()
    tenant = api.signup()
    customer = _synced(tenant.id).stripe_customer_id
    _attach_card(stripe_client, customer, number="4000008260003178")  # 3-D Secure, declined
    api.client.post("/v1/billing/plan", json={"plan": "growth"}, headers=tenant.auth)
    subscription_id = _synced(tenant.id).stripe_subscription_id
    subscription = stripe_client.v1.subscriptions.retrieve(subscription_id)
    invoice = stripe_client.v1.invoices.retrieve(subscription.latest_invoice)
    intent = stripe_client.v1.payment_intents.retrieve(invoice.payment_intent)
    assert intent.status == "requires_action"
    requests.post(
        f"{localstripe}/v1/payment_intents/{intent.id}/_authenticate",
        data={"client_secret": intent.client_secret, "success": "true"},
        auth=(API_KEY, ""),
        timeout=5,
    )
    assert _wait_for(lambda: account(tenant.id).status == "past_due"), account(tenant.id).status
    assert account(tenant.id).grace_until is not None

    _attach_card(stripe_client, customer)
    invoice = stripe_client.v1.invoices.create(
        params={"customer": customer, "subscription": subscription_id}
    )
    assert stripe_client.v1.invoices.pay(invoice.id).status == "paid"
    assert _wait_for(lambda: account(tenant.id).status == "active"), account(tenant.id).status
