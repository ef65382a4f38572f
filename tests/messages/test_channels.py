"""The channels against real servers on loopback: SMTP (plain, AUTH, STARTTLS, implicit
TLS) and an HTTP SMS gateway."""

from __future__ import annotations

import pytest
from message_servers import free_port, text_of

from jifen.platform.config import Config
from jifen.platform.messages import channels
from jifen.platform.messages.channels import (
    ChannelError,
    EmailChannel,
    Outgoing,
    SmsChannel,
    SmtpSettings,
    parse_smtp_url,
)

SENDER = "Jifen <no-reply@jifen.example>"


def outgoing(body: str = "Your Jifen sign-in code is 482913.\n") -> Outgoing:
    return Outgoing(
        id="msg_TestMessage0000001",
        recipient="holder@example.com",
        subject="您的积分卡登录验证码",
        body=body,
        locale="zh-CN",
    )


# --- URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", SmtpSettings("mail.example.com", 25, "plain")),
        ("smtp://127.0.0.1:2525", SmtpSettings("127.0.0.1", 2525, "plain")),
        ("smtp+starttls://mail.example.com", SmtpSettings("mail.example.com", 587, "starttls")),
        ("SMTPS://mail.example.com", SmtpSettings("mail.example.com", 465, "tls")),
        (
            "smtp+starttls://jifen%40example.com:p%3Ass%2Fw@smtp.example.com:2587",
            SmtpSettings("smtp.example.com", 2587, "starttls", "jifen@example.com", "p:ss/w"),
        ),
        ("smtps://apikey@mail.example.com", SmtpSettings("mail.example.com", 465, "tls", "apikey")),
    ],
)
def test_smtp_urls(url, expected):
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    "url", ["http://mail.example.com", "smtp://", "mail.example.com:25", "smtp://host:notaport"]
)
def test_a_bad_smtp_url_is_refused(url):
    with pytest.raises(ValueError):
        parse_smtp_url(url)


def test_settings_never_show_the_password():
    settings = parse_smtp_url("smtp://user:hunter2secret@mail.example.com")
    assert "hunter2secret" not in repr(settings)


def test_a_channel_exists_only_when_configured():
    assert channels.for_channel("email", Config()) is None
    assert channels.for_channel("sms", Config()) is None
    assert isinstance(channels.for_channel("email", Config(smtp_url="smtp://h")), EmailChannel)
    assert isinstance(channels.for_channel("sms", Config(sms_url="http://h/s")), SmsChannel)


# --- email ------------------------------------------------------------------------------


def test_an_email_reaches_a_plain_smtp_server(mail_server):
    server = mail_server()
    EmailChannel(f"smtp://127.0.0.1:{server.port}", SENDER).send(outgoing())
    [received] = server.received
    assert received.mail_from == "no-reply@jifen.example"
    assert received.rcpt_tos == ["holder@example.com"]
    message = received.message
    assert message["Subject"] == "您的积分卡登录验证码"
    assert message["From"] == SENDER and message["To"] == "holder@example.com"
    assert message["Message-ID"] == "<msg_TestMessage0000001@jifen.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    assert text_of(message) == "Your Jifen sign-in code is 482913.\n"


def test_chinese_text_survives_the_trip(mail_server):
    server = mail_server()
    body = "您的积分卡登录验证码是 482913。\n"
    EmailChannel(f"smtp://127.0.0.1:{server.port}", SENDER).send(outgoing(body))
    assert text_of(server.received[0].message) == body


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_with_the_urls_user(mail_server):
    server = mail_server(users={"jifen@example.com": "s3cret:pass"})
    url = f"smtp://jifen%40example.com:s3cret%3Apass@127.0.0.1:{server.port}"
    EmailChannel(url, SENDER).send(outgoing())
    assert len(server.received) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_wrong_password_is_a_failure_without_the_text(mail_server):
    server = mail_server(users={"jifen": "right"})
    with pytest.raises(ChannelError) as failure:
        EmailChannel(f"smtp://jifen:wrong@127.0.0.1:{server.port}", SENDER).send(outgoing())
    assert "SMTPAuthenticationError" in str(failure.value) and "482913" not in str(failure.value)
    assert "wrong" not in str(failure.value)
    assert server.received == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_server_that_needs_login_refuses_a_url_without_user(mail_server):
    server = mail_server(users={"jifen": "right"})
    with pytest.raises(ChannelError):
        EmailChannel(f"smtp://127.0.0.1:{server.port}", SENDER).send(outgoing())


def test_starttls_with_login(mail_server, certificate):
    server = mail_server(tls=certificate.server_context(), users={"jifen": "pw"})
    channel = EmailChannel(
        f"smtp+starttls://jifen:pw@127.0.0.1:{server.port}",
        SENDER,
        ssl_context=certificate.client_context(),
    )
    channel.send(outgoing())
    assert len(server.received) == 1


def test_starttls_refuses_a_certificate_it_cannot_verify(mail_server, certificate):
    server = mail_server(tls=certificate.server_context())
    with pytest.raises(ChannelError) as failure:
        EmailChannel(f"smtp+starttls://127.0.0.1:{server.port}", SENDER).send(outgoing())
    assert "SSL" in str(failure.value) or "certificate" in str(failure.value)
    assert server.received == []


def test_implicit_tls(mail_server, certificate):
    server = mail_server(implicit_tls=certificate.server_context())
    channel = EmailChannel(
        f"smtps://127.0.0.1:{server.port}", SENDER, ssl_context=certificate.client_context()
    )
    channel.send(outgoing())
    assert len(server.received) == 1


def test_a_server_that_is_down_is_a_failure():
    with pytest.raises(ChannelError) as failure:
        EmailChannel(f"smtp://127.0.0.1:{free_port()}", SENDER, timeout=2).send(outgoing())
    assert "ConnectionRefusedError" in str(failure.value)


# --- SMS --------------------------------------------------------------------------------


def test_an_sms_goes_to_the_gateway_as_json_with_the_token(sms_gateway):
    SmsChannel(sms_gateway.url, "tok_sms_123").send(outgoing("积分卡验证码 482913"))
    [(headers, body)] = sms_gateway.received
    assert body == {"to": "holder@example.com", "text": "积分卡验证码 482913"}
    assert headers["authorization"] == "Bearer tok_sms_123"
    assert headers["content-type"] == "application/json"


def test_a_gateway_refusal_is_a_failure_without_its_echo(sms_gateway):
    sms_gateway.status = 503
    with pytest.raises(ChannelError) as failure:
        SmsChannel(sms_gateway.url, "tok").send(outgoing("积分卡验证码 482913"))
    assert str(failure.value) == "SMS gateway answered HTTP 503"


def test_a_gateway_that_is_down_is_a_failure():
    with pytest.raises(ChannelError) as failure:
        SmsChannel(f"http://127.0.0.1:{free_port()}/sms", "tok", timeout=2).send(outgoing())
    assert "ConnectionError" in str(failure.value)
