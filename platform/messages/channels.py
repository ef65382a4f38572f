"""The two ways a message reaches a person: email over SMTP, SMS through an HTTP gateway.

Both are configured by ``Config`` (``JIFEN_SMTP_URL`` and ``JIFEN_MAIL_FROM``;
``JIFEN_SMS_URL`` and ``JIFEN_SMS_TOKEN``) and read where they are used, from the app's
Config (``current_app.extensions["jifen.config"]``: requests and RQ workers both run in
an app context), else from the environment — as billing and settlement read theirs.
A channel that is not configured is ``None``: the outbox then holds its messages.

``send`` raises ``ChannelError`` with a short reason on any failure (connection, TLS,
authentication, refusal, a non-2xx answer). The reason never carries the message's
text: a gateway's reply is reduced to its status code, since it may echo what it got.

SMTP URLs: ``smtp://[user:password@]host[:port]`` (plain, port 25),
``smtp+starttls://…`` (STARTTLS, port 587), ``smtps://…`` (implicit TLS, port 465).
User and password are percent-decoded; Jifen logs in only when a user is given.
Certificates are verified against the system's CA bundle (``SSL_CERT_FILE`` names another).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit

import requests
from flask import current_app, has_app_context

from jifen.platform import clock
from jifen.platform.config import Config

TIMEOUT_SECONDS = 10
SMTP_SCHEMES = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}


class ChannelError(Exception):
    """A message could not be handed over; ``str()`` is the reason, free of its text."""


@dataclass(frozen=True)
class Outgoing:
    """What a channel needs of an outbox row."""

    id: str
    recipient: str
    subject: str | None
    body: str
    locale: str


class Sender(Protocol):
    def send(self, message: Outgoing) -> None: ...


def settings() -> Config:
    if has_app_context() and "jifen.config" in current_app.extensions:
        return current_app.extensions["jifen.config"]
    return Config.from_env()


def for_channel(channel: str, config: Config | None = None) -> Sender | None:
    """The sender configured for ``channel`` (``email`` or ``sms``), or None."""
    config = config or settings()
    if channel == "email" and config.smtp_url:
        return EmailChannel(config.smtp_url, config.mail_from)
    if channel == "sms" and config.sms_url:
        return SmsChannel(config.sms_url, config.sms_token)
    return None


# --- email ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # plain | starttls | tls
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never show the password
        return f"SmtpSettings({self.security}://{self.host}:{self.port}, user={self.username!r})"


def parse_smtp_url(url: str) -> SmtpSettings:
    """Raises ValueError for another scheme, a missing host or a bad port."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SMTP_SCHEMES:
        raise ValueError(f"JIFEN_SMTP_URL: unsupported scheme {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("JIFEN_SMTP_URL: no host")
    security, default_port = SMTP_SCHEMES[scheme]
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or default_port,  # raises ValueError for a bad port
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


class EmailChannel:
    def __init__(
        self,
        url: str,
        sender: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ):
        self.url = url
        self.sender = sender
        self.ssl_context = ssl_context
        self.timeout = timeout

    def build(self, message: Outgoing) -> EmailMessage:
        """The email: plain UTF-8 text, with a ``Message-ID`` made of the outbox id, so a
        retried send after a lost reply can be recognised by the receiver."""
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        email["Date"] = format_datetime(clock.now())
        email["Message-ID"] = message_id_header(message.id, self.sender)
        email["Content-Language"] = message.locale
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        email.set_content(message.body)
        return email

    def send(self, message: Outgoing) -> None:
        """A bad ``JIFEN_SMTP_URL`` is a failure of the send (recorded, retried), never an
        error of the transaction that recorded the message."""
        try:
            smtp = parse_smtp_url(self.url)
            email = self.build(message)
            with self._connect(smtp) as client:
                if smtp.security == "starttls":
                    client.starttls(context=self._context())
                if smtp.username:
                    client.login(smtp.username, smtp.password or "")
                client.send_message(email)
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            raise ChannelError(_reason(exc)) from None

    def _connect(self, smtp: SmtpSettings) -> smtplib.SMTP:
        """Connected; smtplib says EHLO itself before STARTTLS, AUTH and MAIL."""
        if smtp.security == "tls":
            return smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=self.timeout, context=self._context()
            )
        return smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout)

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()


def message_id_header(message_id: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "jifen.localhost"
    return f"<{message_id}@{domain}>"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"{type(exc).__name__}: {exc.smtp_code} {reply}"[:500]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = ", ".join(str(code) for code, _reply in exc.recipients.values())
        return f"SMTPRecipientsRefused: {codes}"
    return f"{type(exc).__name__}: {exc}"[:500]


# --- SMS --------------------------------------------------------------------------------


class SmsChannel:
    """POST ``{"to", "text"}`` as JSON with ``Authorization: Bearer <token>``; any 2xx
    answer is success."""

    def __init__(self, url: str, token: str | None, *, timeout: float = TIMEOUT_SECONDS):
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, message: Outgoing) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = requests.post(
                self.url,
                json={"to": message.recipient, "text": message.body},
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise ChannelError(f"{type(exc).__name__}: could not reach the SMS gateway") from None
        if not 200 <= response.status_code < 300:
            raise ChannelError(f"SMS gateway answered HTTP {response.status_code}")
