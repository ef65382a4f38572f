"""The exchange's tables: currency settings, the fee schedule, quotes, swaps, daily usage
and acceptance authorizations. Clearing records live in ``clearing.py``.

Every SPU amount is an integer of µSPU (see ``pricing.py``) and every rate the µSPU
value of one point. Quotes and swaps belong to two tenants at once (the source and the
destination currency's), so they are not ``TenantOwned``: they carry both tenant ids,
services read them in a platform unit of work and check each id against the caller
themselves, and PostgreSQL lets a tenant-bound transaction see only rows naming its
tenant (migration 0007). An authorization belongs to the merchant that made it (the
acquirer); the points it holds stay in the issuer's ledger.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, BigInt, Created, TenantOwned
from jifen.platform.ids import new_id

Amount = BigInt
QUOTE_STATUSES = ("open", "used")


class ExchangeSettings(TenantOwned, Created, Base):
    """How a tenant's currency takes part in the exchange. No row: not opted in."""

    __tablename__ = "exchange_settings"
    __table_args__ = (
        UniqueConstraint("tenant_id", name="exchange_settings_one_per_tenant"),
        CheckConstraint("spu_rate > 0", name="exchange_settings_rate_positive"),
        CheckConstraint("minimum >= 1 AND increment >= 1", name="exchange_settings_amounts"),
        CheckConstraint(
            "daily_inbound_cap IS NULL OR daily_inbound_cap >= 1",
            name="exchange_settings_cap_positive",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("xst"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    currency: Mapped[str] = mapped_column(String(16), unique=True)
    spu_rate: Mapped[int] = mapped_column(Amount)
    inbound: Mapped[bool] = mapped_column(default=False)
    outbound: Mapped[bool] = mapped_column(default=False)
    acceptance: Mapped[bool] = mapped_column(default=False)
    minimum: Mapped[int] = mapped_column(Amount, default=1)
    increment: Mapped[int] = mapped_column(Amount, default=1)
    daily_inbound_cap: Mapped[int | None] = mapped_column(Amount)
    updated: Mapped[datetime]


class FeeScheduleVersion(Created, Base):
    """The platform's fee schedule; each change is a new row, the newest is in force."""

    __tablename__ = "exchange_fee_schedules"
    __table_args__ = (
        CheckConstraint(
            "swap_fee_bps BETWEEN 0 AND 10000 AND acceptance_fee_bps BETWEEN 0 AND 10000",
            name="exchange_fee_bps_range",
        ),
        CheckConstraint(
            "swap_fee_fixed >= 0 AND acceptance_fee_fixed >= 0"
            " AND (swap_fee_cap IS NULL OR swap_fee_cap >= 0)"
            " AND (acceptance_fee_cap IS NULL OR acceptance_fee_cap >= 0)"
            " AND (card_daily_limit IS NULL OR card_daily_limit >= 1)",
            name="exchange_fee_amounts",
        ),
        UniqueConstraint("version", name="exchange_fee_schedules_version"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("fee"))
    version: Mapped[int]
    swap_fee_bps: Mapped[int]
    swap_fee_fixed: Mapped[int] = mapped_column(Amount)
    swap_fee_cap: Mapped[int | None] = mapped_column(Amount)
    acceptance_fee_bps: Mapped[int]
    acceptance_fee_fixed: Mapped[int] = mapped_column(Amount)
    acceptance_fee_cap: Mapped[int | None] = mapped_column(Amount)
    card_daily_limit: Mapped[int | None] = mapped_column(Amount)
    created_by: Mapped[str] = mapped_column(String(64))


class _SwapAmounts:
    card_id: Mapped[str] = mapped_column(String(32))
    from_tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    to_tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    from_currency: Mapped[str] = mapped_column(String(16))
    to_currency: Mapped[str] = mapped_column(String(16))
    from_points: Mapped[int] = mapped_column(Amount)
    to_points: Mapped[int] = mapped_column(Amount)
    rate_from: Mapped[int] = mapped_column(Amount)
    rate_to: Mapped[int] = mapped_column(Amount)
    spu_out: Mapped[int] = mapped_column(Amount)
    spu_in: Mapped[int] = mapped_column(Amount)
    fee_spu: Mapped[int] = mapped_column(Amount)
    rounding_spu: Mapped[int] = mapped_column(Amount)


def _amount_checks(table: str) -> tuple:
    return (
        CheckConstraint("from_points > 0 AND to_points > 0", name=f"{table}_points_positive"),
        CheckConstraint("from_tenant_id <> to_tenant_id", name=f"{table}_two_tenants"),
        CheckConstraint(
            "fee_spu >= 0 AND rounding_spu >= 0 AND spu_out = spu_in + fee_spu + rounding_spu"
            " AND spu_out = from_points * rate_from AND spu_in = to_points * rate_to",
            name=f"{table}_spu_balanced",
        ),
    )


class Quote(_SwapAmounts, Created, Base):
    """Rates and amounts locked for a short while; a swap uses it at most once."""

    __tablename__ = "exchange_quotes"
    __table_args__ = (
        *_amount_checks("exchange_quote"),
        CheckConstraint(f"status IN {QUOTE_STATUSES}", name="exchange_quote_status"),
        Index("ix_exchange_quotes_card", "card_id", "created"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("qt"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    expires_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))


class Swap(_SwapAmounts, Created, Base):
    """An executed quote: points left the card's membership in A and arrived in B."""

    __tablename__ = "exchange_swaps"
    __table_args__ = (
        *_amount_checks("exchange_swap"),
        UniqueConstraint("quote_id", name="exchange_swaps_quote_once"),
        CheckConstraint("status = 'completed'", name="exchange_swap_status"),
        Index("ix_exchange_swaps_from_tenant", "from_tenant_id", "created", "id"),
        Index("ix_exchange_swaps_to_tenant", "to_tenant_id", "created", "id"),
        Index("ix_exchange_swaps_card", "card_id", "created"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("swp"))
    quote_id: Mapped[str] = mapped_column(ForeignKey("exchange_quotes.id"))
    status: Mapped[str] = mapped_column(String(16), default="completed")
    from_member_id: Mapped[str] = mapped_column(String(32))
    to_member_id: Mapped[str] = mapped_column(String(32))
    source_transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))
    destination_transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))


class DailyUsage(Base):
    """What one limit has used on one day (``scope``: ``card:<id>`` in µSPU,
    ``inbound:<currency>`` in points). A conditional UPDATE on this row enforces the
    limit, and its row lock serializes the swaps that share it."""

    __tablename__ = "exchange_daily_usage"
    __table_args__ = (CheckConstraint("used >= 0", name="exchange_daily_usage_not_negative"),)

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    used: Mapped[int] = mapped_column(Amount, default=0)


class AuthorizationStatus(enum.StrEnum):
    PENDING = "pending"
    CAPTURED = "captured"
    VOIDED = "voided"
    EXPIRED = "expired"
    REVERSED = "reversed"  # captured, then reversed in full


class Authorization(TenantOwned, Created, Base):
    """Merchant ``tenant_id`` (the acquirer) holds a card's points of ``issuer_tenant_id``
    to redeem them; ``hold_id`` is the hold in the issuer's ledger."""

    __tablename__ = "acceptance_authorizations"
    __table_args__ = (
        CheckConstraint("points > 0 AND spu_rate > 0", name="acceptance_points_positive"),
        CheckConstraint(
            "captured_points >= 0 AND captured_points <= points"
            " AND reversed_points >= 0 AND reversed_points <= captured_points",
            name="acceptance_captured_reversed",
        ),
        CheckConstraint("tenant_id <> issuer_tenant_id", name="acceptance_two_tenants"),
        CheckConstraint(
            f"status IN ({', '.join(repr(s.value) for s in AuthorizationStatus)})",
            name="acceptance_status",
        ),
        Index("ix_acceptance_authorizations_tenant_created", "tenant_id", "created", "id"),
        Index("ix_acceptance_authorizations_due", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("auth"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    issuer_tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    currency: Mapped[str] = mapped_column(String(16))
    card_id: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[str] = mapped_column(String(32))
    hold_id: Mapped[str] = mapped_column(ForeignKey("ledger_holds.id"))
    points: Mapped[int] = mapped_column(Amount)
    captured_points: Mapped[int] = mapped_column(Amount, default=0)
    reversed_points: Mapped[int] = mapped_column(Amount, default=0)
    spu_rate: Mapped[int] = mapped_column(Amount)
    status: Mapped[str] = mapped_column(String(16), default=AuthorizationStatus.PENDING.value)
    reference: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime]
    capture_transaction_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    closed_at: Mapped[datetime | None]
