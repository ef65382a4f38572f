"""Billing endpoints: ``GET /v1/billing``, ``POST /v1/billing/plan`` and Stripe's
webhooks at ``POST /v1/stripe/webhooks`` (no bearer token: the signature is the auth)."""

from flask import request

from jifen.platform.auth.callers import PUBLIC, current_caller, requires, tenant
from jifen.platform.http import JifenBlueprint

from . import services
from .schemas import BillingSchema, PlanChangeInput, StripeReceiptSchema

blp = JifenBlueprint("billing", __name__, url_prefix="/v1", description="Billing")


@blp.get("/billing")
@blp.response(200, BillingSchema)
@blp.doc(security=[{"oauth2": []}])
@requires(tenant())
def get_billing():
    """The caller's plan, account status, limits and usage this month."""
    return services.get_billing(current_caller().tenant_id)


@blp.post("/billing/plan")
@blp.arguments(PlanChangeInput)
@blp.response(200, BillingSchema)
@blp.doc(security=[{"oauth2": ["program:write"]}])
@requires(tenant("program:write"))
def change_plan(body: dict):
    """Move to another plan. With Stripe the subscription follows after the change."""
    return services.change_plan(current_caller().tenant_id, body["plan"])


@blp.post("/stripe/webhooks")
@blp.response(200, StripeReceiptSchema)
@requires(PUBLIC)  # Stripe signs the body; the service checks the signature
def stripe_webhook():
    """Stripe's events about the platform's subscriptions (signed with
    ``JIFEN_STRIPE_WEBHOOK_SECRET``); each event id is handled once."""
    return services.handle_stripe_webhook(
        request.get_data(cache=True), request.headers.get("Stripe-Signature")
    )
