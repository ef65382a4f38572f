"""The program over HTTP: versions, bad input changing nothing, simulate, isolation and
scopes."""

from __future__ import annotations

import copy

from factories import assert_error

PROGRAM = {
    "earning": {
        "points": 1,
        "per_amount": 10000,
        "exclude_shipping": True,
        "events": {"signup": 50, "checkin": 10, "review": 5, "referral": 100},
        "windows": [{"name": "weekend", "weekdays": [6, 7], "factor": "2", "precedence": 1}],
    },
    "tiers": [
        {"code": "silver", "name": "银卡", "min_spend": 100000, "factor": "1.5"},
        {"code": "gold", "name": "金卡", "min_spend": 500000, "factor": "2"},
    ],
    "expiry": {"policy": "fixed_date", "month": 10, "day": 31},
    "redemption": {"min_points": 100, "points": 100, "per_amount": 1000, "max_order_share_pct": 50},
}
WEDNESDAY_NOON_SHANGHAI = "2026-11-18T04:00:00Z"


def put(client, tenant, document, **extra):
    return client.put("/v1/program", json={**document, **extra}, headers=tenant.auth)


def test_a_new_tenant_runs_the_default_program(api, client):
    tenant = api.signup()
    body = client.get("/v1/program", headers=tenant.auth).get_json()
    assert body["object"] == "program" and body["version"] == 0
    assert body["earning"]["points"] == 1 and body["earning"]["per_amount"] == 10000
    assert body["expiry"] == {"policy": "never"}
    assert body["redemption"]["max_order_share_pct"] == 50


def test_the_default_program_can_be_put_back_as_read(api, client):
    """GET then PUT of the untouched default (nulls for id, note and created) saves it as
    version 1 with the same rules."""
    tenant = api.signup()
    default = client.get("/v1/program", headers=tenant.auth).get_json()
    assert default["note"] is None
    saved = client.put("/v1/program", json=default, headers=tenant.auth)
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["version"] == 1
    assert (body["earning"], body["expiry"]) == (default["earning"], default["expiry"])


def test_put_then_get_returns_the_new_version(api, client):
    tenant = api.signup()
    response = put(client, tenant, PROGRAM, note="launch")
    assert response.status_code == 200, response.get_json()
    stored = response.get_json()
    assert stored["object"] == "program" and stored["id"].startswith("prg_")
    assert stored["version"] == 1 and stored["note"] == "launch"
    assert stored["created_by"] == tenant.client_id

    shown = client.get("/v1/program", headers=tenant.auth).get_json()
    assert shown == stored
    assert shown["tiers"] == PROGRAM["tiers"]
    assert shown["expiry"] == PROGRAM["expiry"]

    # GET, edit, PUT back (read-only keys are ignored; version guards against races)
    edited = copy.deepcopy(shown)
    edited["tiers"][0]["factor"] = "1.6"
    second = client.put("/v1/program", json=edited, headers=tenant.auth).get_json()
    assert second["version"] == 2 and second["tiers"][0]["factor"] == "1.6"
    stale = client.put("/v1/program", json=edited, headers=tenant.auth)  # still says version 1
    assert_error(stale, 409, "program_changed")

    versions = client.get("/v1/program/versions", headers=tenant.auth).get_json()
    assert versions["object"] == "list"
    assert [v["version"] for v in versions["data"]] == [2, 1]
    assert versions["data"][1]["document"]["tiers"][0]["factor"] == "1.5"
    assert all(v["created_by"] == tenant.client_id for v in versions["data"])


def test_a_bad_put_names_the_field_and_changes_nothing(api, client):
    tenant = api.signup()
    assert put(client, tenant, PROGRAM).status_code == 200
    tiers, earning, redemption = PROGRAM["tiers"], PROGRAM["earning"], PROGRAM["redemption"]
    member_day = {"month_day": 10, "factor": "3"}  # can meet the weekend: no precedence
    bad_documents = {
        "tiers[1].factor": {"tiers": [tiers[0], {**tiers[1], "factor": "-2"}]},
        "tiers[1].min_spend": {"tiers": [tiers[0], {**tiers[1], "min_spend": 100000}]},
        "expiry.day": {"expiry": {"policy": "fixed_date", "month": 2, "day": 30}},
        "redemption.max_order_share_pct": {
            "redemption": {**redemption, "max_order_share_pct": 150}
        },
        "earning.windows[1].precedence": {
            "earning": {**earning, "windows": [*earning["windows"], member_day]}
        },
        "lottery": {"lottery": {}},
        "version": {"version": "1"},
        "note": {"note": 42},
    }
    for param, document in bad_documents.items():
        error = assert_error(put(client, tenant, {**PROGRAM, **document}), 422)
        assert error["param"] == param, error
    body = client.get("/v1/program", headers=tenant.auth).get_json()
    assert body["version"] == 1
    assert body["tiers"][1]["factor"] == "2"
    listed = client.get("/v1/program/versions", headers=tenant.auth).get_json()
    assert len(listed["data"]) == 1


def test_a_put_body_that_is_not_an_object_is_malformed(api, client):
    tenant = api.signup()
    response = client.put("/v1/program", json=[1, 2], headers=tenant.auth)
    assert_error(response, 400)


def test_simulate_awards_what_the_rules_say_and_posts_nothing(api, client):
    tenant = api.signup()
    put(client, tenant, PROGRAM)
    request = {
        "amount": 35800,
        "currency": "CNY",
        "shipping": 2000,
        "occurred_at": WEDNESDAY_NOON_SHANGHAI,
        "tier": "silver",
    }
    response = client.post("/v1/program/simulate", json=request, headers=tenant.auth)
    body = response.get_json()
    assert response.status_code == 200, body
    # 35800 - 2000 = 33800 → 3 points; silver 3 × 1.5 = 4.5 → 4
    assert body["object"] == "earn_simulation"
    assert body["points"] == 4 and body["base_points"] == 3 and body["factor"] == "1.5"
    assert body["program_version"] == 1
    assert [step["rule"] for step in body["breakdown"]] == ["base", "tier", "rounding"]
    # fixed clear date 31 Oct: earned 18 Nov 2026 → end of 31 Oct 2027 in Shanghai
    assert body["expires_at"] == "2027-10-31T16:00:00Z"

    # Saturday × gold: 3 × 2 × 2 = 12
    saturday = {**request, "occurred_at": "2026-11-21T04:00:00Z", "tier": "gold"}
    assert (
        client.post("/v1/program/simulate", json=saturday, headers=tenant.auth).get_json()["points"]
        == 12
    )

    # A draft program, not yet stored: 2 points per 100.00 → 3 × 2 = 6, silver ignored
    draft = {**request, "tier": None, "program": {"earning": {"points": 2, "per_amount": 10000}}}
    drafted = client.post("/v1/program/simulate", json=draft, headers=tenant.auth).get_json()
    assert drafted["points"] == 6 and drafted["program_version"] is None
    assert client.get("/v1/program", headers=tenant.auth).get_json()["version"] == 1


def test_simulate_refuses_bad_requests_naming_the_field(api, client):
    tenant = api.signup()
    base = {"amount": 35800, "currency": "CNY"}
    cases = {
        "shipping": {**base, "shipping": 40000},
        "amount": {**base, "amount": -1},
        "program.tiers[0].factor": {
            **base,
            "program": {"tiers": [{"code": "s", "name": "S", "min_spend": 1, "factor": "0"}]},
        },
    }
    for param, request in cases.items():
        response = client.post("/v1/program/simulate", json=request, headers=tenant.auth)
        assert assert_error(response, 422)["param"] == param


def test_another_tenant_never_sees_your_program(api, client):
    mine, theirs = api.signup(), api.signup()
    put(client, mine, PROGRAM, note="mine")
    seen = client.get("/v1/program", headers=theirs.auth).get_json()
    assert seen["version"] == 0 and seen["tiers"] == []
    assert client.get("/v1/program/versions", headers=theirs.auth).get_json()["data"] == []
    mine_versions = client.get("/v1/program/versions", headers=mine.auth).get_json()
    foreign = mine_versions["data"][0]["id"]
    response = client.get(f"/v1/program/versions?starting_after={foreign}", headers=theirs.auth)
    assert_error(response, 404)
    simulated = client.post(
        "/v1/program/simulate",
        json={"amount": 35800, "currency": "CNY", "tier": "silver"},
        headers=theirs.auth,
    ).get_json()
    assert simulated["program_version"] == 0 and simulated["points"] == 3  # no silver there


def test_scopes_are_enforced(api, client):
    tenant = api.signup()
    reader = api.token(tenant.client_id, tenant.client_secret, scope="points:read")
    headers = {"Authorization": f"Bearer {reader}"}
    assert_error(client.put("/v1/program", json=PROGRAM, headers=headers), 403, "missing_scope")
    assert client.get("/v1/program", headers=headers).status_code == 200
    simulate = {"amount": 10000, "currency": "CNY"}
    assert client.post("/v1/program/simulate", json=simulate, headers=headers).status_code == 200

    exchanger = api.token(tenant.client_id, tenant.client_secret, scope="exchange")
    headers = {"Authorization": f"Bearer {exchanger}"}
    assert_error(client.get("/v1/program", headers=headers), 403, "missing_scope")
    assert_error(client.post("/v1/program/simulate", json=simulate, headers=headers), 403)
    assert_error(client.get("/v1/program/versions", headers=headers), 403)
    assert_error(client.get("/v1/program"), 401)

    operator = {"Authorization": f"Bearer {api.platform_token('platform:admin')}"}
    assert_error(client.put("/v1/program", json=PROGRAM, headers=operator), 403)
    assert_error(client.get("/v1/program", headers=operator), 403)
