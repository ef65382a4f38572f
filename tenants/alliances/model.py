"""Alliance memberships: which merchants belong to which alliance.

A row is written when the alliance invites a merchant (``pending``) and becomes
``active`` when the merchant accepts. One row per (alliance, merchant). The row belongs
to both tenants: on PostgreSQL its policy lets either of them read it (migration 0011),
and services always name the tenant they act for in their queries.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, Created
from jifen.platform.ids import new_id


class MembershipStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"


class AllianceMembership(Created, Base):
    __tablename__ = "alliance_memberships"
    __table_args__ = (
        UniqueConstraint("alliance_tenant_id", "merchant_tenant_id", name="alliance_member_once"),
        CheckConstraint("alliance_tenant_id <> merchant_tenant_id", name="alliance_two_tenants"),
        CheckConstraint("status IN ('pending', 'active')", name="alliance_membership_status"),
        Index("ix_alliance_memberships_merchant", "merchant_tenant_id"),
        Index("ix_alliance_memberships_alliance_created", "alliance_tenant_id", "created", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("amb"))
    alliance_tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    merchant_tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    status: Mapped[str] = mapped_column(String(16), default=MembershipStatus.PENDING.value)
    accepted_at: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:
        return self.status == MembershipStatus.ACTIVE
