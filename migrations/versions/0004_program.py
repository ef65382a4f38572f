"""Program rules: one immutable row per version of a tenant's program.

``(tenant_id, version)`` is unique, so two concurrent changes cannot both become the
same version; the loser gets a conflict and retries. Row-level security isolates the
rows by tenant on PostgreSQL.

It merges the two heads that had landed when it was written (the ledger's 0002 and the
webhooks' 0005); it needs neither, only ``tenants``.

Revision ID: 0004
Revises: 0002, 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0004"
down_revision = ("0002", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "program_versions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "version", name="program_versions_version_per_tenant"),
        sa.CheckConstraint("version >= 1", name="program_version_positive"),
    )
    op.create_index(
        "ix_program_versions_tenant_created", "program_versions", ["tenant_id", "created", "id"]
    )
    if postgres.is_postgres():
        postgres.grant_app_role()
        postgres.isolate_by_tenant("program_versions")


def downgrade() -> None:
    if postgres.is_postgres():
        postgres.drop_isolation("program_versions")
    op.drop_index("ix_program_versions_tenant_created", "program_versions")
    op.drop_table("program_versions")
