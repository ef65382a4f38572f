"""Settlement a finance team trusts: Connect accounts the platform created, payout transfers.

* ``settlement_accounts.stripe_account_id`` now only ever holds the Connect account the
  platform created for the tenant (``settlement/connect.py``): unique across tenants,
  and set together with ``connect_status`` (``onboarding``, ``enabled``, ``restricted``:
  what Stripe last said, at ``connect_checked_at``). ``connect_requested_at`` records
  that the platform asked Stripe for one, so a creation whose answer was lost is found
  again rather than made twice.
* Every id stored before this revision was typed in by a tenant: nothing shows that the
  platform created it or that it is the tenant's, so it is cleared; such tenants onboard
  through ``POST /v1/settlement/account/onboarding`` (or the console) before their next
  payout. Downgrading does not bring those ids back.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

STATUSES = "('onboarding', 'enabled', 'restricted')"


def upgrade() -> None:
    if postgres.is_postgres():  # the migration's own rows: every tenant's
        op.execute("SELECT set_config('app.platform', 'on', true)")
    op.execute("UPDATE settlement_accounts SET stripe_account_id = NULL")
    with op.batch_alter_table("settlement_accounts") as batch:
        batch.add_column(sa.Column("connect_status", sa.String(16), nullable=True))
        batch.add_column(sa.Column("connect_checked_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("connect_requested_at", sa.DateTime(timezone=True)))
        batch.create_unique_constraint(
            "settlement_accounts_one_tenant_per_account", ["stripe_account_id"]
        )
        batch.create_check_constraint(
            "settlement_accounts_connect_status",
            "(stripe_account_id IS NULL AND connect_status IS NULL) OR "
            "(stripe_account_id IS NOT NULL AND connect_status IS NOT NULL "
            f"AND connect_status IN {STATUSES})",
        )


def downgrade() -> None:
    with op.batch_alter_table("settlement_accounts") as batch:
        batch.drop_constraint("settlement_accounts_connect_status", type_="check")
        batch.drop_constraint("settlement_accounts_one_tenant_per_account", type_="unique")
        for column in ("connect_requested_at", "connect_checked_at", "connect_status"):
            batch.drop_column(column)
