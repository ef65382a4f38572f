"""Cards, members and member tokens.

Cards are the platform-wide consumer identity and carry no tenant id (no row-level
security). Members and member tokens are tenant-owned: ``tenant_id`` leads their keys
and indexes, and PostgreSQL isolates them by tenant. ``ix_members_card_id`` is the one
lookup that crosses tenants on purpose: the consumer's wallet lists every membership of
one card, in a platform unit of work.

Revision ID: 0003
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0003"
down_revision = "0004"
branch_labels = None
depends_on = None

TENANT_OWNED = ["members", "member_tokens"]


def upgrade() -> None:
    op.create_table(
        "cards",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("number", sa.String(16), nullable=False, unique=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(number) = 16", name="card_number_length"),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("card_id", sa.String(32), sa.ForeignKey("cards.id"), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("tier", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "external_id", name="members_external_id_per_tenant"),
        sa.UniqueConstraint("tenant_id", "card_id", name="members_one_per_card_and_tenant"),
        sa.CheckConstraint("status IN ('active', 'frozen')", name="member_status"),
    )
    op.create_index("ix_members_tenant_created", "members", ["tenant_id", "created", "id"])
    op.create_index("ix_members_card_id", "members", ["card_id"])
    op.create_table(
        "member_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("member_id", sa.String(32), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_member_tokens_tenant_member", "member_tokens", ["tenant_id", "member_id"])

    if postgres.is_postgres():
        postgres.grant_app_role()
        for table in TENANT_OWNED:
            postgres.isolate_by_tenant(table)


def downgrade() -> None:
    if postgres.is_postgres():
        for table in TENANT_OWNED:
            postgres.drop_isolation(table)
    op.drop_table("member_tokens")
    op.drop_index("ix_members_card_id", "members")
    op.drop_index("ix_members_tenant_created", "members")
    op.drop_table("members")
    op.drop_table("cards")
