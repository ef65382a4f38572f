"""The platform operator's console: tenants, the fee schedule, the SPU value, job queues
and the audit."""

from __future__ import annotations

from decimal import Decimal
from html import unescape

import pytest
from console_helpers import Console, html, make_staff, open_shop, text_of

from jifen.exchange.settings import get_fee_schedule, put_fee_schedule
from jifen.platform import jobs
from jifen.settlement.services import get_settings, put_settings


@pytest.fixture
def operator(client):
    browser = Console(client)
    assert browser.login(make_staff(platform_operator=True)[1]).status_code == 302
    return browser


@pytest.fixture
def fee_schedule_restored():
    """The fee schedule is platform-wide: put the one in force back afterwards."""
    before = get_fee_schedule().schedule
    yield before
    put_fee_schedule(
        "test:restore",
        {
            "swap": vars(before.swap),
            "acceptance": vars(before.acceptance),
            "card_daily_limit": before.card_daily_limit,
        },
    )


@pytest.fixture
def spu_value_restored():
    before = get_settings()
    yield before
    value = str(Decimal(before.spu_value_micro).scaleb(-6))
    put_settings("test:restore", currency=before.currency, spu_value=value)


def test_tenants_show_kind_plan_billing_status_and_members(client, webhook_url, operator):
    shop = open_shop(client, webhook_url)
    page = operator.get("/console/operator/tenants", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    row = html(page).split(f'id="tenant-{shop.tenant.id}"')[1].split("</tr>")[0]
    assert shop.tenant.slug in row and "merchant" in row
    assert ">Free<" in row.replace(" ", "") and "active" in row
    assert '<td class="num">1</td>' in row  # one member


def test_the_fee_schedule_is_edited_as_a_new_version(operator, fee_schedule_restored):
    version = get_fee_schedule().version
    saved = operator.post(
        "/console/operator/fees",
        {
            "swap_bps": "125",
            "swap_fixed": "0.5",
            "swap_cap": "",
            "acceptance_bps": "150",
            "acceptance_fixed": "0",
            "acceptance_cap": "20",
            "card_daily_limit": "1000",
        },
    )
    assert saved.status_code == 303
    in_force = get_fee_schedule()
    assert in_force.version == version + 1
    assert in_force.schedule.swap.bps == 125 and in_force.schedule.swap.fixed == 500_000
    assert in_force.schedule.swap.cap is None
    assert in_force.schedule.acceptance.cap == 20_000_000
    assert in_force.schedule.card_daily_limit == 1_000_000_000
    page = operator.get(saved.headers["Location"], headers={"Accept-Language": "en"})
    assert "The new fee schedule is in force." in text_of(page)
    assert 'name="swap_bps" value="125"' in html(page)


def test_a_bad_fee_is_shown_next_to_its_field_and_changes_nothing(operator, fee_schedule_restored):
    version = get_fee_schedule().version
    refused = operator.post(
        "/console/operator/fees",
        {"swap_bps": "20000", "swap_fixed": "0", "acceptance_bps": "1", "acceptance_fixed": "x"},
    )
    assert refused.status_code == 422
    assert 'id="error-swap_bps"' in html(refused)
    assert 'id="error-acceptance_fixed"' in html(refused)
    assert 'value="20000"' in html(refused)  # the form keeps what was typed
    assert get_fee_schedule().version == version


def test_the_spu_value_is_set_and_a_bad_one_refused(operator, spu_value_restored):
    saved = operator.post("/console/operator/spu-value", {"currency": "CNY", "spu_value": "1.5"})
    assert saved.status_code == 303
    assert get_settings().spu_value_micro == 1_500_000
    page = operator.get("/console/operator/spu-value", headers={"Accept-Language": "en"})
    assert "1 SPU = 1.5 minor units of CNY" in text_of(page)

    version = get_settings().version
    refused = operator.post("/console/operator/spu-value", {"currency": "CNY", "spu_value": "-2"})
    assert refused.status_code == 422
    assert 'id="error-spu_value"' in html(refused)
    assert get_settings().version == version


def test_job_queues_say_jobs_run_inline_without_redis(operator):
    if not jobs.is_inline():
        pytest.skip("jobs run through RQ here")
    page = operator.get("/console/operator/jobs", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert 'id="jobs-inline"' in html(page) and "JIFEN_REDIS_URL" in text_of(page)


def test_a_failed_job_is_listed_and_requeued(operator):
    from rq import SimpleWorker

    if jobs.is_inline():
        pytest.skip("needs Redis (JIFEN_TEST_REDIS_URL)")
    queue = jobs.queue("default")
    job = queue.enqueue("builtins.int", "not a number")
    SimpleWorker([queue], connection=jobs.redis_connection()).work(burst=True)
    try:
        page = operator.get("/console/operator/jobs", headers={"Accept-Language": "en"})
        assert f'id="failed-{job.id}"' in html(page)
        assert "ValueError" in html(page).split(f'id="failed-{job.id}"')[1].split("</tr>")[0]
        requeued = operator.post(f"/console/operator/jobs/default/{job.id}/requeue")
        assert requeued.status_code == 303
        assert job.id in queue.get_job_ids()
        assert job.id not in queue.failed_job_registry.get_job_ids()
        assert operator.post(f"/console/operator/jobs/default/{job.id}/requeue").status_code == 404
    finally:
        queue.remove(job.id)
        job.delete()


def test_the_audit_shows_every_invariant(operator):
    from jifen.platform import audit

    page = operator.get("/console/operator/audit", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert 'id="audit-summary"' in html(page)
    shown = unescape(text_of(page))
    for name in audit.checks():
        assert name in shown
    rows = html(page).split('id="invariants"')[1]
    assert rows.count("<tr>") == len(audit.checks()) + 1


def test_operator_pages_render_in_chinese(operator):
    for path, title in [
        ("/console/operator/tenants", "租户"),
        ("/console/operator/fees", "交换手续费"),
        ("/console/operator/spu-value", "SPU"),
        ("/console/operator/jobs", "任务队列"),
    ]:
        page = operator.get(path, headers={"Accept-Language": "zh-CN"})
        assert page.status_code == 200 and title in html(page), path


def test_a_tenants_plan_is_changed_through_billing(client, webhook_url, operator):
    from jifen.platform.billing.services import get_billing
    from jifen.platform.db import unit_of_work
    from jifen.platform.shell.console.activity import StaffActivity

    shop = open_shop(client, webhook_url)
    url = f"/console/operator/tenants/{shop.tenant.id}"
    page = operator.get(url, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "Free" in text_of(page) and 'id="tenant-subscription">—' in html(page)
    changed = operator.post(f"{url}/plan", {"plan": "growth"})
    assert changed.status_code == 303 and changed.headers["Location"].endswith(url)
    assert get_billing(shop.tenant.id).plan.code == "growth"
    page = operator.get(url, headers={"Accept-Language": "en"})
    assert "The tenant is now on the Growth plan." in text_of(page)
    assert 'id="tenant-plan">Growth<' in html(page)

    refused = operator.post(f"{url}/plan", {"plan": "platinum"})
    assert "Unknown plan" in text_of(operator.get(refused.headers["Location"]))
    assert get_billing(shop.tenant.id).plan.code == "growth"
    assert (
        operator.post("/console/operator/tenants/ten_missing/plan", {"plan": "scale"}).status_code
        == 404
    )
    with unit_of_work(tenant_id=shop.tenant.id) as uow:  # the tenant sees what was done to it
        query = uow.session.query(StaffActivity).filter(StaffActivity.action == "tenants.plan")
        seen = [(r.action, r.outcome) for r in query.order_by(StaffActivity.created)]
    assert seen == [("tenants.plan", "ok"), ("tenants.plan", "error")]


def test_the_tenant_page_renders_in_chinese(client, webhook_url, operator):
    shop = open_shop(client, webhook_url)
    page = operator.get(
        f"/console/operator/tenants/{shop.tenant.id}", headers={"Accept-Language": "zh-CN"}
    )
    assert page.status_code == 200 and "套餐与订阅" in html(page) and "免费版" in html(page)
