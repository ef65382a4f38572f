"""What the program's periodic work has done: tier changes, tier reviews and expiry
reminders sent.

* ``TierChange``: the tier history, one row per change of a member's tier (an upgrade
  on earn or in the ``tiers`` job, a downgrade at a review period's end).
* ``TierReview``: one row per tenant and review period whose end was processed, unique,
  so a period's downgrades run once even if the job runs twice or in two workers.
* ``ExpiryReminder``: one row per lot and threshold (``days_before``), unique, so each
  reminder goes out at most once; ``status`` is ``sent`` or ``skipped`` (a farther
  threshold passed while the job was not running: recorded, never sent).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, BigInt, Created, TenantOwned
from jifen.platform.ids import new_id

Amount = BigInt


class TierChange(TenantOwned, Created, Base):
    __tablename__ = "tier_changes"
    __table_args__ = (Index("ix_tier_changes_tenant_member", "tenant_id", "member_id", "created"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("tch"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    from_tier: Mapped[str | None] = mapped_column(String(32))
    to_tier: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(32))  # upgrade | period_end
    measure: Mapped[int] = mapped_column(Amount)
    program_version: Mapped[int] = mapped_column(Integer)


class TierReview(TenantOwned, Created, Base):
    __tablename__ = "tier_reviews"
    __table_args__ = (
        Index("tier_reviews_once_per_period", "tenant_id", "period_start", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("trv"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    period_start: Mapped[date] = mapped_column(Date)
    downgrades: Mapped[int] = mapped_column(Integer)


class ExpiryReminder(TenantOwned, Created, Base):
    __tablename__ = "expiry_reminders"
    __table_args__ = (
        Index("expiry_reminders_once", "tenant_id", "lot_id", "days_before", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rmd"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    lot_id: Mapped[str] = mapped_column(ForeignKey("ledger_lots.id"))
    member_id: Mapped[str] = mapped_column(String(32))
    days_before: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # sent | skipped
    points: Mapped[int] = mapped_column(Amount)
    event_id: Mapped[str | None] = mapped_column(String(32))
