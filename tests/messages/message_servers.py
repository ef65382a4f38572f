"""Real servers on loopback for the messages tests: an SMTP server (aiosmtpd: plain,
with AUTH, STARTTLS or implicit TLS, its certificate self-signed by ``cryptography``)
and an SMS gateway (``http.server`` in a thread)."""

from __future__ import annotations

import datetime as dt
import email
import email.message
import email.policy
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- SMTP -------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage


@dataclass
class MailServer:
    """An aiosmtpd server on 127.0.0.1; ``received`` lists every message it accepted."""

    port: int = field(default_factory=free_port)
    users: dict[str, str] | None = None  # AUTH required, with these logins
    tls: ssl.SSLContext | None = None  # STARTTLS offered and required
    implicit_tls: ssl.SSLContext | None = None  # smtps
    received: list[Received] = field(default_factory=list)
    controller: object = None

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (
            isinstance(auth_data, LoginPassword)
            and (self.users or {}).get(auth_data.login.decode()) == auth_data.password.decode()
        )
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    def start(self) -> MailServer:
        from aiosmtpd.controller import Controller

        options: dict = {}
        if self.users is not None:
            options.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=self.tls is not None,
            )
        if self.tls is not None:
            options.update(tls_context=self.tls, require_starttls=True)
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=self.implicit_tls,
            server_hostname="mail.test",
            **options,
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def text_of(message: email.message.EmailMessage) -> str:
    """The plain-text body as sent, with the wire's CRLF read as newlines."""
    return message.get_content().replace("\r\n", "\n")


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def make_certificate(folder: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and ``localhost``, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(folder / "cert.pem", folder / "key.pem")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


# --- the SMS gateway --------------------------------------------------------------------


@dataclass
class Gateway:
    """Records each POST (lower-cased headers, JSON body) and answers ``status`` with a
    body that repeats what it got, as some gateways do."""

    status: int = 200
    received: list[tuple[dict[str, str], dict]] = field(default_factory=list)
    url: str = ""


def start_gateway() -> tuple[Gateway, Callable[[], None]]:
    gateway = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            gateway.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            answer = json.dumps({"echo": body}).encode()
            self.send_response(gateway.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway.url = f"http://127.0.0.1:{server.server_port}/sms"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return gateway, stop
