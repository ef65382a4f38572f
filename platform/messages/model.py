"""The outbox of messages to people: one row per email or SMS Jifen sends.

A row is written in the same transaction as its cause (a sign-in code, an invitation),
so a message of a rolled-back transaction never exists and one of a committed
transaction is never lost. It is a platform table, not ``TenantOwned``: ``tenant_id``
only records on whose behalf it was sent (NULL: the platform's own). On PostgreSQL
row-level security shows the rows to platform units of work alone (migration 0018).

Statuses: ``pending`` (to be sent; ``next_attempt_at`` says when, ``lease_until`` says a
worker is sending it now), ``sent``, ``failed`` (gave up after ``MAX_ATTEMPTS``) and
``held`` (no channel configured: kept for the operator console to read).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, Created, one_of
from jifen.platform.ids import new_id


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Locale(enum.StrEnum):
    EN = "en"
    ZH_CN = "zh-CN"


class Status(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"


class Message(Created, Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(one_of("channel", Channel), name="message_channel"),
        CheckConstraint(one_of("locale", Locale), name="message_locale"),
        CheckConstraint(one_of("status", Status), name="message_status"),
        Index("ix_messages_due", "status", "next_attempt_at"),
        Index("ix_messages_created", "created", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("msg"))
    tenant_id: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))
    template: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    # The body holds a one-time code or sign-in link: removed once delivered.
    sensitive: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=Status.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
