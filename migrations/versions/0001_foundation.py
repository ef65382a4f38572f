"""Foundation: tenants, currencies, API clients, access tokens, staff, idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TENANT_OWNED = ["currencies", "api_clients", "access_tokens", "staff_roles"]


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("publishable_key", sa.String(48), nullable=False, unique=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('merchant', 'alliance')", name="tenant_kind"),
    )
    op.create_table(
        "currencies",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", name="currencies_one_per_tenant"),
    )
    op.create_index("ix_currencies_tenant_id", "currencies", ["tenant_id"])
    op.create_table(
        "staff_users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("is_platform_operator", sa.Boolean(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "staff_roles",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("staff_users.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "user_id", name="staff_roles_one_per_tenant"),
        sa.CheckConstraint(
            "role IN ('owner', 'admin', 'operator', 'support', 'finance')", name="staff_role"
        ),
    )
    op.create_index("ix_staff_roles_tenant_id", "staff_roles", ["tenant_id"])
    op.create_index("ix_staff_roles_user_id", "staff_roles", ["user_id"])
    op.create_table(
        "api_clients",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(500), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_api_clients_tenant_id", "api_clients", ["tenant_id"])
    op.create_table(
        "access_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("client_id", sa.String(32), sa.ForeignKey("api_clients.id"), nullable=False),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=True),
        sa.Column("scope", sa.String(500), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_access_tokens_client_id", "access_tokens", ["client_id"])
    op.create_index("ix_access_tokens_tenant_id", "access_tokens", ["tenant_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("caller", "key", name="idempotency_keys_caller_key"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])

    if postgres.is_postgres():
        postgres.create_app_role()
        postgres.grant_app_role()
        for table in TENANT_OWNED:
            postgres.isolate_by_tenant(table)
        postgres.isolate_by_tenant("tenants", column="id")


def downgrade() -> None:
    if postgres.is_postgres():
        for table in [*TENANT_OWNED, "tenants"]:
            postgres.drop_isolation(table)
    for table in [
        "idempotency_keys",
        "access_tokens",
        "api_clients",
        "staff_roles",
        "staff_users",
        "currencies",
        "tenants",
    ]:
        op.drop_table(table)
