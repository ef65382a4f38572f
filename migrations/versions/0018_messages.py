"""Messages to people: the outbox (platform.messages).

``messages``: one row per email or SMS, written in the transaction that causes it and
sent after commit. A platform table: ``tenant_id`` only records on whose behalf (NULL
for the platform). On PostgreSQL only platform units of work see the rows; a tenant's
unit of work may add one on its own behalf but never read one back.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name="message_channel"),
        sa.CheckConstraint("locale IN ('en', 'zh-CN')", name="message_locale"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'held')", name="message_status"
        ),
    )
    op.create_index("ix_messages_due", "messages", ["status", "next_attempt_at"])
    op.create_index("ix_messages_created", "messages", ["created", "id"])
    if postgres.is_postgres():
        postgres.grant_app_role()
        postgres.platform_only("messages", tenants_insert="tenant_id")


def downgrade() -> None:
    if postgres.is_postgres():
        postgres.drop_platform_only("messages")
    op.drop_table("messages")
