"""Isolation-walk target for ``/v1/adjustments/<adjustment_id>`` (see
``tests/platform/test_isolation.py``): a pending adjustment of the owner's, above the
default approval threshold, so approving or rejecting it would change something."""

from __future__ import annotations

import secrets
from typing import Any


def make_adjustment(api: Any, owner: Any) -> str:
    member = api.client.post(
        "/v1/members", json={"external_id": secrets.token_hex(6)}, headers=owner.auth
    )
    assert member.status_code == 201, member.get_json()
    response = api.client.post(
        "/v1/adjustments",
        json={"member_id": member.get_json()["id"], "points": 20_000, "reason": "walk"},
        headers=owner.auth,
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "pending_approval"
    return response.get_json()["id"]


def adjustment_targets(target: Any) -> dict[str, Any]:
    return {"adjustments": target("adj", make_adjustment)}
