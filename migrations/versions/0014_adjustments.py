"""Manual adjustments: staff corrections of a member's points, with the reason, who asked,
who approved or rejected, and the transaction posted (tenant-owned).

The constraints hold the rules the service applies: a known status; points never 0; a
reason that is not blank; a transaction exactly when posted, and one adjustment per
transaction (so nothing posts twice); the approver is never the requester; a rejection
names who rejected; a decision time exactly when decided.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Amount = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE = "adjustments"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("member_id", sa.String(32), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("points", Amount, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("approval_threshold", Amount, nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("rejected_by", sa.String(64), nullable=True),
        sa.Column("rejection_reason", sa.String(500), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "transaction_id", sa.String(32), sa.ForeignKey("ledger_transactions.id"), nullable=True
        ),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending_approval', 'posted', 'rejected')", name="adjustment_status"
        ),
        sa.CheckConstraint("points <> 0", name="adjustment_points_nonzero"),
        sa.CheckConstraint("trim(reason) <> ''", name="adjustment_reason_given"),
        sa.CheckConstraint(
            "(status = 'posted') = (transaction_id IS NOT NULL)", name="adjustment_posted_once"
        ),
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by <> requested_by", name="adjustment_four_eyes"
        ),
        sa.CheckConstraint(
            "(status = 'rejected') = (rejected_by IS NOT NULL)", name="adjustment_rejected_by"
        ),
        sa.CheckConstraint(
            "(status = 'pending_approval') = (decided_at IS NULL)", name="adjustment_decided"
        ),
        sa.UniqueConstraint("transaction_id", name="adjustments_one_per_transaction"),
    )
    op.create_index("ix_adjustments_tenant_created", TABLE, ["tenant_id", "created", "id"])
    op.create_index("ix_adjustments_tenant_member", TABLE, ["tenant_id", "member_id", "created"])
    if postgres.is_postgres():
        postgres.grant_app_role()
        postgres.isolate_by_tenant(TABLE)


def downgrade() -> None:
    if postgres.is_postgres():
        postgres.drop_isolation(TABLE)
    op.drop_table(TABLE)
