"""PostgreSQL-only pieces shared by revisions: the app role and row-level security.

The app connects (or switches, see ``platform.db.make_engine``) to ``jifen_app``: a role
that owns no tables and has NOBYPASSRLS, so the policies below always apply to it. Each
transaction says whose it is with ``set_config('app.tenant_id', …, true)`` or, for the
platform's own work, ``set_config('app.platform', 'on', true)``.
"""

from alembic import op

APP_ROLE = "jifen_app"


def is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def create_app_role() -> None:
    op.execute(
        f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
          END IF;
        END $$;
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}"
    )
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO {APP_ROLE}")


def grant_app_role() -> None:
    """Grant on every table that exists now (default privileges cover later ones)."""
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")


def isolate_by_tenant(table: str, column: str = "tenant_id") -> None:
    """Rows of ``table`` are visible and writable only to their tenant or the platform."""
    condition = (
        "current_setting('app.platform', true) = 'on' "
        f"OR {column} = current_setting('app.tenant_id', true)"
    )
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {table}_tenant_isolation ON {table} "
        f"USING ({condition}) WITH CHECK ({condition})"
    )


def platform_only(table: str, *, tenants_insert: str | None = None) -> None:
    """Rows of ``table`` are visible and changeable only in platform units of work.

    With ``tenants_insert`` (a column), a tenant's unit of work may also add rows whose
    column names that tenant (as it records work done on its behalf), but never read,
    change or delete one: a separate permissive policy for INSERT only."""
    platform = "current_setting('app.platform', true) = 'on'"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {table}_platform_only ON {table} USING ({platform}) WITH CHECK ({platform})"
    )
    if tenants_insert:
        op.execute(
            f"CREATE POLICY {table}_tenant_insert ON {table} FOR INSERT "
            f"WITH CHECK ({tenants_insert} = current_setting('app.tenant_id', true))"
        )


def drop_platform_only(table: str) -> None:
    op.execute(f"DROP POLICY IF EXISTS {table}_tenant_insert ON {table}")
    op.execute(f"DROP POLICY IF EXISTS {table}_platform_only ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def drop_isolation(table: str) -> None:
    op.execute(f"DROP POLICY IF EXISTS {table}_tenant_isolation ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
