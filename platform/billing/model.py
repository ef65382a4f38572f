"""Billing tables: each tenant's billing account, the Stripe events already handled and
the monthly usage reports.

* ``BillingAccount``: one per tenant (created at signup): its plan, status and Stripe
  ids. ``status_event_at`` is the creation time of the last Stripe event that changed
  the status, so an older event arriving late changes nothing.
* ``StripeEvent``: every Stripe event id we accepted; its primary key is what makes a
  redelivered event a no-op. Platform-level (the event may name no known tenant).
* ``UsageReport``: monthly active members of one tenant for one month, and the Stripe
  invoice item that billed them; unique per tenant and month.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform import clock
from jifen.platform.db import Base, Created, TenantOwned
from jifen.platform.ids import new_id

from .plans import PLANS
from .states import Status

_PLAN_CODES = ", ".join(f"'{code}'" for code in PLANS)
_STATUSES = ", ".join(f"'{status.value}'" for status in Status)


class BillingAccount(TenantOwned, Created, Base):
    __tablename__ = "billing_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", name="billing_accounts_one_per_tenant"),
        UniqueConstraint("stripe_customer_id", name="billing_accounts_stripe_customer"),
        CheckConstraint(f"plan IN ({_PLAN_CODES})", name="billing_account_plan"),
        CheckConstraint(f"status IN ({_STATUSES})", name="billing_account_status"),
        CheckConstraint(
            "status <> 'past_due' OR grace_until IS NOT NULL", name="billing_account_grace"
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("bil"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    plan: Mapped[str] = mapped_column(String(16))
    # Counts plan changes; names the Stripe action for each (idempotency keys, job ids).
    plan_version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default=Status.ACTIVE.value)
    grace_until: Mapped[datetime | None]
    status_event_at: Mapped[datetime | None]
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255))
    updated: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class StripeEvent(Created, Base):
    __tablename__ = "billing_stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # Stripe's event id
    type: Mapped[str] = mapped_column(String(100))
    tenant_id: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))


class UsageReport(TenantOwned, Created, Base):
    __tablename__ = "billing_usage_reports"
    __table_args__ = (
        UniqueConstraint("tenant_id", "month", name="billing_usage_reports_once_a_month"),
        CheckConstraint("active_members >= 0", name="billing_usage_report_members"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("usg"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, UTC
    plan: Mapped[str] = mapped_column(String(16))
    active_members: Mapped[int]
    billable_members: Mapped[int]
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    stripe_invoice_item_id: Mapped[str | None] = mapped_column(String(255))
    reported_at: Mapped[datetime | None]
