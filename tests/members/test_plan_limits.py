"""Enrolment respects the tenant's plan (platform/billing): over the member limit -> 403."""

import dataclasses

from factories import assert_error

from jifen.platform.billing import plans


def test_enrolling_past_the_plan_member_limit_is_refused_and_writes_nothing(
    api, client, monkeypatch
):
    tenant = api.signup()
    tiny = dataclasses.replace(plans.FREE, members=2)
    monkeypatch.setitem(plans.PLANS, "free", tiny)
    for number in range(2):
        created = client.post(
            "/v1/members", json={"external_id": f"m{number}"}, headers=tenant.auth
        )
        assert created.status_code == 201, created.get_json()

    refused = client.post("/v1/members", json={"external_id": "m2"}, headers=tenant.auth)

    assert_error(refused, 403, "plan_limit")
    listed = client.get("/v1/members?limit=100", headers=tenant.auth).get_json()
    assert len(listed["data"]) == 2
