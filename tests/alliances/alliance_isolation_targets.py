"""Isolation-walk targets for ``/v1/alliance/invitations/<id>`` and ``/v1/lotteries/<id>``.

``tests/platform/test_isolation.py`` adds them with ``TARGETS.update(alliance_targets(
Target))``. Each maker returns the id of a new object ``owner`` is a party to.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).parent))

from alliance_support import signup  # noqa: E402


def _invitation(api: Any, owner: Any) -> str:
    alliance = signup(api, "alliance")
    response = api.client.post(
        "/v1/alliance/members", json={"tenant_slug": owner.slug}, headers=alliance.auth
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _lottery(api: Any, owner: Any) -> str:
    body = {"name": "Spin", "cost_points": 10, "prizes": [{"name": "Mug", "weight": 1}]}
    response = api.client.post("/v1/lotteries", json=body, headers=owner.auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def alliance_targets(target: Any) -> dict:
    return {
        "invitations": target("amb", _invitation),
        "lotteries": target("ltr", _lottery, {"POST": {"member_id": "mem_isolation000000000"}}),
    }
