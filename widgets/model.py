"""Tables the widgets and the consumer wallet own.

* ``widget_settings``: one row per tenant: the origins (scheme://host[:port]) allowed to
  use the tenant's publishable key, and, for ``jifen demo`` only, the member the demo
  merchant page mints tokens for.
* ``card_credentials``: the password a card holder may add to ``/wallet`` once signed in
  with a one-time code or link (argon2 hash). Cards are platform-wide, so this table is
  the platform's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, Created, TenantOwned


class WidgetSettings(TenantOwned, Created, Base):
    __tablename__ = "widget_settings"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    demo_member_id: Mapped[str | None] = mapped_column(ForeignKey("members.id"))
    updated: Mapped[datetime]


class CardCredential(Created, Base):
    __tablename__ = "card_credentials"

    card_id: Mapped[str] = mapped_column(ForeignKey("cards.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    updated: Mapped[datetime]
