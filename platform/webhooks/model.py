"""Outbound webhooks: endpoints, the event outbox and the delivery log.

An ``Event`` row is written in the same transaction as the change it reports (the
outbox), together with one ``Delivery`` per subscribed endpoint. So an event of a
committed transaction is never lost and an event of a rolled-back one never exists.
Deliveries are then made by jobs, retried with backoff, and logged here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, Created, TenantOwned
from jifen.platform.ids import new_id


class WebhookEndpoint(TenantOwned, Created, Base):
    """Where a tenant wants events sent. ``secret`` signs deliveries (Standard Webhooks);
    it is an HMAC key we must be able to use, so it is kept, not hashed."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("status IN ('enabled', 'disabled')", name="webhook_endpoint_status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("whe"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    enabled_events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="enabled")


class Event(TenantOwned, Created, Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_tenant_created", "tenant_id", "created"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("evt"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class Delivery(TenantOwned, Created, Base):
    """One event to one endpoint: every attempt updates this row; ``attempts`` counts
    them. ``locked_until`` is a lease, so two workers never send one delivery at once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="webhook_deliveries_once"),
        CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')", name="webhook_delivery_status"
        ),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "tenant_id", "endpoint_id", "created"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("whd"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]


class DeliveryAttempt(TenantOwned, Created, Base):
    """The delivery log: one row per HTTP attempt, kept for the console and support."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "tenant_id", "delivery_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("wha"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"))
    number: Mapped[int]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int]
    succeeded: Mapped[bool]
