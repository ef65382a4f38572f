"""The merchant console: dashboard figures, members, adjustments, freezing, webhooks,
languages."""

from __future__ import annotations

import re

from console_helpers import Console, html, open_shop, text_of

from jifen.platform.auth.model import Role


def figure(page, name: str) -> str:
    match = re.search(rf'id="m-{name}">([^<]*)<', html(page))
    assert match, name
    return match.group(1).strip()


def test_dashboard_shows_the_ledgers_totals(client, shop, owner):
    client.post(
        "/v1/redemptions",
        json={"member_id": shop.member_id, "points": 120},
        headers=shop.tenant.auth,
    )
    page = owner.get("/console/", headers={"Accept-Language": "en"})
    assert figure(page, "members") == "1"
    assert figure(page, "issued") == "500"
    assert figure(page, "redeemed") == "120"
    assert figure(page, "expired") == "0"
    assert figure(page, "outstanding").startswith("380 ")
    assert figure(page, "breakage") == "0.0%"
    assert "<svg" in html(page) and "<script" not in html(page)


def test_members_are_found_by_external_id_and_by_card_number(shop, owner):
    by_id = owner.get(f"/console/members?q={shop.member_external_id}")
    spaced = " ".join(shop.card_number[i : i + 4] for i in range(0, 16, 4))
    by_card = owner.get("/console/members", query_string={"q": spaced})
    for page in (by_id, by_card):
        assert shop.member_external_id in html(page) and shop.card_number in html(page)
    nothing = owner.get("/console/members?q=nobody-at-all")
    assert "No members found." in html(nothing)


def test_member_detail_shows_balance_lots_and_history(shop, owner):
    page = owner.get(f"/console/members/{shop.member_id}")
    assert page.status_code == 200
    assert 'id="balance-points">500 ' in html(page)
    assert "welcome" in text_of(page)  # the award's reason in the history
    assert "No open lots." not in text_of(page)


def test_owner_adjusts_points_up_and_down_with_a_reason(shop, owner):
    detail = f"/console/members/{shop.member_id}"
    up = owner.post(
        f"{detail}/adjust", {"direction": "credit", "points": "25", "reason": "goodwill"}
    )
    assert up.status_code == 303
    down = owner.post(f"{detail}/adjust", {"direction": "debit", "points": "5", "reason": "typo"})
    assert down.status_code == 303
    page = owner.get(detail)
    assert 'id="balance-points">520 ' in html(page)
    assert "goodwill" in text_of(page) and "typo" in text_of(page)


def test_deducting_more_than_available_changes_nothing_and_says_why(shop, owner):
    detail = f"/console/members/{shop.member_id}"
    owner.post(f"{detail}/adjust", {"direction": "debit", "points": "501", "reason": "too much"})
    page = owner.get(detail)
    assert "The member does not have enough available points." in text_of(page)
    assert 'id="balance-points">500 ' in html(page)


def test_an_adjustment_needs_a_reason(shop, owner):
    detail = f"/console/members/{shop.member_id}"
    owner.post(f"{detail}/adjust", {"direction": "credit", "points": "5", "reason": " "})
    page = owner.get(detail)
    assert "a reason" in text_of(page)
    assert 'id="balance-points">500 ' in html(page)


def test_support_freezes_and_unfreezes_a_member(client, shop):
    support = Console(client)
    support.login(shop.staff[Role.SUPPORT])
    detail = f"/console/members/{shop.member_id}"
    support.post(f"{detail}/freeze")
    status = client.get(f"/v1/members/{shop.member_id}", headers=shop.tenant.auth).get_json()
    assert status["status"] == "frozen"
    support.post(f"{detail}/unfreeze")
    status = client.get(f"/v1/members/{shop.member_id}", headers=shop.tenant.auth).get_json()
    assert status["status"] == "active"


def test_webhook_delivery_log_and_replay(shop, owner):
    listing = owner.get("/console/webhooks")
    assert "/hooks" in html(listing)
    log = owner.get(f"/console/webhooks/{shop.endpoint_id}")
    assert shop.delivery_id in html(log) or "evt_" in html(log)
    replayed = owner.post(f"/console/webhooks/deliveries/{shop.delivery_id}/replay")
    assert replayed.status_code == 303
    assert "The delivery was sent again." in text_of(owner.get(replayed.headers["Location"]))


def test_another_tenants_member_is_not_found(client, webhook_url, shop, owner):
    other = open_shop(client, webhook_url)
    assert owner.get(f"/console/members/{other.member_id}").status_code == 404
    refused = owner.post(
        f"/console/members/{other.member_id}/adjust",
        {"direction": "credit", "points": "1", "reason": "x"},
    )
    assert refused.status_code == 404


def test_chinese_is_chosen_by_accept_language_and_by_the_switch(client, shop, owner):
    chinese = owner.get("/console/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "仪表盘" in html(chinese) and 'lang="zh-CN"' in html(chinese)
    english = owner.get("/console/", headers={"Accept-Language": "en-US"})
    assert "Dashboard" in html(english)
    owner.post("/console/language", {"language": "zh_CN", "next": "/console/members"})
    switched = owner.get("/console/members", headers={"Accept-Language": "en-US"})
    assert "会员" in html(switched)


def test_money_and_dates_follow_the_locale(app):
    from datetime import UTC, datetime

    from flask_babel import refresh

    from jifen.platform.shell.console import i18n

    moment = datetime(2026, 3, 4, 16, 30, tzinfo=UTC)
    with app.test_request_context("/console/", headers={"Accept-Language": "zh-CN"}):
        refresh()
        assert i18n.money(35800, "CNY") == "¥358.00"
        assert i18n.money(1234567, "JPY") == "JP¥1,234,567"
        assert i18n.format_when(moment, "Asia/Shanghai").startswith("2026年3月5日")
    with app.test_request_context("/console/", headers={"Accept-Language": "en"}):
        refresh()
        assert i18n.money(35800, "CNY") == "CN¥358.00"
        assert i18n.format_when(moment, "Asia/Shanghai").startswith("Mar 5, 2026")
