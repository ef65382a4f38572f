"""Lottery tables: a lottery, its published prizes, and every draw.

A prize's ``stock`` (None: unlimited, for "no prize" or points-back outcomes) only goes
down, by a conditional UPDATE, and the CHECK ``stock >= 0`` is the database's second
line. ``(lottery_id, sequence)`` is unique: draws are numbered without gaps.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, Created, TenantOwned
from jifen.platform.ids import new_id

Amount = BigInteger().with_variant(Integer(), "sqlite")


class LotteryStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Lottery(TenantOwned, Created, Base):
    __tablename__ = "lotteries"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="lottery_status"),
        CheckConstraint("cost_points >= 1", name="lottery_cost_positive"),
        Index("ix_lotteries_tenant_created", "tenant_id", "created", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ltr"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(200))
    cost_points: Mapped[int] = mapped_column(Amount)
    status: Mapped[str] = mapped_column(String(16), default=LotteryStatus.OPEN.value)
    seed_hash: Mapped[str] = mapped_column(String(64))
    server_seed: Mapped[str] = mapped_column(String(64))
    draws_count: Mapped[int] = mapped_column(Integer, default=0)
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class LotteryPrize(TenantOwned, Base):
    __tablename__ = "lottery_prizes"
    __table_args__ = (
        UniqueConstraint("lottery_id", "position", name="lottery_prize_position"),
        CheckConstraint("weight >= 1", name="lottery_prize_weight"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="lottery_prize_stock"),
        Index("ix_lottery_prizes_tenant_lottery", "tenant_id", "lottery_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("lpz"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    lottery_id: Mapped[str] = mapped_column(ForeignKey("lotteries.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    weight: Mapped[int] = mapped_column(Amount)
    stock: Mapped[int | None] = mapped_column(Amount)
    initial_stock: Mapped[int | None] = mapped_column(Amount)


class LotteryDraw(TenantOwned, Created, Base):
    """One draw. ``outcome``: ``won`` (``prize_id`` set, points spent) or ``sold_out``
    (the roll landed on a prize with no stock left: nothing won, nothing spent)."""

    __tablename__ = "lottery_draws"
    __table_args__ = (
        UniqueConstraint("lottery_id", "sequence", name="lottery_draw_sequence"),
        CheckConstraint("outcome IN ('won', 'sold_out')", name="lottery_draw_outcome"),
        Index("ix_lottery_draws_tenant_lottery", "tenant_id", "lottery_id", "sequence"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    lottery_id: Mapped[str] = mapped_column(ForeignKey("lotteries.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    roll: Mapped[int] = mapped_column(Amount)
    digest: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    prize_id: Mapped[str | None] = mapped_column(ForeignKey("lottery_prizes.id"))
    points: Mapped[int] = mapped_column(Amount)
    transaction_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_transactions.id"))
