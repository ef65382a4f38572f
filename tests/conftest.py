"""Shared fixtures.

The suite runs against SQLite by default. Set ``JIFEN_TEST_DATABASE_URL`` to a
PostgreSQL server URL (an administrative login, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) and each run creates a fresh
database there, migrates it as the owner, and runs the app as the ``jifen_app`` role,
under row-level security. Set ``JIFEN_TEST_REDIS_URL`` to run jobs through RQ.

Tests never assume an empty database: factories make unique slugs and codes, so one
migrated database serves the whole session.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))

from jifen.migrations import upgrade  # noqa: E402
from jifen.platform.config import Config  # noqa: E402
from jifen.platform.shell.app import create_app  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get("JIFEN_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("JIFEN_TEST_REDIS_URL")


def pytest_report_header(config) -> str:
    database = "postgresql" if POSTGRES_ADMIN_URL else "sqlite"
    jobs = f"rq on {REDIS_URL}" if REDIS_URL else "inline"
    return f"jifen: database={database}, jobs={jobs}"


def pytest_collection_modifyitems(config, items) -> None:
    skip = pytest.mark.skip(reason="needs PostgreSQL: set JIFEN_TEST_DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords and not POSTGRES_ADMIN_URL:
            item.add_marker(skip)


def create_postgres_database(admin_url: str, prefix: str = "jifen_test") -> str:
    """A fresh empty database on the server of ``admin_url``; returns its URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if POSTGRES_ADMIN_URL:
        url = create_postgres_database(POSTGRES_ADMIN_URL)
        upgrade(url)
        yield url
        drop_postgres_database(POSTGRES_ADMIN_URL, url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'jifen.sqlite3'}"
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def config(database_url) -> Config:
    return Config(
        database_url=database_url,
        redis_url=REDIS_URL,
        queue_prefix=f"test-{secrets.token_hex(4)}-",
        secret_key="test-secret-key",
        log_json=False,
        testing=True,
        webhooks_allow_private=True,
    )


@pytest.fixture(scope="session")
def app(config):
    application = create_app(config)
    with application.app_context():
        yield application
    application.extensions["jifen.db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client):
    """An ``ApiClient`` helper bound to the Flask test client (see tests/factories.py)."""
    from factories import Api

    return Api(client)


@pytest.fixture(scope="module")
def live_server(app):
    """Browser tests: the app on a free loopback port, in a thread; yields its origin."""
    from browser_support import serve

    with serve(app) as origin:
        yield origin


@pytest.fixture(scope="module")
def browser():
    """Browser tests: Debian's Chromium through Playwright (a browser module calls
    ``browser_support.require_chromium()`` first, which skips it without one)."""
    from browser_support import launch

    with launch(pytest.importorskip("playwright.sync_api")) as chromium:
        yield chromium
