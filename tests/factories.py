"""Small factories for tests: sign up tenants, get tokens, call the API.

Every name and code is unique, so tests share one database without stepping on each
other.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4)}"


def signup_body(kind: str = "merchant", **overrides: Any) -> dict:
    slug = unique("t-")
    body = {
        "tenant": {"name": f"Tenant {slug}", "slug": slug, "kind": kind},
        "currency": {"code": unique("C").upper(), "name": "Points"},
        "owner": {"email": f"owner@{slug}.example", "password": "correct horse battery"},
    }
    for key, value in overrides.items():
        body[key] = {**body[key], **value} if isinstance(value, dict) else value
    return body


@dataclass
class TenantHandle:
    id: str
    slug: str
    currency_code: str
    client_id: str
    client_secret: str
    publishable_key: str
    token: str

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """Thin helpers over a Flask test client (or anything with the same methods)."""

    def __init__(self, client: Any):
        self.client = client

    def token(self, client_id: str, client_secret: str, scope: str | None = None) -> str:
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        response = self.client.post("/oauth/token", data=form, auth=(client_id, client_secret))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["access_token"]

    def signup(self, kind: str = "merchant", **overrides: Any) -> TenantHandle:
        response = self.client.post("/v1/signup", json=signup_body(kind, **overrides))
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        credentials = body["api_client"]
        return TenantHandle(
            id=body["tenant"]["id"],
            slug=body["tenant"]["slug"],
            currency_code=body["currency"]["code"],
            client_id=credentials["client_id"],
            client_secret=credentials["client_secret"],
            publishable_key=body["publishable_key"],
            token=self.token(credentials["client_id"], credentials["client_secret"]),
        )

    def platform_token(
        self, scopes: str = "platform:admin settlement:read settlement:write"
    ) -> str:
        from jifen.platform.auth.services import create_platform_client

        issued = create_platform_client(unique("operator-"), scopes.split())
        return self.token(issued.client_id, issued.client_secret)


def assert_error(response: Any, status: int, code: str | None = None) -> dict:
    """The response is an error in API.md's envelope, with this status (and code)."""
    body = response.get_json()
    assert response.status_code == status, (response.status_code, body)
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"type", "code", "message", "param"}, body
    assert body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def drain_jobs() -> None:
    """Run every queued job now, with a real RQ worker when Redis is configured (a no-op
    inline, where jobs already ran). Tests call this where a worker would pick work up."""
    from jifen.platform import jobs

    if jobs.is_inline():
        return
    from rq import SimpleWorker

    queues = [jobs.queue(name) for name in jobs.QUEUES]
    SimpleWorker(queues, connection=jobs.redis_connection()).work(burst=True)


def holder_code(card_number: str) -> str:
    """A counter code of the card, as its signed-in holder gets one to hand over at a
    counter (``POST /v1/me/holder_codes``); issued by the service directly, so tests that
    only need the holder's consent need not sign in."""
    from sqlalchemy import select

    from jifen.platform.db import unit_of_work
    from jifen.tenants.holders import services as holders
    from jifen.tenants.members.model import Card

    number = card_number.replace(" ", "").replace("-", "")
    with unit_of_work(platform=True) as uow:
        card_id = uow.session.scalar(select(Card.id).where(Card.number == number))
    assert card_id is not None, card_number
    return holders.issue_counter_code(card_id).code


def holder_token(card_number: str) -> str:
    """A holder session token over the card (``hs_…``), as ``POST /v1/holder/sessions``
    gives one after a sign-in code (tests/holders signs in over HTTP)."""
    from sqlalchemy import select

    from jifen.platform.db import unit_of_work
    from jifen.tenants.holders import services as holders
    from jifen.tenants.members.model import Card

    with unit_of_work(platform=True) as uow:
        card_id = uow.session.scalar(select(Card.id).where(Card.number == card_number))
    assert card_id is not None, card_number
    return holders.sign_in_with(card_id, via="code").token


def in_app_context(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` run in the current app's context, for a thread (threads start without one)."""
    from flask import current_app

    app = current_app._get_current_object()

    def run(*args: Any) -> T:
        with app.app_context():
            return fn(*args)

    return run
