"""The operator console's outbox page: platform operators read it (held messages with
their text, so a code can be read with no mail server), in English and Chinese; tenant
staff are refused."""

from __future__ import annotations

import sys
from pathlib import Path

from outbox_helpers import load, new_code, send

from jifen.platform.auth.model import Role

sys.path.append(str(Path(__file__).parent.parent / "console"))
from console_helpers import Console, html, make_staff  # noqa: E402


def operator(app) -> Console:
    console = Console(app.test_client())
    assert console.login(make_staff(platform_operator=True)[1]).status_code == 302
    return console


def test_an_operator_reads_a_held_code_in_the_outbox(app):
    code = new_code()
    message_id = send(code=code, to="reader@example.com")
    page = operator(app).get("/console/outbox")
    assert page.status_code == 200
    body = html(page)
    assert f'id="message-{message_id}"' in body
    assert code in body and "reader@example.com" in body and "holder_code" in body
    assert 'id="outbox-held-note"' in body


def test_a_sent_message_shows_no_text(app, monkeypatch):
    from jifen.platform.messages import channels

    class Quiet:
        def send(self, message):
            pass

    monkeypatch.setattr(channels, "for_channel", lambda channel, config=None: Quiet())
    code = new_code()
    message_id = send(code=code, sensitive=False)
    assert load(message_id).status == "sent"
    body = html(operator(app).get("/console/outbox?status=sent"))
    assert f'id="message-{message_id}"' in body and code not in body


def test_the_outbox_filters_by_status_and_pages(app):
    send(code=new_code())
    console = operator(app)
    body = html(console.get("/console/outbox?status=failed"))
    assert "status-held" not in body
    assert console.get("/console/outbox?status=nonsense").status_code == 200
    assert console.get("/console/outbox?after=msg_missing").status_code == 404


def test_the_outbox_speaks_chinese(app):
    send(code=new_code())
    console = operator(app)
    page = console.get("/console/outbox", headers={"Accept-Language": "zh-CN"})
    body = html(page)
    assert "发件箱" in body and "收件人" in body and "暂存" in body


def test_tenant_staff_may_not_read_the_outbox(app):
    from factories import Api

    tenant = Api(app.test_client()).signup()
    console = Console(app.test_client())
    _user_id, email = make_staff({tenant.id: Role.OWNER})
    console.login(email)
    assert console.get("/console/outbox").status_code == 403
