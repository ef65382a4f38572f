"""Helpers for billing tests: signed Stripe events and small set-ups."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from jifen.platform import clock
from jifen.platform.billing.model import BillingAccount
from jifen.platform.db import unit_of_work

API_KEY = "sk_test_jifen"
WEBHOOK_SECRET = "whsec_jifen_test"


def stripe_signature(payload: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """``Stripe-Signature`` as Stripe computes it: HMAC-SHA256 of ``"<t>.<body>"``."""
    timestamp = int(clock.now().timestamp()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def stripe_event(
    type_: str, obj: dict, *, created: int | None = None, event_id: str | None = None
) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{secrets.token_hex(8)}",
            "object": "event",
            "type": type_,
            "created": int(clock.now().timestamp()) if created is None else created,
            "data": {"object": obj},
        },
        indent=2,
    ).encode()


def set_account(tenant_id: str, **values) -> None:
    """Put a tenant's billing account in a given state (what a past event would have)."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        account = uow.session.query(BillingAccount).filter_by(tenant_id=tenant_id).one()
        for name, value in values.items():
            setattr(account, name, value)
        uow.commit()


def account(tenant_id: str) -> BillingAccount:
    with unit_of_work(tenant_id=tenant_id) as uow:
        return uow.session.query(BillingAccount).filter_by(tenant_id=tenant_id).one()
