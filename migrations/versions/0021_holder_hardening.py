"""Card holders, hardened: how a membership was enrolled; throttle counters in the
database.

* ``members.enrolled``: ``issued`` (the tenant issued the card), ``linked`` (with the
  holder's code) or ``joined`` (a swap or an alliance earn opened it: points given, no
  consent). Existing rows: the first membership of each card issued it; every other is
  ``joined``, since links made before holder codes carried no consent. Only ``issued``
  and ``linked`` let a merchant redeem a card's alliance points without a holder code.
* ``throttle_counters``: the attempt counters of ``platform.throttle`` when no Redis is
  configured, shared by every web process; the platform's alone.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

Count = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

FIRST_OF_ITS_CARD = """
UPDATE members SET enrolled = 'issued'
WHERE id = (
  SELECT first.id FROM members AS first WHERE first.card_id = members.card_id
  ORDER BY first.created, first.id LIMIT 1
)
"""


def upgrade() -> None:
    # One statement both databases take as it is (no table rebuild on SQLite).
    op.execute(
        "ALTER TABLE members ADD COLUMN enrolled VARCHAR(8) DEFAULT 'joined' NOT NULL "
        "CONSTRAINT member_enrolled CHECK (enrolled IN ('issued', 'linked', 'joined'))"
    )
    if postgres.is_postgres():  # the migration's own rows: every tenant's
        op.execute("SELECT set_config('app.platform', 'on', true)")
    op.execute(FIRST_OF_ITS_CARD)
    op.create_table(
        "throttle_counters",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("count", Count, nullable=False),
        sa.Column("last_ms", Count, nullable=False),
        sa.Column("forget_ms", Count, nullable=False),
    )
    op.create_index("ix_throttle_counters_forget_ms", "throttle_counters", ["forget_ms"])
    if postgres.is_postgres():
        postgres.grant_app_role()
        postgres.platform_only("throttle_counters")


def downgrade() -> None:
    if postgres.is_postgres():
        postgres.drop_platform_only("throttle_counters")
    op.drop_table("throttle_counters")
    with op.batch_alter_table("members") as batch:
        batch.drop_constraint("member_enrolled", type_="check")
        batch.drop_column("enrolled")
