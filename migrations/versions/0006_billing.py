"""Billing: each tenant's billing account, the Stripe events handled, usage reports.

Every existing tenant gets a billing account on the free plan, active. The Stripe event
table's primary key is Stripe's event id: a redelivered event cannot be handled twice.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

import secrets
import string
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TENANT_TABLES = ["billing_accounts", "billing_usage_reports"]
_ALPHABET = string.ascii_letters + string.digits


def _id(prefix: str) -> str:
    # Frozen here on purpose: a migration must not change when platform.ids does.
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(20))


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=False)


def _created() -> sa.Column:
    return sa.Column("created", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    accounts = op.create_table(
        "billing_accounts",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant(),
        sa.Column("plan", sa.String(16), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("grace_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stripe_customer_id", sa.String(255), nullable=True),
        sa.Column("stripe_subscription_id", sa.String(255), nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        _created(),
        sa.UniqueConstraint("tenant_id", name="billing_accounts_one_per_tenant"),
        sa.UniqueConstraint("stripe_customer_id", name="billing_accounts_stripe_customer"),
        sa.CheckConstraint("plan IN ('free', 'growth', 'scale')", name="billing_account_plan"),
        sa.CheckConstraint(
            "status IN ('active', 'past_due', 'read_only', 'cancelled')",
            name="billing_account_status",
        ),
        sa.CheckConstraint(
            "status <> 'past_due' OR grace_until IS NOT NULL", name="billing_account_grace"
        ),
    )
    op.create_table(
        "billing_stripe_events",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        _created(),
    )
    op.create_table(
        "billing_usage_reports",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant(),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("plan", sa.String(16), nullable=False),
        sa.Column("active_members", sa.Integer(), nullable=False),
        sa.Column("billable_members", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("stripe_invoice_item_id", sa.String(255), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        _created(),
        sa.UniqueConstraint("tenant_id", "month", name="billing_usage_reports_once_a_month"),
        sa.CheckConstraint("active_members >= 0", name="billing_usage_report_members"),
    )
    tenant_ids = [row[0] for row in op.get_bind().execute(sa.text("SELECT id FROM tenants"))]
    if tenant_ids:
        moment = datetime.now(UTC)
        op.bulk_insert(
            accounts,
            [
                {
                    "id": _id("bil"),
                    "tenant_id": tenant_id,
                    "plan": "free",
                    "plan_version": 1,
                    "status": "active",
                    "updated": moment,
                    "created": moment,
                }
                for tenant_id in tenant_ids
            ],
        )
    if postgres.is_postgres():
        postgres.grant_app_role()
        for name in TENANT_TABLES:
            postgres.isolate_by_tenant(name)
        # Stripe events are received by the platform; rows naming a tenant stay its own.
        postgres.isolate_by_tenant("billing_stripe_events")


def downgrade() -> None:
    if postgres.is_postgres():
        for name in [*TENANT_TABLES, "billing_stripe_events"]:
            postgres.drop_isolation(name)
    op.drop_table("billing_usage_reports")
    op.drop_table("billing_stripe_events")
    op.drop_table("billing_accounts")
