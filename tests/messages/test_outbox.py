"""The outbox end to end: recorded with its cause, sent after commit to a real SMTP server
or SMS gateway on loopback, retried with backoff when the server is down, never sent
twice, held when nothing is configured, and never leaking a code into logs or errors.

Runs with jobs inline or on RQ (``drain_jobs`` runs what a worker would)."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

import pytest
from factories import drain_jobs
from message_servers import free_port, text_of
from outbox_helpers import load, new_code, send

from jifen.platform import clock, jobs
from jifen.platform.db import unit_of_work
from jifen.platform.errors import Unprocessable
from jifen.platform.messages import channels, services
from jifen.platform.messages.model import Message

SERVER_LOGGERS = ("mail.log",)  # the test SMTP server logs what it receives; Jifen must not


def jifen_logs(caplog) -> str:
    return "\n".join(
        record.getMessage() for record in caplog.records if record.name not in SERVER_LOGGERS
    )


class FakeSender:
    """A sender that records, and can run code while it is 'sending'."""

    def __init__(self, during=None):
        self.sent: list[channels.Outgoing] = []
        self.during = during

    def send(self, message: channels.Outgoing) -> None:
        if self.during is not None:
            self.during(message)
        self.sent.append(message)


# --- held -------------------------------------------------------------------------------


def test_with_no_channel_configured_a_message_is_held_and_readable(app):
    code = new_code()
    message_id = send(code=code)
    message = load(message_id)
    assert message.id.startswith("msg_")
    assert (message.status, message.attempts, message.next_attempt_at) == ("held", 0, None)
    assert code in message.body and message.subject == "Your Jifen sign-in code"
    assert services.deliver(message_id) == "held"
    services.retry_due()
    drain_jobs()
    assert load(message_id).status == "held"


def test_sensitive_held_text_is_removed_after_a_day(app):
    sensitive = send(code=new_code())
    plain = send(code=new_code(), sensitive=False)
    with clock.frozen_at(clock.now() + services.HELD_SENSITIVE_FOR + timedelta(minutes=1)):
        services.retry_due()
    assert load(sensitive).body == services.REMOVED
    assert load(plain).body != services.REMOVED


# --- email ------------------------------------------------------------------------------


def test_an_email_goes_out_after_commit_and_its_code_is_removed(
    app, mail_server, configure, caplog
):
    caplog.set_level(logging.DEBUG)
    server = mail_server()
    configure(smtp_url=f"smtp://127.0.0.1:{server.port}", mail_from="Jifen <no-reply@jifen.test>")
    code = new_code()
    with unit_of_work(platform=True) as uow:
        message_id = services.send(
            uow,
            channel="email",
            to="holder@example.com",
            template="holder_code",
            locale="zh-CN",
            context={"code": code, "minutes": 10},
            sensitive=True,
        )
        assert server.received == []  # nothing leaves before the commit
        uow.commit()
    drain_jobs()
    [received] = server.received
    assert received.rcpt_tos == ["holder@example.com"]
    assert received.message["Subject"] == "您的积分卡登录验证码"
    assert received.message["Message-ID"] == f"<{message_id}@jifen.test>"
    assert f"您的积分卡登录验证码是 {code}。" in text_of(received.message)
    message = load(message_id)
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, None)
    assert message.sent_at is not None and message.lease_until is None
    assert message.body == services.REMOVED and code not in (message.subject or "")
    logs = jifen_logs(caplog)
    assert message_id in logs and "holder_code" in logs
    assert code not in logs


def test_a_rolled_back_message_is_neither_kept_nor_sent(app, mail_server, configure):
    server = mail_server()
    configure(smtp_url=f"smtp://127.0.0.1:{server.port}")
    with unit_of_work(platform=True) as uow:
        message_id = services.send(
            uow,
            channel="email",
            to="holder@example.com",
            template="holder_code",
            locale="en",
            context={"code": new_code(), "minutes": 10},
        )
    drain_jobs()
    assert load(message_id) is None and server.received == []


def test_a_server_that_is_down_and_comes_back_gets_the_message_once(
    app, mail_server, configure, caplog
):
    caplog.set_level(logging.DEBUG)
    port = free_port()
    configure(smtp_url=f"smtp://127.0.0.1:{port}")
    code = new_code()
    message_id = send(code=code)

    message = load(message_id)
    assert (message.status, message.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in message.last_error and code not in message.last_error
    assert code in message.body  # kept until it is delivered
    failed_at = message.next_attempt_at - services.BACKOFF[0]
    assert abs((failed_at - clock.now()).total_seconds()) < 30

    server = mail_server(port=port)
    services.retry_due()  # not due yet: the backoff is 10 s
    drain_jobs()
    assert server.received == [] and load(message_id).attempts == 1

    with clock.frozen_at(message.next_attempt_at + timedelta(seconds=1)):
        assert services.retry_due()["due"] >= 1
        drain_jobs()
    assert len(server.received) == 1
    assert code in text_of(server.received[0].message)
    message = load(message_id)
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, None)
    assert message.body == services.REMOVED

    with clock.frozen_at(clock.now() + timedelta(hours=1)):
        services.retry_due()
        drain_jobs()
        assert services.deliver(message_id) == "sent"  # a repeated job is a no-op
    assert len(server.received) == 1
    assert code not in jifen_logs(caplog)


def test_after_eight_failed_attempts_a_message_has_failed(app, configure):
    configure(smtp_url=f"smtp://127.0.0.1:{free_port()}")
    code = new_code()
    message_id = send(code=code)
    for attempt in range(2, services.MAX_ATTEMPTS + 1):
        message = load(message_id)
        assert (message.status, message.attempts) == ("pending", attempt - 1)
        with clock.frozen_at(message.next_attempt_at - timedelta(seconds=1)):
            assert services.deliver(message_id) == "pending"  # not due: nothing tried
        with clock.frozen_at(message.next_attempt_at):
            status = services.deliver(message_id)
            if attempt < services.MAX_ATTEMPTS:
                waited = load(message_id).next_attempt_at - clock.now()
                assert waited == services.BACKOFF[attempt - 1]
    assert status == "failed"
    message = load(message_id)
    assert (message.status, message.attempts) == ("failed", services.MAX_ATTEMPTS)
    assert message.next_attempt_at is None and message.last_error
    assert message.body == services.REMOVED
    assert services.BACKOFF[:4] == [timedelta(seconds=s) for s in (10, 60, 300, 900)]


# --- leases -----------------------------------------------------------------------------


def test_two_workers_never_send_one_message_at_once(app, monkeypatch):
    seen: list[str] = []
    sender = FakeSender(during=lambda message: seen.append(services.deliver(message.id)))
    monkeypatch.setattr(channels, "for_channel", lambda channel, config=None: sender)
    message_id = send(code=new_code(), sensitive=False)
    assert seen == ["pending"]  # the second worker found the lease taken
    assert len(sender.sent) == 1
    assert load(message_id).status == "sent"
    assert services.deliver(message_id) == "sent" and len(sender.sent) == 1


def test_a_message_of_a_worker_killed_mid_send_goes_out_after_its_lease(app, monkeypatch):
    def crash(message):
        raise RuntimeError("worker killed")

    crashing, working = FakeSender(during=crash), FakeSender()
    current = {"sender": crashing}
    monkeypatch.setattr(channels, "for_channel", lambda channel, config=None: current["sender"])
    monkeypatch.setattr(jobs, "enqueue_after_commit", lambda *args, **kwargs: None)  # lost
    message_id = send(code=new_code())
    with pytest.raises(RuntimeError):
        services.deliver(message_id)
    message = load(message_id)
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.lease_until is not None

    current["sender"] = working
    with clock.frozen_at(clock.now() + timedelta(seconds=30)):
        services.retry_due()  # still leased
        drain_jobs()
    assert working.sent == []
    with clock.frozen_at(message.lease_until + timedelta(seconds=1)):
        services.retry_due()
        drain_jobs()
    assert len(working.sent) == 1 and load(message_id).status == "sent"


def test_a_message_whose_enqueue_was_lost_goes_out_with_the_next_retry_run(app, monkeypatch):
    sender = FakeSender()
    monkeypatch.setattr(channels, "for_channel", lambda channel, config=None: sender)
    monkeypatch.setattr(jobs, "enqueue_after_commit", lambda *args, **kwargs: None)
    message_id = send(code=new_code())
    assert sender.sent == [] and load(message_id).status == "pending"
    services.retry_due()
    drain_jobs()
    assert [m.id for m in sender.sent] == [message_id]


# --- SMS --------------------------------------------------------------------------------


def test_an_sms_goes_through_the_gateway(app, sms_gateway, configure):
    configure(sms_url=sms_gateway.url, sms_token="tok_gateway")
    code = new_code()
    message_id = send(code=code, channel="sms", to="+86 138 0013 8000", locale="zh-CN")
    [(headers, body)] = sms_gateway.received
    assert headers["authorization"] == "Bearer tok_gateway"
    assert body == {
        "to": "+86 138 0013 8000",
        "text": f"【积分卡】验证码 {code}，10 分钟内有效，请勿告诉他人。",
    }
    message = load(message_id)
    assert message.status == "sent" and message.subject is None


def test_a_gateway_that_echoes_the_text_leaves_no_code_in_the_error(
    app, sms_gateway, configure, caplog
):
    caplog.set_level(logging.DEBUG)
    sms_gateway.status = 502
    configure(sms_url=sms_gateway.url, sms_token="tok")
    code = new_code()
    message_id = send(code=code, channel="sms", to="+8613800138000")
    message = load(message_id)
    assert message.status == "pending" and message.last_error == "SMS gateway answered HTTP 502"
    assert code not in jifen_logs(caplog)


def test_a_bad_smtp_url_is_a_failed_attempt_not_a_failed_transaction(app, configure):
    configure(smtp_url="smtp+ssl://mail.example.com")
    message = load(send(code=new_code()))
    assert message.status == "pending" and "unsupported scheme" in message.last_error


def test_an_email_only_configuration_holds_text_messages(app, configure):
    configure(smtp_url="smtp://127.0.0.1:1")
    assert load(send(code=new_code(), channel="sms", to="+8613800138000")).status == "held"


def test_an_error_that_quotes_the_message_is_scrubbed():
    body = "Your Jifen sign-in code is 482913.\nOpen https://jifen.example/s?t=abc9\n"
    error = (
        "550 content rejected: 'Your Jifen sign-in code is 482913.' https://jifen.example/s?t=abc9"
    )
    scrubbed = services._scrub(error, body)
    assert "482913" not in scrubbed and "t=abc9" not in scrubbed
    assert scrubbed.startswith("550 content rejected")


# --- refusals ---------------------------------------------------------------------------


def test_send_refuses_what_it_cannot_send(app):
    with unit_of_work(platform=True) as uow:
        base = {"template": "holder_code", "locale": "en", "context": {"code": "1", "minutes": 1}}
        with pytest.raises(ValueError):
            services.send(uow, channel="fax", to="holder@example.com", **base)
        with pytest.raises(Unprocessable):
            services.send(uow, channel="email", to="not an address", **base)
        with pytest.raises(Unprocessable):
            services.send(uow, channel="sms", to="holder@example.com", **base)
        with pytest.raises(ValueError):
            services.send(uow, channel="email", to="holder@example.com", **{
                **base, "template": "no_such_template"})  # fmt: skip


def test_retry_due_is_the_periodic_messages_job():
    job = jobs.periodic_jobs()["messages"]
    assert job.run is services.retry_due and job.cron == "* * * * *"
    assert job.queue in jobs.QUEUES and job.description


# --- the console's list -----------------------------------------------------------------


def test_the_outbox_lists_newest_first_in_pages(app):
    ids = [send(code=new_code(), sensitive=False) for _ in range(3)]
    first = services.list_outbox({"limit": 2})
    assert [m.id for m in first["data"]] == ids[::-1][:2] and first["has_more"]
    second = services.list_outbox({"limit": 1, "starting_after": first["data"][-1].id})
    assert [m.id for m in second["data"]] == [ids[0]]
    held = services.list_outbox({"limit": 100, "status": "held"})
    assert {m.status for m in held["data"]} == {"held"}


# --- PostgreSQL row-level security ---------------------------------------------------------


@pytest.mark.postgres
def test_a_tenant_may_record_a_message_but_never_read_one(app):
    from sqlalchemy import select
    from sqlalchemy.exc import DBAPIError

    tenant_id = "ten_" + secrets.token_hex(8)
    with unit_of_work(tenant_id=tenant_id) as uow:
        message_id = services.send(
            uow,
            channel="email",
            to="holder@example.com",
            template="holder_code",
            locale="en",
            context={"code": new_code(), "minutes": 10},
            tenant_id=tenant_id,
        )
        uow.commit()
    with unit_of_work(tenant_id=tenant_id) as uow:
        assert uow.session.scalars(select(Message.id)).all() == []
    assert load(message_id).tenant_id == tenant_id
    with pytest.raises(DBAPIError), unit_of_work(tenant_id=tenant_id) as uow:
        services.send(
            uow,
            channel="email",
            to="holder@example.com",
            template="holder_code",
            locale="en",
            context={"code": new_code(), "minutes": 10},
            tenant_id="ten_someone_else",
        )
        uow.commit()
