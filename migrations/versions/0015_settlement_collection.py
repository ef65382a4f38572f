"""Settlement collects from net payers by PaymentIntent or by invoice, and follows Stripe.

* ``settlement_settings.collection``: how the platform collects from net payers,
  ``payment_intent`` (default) or ``invoice``; ``settlement_accounts.collection``: a
  tenant's own choice (NULL: the platform's).
* ``settlement_instructions``: ``collection`` (the way a Stripe collection line was
  written), ``stripe_status`` (Stripe's own status of the line's object), ``refusals``
  (how often Stripe refused the line outright: it names the idempotency key of the next
  attempt), ``payout_status`` / ``stripe_payout_id`` (the connected account's payout of
  a paid transfer, from Stripe's webhooks).
* ``settlement_batches.stripe_notices``: mismatches Stripe's webhooks found for the batch.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

COLLECTIONS = "('payment_intent', 'invoice')"


def upgrade() -> None:
    op.add_column(
        "settlement_settings",
        sa.Column(
            "collection",
            sa.String(16),
            sa.CheckConstraint(
                f"collection IN {COLLECTIONS}", name="settlement_settings_collection"
            ),
            nullable=False,
            server_default="payment_intent",
        ),
    )
    op.add_column(
        "settlement_accounts",
        sa.Column(
            "collection",
            sa.String(16),
            sa.CheckConstraint(
                f"collection IS NULL OR collection IN {COLLECTIONS}",
                name="settlement_accounts_collection",
            ),
            nullable=True,
        ),
    )
    op.add_column(
        "settlement_instructions",
        sa.Column(
            "collection",
            sa.String(16),
            sa.CheckConstraint(
                f"collection IS NULL OR collection IN {COLLECTIONS}",
                name="settlement_instructions_collection",
            ),
            nullable=True,
        ),
    )
    op.add_column("settlement_instructions", sa.Column("stripe_status", sa.String(32)))
    op.add_column(
        "settlement_instructions",
        sa.Column("refusals", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "settlement_instructions",
        sa.Column(
            "payout_status",
            sa.String(16),
            sa.CheckConstraint(
                "payout_status IS NULL OR payout_status IN ('paid', 'failed')",
                name="settlement_instructions_payout_status",
            ),
            nullable=True,
        ),
    )
    op.add_column("settlement_instructions", sa.Column("stripe_payout_id", sa.String(255)))
    op.add_column("settlement_batches", sa.Column("stripe_notices", sa.JSON()))


def downgrade() -> None:
    # SQLite rebuilds each table in batch mode: its CHECKs must go before their columns
    with op.batch_alter_table("settlement_instructions") as batch:
        batch.drop_constraint("settlement_instructions_payout_status", type_="check")
        batch.drop_constraint("settlement_instructions_collection", type_="check")
        for column in ("stripe_payout_id", "payout_status", "refusals", "stripe_status"):
            batch.drop_column(column)
        batch.drop_column("collection")
    # not in batch mode: rebuilding settlement_batches would drop its SQLite triggers
    op.drop_column("settlement_batches", "stripe_notices")
    with op.batch_alter_table("settlement_accounts") as batch:
        batch.drop_constraint("settlement_accounts_collection", type_="check")
        batch.drop_column("collection")
    with op.batch_alter_table("settlement_settings") as batch:
        batch.drop_constraint("settlement_settings_collection", type_="check")
        batch.drop_column("collection")
