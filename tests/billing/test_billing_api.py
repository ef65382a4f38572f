"""Billing in manual mode (no Stripe key, the default): signup chooses a plan, the plan
and its limits show at GET /v1/billing, plans change, monthly active members count."""

from __future__ import annotations

from datetime import UTC, datetime

from billing_support import account
from factories import assert_error, signup_body

from jifen.platform import clock
from jifen.platform.billing import services, usage
from jifen.platform.billing.model import UsageReport
from jifen.platform.db import unit_of_work


def _member(api, tenant, external_id: str) -> str:
    response = api.client.post(
        "/v1/members", json={"external_id": external_id}, headers=tenant.auth
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _award(api, tenant, member_id: str) -> None:
    response = api.client.post(
        "/v1/awards",
        json={"member_id": member_id, "event": "manual", "points": 10, "reason": "welcome"},
        headers=tenant.auth,
    )
    assert response.status_code == 201, response.get_json()


def test_signup_starts_on_the_free_plan_by_default(api):
    tenant = api.signup()
    body = api.client.get("/v1/billing", headers=tenant.auth).get_json()
    assert body["object"] == "billing"
    assert body["plan"] == "free"
    assert body["status"] == "active"
    assert body["mode"] == "manual"
    assert body["grace_until"] is None
    assert body["limits"] == {
        "members": 1000,
        "api_requests_per_minute": 120,
        "exchange": False,
        "alliances": False,
    }
    assert body["usage"]["members"] == 0
    assert body["usage"]["month"] == usage.month_of(clock.now())


def test_signup_may_choose_a_paid_plan(client):
    body = signup_body()
    body["plan"] = "scale"
    response = client.post("/v1/signup", json=body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["plan"] == "scale"
    assert account(response.get_json()["tenant"]["id"]).plan == "scale"


def test_signup_with_an_unknown_plan_is_refused_and_creates_nothing(client):
    body = signup_body()
    body["plan"] = "platinum"
    error = assert_error(client.post("/v1/signup", json=body), 422, "invalid_value")
    assert error["param"] == "plan"
    body["plan"] = "free"
    assert client.post("/v1/signup", json=body).status_code == 201


def test_changing_plan_shows_the_new_limits_at_once(api):
    tenant = api.signup()
    response = api.client.post("/v1/billing/plan", json={"plan": "growth"}, headers=tenant.auth)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["plan"] == "growth"
    assert response.get_json()["limits"]["exchange"] is True
    assert api.client.get("/v1/billing", headers=tenant.auth).get_json()["plan"] == "growth"
    assert account(tenant.id).plan_version == 2


def test_changing_plan_needs_program_write(api):
    tenant = api.signup()
    token = api.token(tenant.client_id, tenant.client_secret, scope="points:read")
    response = api.client.post(
        "/v1/billing/plan", json={"plan": "growth"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_error(response, 403, "missing_scope")
    assert (
        api.client.get("/v1/billing", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )


def test_billing_needs_a_tenant_token(api, client):
    assert_error(client.get("/v1/billing"), 401)
    operator = {"Authorization": f"Bearer {api.platform_token()}"}
    assert_error(client.get("/v1/billing", headers=operator), 403)


def test_active_members_count_each_member_with_ledger_activity_once_a_month(api):
    tenant = api.signup()
    october = datetime(2026, 10, 15, 12, tzinfo=UTC)
    november = datetime(2026, 11, 2, 12, tzinfo=UTC)
    with clock.frozen_at(october):
        first, second = _member(api, tenant, "a"), _member(api, tenant, "b")
        _member(api, tenant, "idle")
        _award(api, tenant, first)
        _award(api, tenant, first)
        _award(api, tenant, second)
    with clock.frozen_at(november):
        _award(api, tenant, first)
        body = api.client.get("/v1/billing", headers=tenant.auth).get_json()
    assert body["usage"] == {"month": "2026-11", "active_members": 1, "members": 3}
    with unit_of_work(tenant_id=tenant.id) as uow:
        source = usage.ledger_activity(uow.session)
        counts = usage.count_active_members(uow.session, source, "2026-10", tenant_id=tenant.id)
    assert counts == {tenant.id: 2}


def test_usage_is_reported_once_per_tenant_and_month(api):
    tenant = api.signup()
    with clock.frozen_at(datetime(2026, 9, 10, tzinfo=UTC)):
        _award(api, tenant, _member(api, tenant, "a"))
    services.report_usage("2026-09")
    services.report_usage("2026-09")
    with unit_of_work(tenant_id=tenant.id) as uow:
        reports = uow.session.query(UsageReport).filter_by(month="2026-09").all()
    assert [(r.active_members, r.amount, r.reported_at) for r in reports] == [(1, 0, None)]


def test_the_usage_job_reports_last_month(api):
    from jifen.platform.jobs import run_periodic

    with clock.frozen_at(datetime(2026, 8, 1, 0, 30, tzinfo=UTC)):
        assert run_periodic("billing-usage")["month"] == "2026-07"
