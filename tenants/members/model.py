"""Cards, members and member tokens.

A ``Card`` is the consumer's platform-wide identity (通用积分卡): it belongs to no tenant,
so it is not ``TenantOwned`` and has no row-level security. A ``Member`` is one card's
membership in one tenant: the merchant's own id for the customer (``external_id``), the
profile, tier and status. A card holds at most one membership per tenant. The points of a
member live in the ledger, in the member's wallet account (owner = member id, asset = the
tenant's currency code); nothing here caches a balance.

A ``MemberToken`` lets the card holder act as that member on ``/v1/me/*``. Like access
tokens it is a 256-bit random secret stored only as its SHA-256 digest.

An ``Adjustment`` is staff correcting a member's points by hand: who asked, why, who
approved or rejected it, and the transaction it posted. The table is the audit trail
(``tenants.members.adjustments``); its constraints keep the four-eyes rule and "posted
once" true whatever the code does.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jifen.platform.db import Base, BigInt, Created, TenantOwned, one_of
from jifen.platform.ids import new_id


class MemberStatus(enum.StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"


class Enrolment(enum.StrEnum):
    """How a membership came to be, which says whether the tenant has the holder's
    consent to the card: it issued the card, or linked it with the holder's code. A
    membership a swap or an alliance earn opened (points given to the card) is no
    consent; neither is a link made before holder codes existed."""

    ISSUED = "issued"
    LINKED = "linked"
    JOINED = "joined"


class Card(Created, Base):
    __tablename__ = "cards"
    __table_args__ = (CheckConstraint("length(number) = 16", name="card_number_length"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("card"))
    number: Mapped[str] = mapped_column(String(16), unique=True)


class Member(TenantOwned, Created, Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id", name="members_external_id_per_tenant"),
        UniqueConstraint("tenant_id", "card_id", name="members_one_per_card_and_tenant"),
        CheckConstraint("status IN ('active', 'frozen')", name="member_status"),
        CheckConstraint(one_of("enrolled", Enrolment), name="member_enrolled"),
        Index("ix_members_tenant_created", "tenant_id", "created", "id"),
        Index("ix_members_card_id", "card_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("mem"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    card_id: Mapped[str] = mapped_column(ForeignKey("cards.id"))
    external_id: Mapped[str] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    birthday: Mapped[date | None] = mapped_column(Date)
    tier: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.ACTIVE.value)
    enrolled: Mapped[str] = mapped_column(
        String(8), default=Enrolment.JOINED.value, server_default=Enrolment.JOINED.value
    )

    card: Mapped[Card] = relationship(lazy="joined", innerjoin=True)

    @property
    def card_number(self) -> str:
        return self.card.number

    @property
    def is_frozen(self) -> bool:
        return self.status == MemberStatus.FROZEN


class MemberToken(TenantOwned, Created, Base):
    __tablename__ = "member_tokens"
    __table_args__ = (Index("ix_member_tokens_tenant_member", "tenant_id", "member_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("mtk"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AdjustmentStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"
    POSTED = "posted"
    REJECTED = "rejected"


class Adjustment(TenantOwned, Created, Base):
    __tablename__ = "adjustments"
    __table_args__ = (
        CheckConstraint(one_of("status", AdjustmentStatus), name="adjustment_status"),
        CheckConstraint("points <> 0", name="adjustment_points_nonzero"),
        CheckConstraint("trim(reason) <> ''", name="adjustment_reason_given"),
        CheckConstraint(
            "(status = 'posted') = (transaction_id IS NOT NULL)", name="adjustment_posted_once"
        ),
        CheckConstraint(
            "approved_by IS NULL OR approved_by <> requested_by", name="adjustment_four_eyes"
        ),
        CheckConstraint(
            "(status = 'rejected') = (rejected_by IS NOT NULL)", name="adjustment_rejected_by"
        ),
        CheckConstraint(
            "(status = 'pending_approval') = (decided_at IS NULL)", name="adjustment_decided"
        ),
        UniqueConstraint("transaction_id", name="adjustments_one_per_transaction"),
        Index("ix_adjustments_tenant_created", "tenant_id", "created", "id"),
        Index("ix_adjustments_tenant_member", "tenant_id", "member_id", "created"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("adj"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    points: Mapped[int] = mapped_column(BigInt)  # signed: negative takes points away
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))
    approval_threshold: Mapped[int] = mapped_column(BigInt)  # the program's, when requested
    requested_by: Mapped[str] = mapped_column(String(64))  # a staff user or an API client
    approved_by: Mapped[str | None] = mapped_column(String(64))
    rejected_by: Mapped[str | None] = mapped_column(String(64))
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    decided_at: Mapped[datetime | None]
    transaction_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_transactions.id"))
