"""The ``jifen`` command on a fresh machine: migrate, load the demo (twice), audit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, func, select

import jifen.platform.shell.demo as demo
from jifen.tenants.model import Tenant


@pytest.fixture
def fresh_sqlite(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_FILE", tmp_path / "instance" / "demo.json")
    return {
        "JIFEN_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "JIFEN_SECRET_KEY": "cli-test-key",
    }


def tenants_in(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(Tenant)).scalar_one()
    finally:
        engine.dispose()


def test_db_upgrade_demo_twice_and_audit_on_a_fresh_sqlite_file(run_cli, fresh_sqlite):
    upgraded = run_cli("db", "upgrade", env=fresh_sqlite)
    assert upgraded.exit_code == 0, upgraded.output
    assert tenants_in(fresh_sqlite["JIFEN_DATABASE_URL"]) == 0

    first = run_cli("demo", env=fresh_sqlite)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert len(summary["created"]) == len(demo.DEMO_TENANTS)
    assert all(entry.get("client_secret") for entry in summary["tenants"])
    count = tenants_in(fresh_sqlite["JIFEN_DATABASE_URL"])
    assert count == len(demo.DEMO_TENANTS)

    again = run_cli("demo", env=fresh_sqlite)
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["created"] == []
    assert tenants_in(fresh_sqlite["JIFEN_DATABASE_URL"]) == count

    audited = run_cli("audit", env=fresh_sqlite)
    assert audited.exit_code == 0, audited.output
    assert "FAILED" not in audited.output


def test_audit_on_a_fresh_database_passes(run_cli, fresh_sqlite):
    assert run_cli("db", "upgrade", env=fresh_sqlite).exit_code == 0
    audited = run_cli("audit", env=fresh_sqlite)
    assert audited.exit_code == 0, audited.output


def test_demo_credentials_work_at_the_token_endpoint(run_cli, fresh_sqlite):
    from jifen.platform.config import Config
    from jifen.platform.shell.app import create_app

    assert run_cli("db", "upgrade", env=fresh_sqlite).exit_code == 0
    summary = json.loads(run_cli("demo", env=fresh_sqlite).output)
    app = create_app(Config(database_url=fresh_sqlite["JIFEN_DATABASE_URL"], log_json=False))
    try:
        entry = summary["tenants"][0]
        response = app.test_client().post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(entry["client_id"], entry["client_secret"]),
        )
        assert response.status_code == 200, response.get_json()
    finally:
        app.extensions["jifen.db"].dispose()
