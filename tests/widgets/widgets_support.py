"""Helpers for the widget tests: a small world of two merchants and one card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from factories import TenantHandle, unique
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
    member_a = _post(client, "/v1/members", {"external_id": unique("ext-")}, a)
    member_b = _post(
        client,
        "/v1/members",
        {"external_id": unique("ext-"), "card_number": member_a["card_number"]},
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
        client, a, b, member_a["card_number"], member_a["id"], member_b["id"], reward["id"]
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
