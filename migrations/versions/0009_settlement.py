"""Settlement: settings, batches, the clearing records each batch froze, positions,
payment instructions and payout accounts.

* A clearing record is settled at most once: ``settlement_batch_records`` is keyed by the
  clearing record's id.
* A window is settled at most once: ``sequence``, ``window_start`` and ``cutoff`` are each
  unique, ``cutoff > window_start``; on PostgreSQL an exclusion constraint also refuses
  overlapping windows.
* Four eyes: ``approved_by <> closed_by``.
* One payment instruction per batch and tenant; one per Stripe idempotency key.
* PostgreSQL row-level security: positions, instructions and payout accounts by tenant;
  settings and the record links are the platform's; batch headers (no tenant's data but
  totals) are readable to all, written only by the platform's services.

Revision ID: 0009
Revises: 0006, 0007, 0008 (merges the heads)
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0009"
down_revision = ("0006", "0007", "0008")
branch_labels = None
depends_on = None

Amount = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TENANT_TABLES = ["settlement_positions", "settlement_instructions", "settlement_accounts"]
PLATFORM_TABLES = ["settlement_settings", "settlement_batch_records"]
BATCH_STATUSES = "('closed', 'approved', 'paying', 'paid', 'reconciled')"


def _id() -> sa.Column:
    return sa.Column("id", sa.String(32), primary_key=True)


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=False)


def _batch() -> sa.Column:
    return sa.Column(
        "batch_id", sa.String(32), sa.ForeignKey("settlement_batches.id"), nullable=False
    )


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _amount(name: str) -> sa.Column:
    return sa.Column(name, Amount, nullable=False)


def upgrade() -> None:
    op.create_table(
        "settlement_settings",
        _id(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        _amount("spu_value_micro"),
        sa.Column("created_by", sa.String(64), nullable=False),
        _time("created"),
        sa.UniqueConstraint("version", name="settlement_settings_version"),
        sa.CheckConstraint("spu_value_micro > 0", name="settlement_settings_value_positive"),
    )

    op.create_table(
        "settlement_batches",
        _id(),
        sa.Column("sequence", sa.Integer(), nullable=False),
        _time("window_start"),
        _time("cutoff"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        _amount("spu_value_micro"),
        _amount("record_count"),
        _amount("platform_fees"),
        _amount("platform_fees_spu"),
        _amount("rounding"),
        sa.Column("closed_by", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        _time("approved_at", nullable=True),
        _time("paid_at", nullable=True),
        _time("reconciled_at", nullable=True),
        sa.Column("reconciliation", sa.JSON(), nullable=True),
        _time("updated"),
        _time("created"),
        sa.UniqueConstraint("sequence", name="settlement_batches_sequence"),
        sa.UniqueConstraint("window_start", name="settlement_batches_window_start"),
        sa.UniqueConstraint("cutoff", name="settlement_batches_cutoff"),
        sa.CheckConstraint("cutoff > window_start", name="settlement_batches_window"),
        sa.CheckConstraint(f"status IN {BATCH_STATUSES}", name="settlement_batches_status"),
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by <> closed_by", name="settlement_batches_four_eyes"
        ),
        sa.CheckConstraint(
            "status = 'closed' OR approved_by IS NOT NULL", name="settlement_batches_approved"
        ),
        sa.CheckConstraint("rounding >= 0", name="settlement_batches_rounding"),
    )

    op.create_table(
        "settlement_batch_records",
        sa.Column(
            "clearing_record_id",
            sa.String(32),
            sa.ForeignKey("clearing_records.id"),
            primary_key=True,
        ),
        _batch(),
    )
    op.create_index("ix_settlement_batch_records_batch", "settlement_batch_records", ["batch_id"])

    op.create_table(
        "settlement_positions",
        _id(),
        _tenant(),
        _batch(),
        sa.Column("currency", sa.String(3), nullable=False),
        *[
            _amount(name)
            for name in (
                "receivable",
                "payable",
                "fees",
                "net",
                "receivable_spu",
                "payable_spu",
                "fees_spu",
                "net_spu",
                "record_count",
            )
        ],
        _time("created"),
        sa.UniqueConstraint("batch_id", "tenant_id", name="settlement_positions_one_per_tenant"),
        sa.CheckConstraint("net = receivable - payable - fees", name="settlement_positions_ties"),
        sa.CheckConstraint(
            "net_spu = receivable_spu - payable_spu - fees_spu",
            name="settlement_positions_ties_spu",
        ),
    )
    op.create_index(
        "ix_settlement_positions_tenant", "settlement_positions", ["tenant_id", "created", "id"]
    )

    op.create_table(
        "settlement_instructions",
        _id(),
        _tenant(),
        _batch(),
        sa.Column("direction", sa.String(16), nullable=False),
        _amount("amount"),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("stripe_object_id", sa.String(255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("reference", sa.String(255), nullable=True),
        sa.Column("marked_by", sa.String(64), nullable=True),
        _time("paid_at", nullable=True),
        _time("updated"),
        _time("created"),
        sa.UniqueConstraint("batch_id", "tenant_id", name="settlement_instructions_one_per_tenant"),
        sa.UniqueConstraint("idempotency_key", name="settlement_instructions_idempotency_key"),
        sa.CheckConstraint("amount > 0", name="settlement_instructions_amount_positive"),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'failed', 'paid')",
            name="settlement_instructions_status",
        ),
        sa.CheckConstraint(
            "direction IN ('payout', 'collection')", name="settlement_instructions_direction"
        ),
        sa.CheckConstraint("method IN ('stripe', 'manual')", name="settlement_instructions_method"),
    )
    op.create_index("ix_settlement_instructions_batch_id", "settlement_instructions", ["batch_id"])

    op.create_table(
        "settlement_accounts",
        _id(),
        _tenant(),
        sa.Column("stripe_account_id", sa.String(255), nullable=True),
        sa.Column("stripe_customer_id", sa.String(255), nullable=True),
        sa.Column("stripe_payment_method_id", sa.String(255), nullable=True),
        _time("updated"),
        _time("created"),
        sa.UniqueConstraint("tenant_id", name="settlement_accounts_one_per_tenant"),
    )

    if postgres.is_postgres():
        op.execute(
            "ALTER TABLE settlement_batches ADD CONSTRAINT settlement_batches_no_overlap "
            "EXCLUDE USING gist (tstzrange(window_start, cutoff, '[)') WITH &&)"
        )
        postgres.grant_app_role()
        for table in TENANT_TABLES:
            postgres.isolate_by_tenant(table)
        condition = "current_setting('app.platform', true) = 'on'"
        for table in PLATFORM_TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY {table}_tenant_isolation ON {table} "
                f"USING ({condition}) WITH CHECK ({condition})"
            )


def downgrade() -> None:
    if postgres.is_postgres():
        for table in [*TENANT_TABLES, *PLATFORM_TABLES]:
            postgres.drop_isolation(table)
    for table in (
        "settlement_accounts",
        "settlement_instructions",
        "settlement_positions",
        "settlement_batch_records",
        "settlement_batches",
        "settlement_settings",
    ):
        op.drop_table(table)
