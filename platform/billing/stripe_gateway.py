"""The only code that calls Stripe, with the official client (``stripe.StripeClient``).

Every call carries a deterministic idempotency key naming the tenant and the action
(``jifen-<tenant>-<action>-<version>``), so a retried job never makes a second customer,
subscription or usage charge on Stripe's side. Callers never hold a database transaction
open across these calls: they read, call Stripe, then record the outcome in a new unit of
work.

Plans are sold as Stripe *plans* (``/v1/plans``), created on demand with ids derived
from the plan (``plans.Plan.stripe_plan_id``): localstripe, which the tests run against,
has no Price objects, and Stripe still accepts plans (it shows them as prices).
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from jifen.platform.config import Config

from .plans import CURRENCY, INTERVAL, Plan

log = logging.getLogger(__name__)

_ensured_plans: set[tuple[str, str]] = set()  # (api base, stripe plan id) known to exist


def client_for(config: Config) -> stripe.StripeClient | None:
    """A client for the configured account, or None in manual mode (no API key)."""
    if not config.stripe_api_key:
        return None
    base = {"api": config.stripe_api_base} if config.stripe_api_base else None
    return stripe.StripeClient(config.stripe_api_key, base_addresses=base, max_network_retries=2)


def idempotency_key(tenant_id: str, action: str, *parts: object) -> str:
    return "-".join(["jifen", tenant_id, action, *map(str, parts)])[:255]


def _options(key: str) -> dict[str, Any]:
    return {"idempotency_key": key}


def _retrieve_or_create(retrieve, create) -> Any:
    """Retrieve a Stripe object by its chosen id; create it if missing. Two racing
    creators both succeed: the loser's 'already exists' error is answered by a retrieve."""
    try:
        return retrieve()
    except stripe.InvalidRequestError as error:
        if error.http_status != 404:
            raise
    try:
        return create()
    except stripe.StripeError as error:
        if error.http_status not in (400, 409):
            raise
        return retrieve()


def ensure_plan(client: stripe.StripeClient, plan: Plan, *, api_base: str = "") -> str:
    """Make sure ``plan``'s Stripe product and plan exist; returns the Stripe plan id."""
    if (api_base, plan.stripe_plan_id) in _ensured_plans:
        return plan.stripe_plan_id
    _retrieve_or_create(
        lambda: client.v1.products.retrieve(plan.stripe_product_id),
        lambda: client.v1.products.create(
            params={"id": plan.stripe_product_id, "name": f"Jifen {plan.name}"}
        ),
    )
    _retrieve_or_create(
        lambda: client.v1.plans.retrieve(plan.stripe_plan_id),
        lambda: client.v1.plans.create(
            params={
                "id": plan.stripe_plan_id,
                "product": plan.stripe_product_id,
                "amount": plan.monthly_amount,
                "currency": CURRENCY,
                "interval": INTERVAL,
                "nickname": f"Jifen {plan.name}, monthly",
            }
        ),
    )
    _ensured_plans.add((api_base, plan.stripe_plan_id))
    return plan.stripe_plan_id


def create_customer(client: stripe.StripeClient, *, tenant_id: str, name: str) -> str:
    customer = client.v1.customers.create(
        params={"name": name, "metadata": {"jifen_tenant_id": tenant_id}},
        options=_options(idempotency_key(tenant_id, "customer")),
    )
    return customer.id


def create_subscription(
    client: stripe.StripeClient,
    *,
    tenant_id: str,
    customer_id: str,
    plan: Plan,
    plan_version: int,
    trial_days: int,
    api_base: str = "",
) -> str:
    params: dict[str, Any] = {
        "customer": customer_id,
        "items": [{"plan": ensure_plan(client, plan, api_base=api_base)}],
        "metadata": {"jifen_tenant_id": tenant_id, "jifen_plan": plan.code},
    }
    if trial_days > 0:
        params["trial_period_days"] = trial_days
    subscription = client.v1.subscriptions.create(
        params=params,
        options=_options(idempotency_key(tenant_id, "subscription", plan_version)),
    )
    return subscription.id


def subscription_plan_id(client: stripe.StripeClient, subscription_id: str) -> tuple[str, str]:
    """The subscription's (item id, Stripe plan id)."""
    subscription = client.v1.subscriptions.retrieve(subscription_id)
    item = subscription["items"].data[0]
    return item.id, item.plan.id


def change_subscription_plan(
    client: stripe.StripeClient,
    *,
    tenant_id: str,
    subscription_id: str,
    plan: Plan,
    plan_version: int,
    api_base: str = "",
) -> None:
    stripe_plan_id = ensure_plan(client, plan, api_base=api_base)
    item_id, current = subscription_plan_id(client, subscription_id)
    if current == stripe_plan_id:
        return
    client.v1.subscriptions.update(
        subscription_id,
        params={
            "items": [{"id": item_id, "plan": stripe_plan_id}],
            "metadata": {"jifen_tenant_id": tenant_id, "jifen_plan": plan.code},
        },
        options=_options(idempotency_key(tenant_id, "plan", plan_version)),
    )


def cancel_subscription(client: stripe.StripeClient, *, subscription_id: str) -> None:
    """Cancel now; a subscription already gone counts as cancelled."""
    try:
        client.v1.subscriptions.cancel(subscription_id)
    except stripe.InvalidRequestError as error:
        if error.http_status != 404:
            raise


def add_usage_item(
    client: stripe.StripeClient,
    *,
    tenant_id: str,
    customer_id: str,
    subscription_id: str,
    month: str,
    active_members: int,
    billable_members: int,
    amount: int,
) -> str:
    """Bill a month's active members as an invoice item on the subscription's next
    invoice (Billing Meters and usage records are not available: see docs/billing.md)."""
    item = client.v1.invoice_items.create(
        params={
            "customer": customer_id,
            "subscription": subscription_id,
            "amount": amount,
            "currency": CURRENCY,
            "description": (
                f"Monthly active members {month}: {active_members}"
                f" ({billable_members} above the plan's included members)"
            ),
            "metadata": {
                "jifen_tenant_id": tenant_id,
                "jifen_usage_month": month,
                "active_members": str(active_members),
            },
        },
        options=_options(idempotency_key(tenant_id, "usage", month)),
    )
    return item.id
