"""Alliances: memberships of merchants in alliances, and two more clearing kinds.

``alliance_memberships`` is shared by its two tenants: on PostgreSQL either one (or the
platform) may read and write it. ``clearing_records.kind`` gains ``alliance_issuance``
and ``alliance_redemption``: PostgreSQL swaps the CHECK constraint; SQLite cannot alter
one, so the table is rebuilt from its own stored definition with only the kind list
changed, and its indexes and append-only triggers are put back.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01
"""

import re

import sqlalchemy as sa
from alembic import op

from jifen.migrations import postgres

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_KINDS = ("swap", "acceptance_capture", "acceptance_reversal")
NEW_KINDS = (*OLD_KINDS, "alliance_issuance", "alliance_redemption")


def _tenant(name: str) -> sa.Column:
    return sa.Column(name, sa.String(32), sa.ForeignKey("tenants.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "alliance_memberships",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant("alliance_tenant_id"),
        _tenant("merchant_tenant_id"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "alliance_tenant_id", "merchant_tenant_id", name="alliance_member_once"
        ),
        sa.CheckConstraint("alliance_tenant_id <> merchant_tenant_id", name="alliance_two_tenants"),
        sa.CheckConstraint("status IN ('pending', 'active')", name="alliance_membership_status"),
    )
    op.create_index(
        "ix_alliance_memberships_merchant", "alliance_memberships", ["merchant_tenant_id"]
    )
    op.create_index(
        "ix_alliance_memberships_alliance_created",
        "alliance_memberships",
        ["alliance_tenant_id", "created", "id"],
    )
    _clearing_kinds(OLD_KINDS, NEW_KINDS)
    if postgres.is_postgres():
        postgres.grant_app_role()
        condition = (
            "current_setting('app.platform', true) = 'on' "
            "OR alliance_tenant_id = current_setting('app.tenant_id', true) "
            "OR merchant_tenant_id = current_setting('app.tenant_id', true)"
        )
        op.execute("ALTER TABLE alliance_memberships ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE alliance_memberships FORCE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY alliance_memberships_tenant_isolation ON alliance_memberships "
            f"USING ({condition}) WITH CHECK ({condition})"
        )


def downgrade() -> None:
    _clearing_kinds(NEW_KINDS, OLD_KINDS)
    if postgres.is_postgres():
        op.execute(
            "DROP POLICY IF EXISTS alliance_memberships_tenant_isolation ON alliance_memberships"
        )
    op.drop_table("alliance_memberships")


def _in_list(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def _clearing_kinds(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    if postgres.is_postgres():
        op.execute("ALTER TABLE clearing_records DROP CONSTRAINT clearing_kind")
        op.execute(
            f"ALTER TABLE clearing_records ADD CONSTRAINT clearing_kind CHECK ({_in_list(new)})"
        )
        return
    bind = op.get_bind()
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'clearing_records'"
    ).scalar_one()
    if _in_list(old) not in table_sql:
        raise RuntimeError("clearing_records is not as migration 0007 left it")
    extras = (
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'clearing_records'"
            " AND type IN ('index', 'trigger') AND sql IS NOT NULL"
        )
        .scalars()
        .all()
    )
    rebuilt = re.sub(
        r'^CREATE TABLE "?clearing_records"?',
        "CREATE TABLE clearing_records_rebuilt",
        table_sql.replace(_in_list(old), _in_list(new)),
    )
    op.execute(rebuilt)
    op.execute("INSERT INTO clearing_records_rebuilt SELECT * FROM clearing_records")
    op.execute("DROP TABLE clearing_records")
    op.execute("ALTER TABLE clearing_records_rebuilt RENAME TO clearing_records")
    for statement in extras:
        op.execute(statement)
