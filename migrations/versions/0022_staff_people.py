"""Platform staff roles and tenant staff invitations.

``staff_users``: ``platform_role`` (``operator`` | ``finance``, NULL for tenant staff)
replaces the ``is_platform_operator`` flag (every flagged user becomes an operator), and
``disabled_at`` (a disabled user cannot sign in). ``staff_roles.disabled_at``: a role
kept but granting nothing. ``staff_invitations``: one row per invitation, its token kept
as a SHA-256 digest; tenant-owned (row-level security), with NULL ``tenant_id`` for the
platform's own staff (visible to platform units of work only).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

TENANT_ROLES = "('owner', 'admin', 'operator', 'support', 'finance')"
PLATFORM_ROLES = "('operator', 'finance')"


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("platform_role", sa.String(16), nullable=True))
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE staff_users SET platform_role = 'operator' WHERE is_platform_operator")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("is_platform_operator")
        batch.create_check_constraint(
            "staff_user_platform_role",
            f"platform_role IS NULL OR platform_role IN {PLATFORM_ROLES}",
        )
    with op.batch_alter_table("staff_roles") as batch:
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("invited_by", sa.String(32), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.String(32), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"(tenant_id IS NULL AND role IN {PLATFORM_ROLES}) "
            f"OR (tenant_id IS NOT NULL AND role IN {TENANT_ROLES})",
            name="staff_invitation_role",
        ),
        sa.CheckConstraint(
            "accepted_at IS NULL OR revoked_at IS NULL", name="staff_invitation_one_end"
        ),
    )
    op.create_index("ix_staff_invitations_tenant_id", "staff_invitations", ["tenant_id"])
    op.create_index("ix_staff_invitations_email", "staff_invitations", ["email"])

    if postgres.is_postgres():
        postgres.grant_app_role()
        postgres.isolate_by_tenant("staff_invitations")


def downgrade() -> None:
    if postgres.is_postgres():
        postgres.drop_isolation("staff_invitations")
    op.drop_index("ix_staff_invitations_email", table_name="staff_invitations")
    op.drop_index("ix_staff_invitations_tenant_id", table_name="staff_invitations")
    op.drop_table("staff_invitations")
    with op.batch_alter_table("staff_roles") as batch:
        batch.drop_column("disabled_at")
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(
            sa.Column(
                "is_platform_operator", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.execute("UPDATE staff_users SET is_platform_operator = (platform_role IS NOT NULL)")
    with op.batch_alter_table("staff_users") as batch:
        batch.alter_column("is_platform_operator", server_default=None)
        batch.drop_constraint("staff_user_platform_role", type_="check")
        batch.drop_column("disabled_at")
        batch.drop_column("platform_role")
