"""The event catalogue, and ``emit``: how any service reports something to webhooks.

``emit`` must be called inside the unit of work that makes the change; it writes the
event and its deliveries in that transaction and sends them only after it commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from jifen.platform import clock
from jifen.platform.db import Base, UnitOfWork, insert_rows
from jifen.platform.errors import Unprocessable
from jifen.platform.ids import new_id

from .model import Delivery, Event, WebhookEndpoint

CATALOGUE: dict[str, str] = {
    "member.created": "A member joined the program.",
    "member.frozen": "A member was frozen.",
    "member.unfrozen": "A member was unfrozen.",
    "points.earned": "Points were earned or awarded.",
    "points.redeemed": "Points were redeemed.",
    "points.transferred": "Points were given to another member.",
    "points.expiring": "A member's points will expire soon (a reminder).",
    "points.expired": "Points expired.",
    "points.reversed": "A points transaction was reversed.",
    "hold.created": "Points were held.",
    "hold.captured": "A hold was captured.",
    "hold.voided": "A hold was voided.",
    "hold.expired": "A hold expired.",
    "tier.changed": "A member's tier changed.",
    "adjustment.requested": "A manual adjustment awaits a second person's approval.",
    "adjustment.posted": "A manual adjustment was posted.",
    "adjustment.rejected": "A manual adjustment was rejected.",
    "swap.completed": "A card holder swapped points between programs.",
    "authorization.created": "A merchant authorized another tenant's points.",
    "authorization.captured": "An authorization was captured.",
    "authorization.voided": "An authorization was voided.",
    "authorization.reversed": "A captured authorization was reversed.",
    "settlement.batch.closed": "A settlement batch was closed.",
    "settlement.batch.paid": "A settlement batch was paid.",
    "webhook.test": "A test event sent from the console or the API.",
}


def validate_event_types(types: list[str]) -> list[str]:
    unknown = [t for t in types if t != "*" and t not in CATALOGUE]
    if unknown:
        raise Unprocessable(f"Unknown event type: {', '.join(unknown)}.", param="enabled_events")
    if not types:
        raise Unprocessable("Subscribe to at least one event type, or '*'.", param="enabled_events")
    return list(dict.fromkeys(types))


_ENABLED_ENDPOINTS = (
    select(WebhookEndpoint.id, WebhookEndpoint.tenant_id, WebhookEndpoint.enabled_events)
    .where(
        WebhookEndpoint.tenant_id.in_(bindparam("tenant_ids", expanding=True)),
        WebhookEndpoint.status == "enabled",
    )
    .order_by(WebhookEndpoint.id)
)


@dataclass(frozen=True)
class PendingEvent:
    """An event to write with others in one ``emit_each``."""

    tenant_id: str
    type: str
    data: dict[str, Any]


def emit(uow: UnitOfWork, *, tenant_id: str, type: str, data: dict[str, Any]) -> Event:
    """Record ``type`` for ``tenant_id`` and queue it for every subscribed endpoint."""
    return emit_each(uow, tenant_ids=[tenant_id], type=type, data=data)[0]


def emit_each(
    uow: UnitOfWork,
    *,
    tenant_ids: list[str],
    type: str,
    data: dict[str, Any],
    with_rows: tuple[Base, ...] = (),
    along: Sequence[PendingEvent] = (),
) -> list[Event]:
    """``emit`` one event to each of ``tenant_ids`` (a swap tells both its programs), and
    the events ``along`` (another type the same change caused, e.g. a swap's enrolment).

    Every posting emits, so this is on the hot paths: the tenants' endpoints are read in
    one query, and the events and their deliveries written with plain INSERTs (one
    statement on PostgreSQL, which also writes the caller's new ``with_rows`` first); the
    returned events (``tenant_ids``' first, then ``along``'s) are not in the session.
    """
    pending = [PendingEvent(tenant_id, type, data) for tenant_id in tenant_ids] + list(along)
    for event in pending:
        if event.type not in CATALOGUE:
            raise ValueError(f"event type {event.type!r} is not in the catalogue")
    session = uow.session
    session.flush()  # an endpoint this transaction created is subscribed too
    now = clock.now()
    events = [
        Event(id=new_id("evt"), tenant_id=e.tenant_id, type=e.type, data=e.data, created=now)
        for e in pending
    ]
    tenants = list(dict.fromkeys(event.tenant_id for event in events))
    endpoints = list(session.connection().execute(_ENABLED_ENDPOINTS, {"tenant_ids": tenants}))
    deliveries = [
        Delivery(
            id=new_id("whd"),
            tenant_id=event.tenant_id,
            event_id=event.id,
            endpoint_id=endpoint.id,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created=now,
        )
        for event in events
        for endpoint in endpoints
        if endpoint.tenant_id == event.tenant_id
        and ("*" in endpoint.enabled_events or event.type in endpoint.enabled_events)
    ]
    insert_rows(session, *with_rows, *events, *deliveries)
    if deliveries:
        from . import delivery

        for item in deliveries:
            delivery.send_after_commit(uow, item.id)
    return events
