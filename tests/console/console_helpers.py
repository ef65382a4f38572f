"""Helpers for console tests: staff users with roles, a signed-in test client, a shop
(tenant, members, points, a webhook delivery) to act on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from factories import Api, drain_jobs, unique

from jifen.platform.auth.model import Role
from jifen.platform.auth.services import grant_role, new_staff_user
from jifen.platform.db import unit_of_work

PASSWORD = "correct horse battery"
OWNER_PASSWORD = "correct horse battery"


def make_staff(
    roles: dict[str, Role] | None = None,
    *,
    platform_operator: bool = False,
    platform_role: str | None = None,
    email: str = "",
) -> tuple[str, str]:
    """A staff user with ``roles`` (tenant id -> role) and ``platform_role`` (``operator``
    or ``finance``; ``platform_operator=True`` means ``operator``); returns (user id,
    email)."""
    email = email or f"{unique('staff-')}@example.test"
    if platform_operator and platform_role is None:
        platform_role = "operator"
    with unit_of_work(platform=True) as uow:
        user = new_staff_user(uow.session, email=email, password=PASSWORD)
        user.platform_role = platform_role
        for tenant_id, role in (roles or {}).items():
            grant_role(uow.session, tenant_id=tenant_id, user_id=user.id, role=role)
        uow.commit()
        return user.id, email


class Console:
    """A Flask test client that signs in and posts forms with the CSRF token."""

    def __init__(self, client):
        self.client = client

    def token(self) -> str:
        with self.client.session_transaction() as session:
            if "csrf" not in session:
                session["csrf"] = "t-" + unique("")
            return session["csrf"]

    def login(self, email: str, password: str = PASSWORD, tenant_id: str | None = None):
        self.client.get("/console/login")
        response = self.client.post(
            "/console/login",
            data={"email": email, "password": password, "csrf_token": self.token()},
        )
        if tenant_id is not None and response.status_code == 302:
            self.post("/console/tenant", {"tenant": tenant_id})
        return response

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs):
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token()}, **kwargs)


def html(response) -> str:
    return response.get_data(as_text=True)


def text_of(response) -> str:
    """The page's visible text, roughly: tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html(response)))


@dataclass
class Shop:
    tenant: object
    owner_email: str
    member_id: str
    member_external_id: str
    card_number: str
    endpoint_id: str
    delivery_id: str
    staff: dict[Role, str] = field(default_factory=dict)  # role -> email


def open_shop(client, webhook_url: str) -> Shop:
    """A merchant with a user per role, a member holding 500 points and a webhook
    endpoint (at ``webhook_url``, a live receiver) with one delivery."""
    api = Api(client)
    tenant = api.signup()
    endpoint = client.post(
        "/v1/webhook_endpoints",
        json={"url": webhook_url, "enabled_events": ["points.earned"]},
        headers=tenant.auth,
    ).get_json()
    external_id = unique("cust-")
    member = client.post(
        "/v1/members", json={"external_id": external_id, "name": "王小明"}, headers=tenant.auth
    ).get_json()
    award = client.post(
        "/v1/awards",
        json={"member_id": member["id"], "event": "manual", "points": 500, "reason": "welcome"},
        headers=tenant.auth,
    )
    assert award.status_code == 201, award.get_json()
    drain_jobs()
    deliveries = client.get(
        f"/v1/webhook_endpoints/{endpoint['id']}/deliveries", headers=tenant.auth
    ).get_json()["data"]
    staff = {
        role: make_staff({tenant.id: role})[1]
        for role in (Role.ADMIN, Role.OPERATOR, Role.SUPPORT, Role.FINANCE)
    }
    owner_email = f"owner@{tenant.slug}.example"
    staff[Role.OWNER] = owner_email
    return Shop(
        tenant,
        owner_email,
        member["id"],
        external_id,
        member["card_number"],
        endpoint["id"],
        deliveries[0]["id"],
        staff,
    )
