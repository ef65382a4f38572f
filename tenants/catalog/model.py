"""The catalog's tables: rewards, their code pools, and redemption orders.

* ``Reward`` (``rwd_``): something members buy with points, optionally plus cash.
  ``kind`` is ``physical`` (shipped to an address, fulfilment tracked on the order),
  ``virtual`` (a code from a pool the merchant uploaded) or ``coupon`` (a coupon code
  Jifen issues). ``stock`` is what is left to sell (None: unlimited, coupons only); a
  CHECK keeps it at zero or more and every sale takes it with a conditional ``UPDATE ...
  WHERE stock >= :quantity``, so it is never oversold. For a virtual reward ``stock`` is
  the number of unsold codes.
* ``RewardCode``: one code of a virtual reward's pool, ``available`` until a redemption
  order takes it (``issued``). Unique per reward.
* ``RedemptionOrder`` (``rdo_``): a member's purchase: the points debited (a ledger
  ``reward`` transaction), the cash part owed to the merchant, the codes delivered, and
  the status (physical: ``pending`` → ``shipped`` → ``delivered``; virtual and coupon:
  ``fulfilled`` at once; any pending order → ``cancelled``, which restores points and
  stock).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, BigInt, Created, TenantOwned
from jifen.platform.ids import new_id

Amount = BigInt

KINDS = ("physical", "virtual", "coupon")
REWARD_STATUSES = ("active", "archived")
ORDER_STATUSES = ("pending", "shipped", "delivered", "fulfilled", "cancelled")


class Reward(TenantOwned, Created, Base):
    __tablename__ = "rewards"
    __table_args__ = (
        CheckConstraint("kind IN ('physical', 'virtual', 'coupon')", name="reward_kind"),
        CheckConstraint("status IN ('active', 'archived')", name="reward_status"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="reward_stock_not_negative"),
        CheckConstraint("price_points > 0", name="reward_price_positive"),
        CheckConstraint("cash_amount >= 0", name="reward_cash_not_negative"),
        Index("ix_rewards_tenant_created", "tenant_id", "created", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rwd"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    price_points: Mapped[int] = mapped_column(Amount)
    cash_amount: Mapped[int] = mapped_column(Amount, default=0)
    currency: Mapped[str | None] = mapped_column(String(3))
    stock: Mapped[int | None] = mapped_column(Amount)
    coupon: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="active")


class RewardCode(TenantOwned, Created, Base):
    __tablename__ = "reward_codes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "reward_id", "code", name="reward_codes_unique"),
        CheckConstraint("status IN ('available', 'issued')", name="reward_code_status"),
        Index("ix_reward_codes_tenant_reward_status", "tenant_id", "reward_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rcd"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    reward_id: Mapped[str] = mapped_column(ForeignKey("rewards.id"))
    code: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="available")
    order_id: Mapped[str | None] = mapped_column(String(32))


class RedemptionOrder(TenantOwned, Created, Base):
    __tablename__ = "redemption_orders"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'shipped', 'delivered', 'fulfilled', 'cancelled')",
            name="redemption_order_status",
        ),
        CheckConstraint("quantity > 0", name="redemption_order_quantity_positive"),
        Index("ix_redemption_orders_tenant_created", "tenant_id", "created", "id"),
        Index("ix_redemption_orders_tenant_member", "tenant_id", "member_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rdo"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    reward_id: Mapped[str] = mapped_column(ForeignKey("rewards.id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Amount)
    cash_amount: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))
    cancel_transaction_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    updated: Mapped[datetime | None]
