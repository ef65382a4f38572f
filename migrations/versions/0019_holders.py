"""Card holders: one-time codes and holder sessions (tenants.holders).

* ``holder_codes``: sign-in codes, counter codes and sign-in link tokens of a card, as
  keyed digests; found by card (sign-in) or by digest (counter, link).
* ``holder_sessions``: bearer tokens over a card (digest only).

Both are the platform's alone (row-level security on PostgreSQL).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holder_codes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("card_id", sa.String(32), sa.ForeignKey("cards.id"), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(8), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.String(64), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("purpose IN ('sign_in', 'counter', 'link')", name="holder_code_purpose"),
        sa.CheckConstraint("failed_attempts >= 0", name="holder_code_attempts"),
    )
    op.create_index(
        "ix_holder_codes_card_purpose", "holder_codes", ["card_id", "purpose", "created"]
    )
    op.create_index("ix_holder_codes_digest", "holder_codes", ["code_digest"], unique=True)
    op.create_table(
        "holder_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("card_id", sa.String(32), sa.ForeignKey("cards.id"), nullable=False),
        sa.Column("token_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("via IN ('code', 'password', 'link')", name="holder_session_via"),
    )
    op.create_index("ix_holder_sessions_card", "holder_sessions", ["card_id", "created"])
    if postgres.is_postgres():
        postgres.grant_app_role()
        postgres.platform_only("holder_codes")
        postgres.platform_only("holder_sessions")


def downgrade() -> None:
    if postgres.is_postgres():
        postgres.drop_platform_only("holder_sessions")
        postgres.drop_platform_only("holder_codes")
    op.drop_table("holder_sessions")
    op.drop_table("holder_codes")
