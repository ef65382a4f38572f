"""Plan limits: members (the function members code calls), the API rate per tenant
(429 with Retry-After) and read-only accounts (writes 403, reads fine)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from billing_support import set_account
from factories import assert_error

from jifen.platform import clock
from jifen.platform.billing import plans
from jifen.platform.billing.limits import PlanLimit, check_feature, check_member_limit
from jifen.platform.db import unit_of_work


@pytest.fixture
def tiny_free_plan(monkeypatch):
    tiny = replace(plans.FREE, members=2, api_requests_per_minute=3)
    monkeypatch.setitem(plans.PLANS, "free", tiny)
    return tiny


def _add_member(api, tenant, external_id: str):
    return api.client.post("/v1/members", json={"external_id": external_id}, headers=tenant.auth)


def test_the_member_limit_refuses_one_member_too_many(api, tiny_free_plan):
    tenant = api.signup()
    for name in ("a", "b"):
        with unit_of_work(tenant_id=tenant.id) as uow:
            check_member_limit(uow.session, tenant.id)
        assert _add_member(api, tenant, name).status_code == 201
    with unit_of_work(tenant_id=tenant.id) as uow, pytest.raises(PlanLimit) as refused:
        check_member_limit(uow.session, tenant.id)
    assert refused.value.status == 403 and refused.value.code == "plan_limit"
    assert "2 members" in refused.value.message


def test_a_bigger_plan_lifts_the_member_limit(api, tiny_free_plan):
    tenant = api.signup()
    for name in ("a", "b"):
        _add_member(api, tenant, name)
    api.client.post("/v1/billing/plan", json={"plan": "growth"}, headers=tenant.auth)
    with unit_of_work(tenant_id=tenant.id) as uow:
        check_member_limit(uow.session, tenant.id)


def test_a_downgrade_below_the_members_held_is_refused(api, tiny_free_plan):
    tenant = api.signup()
    api.client.post("/v1/billing/plan", json={"plan": "growth"}, headers=tenant.auth)
    for name in ("a", "b", "c"):
        assert _add_member(api, tenant, name).status_code == 201
    response = api.client.post("/v1/billing/plan", json={"plan": "free"}, headers=tenant.auth)
    assert_error(response, 403, "plan_limit")
    assert api.client.get("/v1/billing", headers=tenant.auth).get_json()["plan"] == "growth"


def test_features_follow_the_plan(api):
    tenant = api.signup()
    with unit_of_work(tenant_id=tenant.id) as uow:
        with pytest.raises(PlanLimit):
            check_feature(uow.session, tenant.id, "exchange")
    api.client.post("/v1/billing/plan", json={"plan": "scale"}, headers=tenant.auth)
    with unit_of_work(tenant_id=tenant.id) as uow:
        check_feature(uow.session, tenant.id, "exchange")
        check_feature(uow.session, tenant.id, "alliances")


def test_over_the_rate_the_tenant_gets_429_with_retry_after(api, tiny_free_plan, billing_config):
    billing_config(rate_limits=True)
    tenant, other = api.signup(), api.signup()
    start = datetime(2026, 11, 3, 9, 0, 40, tzinfo=UTC)
    with clock.frozen_at(start):
        statuses = [api.client.get("/v1/tenant", headers=tenant.auth).status_code for _ in range(3)]
        refused = api.client.get("/v1/tenant", headers=tenant.auth)
        assert api.client.get("/v1/tenant", headers=other.auth).status_code == 200
    assert statuses == [200, 200, 200]
    assert_error(refused, 429, "rate_limited")
    assert refused.headers["Retry-After"] == "20"
    with clock.frozen_at(start + timedelta(seconds=20)):
        assert api.client.get("/v1/tenant", headers=tenant.auth).status_code == 200


def test_rate_limits_are_off_unless_switched_on_in_tests(api, tiny_free_plan):
    tenant = api.signup()
    for _ in range(5):
        assert api.client.get("/v1/tenant", headers=tenant.auth).status_code == 200


@pytest.mark.parametrize("status", ["read_only", "cancelled"])
def test_a_read_only_account_may_read_but_not_write(api, status):
    tenant = api.signup()
    set_account(tenant.id, status=status)
    response = api.client.post(
        "/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=tenant.auth
    )
    assert_error(response, 403, "account_read_only")
    assert_error(
        api.client.post("/v1/members", json={"external_id": "x"}, headers=tenant.auth),
        403,
        "account_read_only",
    )
    assert api.client.get("/v1/tenant", headers=tenant.auth).status_code == 200
    assert api.client.get("/v1/billing", headers=tenant.auth).get_json()["status"] == status


def test_a_read_only_account_can_still_change_its_plan(api):
    tenant = api.signup()
    set_account(tenant.id, status="read_only", status_event_at=clock.now())
    response = api.client.post("/v1/billing/plan", json={"plan": "growth"}, headers=tenant.auth)
    assert response.status_code == 200
    assert response.get_json()["status"] == "read_only"  # a paid plan still needs paying
    response = api.client.post("/v1/billing/plan", json={"plan": "free"}, headers=tenant.auth)
    assert response.get_json()["status"] == "active"
    assert (
        api.client.post(
            "/v1/members", json={"external_id": "back"}, headers=tenant.auth
        ).status_code
        == 201
    )
