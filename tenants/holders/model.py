"""Holder codes and holder sessions.

A ``HolderCode`` is a one-time secret of one card, kept only as a keyed digest
(``codes.digest``):

* ``sign_in``: 6 digits sent to the card's contact, good for 10 minutes and 5 wrong
  tries; asking for a new one voids the old;
* ``counter``: 18 digits the signed-in holder hands over at a counter (a 付款码), good
  for 60 seconds and one attempt; it names its card, so its digest is unique;
* ``link``: the token of a wallet sign-in link sent by email, good for 15 minutes and one
  use.

A ``HolderSession`` is a bearer token (``hs_…``, only its SHA-256 digest is kept) over the
whole card, for ``/v1/me/*`` and the wallet; it ends at ``expires_at`` or when signed out.

Cards are platform-wide, so neither table is tenant-owned: both are the platform's
alone (row-level security on PostgreSQL); a code is spent in a platform transaction of
its own before the use case it authorizes runs.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, Created, one_of
from jifen.platform.ids import new_id


class CodePurpose(enum.StrEnum):
    SIGN_IN = "sign_in"
    COUNTER = "counter"
    LINK = "link"


class HolderCode(Created, Base):
    __tablename__ = "holder_codes"
    __table_args__ = (
        CheckConstraint(one_of("purpose", CodePurpose), name="holder_code_purpose"),
        CheckConstraint("failed_attempts >= 0", name="holder_code_attempts"),
        Index("ix_holder_codes_card_purpose", "card_id", "purpose", "created"),
        Index("ix_holder_codes_digest", "code_digest", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("hc"))
    card_id: Mapped[str] = mapped_column(ForeignKey("cards.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    code_digest: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(8))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[str | None] = mapped_column(String(64))  # the caller it authorized
    voided_at: Mapped[datetime | None]


class HolderSession(Created, Base):
    __tablename__ = "holder_sessions"
    __table_args__ = (
        CheckConstraint("via IN ('code', 'password', 'link')", name="holder_session_via"),
        Index("ix_holder_sessions_card", "card_id", "created"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("hss"))
    card_id: Mapped[str] = mapped_column(ForeignKey("cards.id"))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    via: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
