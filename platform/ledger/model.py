"""The ledger's tables: accounts, transactions and their postings, holds, lots.

Double-entry and append-only (DESIGN.md, The ledger). A ``Transaction`` is a header; its
``Posting`` rows move one asset between accounts and sum to zero per asset. Posted rows are
never updated or deleted: a correction is a new transaction that ``reverses`` the first,
and a transaction can be reversed at most once (a unique constraint).

Only member wallets keep a cached ``balance`` and ``held`` (with a ``version`` bumped on
every change). Tenant-wide accounts (issuance, breakage, redemption, ...) are written by
every posting of a tenant, so they keep no cached balance: their balance is the sum of
their postings. Nothing then serializes a tenant's postings on one row.

Every credit to a wallet opens a ``Lot``; every debit consumes lots (see ``lots.py``) and
records each ``LotConsumption`` so that a reversal restores exactly those lots. A wallet's
balance always equals the sum of its lots' ``remaining``.

The CHECK constraints here are the database's copy of the rules ``postings.py`` enforces in
Python; migration 0002 adds what SQLite cannot express (a deferred zero-sum trigger).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jifen.platform.db import Base, BigInt, Created, TenantOwned, one_of
from jifen.platform.ids import new_id

MAX_POINTS = 2**53 - 1
"""The largest amount of points one call may move: JSON clients read numbers as doubles."""

Points = BigInt


class AccountType(enum.StrEnum):
    MEMBER_WALLET = "member_wallet"
    ISSUANCE = "issuance"
    BREAKAGE = "breakage"
    REDEMPTION = "redemption"
    EXCHANGE_LIQUIDITY = "exchange_liquidity"
    CLEARING = "clearing"
    FEE = "fee"
    ROUNDING = "rounding"


# Accounts that are the source of points or the counterparty of another ledger; they run
# below zero by design.
NEGATIVE_BY_DESIGN = {AccountType.ISSUANCE, AccountType.EXCHANGE_LIQUIDITY, AccountType.CLEARING}


class Kind(enum.StrEnum):
    """What a transaction did. Add kinds here as new use cases post."""

    EARN = "earn"
    AWARD = "award"
    REDEEM = "redeem"
    TRANSFER = "transfer"
    EXPIRE = "expire"
    SWAP = "swap"
    ACCEPT = "accept"
    REVERSE = "reverse"
    ADJUST = "adjust"
    CAPTURE = "capture"
    REFUND = "refund"
    REWARD = "reward"
    LOTTERY = "lottery"


class HoldStatus(enum.StrEnum):
    PENDING = "pending"
    CAPTURED = "captured"
    VOIDED = "voided"
    EXPIRED = "expired"


class Account(TenantOwned, Created, Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint(one_of("type", AccountType), name="ledger_account_type"),
        CheckConstraint(
            "(type = 'member_wallet') = "
            "(owner_id IS NOT NULL AND balance IS NOT NULL AND held IS NOT NULL"
            " AND version IS NOT NULL)",
            name="ledger_account_cached_only_on_wallets",
        ),
        CheckConstraint("balance >= 0 OR may_go_negative", name="ledger_account_not_negative"),
        CheckConstraint("held >= 0 AND (held = 0 OR held <= balance)", name="ledger_account_held"),
        UniqueConstraint("tenant_id", "id", "asset", name="ledger_accounts_tenant_id_asset"),
        Index(
            "ledger_accounts_one_wallet",
            "tenant_id",
            "asset",
            "owner_id",
            unique=True,
            sqlite_where=text("type = 'member_wallet'"),
            postgresql_where=text("type = 'member_wallet'"),
        ),
        Index(
            "ledger_accounts_one_tenant_account",
            "tenant_id",
            "asset",
            "type",
            unique=True,
            sqlite_where=text("owner_id IS NULL"),
            postgresql_where=text("owner_id IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("acc"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    asset: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str | None] = mapped_column(String(32))
    may_go_negative: Mapped[bool] = mapped_column(default=False)
    balance: Mapped[int | None] = mapped_column(Points)
    held: Mapped[int | None] = mapped_column(Points)
    version: Mapped[int | None] = mapped_column(Integer)

    @property
    def is_wallet(self) -> bool:
        return self.type == AccountType.MEMBER_WALLET

    @property
    def available(self) -> int:
        """Points a wallet can spend now: balance less what pending holds reserve."""
        return (self.balance or 0) - (self.held or 0)


class Transaction(TenantOwned, Created, Base):
    __tablename__ = "ledger_transactions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "reverses_id", name="ledger_transactions_reversed_once"),
        Index("ix_ledger_transactions_tenant_reference", "tenant_id", "reference"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("txn"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(255))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    reverses_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_transactions.id"))

    postings: Mapped[list[Posting]] = relationship(
        back_populates="transaction", order_by="Posting.id"
    )


class Posting(TenantOwned, Base):
    """One leg: ``amount`` (signed, never zero) of ``asset`` into (+) or out of (-) an
    account. ``balance_after`` is the wallet's balance right after, for wallets only."""

    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="ledger_posting_not_zero"),
        ForeignKeyConstraint(
            ["tenant_id", "account_id", "asset"],
            ["ledger_accounts.tenant_id", "ledger_accounts.id", "ledger_accounts.asset"],
            name="ledger_postings_account",
        ),
        Index("ix_ledger_postings_tenant_transaction", "tenant_id", "transaction_id"),
        Index("ix_ledger_postings_tenant_account", "tenant_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(Points, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))
    account_id: Mapped[str] = mapped_column(String(32))
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Points)
    balance_after: Mapped[int | None] = mapped_column(Points)

    transaction: Mapped[Transaction] = relationship(back_populates="postings")


class Hold(TenantOwned, Created, Base):
    """Points reserved on a wallet (two-phase): pending until captured (whole or in part,
    the rest released), voided, or expired."""

    __tablename__ = "ledger_holds"
    __table_args__ = (
        CheckConstraint(one_of("status", HoldStatus), name="ledger_hold_status"),
        CheckConstraint("points > 0", name="ledger_hold_points_positive"),
        CheckConstraint(
            "captured_points >= 0 AND captured_points <= points", name="ledger_hold_captured"
        ),
        CheckConstraint(
            "(status = 'captured') = (captured_points > 0)", name="ledger_hold_captured_status"
        ),
        Index("ix_ledger_holds_tenant_wallet", "tenant_id", "wallet_id", "status"),
        Index("ix_ledger_holds_tenant_due", "tenant_id", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("hold"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    wallet_id: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.id"))
    points: Mapped[int] = mapped_column(Points)
    captured_points: Mapped[int] = mapped_column(Points, default=0)
    status: Mapped[str] = mapped_column(String(16), default=HoldStatus.PENDING.value)
    expires_at: Mapped[datetime]
    reference: Mapped[str | None] = mapped_column(String(255))
    capture_transaction_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    closed_at: Mapped[datetime | None]


class Lot(TenantOwned, Created, Base):
    """Points that entered a wallet together and expire together."""

    __tablename__ = "ledger_lots"
    __table_args__ = (
        CheckConstraint("points > 0", name="ledger_lot_points_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= points", name="ledger_lot_remaining"),
        Index(
            "ix_ledger_lots_tenant_wallet_open",
            "tenant_id",
            "wallet_id",
            "expires_at",
            sqlite_where=text("remaining > 0"),
            postgresql_where=text("remaining > 0"),
        ),
        Index(
            "ix_ledger_lots_tenant_due",
            "tenant_id",
            "expires_at",
            sqlite_where=text("remaining > 0 AND expires_at IS NOT NULL"),
            postgresql_where=text("remaining > 0 AND expires_at IS NOT NULL"),
        ),
        Index("ix_ledger_lots_tenant_transaction", "tenant_id", "transaction_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("lot"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    wallet_id: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.id"))
    points: Mapped[int] = mapped_column(Points)
    remaining: Mapped[int] = mapped_column(Points)
    expires_at: Mapped[datetime | None]
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))

    transaction: Mapped[Transaction] = relationship()


class LotConsumption(TenantOwned, Base):
    """``points`` taken out of a lot by a transaction (a debit, an expiry, a reversal)."""

    __tablename__ = "ledger_lot_consumptions"
    __table_args__ = (
        CheckConstraint("points > 0", name="ledger_lot_consumption_points_positive"),
        Index("ix_ledger_lot_consumptions_tenant_transaction", "tenant_id", "transaction_id"),
    )

    id: Mapped[int] = mapped_column(Points, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))
    lot_id: Mapped[str] = mapped_column(ForeignKey("ledger_lots.id"))
    points: Mapped[int] = mapped_column(Points)

    transaction: Mapped[Transaction] = relationship()
    lot: Mapped[Lot] = relationship()
