"""Tenants and their point currencies.

A tenant is a merchant, or an alliance whose currency its member merchants share. Each
tenant owns exactly one currency. The publishable key identifies the tenant to widgets
on merchants' pages; it is public by design and grants nothing on its own.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jifen.platform.db import Base, Created, TenantOwned
from jifen.platform.ids import new_id


class TenantKind(enum.StrEnum):
    MERCHANT = "merchant"
    ALLIANCE = "alliance"


DEFAULT_TIME_ZONE = "Asia/Shanghai"
"""A tenant's time zone until it sets another: its days (earning caps and windows, expiry
dates, tier periods, the exchange's daily limits) are counted there."""


class Tenant(Created, Base):
    __tablename__ = "tenants"
    __table_args__ = (CheckConstraint("kind IN ('merchant', 'alliance')", name="tenant_kind"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ten"))
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    time_zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIME_ZONE)
    publishable_key: Mapped[str] = mapped_column(
        String(48), unique=True, default=lambda: new_id("pk")
    )

    currency: Mapped[Currency] = relationship(back_populates="tenant", uselist=False, lazy="joined")


class Currency(TenantOwned, Created, Base):
    """A tenant's point currency. ``code`` is unique across the platform (the exchange
    names currencies by it)."""

    __tablename__ = "currencies"
    __table_args__ = (UniqueConstraint("tenant_id", name="currencies_one_per_tenant"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("cur"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))

    tenant: Mapped[Tenant] = relationship(back_populates="currency")


__all__ = ["Currency", "Tenant", "TenantKind", "datetime"]
