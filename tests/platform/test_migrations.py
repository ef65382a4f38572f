"""Migrations: the migrated schema is exactly what the models describe, and the chain
goes down to nothing and back up again, on SQLite and PostgreSQL."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import create_postgres_database, drop_postgres_database
from sqlalchemy import create_engine, inspect

from jifen.migrations import downgrade, upgrade
from jifen.platform.shell.areas import load_models


def schema_diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": False}
            )
            return compare_metadata(context, load_models())
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_the_migrated_schema_matches_the_models(database_url):
    assert schema_diff(database_url) == []


def _down_and_up(url: str) -> None:
    upgrade(url)
    assert table_names(url) == set(load_models().tables)
    downgrade(url, "base")
    assert table_names(url) == set()
    upgrade(url)
    assert table_names(url) == set(load_models().tables)
    assert schema_diff(url) == []


def test_sqlite_migrates_down_to_base_and_up_again(tmp_path):
    _down_and_up(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")


@pytest.mark.postgres
def test_postgres_migrates_down_to_base_and_up_again():
    admin = os.environ["JIFEN_TEST_DATABASE_URL"]
    url = create_postgres_database(admin, prefix="jifen_migrate")
    try:
        _down_and_up(url)
    finally:
        drop_postgres_database(admin, url)
