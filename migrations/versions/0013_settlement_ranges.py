"""Settlement freezes ranges of clearing records instead of linking every record.

* ``clearing_records.sequence``: a unique number that grows with every insert.
  PostgreSQL: ``DEFAULT nextval('clearing_records_sequence_seq')``. SQLite (one writer at
  a time): the application inserts ``max + 1`` and a trigger refuses any number that is
  not above the current maximum. Existing records are numbered batch by batch (in the
  order of their batches, then by time), the records no batch holds after them.
* ``settlement_batches.records_after`` / ``records_through``: a batch holds the records
  numbered ``(records_after, records_through]``. ``0 <= records_after <= records_through``
  (CHECK); no two ranges overlap (PostgreSQL: ``EXCLUDE USING gist`` on ``int8range``;
  SQLite: triggers on insert and on update of the range), so no record is settled twice.
* ``settlement_batch_records`` (one row per frozen record) is dropped.

Revision ID: 0013
Revises: 0010, 0012 (merges the heads)
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0013"
down_revision = ("0010", "0012")
branch_labels = None
depends_on = None

Amount = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SEQUENCE = "clearing_records_sequence_seq"
RANGE_CHECK = "records_after >= 0 AND records_through >= records_after"
# the cumulative highest record number of the batches up to (and before) each batch
_THROUGH = (
    "(SELECT COALESCE(MAX(cr.sequence), 0) FROM clearing_records cr"
    " JOIN settlement_batch_records l ON l.clearing_record_id = cr.id"
    " JOIN settlement_batches b ON b.id = l.batch_id"
    " WHERE b.sequence {op} settlement_batches.sequence)"
)
_OVERLAP = (
    "SELECT RAISE(ABORT, 'settlement batches may not share clearing records') "
    "WHERE EXISTS (SELECT 1 FROM settlement_batches o WHERE o.id <> NEW.id"
    " AND o.records_after < NEW.records_through AND NEW.records_after < o.records_through)"
)


def upgrade() -> None:
    is_pg = postgres.is_postgres()
    for column in ("records_after", "records_through"):
        op.add_column(
            "settlement_batches", sa.Column(column, Amount, nullable=False, server_default="0")
        )
    if is_pg:
        op.execute(f"CREATE SEQUENCE {SEQUENCE} AS bigint")
        op.execute("ALTER TABLE clearing_records ADD COLUMN sequence bigint")
        op.execute("ALTER TABLE clearing_records DISABLE TRIGGER clearing_records_append_only")
    else:
        op.execute("ALTER TABLE clearing_records ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0")
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER clearing_records_no_{action}")
    # number the existing records: batch by batch, then the unsettled ones
    op.execute(
        "CREATE TEMPORARY TABLE clearing_numbers AS SELECT cr.id AS id, row_number() OVER"
        " (ORDER BY CASE WHEN b.sequence IS NULL THEN 1 ELSE 0 END, b.sequence,"
        " cr.created, cr.id) AS n FROM clearing_records cr"
        " LEFT JOIN settlement_batch_records l ON l.clearing_record_id = cr.id"
        " LEFT JOIN settlement_batches b ON b.id = l.batch_id"
    )
    op.execute(
        "UPDATE clearing_records SET sequence = clearing_numbers.n FROM clearing_numbers"
        " WHERE clearing_numbers.id = clearing_records.id"
    )
    op.execute("DROP TABLE clearing_numbers")
    op.execute(
        f"UPDATE settlement_batches SET records_after = {_THROUGH.format(op='<')},"
        f" records_through = {_THROUGH.format(op='<=')}"
    )
    op.create_index("ix_clearing_records_sequence", "clearing_records", ["sequence"], unique=True)
    if is_pg:
        op.execute(
            f"SELECT setval('{SEQUENCE}', (SELECT COALESCE(MAX(sequence), 0) + 1"
            " FROM clearing_records), false)"
        )
        op.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY clearing_records.sequence")
        op.execute(
            f"ALTER TABLE clearing_records ALTER COLUMN sequence SET DEFAULT nextval('{SEQUENCE}')"
        )
        op.execute("ALTER TABLE clearing_records ALTER COLUMN sequence SET NOT NULL")
        op.execute("ALTER TABLE clearing_records ENABLE TRIGGER clearing_records_append_only")
        postgres.grant_app_role()
        op.execute(
            "ALTER TABLE settlement_batches ADD CONSTRAINT settlement_batches_record_range"
            f" CHECK ({RANGE_CHECK})"
        )
        op.execute(
            "ALTER TABLE settlement_batches ADD CONSTRAINT settlement_batches_records_once "
            "EXCLUDE USING gist (int8range(records_after, records_through, '(]') WITH &&)"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER clearing_records_no_{action.lower()} BEFORE {action} "
                "ON clearing_records "
                "BEGIN SELECT RAISE(ABORT, 'clearing_records is append-only'); END"
            )
        op.execute(
            "CREATE TRIGGER clearing_records_sequence_grows BEFORE INSERT ON clearing_records "
            "BEGIN SELECT RAISE(ABORT, 'clearing_records.sequence must grow') WHERE "
            "NEW.sequence <= (SELECT COALESCE(MAX(sequence), 0) FROM clearing_records); END"
        )
        for event, name in (
            ("INSERT", "insert"),
            ("UPDATE OF records_after, records_through", "update"),
        ):
            op.execute(
                f"CREATE TRIGGER settlement_batches_records_once_{name} BEFORE {event}"
                " ON settlement_batches BEGIN"
                " SELECT RAISE(ABORT, 'settlement_batches_record_range') WHERE NOT"
                f" ({RANGE_CHECK.replace('records', 'NEW.records')}); {_OVERLAP}; END"
            )
    op.drop_table("settlement_batch_records")


def downgrade() -> None:
    is_pg = postgres.is_postgres()
    op.create_table(
        "settlement_batch_records",
        sa.Column(
            "clearing_record_id",
            sa.String(32),
            sa.ForeignKey("clearing_records.id"),
            primary_key=True,
        ),
        sa.Column(
            "batch_id", sa.String(32), sa.ForeignKey("settlement_batches.id"), nullable=False
        ),
    )
    op.create_index("ix_settlement_batch_records_batch", "settlement_batch_records", ["batch_id"])
    op.execute(
        "INSERT INTO settlement_batch_records (clearing_record_id, batch_id)"
        " SELECT cr.id, b.id FROM settlement_batches b JOIN clearing_records cr"
        " ON cr.sequence > b.records_after AND cr.sequence <= b.records_through"
    )
    op.drop_index("ix_clearing_records_sequence", table_name="clearing_records")
    if is_pg:
        condition = "current_setting('app.platform', true) = 'on'"
        table = "settlement_batch_records"
        postgres.grant_app_role()
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_tenant_isolation ON {table} "
            f"USING ({condition}) WITH CHECK ({condition})"
        )
        op.execute("ALTER TABLE settlement_batches DROP CONSTRAINT settlement_batches_records_once")
        op.execute("ALTER TABLE settlement_batches DROP CONSTRAINT settlement_batches_record_range")
        op.execute("ALTER TABLE clearing_records DROP COLUMN sequence")  # drops its sequence
    else:
        for trigger in (
            "clearing_records_sequence_grows",
            "settlement_batches_records_once_insert",
            "settlement_batches_records_once_update",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("ALTER TABLE clearing_records DROP COLUMN sequence")
    for column in ("records_through", "records_after"):
        op.execute(f"ALTER TABLE settlement_batches DROP COLUMN {column}")
