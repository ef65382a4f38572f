"""Fixtures for the exchange: two tenants in the exchange (A at 0.8 SPU a point, B at 1.5),
a 2% swap fee and a 1.5% acceptance fee, a card with points in A, and short HTTP helpers.

Every test here ends with ``jifen.platform.audit.run_all()`` clean (the ``audited``
fixture is autouse), which includes the exchange's own invariants.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from factories import TenantHandle, holder_code, unique
from sqlalchemy import select

FEES = {
    "swap": {"bps": 200, "fixed": "0", "cap": None},
    "acceptance": {"bps": 150, "fixed": "0", "cap": None},
    "card_daily_limit": None,
}


def audit_problems() -> dict:
    from jifen.platform.audit import run_all

    return {name: found for name, found in run_all().items() if found}


@pytest.fixture(autouse=True)
def audited(app):
    yield
    assert audit_problems() == {}


@pytest.fixture
def platform_token(api) -> str:
    return api.platform_token("platform:admin")


@pytest.fixture
def set_fees(client, platform_token):
    def put(**changes) -> dict:
        response = client.put(
            "/v1/platform/exchange/fees",
            json={**FEES, **changes},
            headers={"Authorization": f"Bearer {platform_token}"},
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return put


@pytest.fixture(autouse=True)
def standard_fees(set_fees):
    """Every exchange test starts from the same fee schedule (it is platform-wide)."""
    return set_fees()


@dataclass
class Exchange:
    client: object
    a: TenantHandle
    b: TenantHandle

    def auth(self, who) -> dict:
        """Headers for ``who``: a tenant, a ready ``{"Authorization": ...}`` dict, or A."""
        if who is None:
            return self.a.auth
        return who.auth if isinstance(who, TenantHandle) else who

    def post(self, path: str, body: dict | None = None, who=None, **headers):
        return self.client.post(path, json=body, headers={**self.auth(who), **headers})

    def get(self, path: str, who=None, **params):
        return self.client.get(path, query_string=params, headers=self.auth(who))

    def settings(self, tenant: TenantHandle, **fields) -> dict:
        response = self.client.put("/v1/exchange/settings", json=fields, headers=tenant.auth)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def member(self, tenant: TenantHandle, card_number: str | None = None) -> dict:
        body = {"external_id": unique("cust-")}
        if card_number:  # linking the card: its holder hands over a counter code
            body["card_number"] = card_number
            body["holder_code"] = holder_code(card_number)
        response = self.post("/v1/members", body, tenant)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def award(self, tenant: TenantHandle, member_id: str, points: int) -> None:
        body = {"member_id": member_id, "event": "manual", "points": points, "reason": "test"}
        response = self.post("/v1/awards", body, tenant)
        assert response.status_code == 201, response.get_json()

    def funded(self, points: int = 10_000, tenant: TenantHandle | None = None) -> dict:
        member = self.member(tenant or self.a)
        self.award(tenant or self.a, member["id"], points)
        return member

    def balance(self, tenant: TenantHandle, member_id: str) -> int:
        response = self.get(f"/v1/members/{member_id}/balance", tenant)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["points"]

    def members_of_card(self, tenant: TenantHandle, card_number: str) -> list[dict]:
        response = self.get("/v1/members", tenant, card_number=card_number)
        return response.get_json()["data"]

    def quote(self, card_number: str, points: int, who=None, **overrides):
        """Ask for a quote. A tenant quoting another tenant's currency brings the card
        holder's code, as a till would (pass ``holder_code=None`` to leave it out)."""
        body = {
            "card_number": card_number,
            "from_currency": self.a.currency_code,
            "to_currency": self.b.currency_code,
            "points": points,
            **overrides,
        }
        spender = who or self.a
        if (
            "holder_code" not in overrides
            and isinstance(spender, TenantHandle)
            and spender.currency_code != body["from_currency"]
        ):
            body["holder_code"] = consent(card_number)
        body = {key: value for key, value in body.items() if value is not None}
        return self.post("/v1/exchange/quotes", body, who)

    def swap(self, quote_id: str, who=None, **headers):
        return self.post("/v1/exchange/swaps", {"quote_id": quote_id}, who, **headers)


def consent(card_number) -> str | None:
    """The holder's counter code for the card, or None when no card has that number."""
    from jifen.platform.db import unit_of_work
    from jifen.tenants.members.cards import normalise_card_number
    from jifen.tenants.members.model import Card

    if not isinstance(card_number, str):
        return None
    with unit_of_work(platform=True) as uow:
        found = uow.session.scalar(
            select(Card.id).where(Card.number == normalise_card_number(card_number))
        )
    return holder_code(card_number) if found else None


@pytest.fixture
def exchange(client, api) -> Exchange:
    pair = Exchange(client, api.signup(plan="growth"), api.signup(plan="growth"))
    for tenant, rate in ((pair.a, "0.8"), (pair.b, "1.5")):
        pair.settings(tenant, spu_rate=rate, inbound=True, outbound=True, acceptance=True)
    return pair
