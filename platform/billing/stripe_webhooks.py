"""Incoming Stripe webhooks: the signature check and what each event means.

Stripe signs ``"<timestamp>.<raw body>"`` with HMAC-SHA256 under the endpoint's secret
and sends ``Stripe-Signature: t=<timestamp>,v1=<hex>[,v1=<hex>...]`` (several ``v1``
while a secret is being rolled). We verify over the raw request body, never over
re-serialized JSON, compare in constant time, and refuse timestamps further than the
tolerance from our clock, so a captured delivery cannot be replayed later.

The verify and parse functions here are pure; ``services.handle_stripe_webhook`` does
the rest. Other areas take the events about their own Stripe objects (settlement:
transfers, payouts, its PaymentIntents and invoices) through a handler that the
composition root registers (``register_event_handlers``): each handler sees every
verified, not yet seen event inside the unit of work that records it, and returns
``Handled`` for an event it took (billing then leaves it alone) or None.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app

from jifen.platform.errors import BadRequest

from .states import Occurrence

TOLERANCE_SECONDS = 300

# Stripe event type -> what it means for the account. localstripe sends
# ``invoice.payment_succeeded`` where Stripe also sends ``invoice.paid``; both count.
OCCURRENCES = {
    "invoice.paid": Occurrence.INVOICE_PAID,
    "invoice.payment_succeeded": Occurrence.INVOICE_PAID,
    "invoice.payment_failed": Occurrence.PAYMENT_FAILED,
    "customer.subscription.deleted": Occurrence.SUBSCRIPTION_DELETED,
}


@dataclass(frozen=True)
class Handled:
    outcome: str  # stored with the event id (at most 32 characters)
    tenant_id: str | None = None


EventHandler = Callable[[Any, dict], Handled | None]  # (unit of work, the event)


def register_event_handlers(app: Flask, handlers: list[EventHandler]) -> None:
    """Keep the areas' handlers on the app (``app.extensions["jifen.stripe_events"]``)."""
    app.extensions["jifen.stripe_events"] = list(handlers)


def event_handlers() -> list[EventHandler]:
    return list(current_app.extensions["jifen.stripe_events"])


class InvalidSignature(BadRequest):
    code = "invalid_signature"


def verify_signature(payload: bytes, header: str | None, secret: str, *, now: datetime) -> None:
    """Raises InvalidSignature unless ``header`` signs ``payload`` with ``secret`` at a
    timestamp within ``TOLERANCE_SECONDS`` of ``now``. ``secret`` may list several
    endpoints' secrets separated by commas: the platform's own endpoint and its Connect
    endpoint (events from connected accounts) each have one."""
    if not header:
        raise InvalidSignature("The Stripe-Signature header is missing.")
    timestamp, signatures = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not timestamp.isdigit() or not signatures:
        raise InvalidSignature("The Stripe-Signature header is malformed.")
    signed = timestamp.encode() + b"." + payload
    expected = [
        hmac.new(key.strip().encode(), signed, hashlib.sha256).hexdigest()
        for key in secret.split(",")
        if key.strip()
    ]
    if not any(hmac.compare_digest(e, c) for e in expected for c in signatures):
        raise InvalidSignature("No signature matches the payload.")
    if abs(now.timestamp() - int(timestamp)) > TOLERANCE_SECONDS:
        raise InvalidSignature("The signature's timestamp is outside the tolerance.")


@dataclass(frozen=True)
class StripeNotice:
    """The parts of a Stripe event that billing reads."""

    id: str
    type: str
    created: datetime
    customer: str | None
    subscription: str | None

    @property
    def occurrence(self) -> Occurrence | None:
        return OCCURRENCES.get(self.type)


def parse_event(payload: bytes) -> StripeNotice:
    """Raises BadRequest when the (verified) payload is not a Stripe event."""
    try:
        event = json.loads(payload)
        obj = event["data"]["object"]
        if not isinstance(event["id"], str) or not isinstance(event["type"], str):
            raise TypeError
        created = datetime.fromtimestamp(int(event["created"]), UTC)
    except (ValueError, KeyError, TypeError, OverflowError, OSError):
        raise BadRequest("The payload is not a Stripe event.", code="invalid_event") from None
    if not isinstance(obj, dict):
        obj = {}
    if obj.get("object") == "subscription":
        subscription = obj.get("id")
    else:  # invoices: ``subscription`` before API 2025-03-31, under ``parent`` since
        subscription = obj.get("subscription") or (
            ((obj.get("parent") or {}).get("subscription_details") or {}).get("subscription")
        )
    customer = obj.get("customer")
    return StripeNotice(
        id=event["id"],
        type=event["type"],
        created=created,
        customer=customer if isinstance(customer, str) else None,
        subscription=subscription if isinstance(subscription, str) else None,
    )
