"""The staff activity log: every guarded form, sign-in and sign-out leaves a row, read
by platform operators (every tenant, filtered, paged) and by a tenant's owners and
admins (their tenant only)."""

from __future__ import annotations

from console_helpers import Console, html, make_staff, open_shop, text_of
from factories import unique
from sqlalchemy import select

from jifen.platform.auth.model import Role
from jifen.platform.db import unit_of_work
from jifen.platform.shell.console import activity


def rows(**where) -> list[activity.StaffActivity]:
    with unit_of_work(platform=True) as uow:
        query = select(activity.StaffActivity)
        for name, value in where.items():
            query = query.where(getattr(activity.StaffActivity, name) == value)
        return list(uow.session.scalars(query.order_by(activity.StaffActivity.created)))


def signed_in(app, email: str, **headers) -> Console:
    browser = Console(app.test_client())
    assert browser.login(email).status_code == 302
    return browser


def test_a_form_is_recorded_with_actor_tenant_target_outcome_and_caller(app, client, webhook_url):
    shop = open_shop(client, webhook_url)
    support = signed_in(app, shop.staff[Role.SUPPORT])
    support.client.environ_base["HTTP_USER_AGENT"] = "activity-test/1.0"
    assert support.post(f"/console/members/{shop.member_id}/freeze").status_code == 303
    [row] = rows(action="members.freeze", target=shop.member_id)
    assert row.actor_email == shop.staff[Role.SUPPORT] and row.actor_id.startswith("usr_")
    assert row.tenant_id == shop.tenant.id and row.outcome == "ok"
    assert row.ip == "127.0.0.1" and row.user_agent == "activity-test/1.0"
    assert row.id.startswith("act_") and row.created is not None


def test_refusals_and_failures_are_recorded_too(app, client, webhook_url):
    shop = open_shop(client, webhook_url)
    support = signed_in(app, shop.staff[Role.SUPPORT])
    adjust = f"/console/members/{shop.member_id}/adjust"
    assert support.post(adjust, {"direction": "credit", "points": "5"}).status_code == 403
    assert [r.outcome for r in rows(action="members.adjust", target=shop.member_id)] == ["refused"]

    forged = support.client.post(f"/console/members/{shop.member_id}/freeze", data={})
    assert forged.status_code == 400  # no CSRF token
    anonymous = Console(app.test_client()).post(f"/console/members/{shop.member_id}/unfreeze")
    assert anonymous.status_code == 302
    refused = rows(target=shop.member_id, outcome="refused", action="members.freeze")
    assert sorted((r.actor_email, r.actor_id is None) for r in refused) == [
        ("", True),  # the anonymous attempt: nobody to name
        (shop.staff[Role.SUPPORT], False),  # the forged form
    ]

    owner = signed_in(app, shop.owner_email)
    too_much = owner.post(adjust, {"direction": "debit", "points": "999999", "reason": "x"})
    assert too_much.status_code in (303, 422)
    [failed] = rows(action="members.adjust", actor_email=shop.owner_email)
    assert failed.outcome == "error" and failed.tenant_id == shop.tenant.id


def test_sign_ins_failed_sign_ins_and_sign_outs_are_recorded(app, client, webhook_url):
    shop = open_shop(client, webhook_url)
    email = shop.staff[Role.FINANCE]
    browser = Console(app.test_client())
    assert browser.login(email, password="wrong password").status_code == 401
    assert browser.login(email).status_code == 302
    browser.post("/console/logout")
    recorded = [(r.action, r.outcome) for r in rows(actor_email=email)]
    assert recorded == [
        ("auth.sign_in", "refused"),
        ("auth.sign_in", "ok"),
        ("auth.sign_out", "ok"),
    ]
    failed, signed, out = rows(actor_email=email)
    assert failed.actor_id is None and signed.actor_id == out.actor_id is not None
    assert signed.tenant_id == out.tenant_id == shop.tenant.id  # their only tenant


def test_platform_operators_filter_every_tenants_activity(app, client, webhook_url):
    one, two = open_shop(client, webhook_url), open_shop(client, webhook_url)
    for shop in (one, two):
        signed_in(app, shop.staff[Role.SUPPORT]).post(f"/console/members/{shop.member_id}/freeze")
    operator = signed_in(app, make_staff(platform_operator=True)[1])
    page = operator.get("/console/operator/activity", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert one.member_id in html(page) and two.member_id in html(page)

    by_tenant = operator.get(f"/console/operator/activity?tenant={one.tenant.id}")
    assert one.member_id in html(by_tenant) and two.member_id not in html(by_tenant)
    by_actor = operator.get(f"/console/operator/activity?actor={two.staff[Role.SUPPORT]}")
    assert two.member_id in html(by_actor) and one.member_id not in html(by_actor)
    by_action = operator.get(
        f"/console/operator/activity?tenant={one.tenant.id}&action=auth.sign_in"
    )
    table = html(by_action).split('<table id="activity"')[1]
    assert "auth.sign_in" in table and "members.freeze" not in table


def test_the_activity_log_pages_with_a_cursor(app):
    actor = f"{unique('pager-')}@example.test"
    for n in range(activity.PAGE + 7):
        activity.record(
            activity.Entry(
                action="members.freeze", outcome=activity.Outcome.OK, actor_email=actor,
                target=f"mem_{n:04d}",
            )
        )  # fmt: skip
    operator = signed_in(app, make_staff(platform_operator=True)[1])
    first = operator.get(f"/console/operator/activity?actor={actor}")
    assert html(first).count('id="activity-act_') == activity.PAGE
    older = html(first).split('id="older" href="')[1].split('"')[0].replace("&amp;", "&")
    second = operator.get(older)
    assert html(second).count('id="activity-act_') == 7 and 'id="older"' not in html(second)
    seen = set()
    for page in (first, second):
        seen |= {part[:8] for part in html(page).split("mem_")[1:]}
    assert {f"{n:04d}" for n in range(activity.PAGE + 7)} <= {s[:4] for s in seen}
    assert operator.get("/console/operator/activity?after=act_missing").status_code == 404


def test_owners_see_their_tenants_activity_only(app, client, webhook_url):
    mine, theirs = open_shop(client, webhook_url), open_shop(client, webhook_url)
    for shop in (mine, theirs):
        signed_in(app, shop.staff[Role.SUPPORT]).post(f"/console/members/{shop.member_id}/freeze")
    for email in (mine.owner_email, mine.staff[Role.ADMIN]):
        page = signed_in(app, email).get("/console/activity", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        assert mine.member_id in html(page) and mine.staff[Role.SUPPORT] in text_of(page)
        assert theirs.member_id not in html(page)
        assert theirs.staff[Role.SUPPORT] not in html(page)
    owner = signed_in(app, mine.owner_email)
    sneaky = owner.get(f"/console/activity?tenant={theirs.tenant.id}")  # ignored here
    assert theirs.member_id not in html(sneaky) and mine.member_id in html(sneaky)
    their_row = rows(tenant_id=theirs.tenant.id, action="members.freeze")[0]
    assert owner.get(f"/console/activity?after={their_row.id}").status_code == 404
    assert signed_in(app, mine.staff[Role.SUPPORT]).get("/console/activity").status_code == 403


def test_a_tenant_unit_of_work_reads_only_its_own_rows(app, client, webhook_url):
    shop = open_shop(client, webhook_url)
    signed_in(app, shop.staff[Role.SUPPORT]).post(f"/console/members/{shop.member_id}/freeze")
    activity.record(activity.Entry(action="fees.edit", outcome=activity.Outcome.OK))
    seen = activity.list_activity(activity.Filters(), tenant_id=shop.tenant.id, limit=500)
    assert seen["data"] and {row.tenant_id for row in seen["data"]} == {shop.tenant.id}
