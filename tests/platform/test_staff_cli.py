"""``jifen platform create-staff`` on a fresh SQLite file: with ``--password-stdin`` the
user exists at once; without it an invitation waits in the outbox and its link is
printed. And ``jifen demo`` prints the sign-ins of its platform operator and finance
user, which work. The platform's last operator is kept."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import jifen.platform.shell.demo as demo

sys.path.append(str(Path(__file__).parent.parent / "console"))
from console_helpers import Console, html  # noqa: E402

PASSWORD = "a platform passphrase"


@pytest.fixture
def fresh(tmp_path, monkeypatch, run_cli):
    monkeypatch.setattr(demo, "DEMO_FILE", tmp_path / "instance" / "demo.json")
    env = {
        "JIFEN_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "JIFEN_SECRET_KEY": "cli-test-key",
        "JIFEN_BASE_URL": "https://console.jifen.test",
    }
    assert run_cli("db", "upgrade", env=env).exit_code == 0
    return env


@pytest.fixture
def console_of(fresh):
    """A test app on the fresh database, made after the commands ran; disposed after."""
    from jifen.platform.config import Config
    from jifen.platform.shell.app import create_app

    apps = []

    def make():
        config = Config(
            database_url=fresh["JIFEN_DATABASE_URL"],
            secret_key="cli-test-key",
            base_url=fresh["JIFEN_BASE_URL"],
            log_json=False,
            testing=True,
        )
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["jifen.db"].dispose()


def rows(env: dict, sql: str) -> list:
    engine = create_engine(env["JIFEN_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)))
    finally:
        engine.dispose()


def test_create_staff_with_a_password_from_stdin(run_cli, fresh, console_of):
    made = run_cli(
        "platform", "create-staff", "--email", "Ops@Example.test", "--role", "operator",
        "--password-stdin", env=fresh, input=PASSWORD + "\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    lines = made.stdout.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {"email": "ops@example.test", "role": "operator"}
    assert rows(fresh, "SELECT platform_role FROM staff_users") == [("operator",)]
    assert rows(fresh, "SELECT count(*) FROM messages") == [(0,)]

    app = console_of()
    with app.app_context():
        browser = Console(app.test_client())
        assert browser.login("ops@example.test", PASSWORD).status_code == 302
        assert browser.get("/console/operator/staff").status_code == 200
        last = rows(fresh, "SELECT id FROM staff_users")[0][0]
        browser.post(f"/console/operator/staff/{last}/role", {"role": "finance"})
        page = html(browser.get("/console/operator/staff"))
        assert "The last platform operator cannot lose the role" in page


def test_create_staff_refuses_a_short_password_and_a_taken_email(run_cli, fresh):
    short = run_cli(
        "platform", "create-staff", "--email", "f@example.test", "--role", "finance",
        "--password-stdin", env=fresh, input="too short\n",
    )  # fmt: skip
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    assert rows(fresh, "SELECT count(*) FROM staff_users") == [(0,)]
    args = ["platform", "create-staff", "--email", "f@example.test", "--role", "finance"]
    assert run_cli(*args, "--password-stdin", env=fresh, input=PASSWORD).exit_code == 0
    taken = run_cli(*args, "--password-stdin", env=fresh, input=PASSWORD)
    assert taken.exit_code == 1 and "already exists" in taken.output
    wrong_role = run_cli("platform", "create-staff", "--email", "x@example.test",
                         "--role", "owner", env=fresh)  # fmt: skip
    assert wrong_role.exit_code == 2


def test_create_staff_without_a_password_sends_an_invitation(run_cli, fresh, console_of):
    made = run_cli(
        "platform", "create-staff", "--email", "fin@example.test", "--role", "finance",
        "--locale", "en", env=fresh,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    printed = json.loads(made.stdout.strip())
    assert set(printed) == {"email", "role", "invitation_link", "invitation_expires"}
    assert (printed["email"], printed["role"]) == ("fin@example.test", "finance")
    link = printed["invitation_link"]
    token = re.fullmatch(r"https://console\.jifen\.test/console/invitations/(inv_\S+)", link)[1]
    assert rows(fresh, "SELECT count(*) FROM staff_users") == [(0,)]
    assert rows(fresh, "SELECT token_hash FROM staff_invitations") == [
        (hashlib.sha256(token.encode()).hexdigest(),)
    ]
    [(status, body)] = rows(fresh, "SELECT status, body FROM messages")
    assert status == "held" and link in body and "the platform team" in body

    app = console_of()
    with app.app_context():
        browser = Console(app.test_client())
        path = link.removeprefix("https://console.jifen.test")
        assert "fin@example.test" in html(browser.get(path))
        accepted = browser.post(path, {"password": PASSWORD, "password_again": PASSWORD})
        assert accepted.status_code == 303
        assert browser.get("/console/finance/batches").status_code == 200
        assert browser.get("/console/outbox").status_code == 403
        fresh_browser = Console(app.test_client())
        assert fresh_browser.login("fin@example.test", PASSWORD).status_code == 302
    assert rows(fresh, "SELECT platform_role FROM staff_users") == [("finance",)]


def test_demo_prints_sign_ins_of_its_operator_and_finance_user(run_cli, fresh, console_of):
    loaded = run_cli("demo", env=fresh)
    assert loaded.exit_code == 0, loaded.output
    summary = json.loads(loaded.output)
    assert summary["operator"] == "operator@demo.jifen.example"
    assert summary["finance"] == "finance@demo.jifen.example"
    app = console_of()
    with app.app_context():
        for email, allowed, refused in (
            (summary["operator"], "/console/outbox", None),
            (summary["finance"], "/console/finance/batches", "/console/outbox"),
        ):
            browser = Console(app.test_client())
            assert browser.login(email, summary["staff_password"]).status_code == 302
            assert browser.get(allowed).status_code == 200
            if refused:
                assert browser.get(refused).status_code == 403
