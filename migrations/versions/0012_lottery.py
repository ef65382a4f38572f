"""Lotteries: lotteries, their prizes and their draws (all tenant-owned).

A prize's stock never goes below zero (``lottery_prize_stock``; draws take it with a
conditional UPDATE); draws are numbered without repeats (``lottery_draw_sequence``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Amount = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLES = ["lotteries", "lottery_prizes", "lottery_draws"]


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id"), nullable=False)


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "lotteries",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("cost_points", Amount, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("seed_hash", sa.String(64), nullable=False),
        sa.Column("server_seed", sa.String(64), nullable=False),
        sa.Column("draws_count", sa.Integer(), nullable=False),
        _when("closes_at"),
        _when("closed_at"),
        _when("created", nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name="lottery_status"),
        sa.CheckConstraint("cost_points >= 1", name="lottery_cost_positive"),
    )
    op.create_index("ix_lotteries_tenant_created", "lotteries", ["tenant_id", "created", "id"])
    op.create_table(
        "lottery_prizes",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant(),
        sa.Column("lottery_id", sa.String(32), sa.ForeignKey("lotteries.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("weight", Amount, nullable=False),
        sa.Column("stock", Amount, nullable=True),
        sa.Column("initial_stock", Amount, nullable=True),
        sa.UniqueConstraint("lottery_id", "position", name="lottery_prize_position"),
        sa.CheckConstraint("weight >= 1", name="lottery_prize_weight"),
        sa.CheckConstraint("stock IS NULL OR stock >= 0", name="lottery_prize_stock"),
    )
    op.create_index(
        "ix_lottery_prizes_tenant_lottery", "lottery_prizes", ["tenant_id", "lottery_id"]
    )
    op.create_table(
        "lottery_draws",
        sa.Column("id", sa.String(40), primary_key=True),
        _tenant(),
        sa.Column("lottery_id", sa.String(32), sa.ForeignKey("lotteries.id"), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(32), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("roll", Amount, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("prize_id", sa.String(32), sa.ForeignKey("lottery_prizes.id"), nullable=True),
        sa.Column("points", Amount, nullable=False),
        sa.Column(
            "transaction_id", sa.String(32), sa.ForeignKey("ledger_transactions.id"), nullable=True
        ),
        _when("created", nullable=False),
        sa.UniqueConstraint("lottery_id", "sequence", name="lottery_draw_sequence"),
        sa.CheckConstraint("outcome IN ('won', 'sold_out')", name="lottery_draw_outcome"),
    )
    op.create_index(
        "ix_lottery_draws_tenant_lottery", "lottery_draws", ["tenant_id", "lottery_id", "sequence"]
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
