"""The staff activity log of the consoles (``platform.console.activity``).

``staff_activity``: one row per console form, sign-in and sign-out — actor, tenant
(NULL for platform-wide work), action, target, outcome, address, user agent. The console
writes it in platform units of work; on PostgreSQL row-level security shows a tenant
only its own rows (rows without a tenant are the platform's alone).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_activity",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), nullable=True),
        sa.Column("actor_id", sa.String(32), nullable=True),
        sa.Column("actor_email", sa.String(254), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(500), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IN ('ok', 'refused', 'error')", name="staff_activity_outcome"),
    )
    op.create_index("ix_staff_activity_created", "staff_activity", ["created", "id"])
    op.create_index(
        "ix_staff_activity_tenant_created", "staff_activity", ["tenant_id", "created", "id"]
    )
    if postgres.is_postgres():
        postgres.grant_app_role()
        postgres.isolate_by_tenant("staff_activity")


def downgrade() -> None:
    if postgres.is_postgres():
        postgres.drop_isolation("staff_activity")
    op.drop_table("staff_activity")
