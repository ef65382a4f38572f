"""Helpers for the widget tests: a small world of two merchants and one card (with an
email on file at the first), and a wallet user over the Flask test client."""

from __future__ import annotations

import email
import email.message
import email.policy
import re
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import timedelta

from factories import TenantHandle, holder_code, unique
from sqlalchemy import select

MERCHANT_ORIGIN = "https://shop.example"


@dataclass
class World:
    client: object
    a: TenantHandle
    b: TenantHandle
    card_number: str
    member_a: str
    member_b: str
    reward_id: str
    email: str  # the card's contact: member_a's email at ``a``

    def member_token(self, tenant: TenantHandle | None = None, member: str | None = None) -> str:
        tenant = tenant or self.a
        response = self.client.post(
            f"/v1/members/{member or self.member_a}/tokens", json={}, headers=tenant.auth
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()["token"]

    def set_origins(self, tenant: TenantHandle, origins: list[str]) -> dict:
        response = self.client.put(
            "/v1/widgets/settings", json={"allowed_origins": origins}, headers=tenant.auth
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def balance(self, tenant: TenantHandle, member: str) -> int:
        response = self.client.get(f"/v1/members/{member}/balance", headers=tenant.auth)
        return response.get_json()["points"]


def _post(client, path: str, body: dict, tenant: TenantHandle) -> dict:
    response = client.post(path, json=body, headers=tenant.auth)
    assert response.status_code in (200, 201), (path, response.get_json())
    return response.get_json()


def build_world(client, api, *, origins: list[str]) -> World:
    a, b = api.signup(plan="growth"), api.signup(plan="growth")
    for tenant, rate in ((a, "0.01"), (b, "0.02")):
        response = client.put(
            "/v1/exchange/settings",
            json={"spu_rate": rate, "inbound": True, "outbound": True},
            headers=tenant.auth,
        )
        assert response.status_code == 200, response.get_json()
    email = f"{unique('holder-')}@example.com"
    member_a = _post(client, "/v1/members", {"external_id": unique("ext-"), "email": email}, a)
    member_b = _post(
        client,
        "/v1/members",
        {
            "external_id": unique("ext-"),
            "card_number": member_a["card_number"],
            "holder_code": holder_code(member_a["card_number"]),
        },
        b,
    )
    _post(
        client,
        "/v1/awards",
        {"member_id": member_a["id"], "event": "manual", "points": 5000, "reason": "welcome"},
        a,
    )
    reward = _post(
        client, "/v1/rewards", {"kind": "virtual", "name": "Green tea", "price_points": 300}, a
    )
    _post(client, f"/v1/rewards/{reward['id']}/codes", {"codes": [unique("CODE-")] * 1}, a)
    _post(client, f"/v1/rewards/{reward['id']}/codes", {"codes": [unique("CODE-")]}, a)
    world = World(
        client, a, b, member_a["card_number"], member_a["id"], member_b["id"], reward["id"], email
    )
    world.set_origins(a, origins)
    return world


def expire_member_token(token: str) -> None:
    """Move a member token's expiry into the past (as if an hour went by)."""
    from jifen.platform import clock
    from jifen.platform.auth import secrets
    from jifen.platform.db import unit_of_work
    from jifen.tenants.members.model import MemberToken

    with unit_of_work(platform=True) as uow:
        row = uow.session.scalar(
            select(MemberToken).where(MemberToken.token_hash == secrets.digest(token))
        )
        row.expires_at = clock.now() - timedelta(seconds=1)
        uow.commit()


# --- the wallet over the Flask test client ------------------------------------------------


def new_address() -> str:
    """A client address of its own: throttles count per address, and the app (with its
    counters) lives for the whole test session."""
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def csrf_of(response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def last_message_to(recipient: str, template: str = "holder_code") -> str | None:
    """The body of the newest message to ``recipient``, as the outbox holds it (the test
    app has no mail server)."""
    from jifen.platform.db import unit_of_work
    from jifen.platform.messages.model import Message

    with unit_of_work(platform=True) as uow:
        return uow.session.scalar(
            select(Message.body)
            .where(Message.recipient == recipient, Message.template == template)
            .order_by(Message.created.desc(), Message.id.desc())
            .limit(1)
        )


def code_in(body: str | None) -> str | None:
    found = re.search(r"\b(\d{6})\b", body or "")
    return found.group(1) if found else None


def messages_to(recipient: str) -> int:
    from jifen.platform.db import unit_of_work
    from jifen.platform.messages.model import Message

    with unit_of_work(platform=True) as uow:
        return len(
            uow.session.scalars(select(Message.id).where(Message.recipient == recipient)).all()
        )


class WalletUser:
    """Someone using ``/wallet`` from one browser (a test client) and one address."""

    def __init__(self, app, address: str | None = None):
        self.client = app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = address or new_address()
        self.csrf = ""

    def get(self, path: str, **kwargs):
        response = self.client.get(path, **kwargs)
        self._note(response)
        return response

    def post(self, path: str, data: dict | None = None, **kwargs):
        if not self.csrf:
            self.get("/wallet/sign-in")
        response = self.client.post(path, data={"csrf": self.csrf, **(data or {})}, **kwargs)
        self._note(response)
        return response

    def _note(self, response) -> None:
        if response.status_code in (302, 303):
            self.csrf = ""  # a sign-in or sign-out rotates it: read the next page's
        elif 'name="csrf"' in response.get_data(as_text=True):
            self.csrf = csrf_of(response)

    def ask_code(self, card_number: str, channel: str = "email"):
        return self.post("/wallet/code", {"card_number": card_number, "channel": channel})

    def enter_code(self, card_number: str, code: str):
        return self.post("/wallet/sign-in", {"card_number": card_number, "code": code})

    def sign_in(self, world: World):
        """Sign in by a code sent to the card's email; the wallet page after it."""
        asked = self.ask_code(world.card_number)
        assert asked.status_code == 200, asked.get_data(as_text=True)
        signed_in = self.enter_code(world.card_number, code_in(last_message_to(world.email)))
        assert signed_in.status_code == 302, signed_in.get_data(as_text=True)
        assert signed_in.headers["Location"].endswith("/wallet")
        return self.get("/wallet")

    def sign_in_with_password(self, card_number: str, password: str):
        return self.post(
            "/wallet/sign-in/password", {"card_number": card_number, "password": password}
        )


# --- a real mail server ------------------------------------------------------------------


class MailBox:
    """A real SMTP server (aiosmtpd) on a free loopback port that keeps what it receives."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []
        self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def start(self) -> MailBox:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def wait_for(self, recipient: str, timeout: float = 10) -> email.message.EmailMessage:
        """The newest message to ``recipient``, waiting for it up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for recipients, message in reversed(self.received):
                if recipient in recipients:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no mail to {recipient} within {timeout} s")
