"""Two people for every manual creation of points and manual settlement payments.

Manual awards above the program's threshold reuse ``adjustments`` (0014): nothing new in
the database. Settlement lines marked paid by hand above the platform's threshold are
recorded in ``settlement_manual_payments`` until a second person confirms them:

* four eyes: ``confirmed_by <> requested_by`` (a CHECK, like ``adjustment_four_eyes``);
* a status the service knows, who confirmed exactly when confirmed, who rejected exactly
  when rejected, a decision time exactly when decided, a bank reference that is not
  blank, an amount above zero;
* at most one manual payment per payment line that is pending or confirmed (a partial
  unique index), so a line is never confirmed twice;
* PostgreSQL row-level security by tenant, like the payment lines.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

Amount = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE = "settlement_manual_payments"
LIVE = "status <> 'rejected'"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column(
            "batch_id", sa.String(32), sa.ForeignKey("settlement_batches.id"), nullable=False
        ),
        sa.Column(
            "instruction_id",
            sa.String(32),
            sa.ForeignKey("settlement_instructions.id"),
            nullable=False,
        ),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reference", sa.String(255), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("approval_threshold", Amount, nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("confirmed_by", sa.String(64), nullable=True),
        sa.Column("rejected_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending_confirmation', 'confirmed', 'rejected')",
            name="manual_payment_status",
        ),
        sa.CheckConstraint("amount > 0", name="manual_payment_amount_positive"),
        sa.CheckConstraint("trim(reference) <> ''", name="manual_payment_reference_given"),
        sa.CheckConstraint(
            "confirmed_by IS NULL OR confirmed_by <> requested_by", name="manual_payment_four_eyes"
        ),
        sa.CheckConstraint(
            "(status = 'confirmed') = (confirmed_by IS NOT NULL)",
            name="manual_payment_confirmed_by",
        ),
        sa.CheckConstraint(
            "(status = 'rejected') = (rejected_by IS NOT NULL)", name="manual_payment_rejected_by"
        ),
        sa.CheckConstraint(
            "(status = 'pending_confirmation') = (decided_at IS NULL)",
            name="manual_payment_decided",
        ),
    )
    op.create_index("ix_settlement_manual_payments_batch_id", TABLE, ["batch_id"])
    op.create_index(
        "ux_manual_payments_one_live_per_line",
        TABLE,
        ["instruction_id"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )
    if postgres.is_postgres():
        postgres.grant_app_role()
        postgres.isolate_by_tenant(TABLE)


def downgrade() -> None:
    if postgres.is_postgres():
        postgres.drop_isolation(TABLE)
    op.drop_table(TABLE)
