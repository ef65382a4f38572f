"""Messages tests: real servers on loopback (``message_servers``) and ``configure``,
which points the app's Config at them for one test (the session's app has no channel)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))


@pytest.fixture
def mail_server():
    """``mail_server(users=..., tls=..., implicit_tls=..., port=...)`` starts an SMTP
    server; every one started is stopped after the test."""
    from message_servers import MailServer

    started: list[MailServer] = []

    def start(**options) -> MailServer:
        server = MailServer(**options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    from message_servers import make_certificate

    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def sms_gateway():
    from message_servers import start_gateway

    gateway, stop = start_gateway()
    yield gateway
    stop()


@pytest.fixture
def configure(app, monkeypatch):
    """``configure(smtp_url=..., sms_url=...)``: the app's Config with these changes, for
    this test only."""

    def change(**changes):
        current = app.extensions["jifen.config"]
        monkeypatch.setitem(app.extensions, "jifen.config", replace(current, **changes))
        return app.extensions["jifen.config"]

    return change
