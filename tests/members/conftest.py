"""Fixtures for members and points: a tenant, members, and short helpers over HTTP."""

from __future__ import annotations

import pytest
from factories import holder_code, unique


class Points:
    """The member and points endpoints of one tenant, through the Flask test client."""

    def __init__(self, client, tenant):
        self.client = client
        self.tenant = tenant

    def post(self, path: str, body: dict | None = None, **headers):
        return self.client.post(path, json=body, headers={**self.tenant.auth, **headers})

    def get(self, path: str, **params):
        return self.client.get(path, query_string=params, headers=self.tenant.auth)

    def member(self, **fields) -> dict:
        """A new member; linking an existing ``card_number`` brings its holder's code."""
        if "card_number" in fields and "holder_code" not in fields:
            fields["holder_code"] = holder_code(fields["card_number"])
        response = self.post("/v1/members", {"external_id": unique("cust-"), **fields})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def balance(self, member_id: str) -> dict:
        response = self.get(f"/v1/members/{member_id}/balance")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def award(self, member_id: str, points: int) -> dict:
        response = self.post(
            "/v1/awards",
            {"member_id": member_id, "event": "manual", "points": points, "reason": "test"},
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def funded_member(self, points: int = 100) -> dict:
        member = self.member()
        self.award(member["id"], points)
        return member


@pytest.fixture
def tenant(api):
    return api.signup()


@pytest.fixture
def points(client, tenant) -> Points:
    return Points(client, tenant)


@pytest.fixture
def other_points(client, api) -> Points:
    """The same helpers for a second, unrelated tenant."""
    return Points(client, api.signup())


def audit_problems() -> dict:
    from jifen.platform.audit import run_all

    return {name: found for name, found in run_all().items() if found}


@pytest.fixture
def audited():
    """Assert every ledger invariant holds once the test is done."""
    yield
    assert audit_problems() == {}
