"""Widgets and the consumer wallet: allowed origins per publishable key, card passwords.

* ``widget_settings``: one row per tenant (the key is the tenant id); PostgreSQL
  row-level security isolates it by tenant. The origins are read across tenants only in
  platform units of work (a publishable key names its tenant).
* ``card_credentials``: a card holder's wallet password (argon2); the platform's table,
  readable only in platform units of work.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "widget_settings",
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("allowed_origins", sa.JSON(), nullable=False),
        sa.Column("demo_member_id", sa.String(32), sa.ForeignKey("members.id"), nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "card_credentials",
        sa.Column("card_id", sa.String(32), sa.ForeignKey("cards.id"), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    if postgres.is_postgres():
        postgres.grant_app_role()
        postgres.isolate_by_tenant("widget_settings")
        condition = "current_setting('app.platform', true) = 'on'"
        op.execute("ALTER TABLE card_credentials ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE card_credentials FORCE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY card_credentials_platform ON card_credentials "
            f"USING ({condition}) WITH CHECK ({condition})"
        )


def downgrade() -> None:
    if postgres.is_postgres():
        postgres.drop_isolation("widget_settings")
        op.execute("DROP POLICY IF EXISTS card_credentials_platform ON card_credentials")
    op.drop_table("card_credentials")
    op.drop_table("widget_settings")
