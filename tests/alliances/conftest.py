"""Fixtures for alliances: an alliance on the Scale plan (its currency priced at 0.5 SPU
a point and earning 1 point per full 1.00 yuan), merchants, and an audit after each test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from factories import TenantHandle

sys.path.append(str(Path(__file__).parent))

from alliance_support import signup  # noqa: E402


def audit_problems() -> dict:
    from jifen.platform.audit import run_all

    return {name: found for name, found in run_all().items() if found}


@pytest.fixture(autouse=True)
def audited(app):
    yield
    assert audit_problems() == {}


@pytest.fixture
def alliance(api, client) -> TenantHandle:
    tenant = signup(api, "alliance")
    response = client.put(
        "/v1/exchange/settings",
        json={"spu_rate": "0.5", "inbound": True, "outbound": True, "acceptance": True},
        headers=tenant.auth,
    )
    assert response.status_code == 200, response.get_json()
    response = client.put(
        "/v1/program",
        json={"earning": {"points": 1, "per_amount": 100}, "expiry": {"policy": "never"}},
        headers=tenant.auth,
    )
    assert response.status_code == 200, response.get_json()
    return tenant
