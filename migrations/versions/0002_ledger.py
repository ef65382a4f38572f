"""The points ledger: accounts, transactions, postings, holds, lots, lot consumptions.

The ledger's rules are enforced in Python (platform/ledger/postings.py) and again here, so
a bug in one layer is caught by the other:

* CHECK constraints (both databases): wallets never below zero unless allowed, held
  between 0 and the balance, posting amounts never zero, lot remaining between 0 and the
  lot's points, captured never above the hold; cached balances only on wallets;
* a posting's (tenant, account, asset) must match its account (a composite foreign key);
* a transaction is reversed at most once (unique ``(tenant_id, reverses_id)``);
* postings, transactions and lot consumptions are append-only: triggers refuse UPDATE
  and DELETE (SQLite and PostgreSQL);
* PostgreSQL only: a DEFERRABLE INITIALLY DEFERRED constraint trigger checks at commit
  that every transaction's postings sum to zero per asset and that it has postings at all;
  row-level security on every ledger table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = [
    "ledger_accounts",
    "ledger_transactions",
    "ledger_postings",
    "ledger_holds",
    "ledger_lots",
    "ledger_lot_consumptions",
]
APPEND_ONLY = ["ledger_transactions", "ledger_postings", "ledger_lot_consumptions"]

ACCOUNT_TYPES = (
    "'member_wallet', 'issuance', 'breakage', 'redemption', "
    "'exchange_liquidity', 'clearing', 'fee', 'rounding'"
)
Points = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant_id() -> sa.Column:
    return sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=False)


def _created() -> sa.Column:
    return sa.Column("created", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant_id(),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.String(32), nullable=True),
        sa.Column("may_go_negative", sa.Boolean(), nullable=False),
        sa.Column("balance", Points, nullable=True),
        sa.Column("held", Points, nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        _created(),
        sa.CheckConstraint(f"type IN ({ACCOUNT_TYPES})", name="ledger_account_type"),
        sa.CheckConstraint(
            "(type = 'member_wallet') = "
            "(owner_id IS NOT NULL AND balance IS NOT NULL AND held IS NOT NULL"
            " AND version IS NOT NULL)",
            name="ledger_account_cached_only_on_wallets",
        ),
        sa.CheckConstraint("balance >= 0 OR may_go_negative", name="ledger_account_not_negative"),
        sa.CheckConstraint(
            "held >= 0 AND (held = 0 OR held <= balance)", name="ledger_account_held"
        ),
        sa.UniqueConstraint("tenant_id", "id", "asset", name="ledger_accounts_tenant_id_asset"),
    )
    op.create_index("ix_ledger_accounts_tenant_id", "ledger_accounts", ["tenant_id"])
    op.create_index(
        "ledger_accounts_one_wallet",
        "ledger_accounts",
        ["tenant_id", "asset", "owner_id"],
        unique=True,
        sqlite_where=sa.text("type = 'member_wallet'"),
        postgresql_where=sa.text("type = 'member_wallet'"),
    )
    op.create_index(
        "ledger_accounts_one_tenant_account",
        "ledger_accounts",
        ["tenant_id", "asset", "type"],
        unique=True,
        sqlite_where=sa.text("owner_id IS NULL"),
        postgresql_where=sa.text("owner_id IS NULL"),
    )

    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant_id(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(255), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column(
            "reverses_id", sa.String(32), sa.ForeignKey("ledger_transactions.id"), nullable=True
        ),
        _created(),
        sa.UniqueConstraint("tenant_id", "reverses_id", name="ledger_transactions_reversed_once"),
    )
    op.create_index("ix_ledger_transactions_tenant_id", "ledger_transactions", ["tenant_id"])
    op.create_index(
        "ix_ledger_transactions_tenant_reference",
        "ledger_transactions",
        ["tenant_id", "reference"],
    )

    op.create_table(
        "ledger_postings",
        sa.Column("id", Points, primary_key=True, autoincrement=True),
        _tenant_id(),
        sa.Column(
            "transaction_id",
            sa.String(32),
            sa.ForeignKey("ledger_transactions.id"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("amount", Points, nullable=False),
        sa.Column("balance_after", Points, nullable=True),
        sa.CheckConstraint("amount <> 0", name="ledger_posting_not_zero"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "account_id", "asset"],
            ["ledger_accounts.tenant_id", "ledger_accounts.id", "ledger_accounts.asset"],
            name="ledger_postings_account",
        ),
    )
    op.create_index("ix_ledger_postings_tenant_id", "ledger_postings", ["tenant_id"])
    op.create_index(
        "ix_ledger_postings_tenant_transaction", "ledger_postings", ["tenant_id", "transaction_id"]
    )
    op.create_index(
        "ix_ledger_postings_tenant_account", "ledger_postings", ["tenant_id", "account_id", "id"]
    )

    op.create_table(
        "ledger_holds",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant_id(),
        sa.Column("wallet_id", sa.String(32), sa.ForeignKey("ledger_accounts.id"), nullable=False),
        sa.Column("points", Points, nullable=False),
        sa.Column("captured_points", Points, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference", sa.String(255), nullable=True),
        sa.Column(
            "capture_transaction_id",
            sa.String(32),
            sa.ForeignKey("ledger_transactions.id"),
            nullable=True,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        _created(),
        sa.CheckConstraint(
            "status IN ('pending', 'captured', 'voided', 'expired')", name="ledger_hold_status"
        ),
        sa.CheckConstraint("points > 0", name="ledger_hold_points_positive"),
        sa.CheckConstraint(
            "captured_points >= 0 AND captured_points <= points", name="ledger_hold_captured"
        ),
        sa.CheckConstraint(
            "(status = 'captured') = (captured_points > 0)", name="ledger_hold_captured_status"
        ),
    )
    op.create_index("ix_ledger_holds_tenant_id", "ledger_holds", ["tenant_id"])
    op.create_index(
        "ix_ledger_holds_tenant_wallet", "ledger_holds", ["tenant_id", "wallet_id", "status"]
    )
    op.create_index(
        "ix_ledger_holds_tenant_due", "ledger_holds", ["tenant_id", "status", "expires_at"]
    )

    op.create_table(
        "ledger_lots",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant_id(),
        sa.Column("wallet_id", sa.String(32), sa.ForeignKey("ledger_accounts.id"), nullable=False),
        sa.Column("points", Points, nullable=False),
        sa.Column("remaining", Points, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "transaction_id",
            sa.String(32),
            sa.ForeignKey("ledger_transactions.id"),
            nullable=False,
        ),
        _created(),
        sa.CheckConstraint("points > 0", name="ledger_lot_points_positive"),
        sa.CheckConstraint("remaining >= 0 AND remaining <= points", name="ledger_lot_remaining"),
    )
    op.create_index("ix_ledger_lots_tenant_id", "ledger_lots", ["tenant_id"])
    op.create_index(
        "ix_ledger_lots_tenant_wallet_open",
        "ledger_lots",
        ["tenant_id", "wallet_id", "expires_at"],
        sqlite_where=sa.text("remaining > 0"),
        postgresql_where=sa.text("remaining > 0"),
    )
    op.create_index(
        "ix_ledger_lots_tenant_due",
        "ledger_lots",
        ["tenant_id", "expires_at"],
        sqlite_where=sa.text("remaining > 0 AND expires_at IS NOT NULL"),
        postgresql_where=sa.text("remaining > 0 AND expires_at IS NOT NULL"),
    )
    op.create_index(
        "ix_ledger_lots_tenant_transaction", "ledger_lots", ["tenant_id", "transaction_id"]
    )

    op.create_table(
        "ledger_lot_consumptions",
        sa.Column("id", Points, primary_key=True, autoincrement=True),
        _tenant_id(),
        sa.Column(
            "transaction_id",
            sa.String(32),
            sa.ForeignKey("ledger_transactions.id"),
            nullable=False,
        ),
        sa.Column("lot_id", sa.String(32), sa.ForeignKey("ledger_lots.id"), nullable=False),
        sa.Column("points", Points, nullable=False),
        sa.CheckConstraint("points > 0", name="ledger_lot_consumption_points_positive"),
    )
    op.create_index(
        "ix_ledger_lot_consumptions_tenant_id", "ledger_lot_consumptions", ["tenant_id"]
    )
    op.create_index(
        "ix_ledger_lot_consumptions_tenant_transaction",
        "ledger_lot_consumptions",
        ["tenant_id", "transaction_id"],
    )

    if postgres.is_postgres():
        _postgres_rules()
    else:
        _sqlite_rules()


def _sqlite_rules() -> None:
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _postgres_rules() -> None:
    op.execute(
        """
        CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% is append-only: post a reversal instead', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
        END $$
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        )
    op.execute(
        """
        CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
          txn text := to_jsonb(NEW) ->> TG_ARGV[0];
          unbalanced text;
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM ledger_postings WHERE transaction_id = txn) THEN
            RAISE EXCEPTION 'transaction % has no postings', txn
              USING ERRCODE = 'check_violation';
          END IF;
          SELECT asset INTO unbalanced FROM ledger_postings
           WHERE transaction_id = txn GROUP BY asset HAVING sum(amount) <> 0 LIMIT 1;
          IF unbalanced IS NOT NULL THEN
            RAISE EXCEPTION 'postings of transaction % do not sum to zero in %', txn, unbalanced
              USING ERRCODE = 'check_violation';
          END IF;
          RETURN NULL;
        END $$
        """
    )
    for table, column in (("ledger_postings", "transaction_id"), ("ledger_transactions", "id")):
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_balanced AFTER INSERT ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            f"EXECUTE FUNCTION ledger_check_balanced('{column}')"
        )
    postgres.grant_app_role()
    for table in TABLES:
        postgres.isolate_by_tenant(table)


def downgrade() -> None:
    if postgres.is_postgres():
        for table in TABLES:
            postgres.drop_isolation(table)
        for table in ("ledger_postings", "ledger_transactions"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_balanced ON {table}")
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_check_balanced()")
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
    else:
        for table in APPEND_ONLY:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    for table in reversed(TABLES):
        op.drop_table(table)
