"""Console sessions kept server-side (platform.console).

``staff_sessions``: one row per console sign-in — the user, the SHA-256 digest of the
secret the browser's cookie holds, when it was last seen, when it expires (8 hours after
sign-in) and, once over, when and why it ended (sign-out, password or role change,
expiry, inactivity), with the caller's address and user agent. A platform table like
``staff_users``: no tenant, no row-level security.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

END_REASONS = ("sign_out", "password_changed", "role_changed", "expired", "idle")


def upgrade() -> None:
    reasons = ", ".join(f"'{reason}'" for reason in END_REASONS)
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("staff_users.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(16), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(500), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"end_reason IS NULL OR end_reason IN ({reasons})", name="staff_session_end_reason"
        ),
        sa.CheckConstraint(
            "(ended_at IS NULL) = (end_reason IS NULL)", name="staff_session_ended_with_reason"
        ),
    )
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"])
    if postgres.is_postgres():
        postgres.grant_app_role()


def downgrade() -> None:
    op.drop_index("ix_staff_sessions_user_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
