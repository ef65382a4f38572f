"""Helpers for the card holder tests: a fresh client address per test (throttles count
per address, and the app lives for the whole session), reading a sign-in code from the
outbox, and signing a holder in over HTTP."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select

from jifen.platform.db import unit_of_work
from jifen.platform.messages.model import Message


def new_address() -> str:
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def last_code_sent_to(recipient: str) -> str | None:
    """The 6-digit code in the newest message to ``recipient`` (held in the outbox: the
    test app has no mail server)."""
    with unit_of_work(platform=True) as uow:
        body = uow.session.scalar(
            select(Message.body)
            .where(Message.recipient == recipient, Message.template == "holder_code")
            .order_by(Message.created.desc(), Message.id.desc())
            .limit(1)
        )
    if body is None:
        return None
    found = re.search(r"\b(\d{6})\b", body)
    return found.group(1) if found else None


def messages_to(recipient: str) -> int:
    with unit_of_work(platform=True) as uow:
        return len(
            uow.session.scalars(select(Message.id).where(Message.recipient == recipient)).all()
        )


class Holder:
    """A card holder talking to the API from one address."""

    def __init__(self, client, card_number: str, address: str | None = None):
        self.client = client
        self.card_number = card_number
        self.address = address or new_address()
        self.token: str | None = None

    def post(self, path: str, body: dict | None = None, token: str | None = None):
        headers = (
            {"Authorization": f"Bearer {token or self.token}"} if (token or self.token) else {}
        )
        return self.client.post(
            path, json=body, headers=headers, environ_base={"REMOTE_ADDR": self.address}
        )

    def get(self, path: str, token: str | None = None, **params):
        return self.client.get(
            path,
            query_string=params,
            headers={"Authorization": f"Bearer {token or self.token}"},
            environ_base={"REMOTE_ADDR": self.address},
        )

    def ask_code(self, **extra):
        return self.post("/v1/holder/codes", {"card_number": self.card_number, **extra})

    def open_session(self, code: str):
        return self.post("/v1/holder/sessions", {"card_number": self.card_number, "code": code})

    def sign_in(self, email: str) -> str:
        response = self.ask_code()
        assert response.status_code == 202, response.get_json()
        code = last_code_sent_to(email)
        assert code is not None
        session = self.open_session(code)
        assert session.status_code == 201, session.get_json()
        self.token = session.get_json()["token"]
        return self.token

    def counter_code(self) -> str:
        response = self.post("/v1/me/holder_codes")
        assert response.status_code == 201, response.get_json()
        return response.get_json()["code"]
