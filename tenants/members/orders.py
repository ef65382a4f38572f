"""What the members' use cases remember about orders and event awards, beside the ledger.

The ledger records every point that moved; these tables record *why*, in the shape the
program rules need to ask about it later:

* ``OrderEarning``: one row per order that earned points. ``(tenant_id, order_id)`` is
  unique, written in the same transaction as the earn, so a second earn for one order is
  refused even when both arrive at the same instant (409 ``order_already_earned``). It
  keeps the order amount the refunds compute their proportion from, and the points the
  per-day cap and tier evaluation count.
* ``MemberAward``: one row per event award (signup, check-in, review, referral, profile
  completion). Partial unique indexes make the "once" rules hold under concurrency:
  signup and profile completion once per member, check-in once per local day, a referee
  referred once.
* ``OrderRefund``: one row per refund of an order, with what it clawed back, restored,
  and could not recover (``unrecovered``).

Only ``platform.ledger`` writes postings; these rows point at its transactions.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, BigInt, Created, TenantOwned
from jifen.platform.ids import new_id

Amount = BigInt


class OrderEarning(TenantOwned, Created, Base):
    __tablename__ = "order_earnings"
    __table_args__ = (
        Index("order_earnings_one_per_order", "tenant_id", "order_id", unique=True),
        Index("ix_order_earnings_tenant_member_time", "tenant_id", "member_id", "occurred_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("oe"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    order_id: Mapped[str] = mapped_column(String(128))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))
    amount: Mapped[int] = mapped_column(Amount)  # minor units, shipping included
    shipping: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    points: Mapped[int] = mapped_column(Amount)
    occurred_at: Mapped[datetime]
    program_version: Mapped[int] = mapped_column(Integer)


ONCE_PER_MEMBER_WHERE = "event IN ('signup', 'profile_completion')"


class MemberAward(TenantOwned, Created, Base):
    """An event award. ``event`` is the program's event name, or ``referred`` for the
    referee's share of a referral (the referrer's row says ``referral``)."""

    __tablename__ = "member_awards"
    __table_args__ = (
        Index(
            "member_awards_once_per_member",
            "tenant_id",
            "member_id",
            "event",
            unique=True,
            sqlite_where=text(ONCE_PER_MEMBER_WHERE),
            postgresql_where=text(ONCE_PER_MEMBER_WHERE),
        ),
        Index(
            "member_awards_checkin_once_a_day",
            "tenant_id",
            "member_id",
            "local_day",
            unique=True,
            sqlite_where=text("event = 'checkin'"),
            postgresql_where=text("event = 'checkin'"),
        ),
        Index(
            "member_awards_referee_once",
            "tenant_id",
            "referee_id",
            unique=True,
            sqlite_where=text("event = 'referral'"),
            postgresql_where=text("event = 'referral'"),
        ),
        Index("ix_member_awards_tenant_member_time", "tenant_id", "member_id", "created"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("awd"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    event: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(Amount)
    local_day: Mapped[date] = mapped_column(Date)
    referee_id: Mapped[str | None] = mapped_column(String(32))
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))
    program_version: Mapped[int] = mapped_column(Integer)


class OrderRefund(TenantOwned, Created, Base):
    __tablename__ = "order_refunds"
    __table_args__ = (
        CheckConstraint(
            "clawed_back >= 0 AND restored >= 0 AND unrecovered >= 0",
            name="order_refund_amounts_not_negative",
        ),
        Index("ix_order_refunds_tenant_order", "tenant_id", "order_id", "created"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ref"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    order_id: Mapped[str] = mapped_column(String(128))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    amount: Mapped[int | None] = mapped_column(Amount)  # None: in full, order amount unknown
    clawed_back: Mapped[int] = mapped_column(Amount)
    restored: Mapped[int] = mapped_column(Amount)
    unrecovered: Mapped[int] = mapped_column(Amount)
    clawback_transaction_id: Mapped[str | None] = mapped_column(
        ForeignKey("ledger_transactions.id")
    )
    restore_transaction_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
