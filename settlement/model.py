"""Settlement's tables: the platform's settlement settings, batches (each with the range of
clearing records it froze), the positions it computed, payment instructions, and
tenants' payout accounts.

What the database itself guarantees (migrations 0009 and 0013), not only this code:

* a clearing record is settled at most once: a batch holds the records whose
  ``sequence`` lies in ``(records_after, records_through]``, and no two batches' ranges
  overlap (PostgreSQL: an exclusion constraint on ``int8range``; SQLite: a trigger), while
  clearing record sequences are unique;
* a window is settled at most once: batches are numbered (``sequence`` unique), each
  ``window_start`` and ``cutoff`` is unique, ``cutoff > window_start``, and on PostgreSQL an
  exclusion constraint refuses two batches whose windows overlap;
* a batch is approved by someone other than who closed it (a CHECK);
* one payment instruction per batch and tenant (unique), with a unique Stripe idempotency
  key; positions and instructions carry their tenant (row-level security on PostgreSQL).
* a manual payment above the platform's threshold is confirmed by someone other than
  who marked it (a CHECK, migration 0023), and a payment line has at most one manual
  payment that is pending or confirmed (a partial unique index).

Money columns are integers in minor units of the batch's ``currency``; ``*_spu`` columns
are integer µSPU. Batches belong to the platform; a tenant reads its own positions (its
statement lines) and instructions.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform import clock
from jifen.platform.db import Base, BigInt, Created, TenantOwned, one_of
from jifen.platform.ids import new_id

Amount = BigInt


class BatchStatus(enum.StrEnum):
    CLOSED = "closed"
    APPROVED = "approved"
    PAYING = "paying"
    PAID = "paid"
    RECONCILED = "reconciled"


class InstructionStatus(enum.StrEnum):
    PENDING = "pending"  # not sent yet (manual: waiting for finance to mark it paid)
    PROCESSING = "processing"  # Stripe accepted it, the money is not there yet
    FAILED = "failed"  # the last attempt failed; paying again retries it
    PAID = "paid"


class Direction(enum.StrEnum):
    PAYOUT = "payout"  # the platform pays a net receiver
    COLLECTION = "collection"  # the platform collects from a net payer


class Collection(enum.StrEnum):
    """How the platform collects a net payer's money on Stripe."""

    PAYMENT_INTENT = "payment_intent"  # charged off-session on its saved payment method
    INVOICE = "invoice"  # an invoice: paid automatically with a default method, else sent


class ConnectStatus(enum.StrEnum):
    """A tenant's Connect account as Stripe last described it (``connect.py``)."""

    ONBOARDING = "onboarding"  # created; the tenant has not finished Stripe's onboarding
    ENABLED = "enabled"  # Stripe accepts transfers to it (``transfers`` capability active)
    RESTRICTED = "restricted"  # onboarded, but Stripe takes no transfers now (or no access)


class SettlementSettings(Created, Base):
    """The platform's settlement currency and the money value of one SPU; each change is
    a new version, the newest is in force. No row: ``services.DEFAULT_SETTINGS``."""

    __tablename__ = "settlement_settings"
    __table_args__ = (
        UniqueConstraint("version", name="settlement_settings_version"),
        CheckConstraint("spu_value_micro > 0", name="settlement_settings_value_positive"),
        CheckConstraint(one_of("collection", Collection), name="settlement_settings_collection"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("sts"))
    version: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    spu_value_micro: Mapped[int] = mapped_column(Amount)  # millionths of a minor unit per SPU
    collection: Mapped[str] = mapped_column(
        String(16), default=Collection.PAYMENT_INTENT.value, server_default="payment_intent"
    )
    created_by: Mapped[str] = mapped_column(String(64))


class SettlementBatch(Created, Base):
    __tablename__ = "settlement_batches"
    __table_args__ = (
        UniqueConstraint("sequence", name="settlement_batches_sequence"),
        UniqueConstraint("window_start", name="settlement_batches_window_start"),
        UniqueConstraint("cutoff", name="settlement_batches_cutoff"),
        CheckConstraint("cutoff > window_start", name="settlement_batches_window"),
        CheckConstraint(one_of("status", BatchStatus), name="settlement_batches_status"),
        CheckConstraint(
            "approved_by IS NULL OR approved_by <> closed_by", name="settlement_batches_four_eyes"
        ),
        CheckConstraint(
            "status = 'closed' OR approved_by IS NOT NULL", name="settlement_batches_approved"
        ),
        CheckConstraint("rounding >= 0", name="settlement_batches_rounding"),
        CheckConstraint(
            "records_after >= 0 AND records_through >= records_after",
            name="settlement_batches_record_range",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("stb"))
    sequence: Mapped[int]
    window_start: Mapped[datetime]
    cutoff: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.CLOSED.value)
    currency: Mapped[str] = mapped_column(String(3))
    spu_value_micro: Mapped[int] = mapped_column(Amount)
    # the clearing records with records_after < sequence <= records_through
    records_after: Mapped[int] = mapped_column(Amount, default=0)
    records_through: Mapped[int] = mapped_column(Amount, default=0)
    record_count: Mapped[int] = mapped_column(Amount, default=0)
    platform_fees: Mapped[int] = mapped_column(Amount, default=0)
    platform_fees_spu: Mapped[int] = mapped_column(Amount, default=0)
    rounding: Mapped[int] = mapped_column(Amount, default=0)
    closed_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    reconciled_at: Mapped[datetime | None]
    reconciliation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # mismatches Stripe's webhooks found (objects naming the batch that match no line, ...)
    stripe_notices: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    updated: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class Position(TenantOwned, Created, Base):
    """One tenant's line in one batch (its statement for that window)."""

    __tablename__ = "settlement_positions"
    __table_args__ = (
        UniqueConstraint("batch_id", "tenant_id", name="settlement_positions_one_per_tenant"),
        CheckConstraint("net = receivable - payable - fees", name="settlement_positions_ties"),
        CheckConstraint(
            "net_spu = receivable_spu - payable_spu - fees_spu",
            name="settlement_positions_ties_spu",
        ),
        Index("ix_settlement_positions_tenant", "tenant_id", "created", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("stl"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    batch_id: Mapped[str] = mapped_column(ForeignKey("settlement_batches.id"))
    currency: Mapped[str] = mapped_column(String(3))
    receivable: Mapped[int] = mapped_column(Amount)
    payable: Mapped[int] = mapped_column(Amount)
    fees: Mapped[int] = mapped_column(Amount)
    net: Mapped[int] = mapped_column(Amount)
    receivable_spu: Mapped[int] = mapped_column(Amount)
    payable_spu: Mapped[int] = mapped_column(Amount)
    fees_spu: Mapped[int] = mapped_column(Amount)
    net_spu: Mapped[int] = mapped_column(Amount)
    record_count: Mapped[int] = mapped_column(Amount)

    # Not columns: the tenant's name and slug, filled in when positions are read for
    # display (``services.batch_positions``); None on a position read any other way.
    tenant_name = None
    tenant_slug = None


class PaymentInstruction(TenantOwned, Created, Base):
    """Money to move for one tenant in one batch: paid out to a net receiver or collected
    from a net payer, through Stripe or by hand."""

    __tablename__ = "settlement_instructions"
    __table_args__ = (
        UniqueConstraint("batch_id", "tenant_id", name="settlement_instructions_one_per_tenant"),
        UniqueConstraint("idempotency_key", name="settlement_instructions_idempotency_key"),
        CheckConstraint("amount > 0", name="settlement_instructions_amount_positive"),
        CheckConstraint(one_of("status", InstructionStatus), name="settlement_instructions_status"),
        CheckConstraint(one_of("direction", Direction), name="settlement_instructions_direction"),
        CheckConstraint("method IN ('stripe', 'manual')", name="settlement_instructions_method"),
        CheckConstraint(
            f"collection IS NULL OR {one_of('collection', Collection)}",
            name="settlement_instructions_collection",
        ),
        CheckConstraint(
            "payout_status IS NULL OR payout_status IN ('paid', 'failed')",
            name="settlement_instructions_payout_status",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("spi"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    batch_id: Mapped[str] = mapped_column(ForeignKey("settlement_batches.id"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=InstructionStatus.PENDING.value)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    # Stripe collection lines: payment_intent or invoice (fixed when the line is written)
    collection: Mapped[str | None] = mapped_column(String(16))
    # the transfer, PaymentIntent or invoice that moves this line's money
    stripe_object_id: Mapped[str | None] = mapped_column(String(255))
    stripe_status: Mapped[str | None] = mapped_column(String(32))  # Stripe's word for it
    # Times Stripe refused the line outright (no money moved): the next attempt may ask
    # again under a new key (``stripe_money.attempt_key``); an unanswered call may not.
    refusals: Mapped[int] = mapped_column(default=0, server_default="0")
    # the connected account's payout to its bank after the transfer (webhooks)
    payout_status: Mapped[str | None] = mapped_column(String(16))
    stripe_payout_id: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(255))
    marked_by: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None]
    updated: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class PayoutAccount(TenantOwned, Created, Base):
    """Where a tenant's settlement money goes and comes from on Stripe: a Connect account
    for payouts; a customer and saved payment method for collections.

    ``stripe_account_id`` is only ever the Connect account the platform created for the
    tenant (``connect.py``): one per tenant, never another tenant's (unique), and set
    together with its ``connect_status`` (migration 0024)."""

    __tablename__ = "settlement_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", name="settlement_accounts_one_per_tenant"),
        UniqueConstraint("stripe_account_id", name="settlement_accounts_one_tenant_per_account"),
        CheckConstraint(
            f"collection IS NULL OR {one_of('collection', Collection)}",
            name="settlement_accounts_collection",
        ),
        CheckConstraint(
            f"(stripe_account_id IS NULL AND connect_status IS NULL) OR "
            f"(stripe_account_id IS NOT NULL AND connect_status IS NOT NULL "
            f"AND {one_of('connect_status', ConnectStatus)})",
            name="settlement_accounts_connect_status",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("sac"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    stripe_account_id: Mapped[str | None] = mapped_column(String(255))
    connect_status: Mapped[str | None] = mapped_column(String(16))
    # when Stripe last told us the status (an older answer never overwrites a newer one)
    connect_checked_at: Mapped[datetime | None]
    # when the platform first asked Stripe for the account (a creation left unrecorded)
    connect_requested_at: Mapped[datetime | None]
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    stripe_payment_method_id: Mapped[str | None] = mapped_column(String(255))
    collection: Mapped[str | None] = mapped_column(String(16))  # None: the platform's setting
    updated: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class ManualPaymentStatus(enum.StrEnum):
    PENDING_CONFIRMATION = "pending_confirmation"  # marked paid; a second person confirms
    CONFIRMED = "confirmed"  # the line is paid
    REJECTED = "rejected"  # withdrawn or refused: the line can be marked again


class ManualPayment(TenantOwned, Created, Base):
    """A payment line marked paid by hand for more than the platform's threshold
    (``manual.py``): who marked it with which bank reference, and who confirmed or
    rejected it. Only a confirmation pays the line."""

    __tablename__ = "settlement_manual_payments"
    __table_args__ = (
        CheckConstraint(one_of("status", ManualPaymentStatus), name="manual_payment_status"),
        CheckConstraint("amount > 0", name="manual_payment_amount_positive"),
        CheckConstraint("trim(reference) <> ''", name="manual_payment_reference_given"),
        CheckConstraint(
            "confirmed_by IS NULL OR confirmed_by <> requested_by", name="manual_payment_four_eyes"
        ),
        CheckConstraint(
            "(status = 'confirmed') = (confirmed_by IS NOT NULL)",
            name="manual_payment_confirmed_by",
        ),
        CheckConstraint(
            "(status = 'rejected') = (rejected_by IS NOT NULL)", name="manual_payment_rejected_by"
        ),
        CheckConstraint(
            "(status = 'pending_confirmation') = (decided_at IS NULL)",
            name="manual_payment_decided",
        ),
        Index(
            "ux_manual_payments_one_live_per_line",
            "instruction_id",
            unique=True,
            sqlite_where=text("status <> 'rejected'"),
            postgresql_where=text("status <> 'rejected'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("smp"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    batch_id: Mapped[str] = mapped_column(ForeignKey("settlement_batches.id"), index=True)
    instruction_id: Mapped[str] = mapped_column(ForeignKey("settlement_instructions.id"))
    amount: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(24))
    approval_threshold: Mapped[int] = mapped_column(Amount)  # the platform's, when marked
    requested_by: Mapped[str] = mapped_column(String(64))
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    rejected_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
