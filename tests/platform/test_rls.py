"""Tenant scoping in the data layer: the ORM filter (both databases) and PostgreSQL
row-level security under the app's own role."""

from __future__ import annotations

import pytest
from factories import unique
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from jifen.platform.auth.model import ApiClient
from jifen.platform.db import get_database, unit_of_work
from jifen.tenants.model import Currency


def bind(connection, *, tenant_id: str = "", platform: str = "off") -> None:
    connection.execute(
        text("SELECT set_config('app.tenant_id', :t, true), set_config('app.platform', :p, true)"),
        {"t": tenant_id, "p": platform},
    )


def test_a_tenant_unit_of_work_sees_only_its_own_rows(api):
    a, b = api.signup(), api.signup()
    with unit_of_work(platform=True) as uow:
        b_currency = uow.session.scalar(select(Currency.id).where(Currency.tenant_id == b.id))
    with unit_of_work(tenant_id=a.id) as uow:
        codes = uow.session.scalars(select(Currency.code)).all()
        assert codes == [a.currency_code]
        assert uow.session.get(Currency, b_currency) is None
        clients = uow.session.scalars(select(ApiClient.id)).all()
        assert clients == [a.client_id]
        assert uow.session.scalars(select(Currency).where(Currency.tenant_id == b.id)).all() == []


def test_a_unit_of_work_must_say_whose_it_is():
    with pytest.raises(ValueError), unit_of_work():
        pass


postgres = pytest.mark.postgres


@postgres
def test_the_app_connects_as_a_role_that_cannot_bypass_security():
    with get_database().engine.connect() as connection:
        user = connection.execute(text("SELECT current_user")).scalar_one()
        role = connection.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
        owned = connection.execute(
            text("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
        ).scalar_one()
    assert user == "jifen_app"
    assert (role.rolsuper, role.rolbypassrls) == (False, False)
    assert owned == 0


@postgres
def test_row_level_security_shows_a_tenant_only_its_rows(api):
    a, b = api.signup(), api.signup()
    engine = get_database().engine
    with engine.connect() as connection:
        bind(connection, tenant_id=a.id)
        seen = connection.execute(text("SELECT tenant_id FROM currencies")).scalars().all()
        tenants = connection.execute(text("SELECT id FROM tenants")).scalars().all()
        connection.rollback()
    assert seen == [a.id]
    assert tenants == [a.id]
    with engine.connect() as connection:
        bind(connection)
        assert connection.execute(text("SELECT count(*) FROM currencies")).scalar_one() == 0
        assert connection.execute(text("SELECT count(*) FROM api_clients")).scalar_one() == 0
        connection.rollback()
    with engine.connect() as connection:
        # Nothing set at all in this transaction.
        assert connection.execute(text("SELECT count(*) FROM currencies")).scalar_one() == 0
        connection.rollback()
    assert b.id not in seen


@postgres
def test_row_level_security_refuses_writing_another_tenants_row(api):
    a, b = api.signup(), api.signup()
    engine = get_database().engine
    with engine.connect() as connection:
        bind(connection, tenant_id=a.id)
        with pytest.raises(DBAPIError) as raised:
            connection.execute(
                text(
                    "INSERT INTO currencies (id, tenant_id, code, name, created)"
                    " VALUES (:id, :tenant, :code, 'x', now())"
                ),
                {"id": unique("cur_"), "tenant": b.id, "code": unique("X").upper()},
            )
        connection.rollback()
    assert "row-level security" in str(raised.value)
    with engine.connect() as connection:
        bind(connection, tenant_id=a.id)
        updated = connection.execute(
            text("UPDATE currencies SET name = 'stolen' WHERE tenant_id = :b"), {"b": b.id}
        ).rowcount
        connection.rollback()
    assert updated == 0


@postgres
def test_every_table_with_a_tenant_id_forces_row_level_security():
    with get_database().engine.connect() as connection:
        rows = connection.execute(
            text(
                """
                SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND (
                    c.relname = 'tenants' OR EXISTS (
                        SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                          AND NOT a.attisdropped))
                """
            )
        ).all()
    assert len(rows) >= 5
    unprotected = [row.relname for row in rows if not (row[1] and row[2] and row.policies)]
    assert not unprotected, f"tables without forced row-level security: {unprotected}"
