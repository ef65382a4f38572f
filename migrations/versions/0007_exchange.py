"""The exchange: currency settings, the fee schedule, quotes, swaps, daily usage, acceptance
authorizations and clearing records.

* CHECK constraints (both databases): every quote and swap balances in SPU
  (``spu_out = spu_in + fee_spu + rounding_spu``, each leg equal to points × rate); a
  quote is swapped at most once (unique ``exchange_swaps.quote_id``); an authorization
  never captures more than it held nor reverses more than it captured; clearing records
  carry signs that match their kind.
* Clearing records are append-only: triggers refuse UPDATE and DELETE.
* PostgreSQL row-level security: settings and authorizations by their tenant; quotes and
  swaps are visible to either of their two tenants, clearing records to their payer and
  payee; the platform sees everything. Fee schedules and daily usage are the platform's.

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0007"
down_revision = "0002"
branch_labels = None
depends_on = None

Amount = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TENANT_OWNED = ["exchange_settings", "acceptance_authorizations"]
SHARED = {
    "exchange_quotes": ("from_tenant_id", "to_tenant_id"),
    "exchange_swaps": ("from_tenant_id", "to_tenant_id"),
    "clearing_records": ("payer_tenant_id", "payee_tenant_id"),
}


def _tenant(name: str = "tenant_id") -> sa.Column:
    return sa.Column(name, sa.String(32), sa.ForeignKey("tenants.id"), nullable=False)


def _created() -> sa.Column:
    return sa.Column("created", sa.DateTime(timezone=True), nullable=False)


def _amount(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, Amount, nullable=nullable)


def _swap_columns() -> list:
    return [
        sa.Column("card_id", sa.String(32), nullable=False),
        _tenant("from_tenant_id"),
        _tenant("to_tenant_id"),
        sa.Column("from_currency", sa.String(16), nullable=False),
        sa.Column("to_currency", sa.String(16), nullable=False),
        *[
            _amount(name)
            for name in (
                "from_points",
                "to_points",
                "rate_from",
                "rate_to",
                "spu_out",
                "spu_in",
                "fee_spu",
                "rounding_spu",
            )
        ],
    ]


def _swap_checks(table: str) -> list:
    return [
        sa.CheckConstraint("from_points > 0 AND to_points > 0", name=f"{table}_points_positive"),
        sa.CheckConstraint("from_tenant_id <> to_tenant_id", name=f"{table}_two_tenants"),
        sa.CheckConstraint(
            "fee_spu >= 0 AND rounding_spu >= 0 AND spu_out = spu_in + fee_spu + rounding_spu"
            " AND spu_out = from_points * rate_from AND spu_in = to_points * rate_to",
            name=f"{table}_spu_balanced",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "exchange_settings",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant(),
        sa.Column("currency", sa.String(16), nullable=False, unique=True),
        _amount("spu_rate"),
        sa.Column("inbound", sa.Boolean(), nullable=False),
        sa.Column("outbound", sa.Boolean(), nullable=False),
        sa.Column("acceptance", sa.Boolean(), nullable=False),
        _amount("minimum"),
        _amount("increment"),
        _amount("daily_inbound_cap", nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        _created(),
        sa.UniqueConstraint("tenant_id", name="exchange_settings_one_per_tenant"),
        sa.CheckConstraint("spu_rate > 0", name="exchange_settings_rate_positive"),
        sa.CheckConstraint("minimum >= 1 AND increment >= 1", name="exchange_settings_amounts"),
        sa.CheckConstraint(
            "daily_inbound_cap IS NULL OR daily_inbound_cap >= 1",
            name="exchange_settings_cap_positive",
        ),
    )

    op.create_table(
        "exchange_fee_schedules",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("swap_fee_bps", sa.Integer(), nullable=False),
        _amount("swap_fee_fixed"),
        _amount("swap_fee_cap", nullable=True),
        sa.Column("acceptance_fee_bps", sa.Integer(), nullable=False),
        _amount("acceptance_fee_fixed"),
        _amount("acceptance_fee_cap", nullable=True),
        _amount("card_daily_limit", nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        _created(),
        sa.CheckConstraint(
            "swap_fee_bps BETWEEN 0 AND 10000 AND acceptance_fee_bps BETWEEN 0 AND 10000",
            name="exchange_fee_bps_range",
        ),
        sa.CheckConstraint(
            "swap_fee_fixed >= 0 AND acceptance_fee_fixed >= 0"
            " AND (swap_fee_cap IS NULL OR swap_fee_cap >= 0)"
            " AND (acceptance_fee_cap IS NULL OR acceptance_fee_cap >= 0)"
            " AND (card_daily_limit IS NULL OR card_daily_limit >= 1)",
            name="exchange_fee_amounts",
        ),
        sa.UniqueConstraint("version", name="exchange_fee_schedules_version"),
    )

    op.create_table(
        "exchange_quotes",
        sa.Column("id", sa.String(32), primary_key=True),
        *_swap_columns(),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _created(),
        *_swap_checks("exchange_quote"),
        sa.CheckConstraint("status IN ('open', 'used')", name="exchange_quote_status"),
    )
    op.create_index("ix_exchange_quotes_card", "exchange_quotes", ["card_id", "created"])

    op.create_table(
        "exchange_swaps",
        sa.Column("id", sa.String(32), primary_key=True),
        *_swap_columns(),
        sa.Column("quote_id", sa.String(32), sa.ForeignKey("exchange_quotes.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("from_member_id", sa.String(32), nullable=False),
        sa.Column("to_member_id", sa.String(32), nullable=False),
        sa.Column(
            "source_transaction_id",
            sa.String(32),
            sa.ForeignKey("ledger_transactions.id"),
            nullable=False,
        ),
        sa.Column(
            "destination_transaction_id",
            sa.String(32),
            sa.ForeignKey("ledger_transactions.id"),
            nullable=False,
        ),
        _created(),
        *_swap_checks("exchange_swap"),
        sa.UniqueConstraint("quote_id", name="exchange_swaps_quote_once"),
        sa.CheckConstraint("status = 'completed'", name="exchange_swap_status"),
    )
    for name, columns in (
        ("ix_exchange_swaps_from_tenant", ["from_tenant_id", "created", "id"]),
        ("ix_exchange_swaps_to_tenant", ["to_tenant_id", "created", "id"]),
        ("ix_exchange_swaps_card", ["card_id", "created"]),
    ):
        op.create_index(name, "exchange_swaps", columns)

    op.create_table(
        "exchange_daily_usage",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        _amount("used"),
        sa.CheckConstraint("used >= 0", name="exchange_daily_usage_not_negative"),
    )

    op.create_table(
        "acceptance_authorizations",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant(),
        _tenant("issuer_tenant_id"),
        sa.Column("currency", sa.String(16), nullable=False),
        sa.Column("card_id", sa.String(32), nullable=False),
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("hold_id", sa.String(32), sa.ForeignKey("ledger_holds.id"), nullable=False),
        _amount("points"),
        _amount("captured_points"),
        _amount("reversed_points"),
        _amount("spu_rate"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "capture_transaction_id",
            sa.String(32),
            sa.ForeignKey("ledger_transactions.id"),
            nullable=True,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        _created(),
        sa.CheckConstraint("points > 0 AND spu_rate > 0", name="acceptance_points_positive"),
        sa.CheckConstraint(
            "captured_points >= 0 AND captured_points <= points"
            " AND reversed_points >= 0 AND reversed_points <= captured_points",
            name="acceptance_captured_reversed",
        ),
        sa.CheckConstraint("tenant_id <> issuer_tenant_id", name="acceptance_two_tenants"),
        sa.CheckConstraint(
            "status IN ('pending', 'captured', 'voided', 'expired', 'reversed')",
            name="acceptance_status",
        ),
    )
    op.create_index(
        "ix_acceptance_authorizations_tenant_created",
        "acceptance_authorizations",
        ["tenant_id", "created", "id"],
    )
    op.create_index(
        "ix_acceptance_authorizations_due", "acceptance_authorizations", ["status", "expires_at"]
    )

    op.create_table(
        "clearing_records",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        _tenant("payer_tenant_id"),
        _tenant("payee_tenant_id"),
        sa.Column("currency", sa.String(16), nullable=False),
        _amount("points"),
        _amount("amount_spu"),
        _amount("fee_spu"),
        _amount("rounding_spu"),
        sa.Column("swap_id", sa.String(32), sa.ForeignKey("exchange_swaps.id"), nullable=True),
        sa.Column(
            "authorization_id",
            sa.String(32),
            sa.ForeignKey("acceptance_authorizations.id"),
            nullable=True,
        ),
        sa.Column(
            "source_transaction_id",
            sa.String(32),
            sa.ForeignKey("ledger_transactions.id"),
            nullable=False,
        ),
        _created(),
        sa.CheckConstraint("payer_tenant_id <> payee_tenant_id", name="clearing_two_tenants"),
        sa.CheckConstraint(
            "kind IN ('swap', 'acceptance_capture', 'acceptance_reversal')", name="clearing_kind"
        ),
        sa.CheckConstraint(
            "(kind = 'acceptance_reversal' AND amount_spu <= 0 AND fee_spu <= 0"
            "  AND rounding_spu = 0 AND points < 0)"
            " OR (kind <> 'acceptance_reversal' AND amount_spu >= 0 AND fee_spu >= 0"
            "  AND rounding_spu >= 0 AND points > 0)",
            name="clearing_signs",
        ),
        sa.CheckConstraint(
            "(kind = 'swap') = (swap_id IS NOT NULL AND authorization_id IS NULL)",
            name="clearing_source",
        ),
    )
    for name, columns in (
        ("ix_clearing_records_created", ["created", "id"]),
        ("ix_clearing_records_payer", ["payer_tenant_id", "created"]),
        ("ix_clearing_records_payee", ["payee_tenant_id", "created"]),
        ("ix_clearing_records_swap", ["swap_id"]),
        ("ix_clearing_records_authorization", ["authorization_id"]),
    ):
        op.create_index(name, "clearing_records", columns)

    if postgres.is_postgres():
        _postgres_rules()
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER clearing_records_no_{action.lower()} BEFORE {action} "
                "ON clearing_records "
                "BEGIN SELECT RAISE(ABORT, 'clearing_records is append-only'); END"
            )


def _postgres_rules() -> None:
    op.execute(
        """
        CREATE FUNCTION clearing_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'clearing records are immutable: write a correcting record'
            USING ERRCODE = 'restrict_violation';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER clearing_records_append_only BEFORE UPDATE OR DELETE "
        "ON clearing_records FOR EACH ROW EXECUTE FUNCTION clearing_refuse_change()"
    )
    postgres.grant_app_role()
    for table in TENANT_OWNED:
        postgres.isolate_by_tenant(table)
    for table, (first, second) in SHARED.items():
        condition = (
            "current_setting('app.platform', true) = 'on' "
            f"OR {first} = current_setting('app.tenant_id', true) "
            f"OR {second} = current_setting('app.tenant_id', true)"
        )
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_tenant_isolation ON {table} "
            f"USING ({condition}) WITH CHECK ({condition})"
        )
    for table in ("exchange_fee_schedules", "exchange_daily_usage"):
        condition = "current_setting('app.platform', true) = 'on'"
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_tenant_isolation ON {table} "
            f"USING ({condition}) WITH CHECK ({condition})"
        )


def downgrade() -> None:
    if postgres.is_postgres():
        for table in [*TENANT_OWNED, *SHARED, "exchange_fee_schedules", "exchange_daily_usage"]:
            postgres.drop_isolation(table)
        op.execute("DROP TRIGGER IF EXISTS clearing_records_append_only ON clearing_records")
        op.execute("DROP FUNCTION IF EXISTS clearing_refuse_change()")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS clearing_records_no_{action}")
    for table in (
        "clearing_records",
        "acceptance_authorizations",
        "exchange_daily_usage",
        "exchange_swaps",
        "exchange_quotes",
        "exchange_fee_schedules",
        "exchange_settings",
    ):
        op.drop_table(table)
