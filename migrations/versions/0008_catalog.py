"""Program rules at work: order earnings, event awards, refunds, tier history and
reviews, expiry reminders, and the catalog (rewards, code pools, redemption orders).

The uniqueness rules that make "once" true under concurrency live here, in the
database: one earn per order (``order_earnings_one_per_order``), signup and profile
completion once per member, one check-in per local day, a referee referred once
(partial unique indexes on ``member_awards``), one review per tier period, one reminder
per lot and threshold. A reward's stock never goes below zero
(``reward_stock_not_negative``; sales take it with a conditional UPDATE).

Every table is tenant-owned: ``tenant_id`` leads its keys and indexes, and PostgreSQL
isolates it by tenant.

Revision ID: 0008
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0008"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = [
    "order_earnings",
    "member_awards",
    "order_refunds",
    "tier_changes",
    "tier_reviews",
    "expiry_reminders",
    "rewards",
    "reward_codes",
    "redemption_orders",
]
AMOUNT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _common() -> list:
    return [
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=False),
    ]


def _created() -> sa.Column:
    return sa.Column("created", sa.DateTime(timezone=True), nullable=False)


def _txn(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.String(32), sa.ForeignKey("ledger_transactions.id"), nullable=nullable
    )


def _partial_unique(name: str, table: str, columns: list[str], where: str) -> None:
    op.create_index(
        name,
        table,
        columns,
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    op.create_table(
        "order_earnings",
        *_common(),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("member_id", sa.String(32), sa.ForeignKey("members.id"), nullable=False),
        _txn("transaction_id"),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("shipping", AMOUNT, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("points", AMOUNT, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("program_version", sa.Integer(), nullable=False),
        _created(),
    )
    op.create_index(
        "order_earnings_one_per_order", "order_earnings", ["tenant_id", "order_id"], unique=True
    )
    op.create_index(
        "ix_order_earnings_tenant_member_time",
        "order_earnings",
        ["tenant_id", "member_id", "occurred_at"],
    )

    op.create_table(
        "member_awards",
        *_common(),
        sa.Column("member_id", sa.String(32), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("points", AMOUNT, nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("referee_id", sa.String(32), nullable=True),
        _txn("transaction_id"),
        sa.Column("program_version", sa.Integer(), nullable=False),
        _created(),
    )
    _partial_unique(
        "member_awards_once_per_member",
        "member_awards",
        ["tenant_id", "member_id", "event"],
        "event IN ('signup', 'profile_completion')",
    )
    _partial_unique(
        "member_awards_checkin_once_a_day",
        "member_awards",
        ["tenant_id", "member_id", "local_day"],
        "event = 'checkin'",
    )
    _partial_unique(
        "member_awards_referee_once",
        "member_awards",
        ["tenant_id", "referee_id"],
        "event = 'referral'",
    )
    op.create_index(
        "ix_member_awards_tenant_member_time",
        "member_awards",
        ["tenant_id", "member_id", "created"],
    )

    op.create_table(
        "order_refunds",
        *_common(),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("member_id", sa.String(32), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("amount", AMOUNT, nullable=True),
        sa.Column("clawed_back", AMOUNT, nullable=False),
        sa.Column("restored", AMOUNT, nullable=False),
        sa.Column("unrecovered", AMOUNT, nullable=False),
        _txn("clawback_transaction_id", nullable=True),
        _txn("restore_transaction_id", nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        _created(),
        sa.CheckConstraint(
            "clawed_back >= 0 AND restored >= 0 AND unrecovered >= 0",
            name="order_refund_amounts_not_negative",
        ),
    )
    op.create_index(
        "ix_order_refunds_tenant_order", "order_refunds", ["tenant_id", "order_id", "created"]
    )

    op.create_table(
        "tier_changes",
        *_common(),
        sa.Column("member_id", sa.String(32), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("from_tier", sa.String(32), nullable=True),
        sa.Column("to_tier", sa.String(32), nullable=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("measure", AMOUNT, nullable=False),
        sa.Column("program_version", sa.Integer(), nullable=False),
        _created(),
    )
    op.create_index(
        "ix_tier_changes_tenant_member", "tier_changes", ["tenant_id", "member_id", "created"]
    )
    op.create_table(
        "tier_reviews",
        *_common(),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("downgrades", sa.Integer(), nullable=False),
        _created(),
    )
    op.create_index(
        "tier_reviews_once_per_period", "tier_reviews", ["tenant_id", "period_start"], unique=True
    )
    op.create_table(
        "expiry_reminders",
        *_common(),
        sa.Column("lot_id", sa.String(32), sa.ForeignKey("ledger_lots.id"), nullable=False),
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("points", AMOUNT, nullable=False),
        sa.Column("event_id", sa.String(32), nullable=True),
        _created(),
    )
    op.create_index(
        "expiry_reminders_once",
        "expiry_reminders",
        ["tenant_id", "lot_id", "days_before"],
        unique=True,
    )

    op.create_table(
        "rewards",
        *_common(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(2000), nullable=True),
        sa.Column("price_points", AMOUNT, nullable=False),
        sa.Column("cash_amount", AMOUNT, nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("stock", AMOUNT, nullable=True),
        sa.Column("coupon", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        _created(),
        sa.CheckConstraint("kind IN ('physical', 'virtual', 'coupon')", name="reward_kind"),
        sa.CheckConstraint("status IN ('active', 'archived')", name="reward_status"),
        sa.CheckConstraint("stock IS NULL OR stock >= 0", name="reward_stock_not_negative"),
        sa.CheckConstraint("price_points > 0", name="reward_price_positive"),
        sa.CheckConstraint("cash_amount >= 0", name="reward_cash_not_negative"),
    )
    op.create_index("ix_rewards_tenant_created", "rewards", ["tenant_id", "created", "id"])
    op.create_table(
        "reward_codes",
        *_common(),
        sa.Column("reward_id", sa.String(32), sa.ForeignKey("rewards.id"), nullable=False),
        sa.Column("code", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("order_id", sa.String(32), nullable=True),
        _created(),
        sa.UniqueConstraint("tenant_id", "reward_id", "code", name="reward_codes_unique"),
        sa.CheckConstraint("status IN ('available', 'issued')", name="reward_code_status"),
    )
    op.create_index(
        "ix_reward_codes_tenant_reward_status",
        "reward_codes",
        ["tenant_id", "reward_id", "status"],
    )
    op.create_table(
        "redemption_orders",
        *_common(),
        sa.Column("reward_id", sa.String(32), sa.ForeignKey("rewards.id"), nullable=False),
        sa.Column("member_id", sa.String(32), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("points", AMOUNT, nullable=False),
        sa.Column("cash_amount", AMOUNT, nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("shipping_address", sa.JSON(), nullable=True),
        sa.Column("tracking_number", sa.String(100), nullable=True),
        _txn("transaction_id"),
        _txn("cancel_transaction_id", nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=True),
        _created(),
        sa.CheckConstraint(
            "status IN ('pending', 'shipped', 'delivered', 'fulfilled', 'cancelled')",
            name="redemption_order_status",
        ),
        sa.CheckConstraint("quantity > 0", name="redemption_order_quantity_positive"),
    )
    op.create_index(
        "ix_redemption_orders_tenant_created", "redemption_orders", ["tenant_id", "created", "id"]
    )
    op.create_index(
        "ix_redemption_orders_tenant_member", "redemption_orders", ["tenant_id", "member_id"]
    )

    if postgres.is_postgres():
        postgres.grant_app_role()
        for table in TABLES:
            postgres.isolate_by_tenant(table)


def downgrade() -> None:
    if postgres.is_postgres():
        for table in TABLES:
            postgres.drop_isolation(table)
    for table in reversed(TABLES):
        op.drop_table(table)
