"""Helpers for alliance tests: tenants on a chosen plan, joining, a member's card."""

from __future__ import annotations

from factories import TenantHandle, unique


def signup(api, kind: str = "merchant", plan: str = "scale") -> TenantHandle:
    return api.signup(kind, plan=plan)


def join(client, alliance: TenantHandle, merchant: TenantHandle) -> dict:
    invited = client.post(
        "/v1/alliance/members", json={"tenant_slug": merchant.slug}, headers=alliance.auth
    )
    assert invited.status_code == 201, invited.get_json()
    accepted = client.post(
        f"/v1/alliance/invitations/{invited.get_json()['id']}/accept", headers=merchant.auth
    )
    assert accepted.status_code == 200, accepted.get_json()
    return accepted.get_json()


def card_of(client, merchant: TenantHandle) -> str:
    response = client.post(
        "/v1/members", json={"external_id": unique("cust-")}, headers=merchant.auth
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["card_number"]
