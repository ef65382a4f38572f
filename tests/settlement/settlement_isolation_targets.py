"""Isolation-walk targets for settlement's parametrised routes (see
``tests/platform/test_isolation.py``). Batches, instructions and reports belong to the
platform operator, so a tenant's token gets the same 403 for any batch id, real or not;
the walk checks exactly that."""

from __future__ import annotations

from typing import Any


def make_batch(api: Any, owner: Any) -> str:
    from jifen.platform import clock

    token = api.platform_token()
    response = api.client.post(
        "/v1/settlement/batches",
        json={"cutoff": clock.iso(clock.now())},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()["id"]


def settlement_targets(target: Any) -> dict[str, Any]:
    return {
        "batches": target("stb", make_batch),
        "instructions": target("ten", lambda api, owner: owner.id, {"POST": {"reference": "x"}}),
        # Manual payments are the platform's too: any id, real or not, is the same 403.
        "manual_payments": target("smp", lambda api, owner: "smp_" + owner.id[4:]),
    }
