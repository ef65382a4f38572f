"""Fixtures for the platform's tests."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from jifen.platform.shell.cli import main


@pytest.fixture
def run_cli(monkeypatch):
    """Run ``jifen`` with the given environment, like a shell would. Each command builds
    its own app and works in that app's context, so the session's app is left as it was."""

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
        for name in ("JIFEN_DATABASE_URL", "JIFEN_REDIS_URL", "JIFEN_MIGRATE_DATABASE_URL"):
            monkeypatch.delenv(name, raising=False)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    return run
