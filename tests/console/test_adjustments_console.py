"""Manual adjustments in the merchant console: asked for on the member page or the
Adjustments page, posted at once up to the program's threshold, else approved or
rejected by a second staff user; nobody approves their own, and no API client approves
one at all."""

from __future__ import annotations

import pytest
from console_helpers import Console, html, open_shop, text_of
from factories import assert_error

from jifen.platform.auth.model import Role


@pytest.fixture
def shop(client, webhook_url):
    shop = open_shop(client, webhook_url)
    response = client.put(
        "/v1/program", json={"adjustments": {"approval_threshold": 100}}, headers=shop.tenant.auth
    )
    assert response.status_code == 200, response.get_json()
    return shop


def signed_in(app, email: str) -> Console:
    browser = Console(app.test_client())
    assert browser.login(email).status_code == 302
    return browser


def balance(client, shop) -> int:
    found = client.get(f"/v1/members/{shop.member_id}/balance", headers=shop.tenant.auth)
    return found.get_json()["points"]


def adjustments_of(client, shop) -> list[dict]:
    listed = client.get(
        "/v1/adjustments", query_string={"member_id": shop.member_id}, headers=shop.tenant.auth
    )
    return listed.get_json()["data"]


def test_a_small_adjustment_posts_at_once_as_the_signed_in_user(client, shop, owner):
    detail = f"/console/members/{shop.member_id}"
    done = owner.post(f"{detail}/adjust", {"direction": "credit", "points": "100", "reason": "ok"})
    assert done.status_code == 303
    assert "Adjusted by 100 points." in text_of(owner.get(detail))
    assert balance(client, shop) == 600
    [made] = adjustments_of(client, shop)
    assert made["status"] == "posted" and made["requested_by"].startswith("usr_")


def test_a_large_one_waits_and_only_another_user_approves_it(app, client, shop, owner):
    detail = f"/console/members/{shop.member_id}"
    owner.post(f"{detail}/adjust", {"direction": "credit", "points": "150", "reason": "big"})
    page = owner.get(detail)
    assert "waits for another person" in text_of(page)
    [pending] = adjustments_of(client, shop)
    assert pending["status"] == "pending_approval" and balance(client, shop) == 500
    assert f"adjustment-{pending['id']}" in html(page) and "Approve" in html(page)

    own = owner.post(f"/console/adjustments/{pending['id']}/approve", {"back": "member"})
    assert own.status_code == 303 and own.headers["Location"].endswith(detail)
    assert "someone other than who requested it" in text_of(owner.get(detail))
    assert balance(client, shop) == 500

    admin = signed_in(app, shop.staff[Role.ADMIN])
    listing = admin.get("/console/adjustments")
    assert pending["id"] in html(listing) and "big" in text_of(listing)
    approved = admin.post(f"/console/adjustments/{pending['id']}/approve")
    assert approved.headers["Location"].endswith("/console/adjustments")
    assert "approved and posted" in text_of(admin.get("/console/adjustments"))
    assert balance(client, shop) == 650
    admin.post(f"/console/adjustments/{pending['id']}/approve")
    assert "current state" in text_of(admin.get("/console/adjustments"))
    assert balance(client, shop) == 650
    [posted] = adjustments_of(client, shop)
    assert posted["status"] == "posted" and posted["approved_by"] != posted["requested_by"]


def test_the_requester_cannot_approve_through_the_tenants_api_client(app, client, shop, owner):
    """An owner who can manage API clients must not be their own second pair of eyes."""
    owner.post(
        f"/console/members/{shop.member_id}/adjust",
        {"direction": "credit", "points": "150", "reason": "big"},
    )
    [pending] = adjustments_of(client, shop)
    refused = client.post(f"/v1/adjustments/{pending['id']}/approve", headers=shop.tenant.auth)
    assert_error(refused, 403, "approval_requires_staff")
    assert adjustments_of(client, shop) == [pending] and balance(client, shop) == 500
    finance = signed_in(app, shop.staff[Role.FINANCE])
    finance.post(f"/console/adjustments/{pending['id']}/approve")
    assert "approved and posted" in text_of(finance.get("/console/adjustments"))
    [posted] = adjustments_of(client, shop)
    assert (
        posted["approved_by"].startswith("usr_")
        and posted["approved_by"] != (posted["requested_by"])
    )
    assert balance(client, shop) == 650


def test_a_large_manual_award_from_the_api_waits_for_a_person_here(app, client, shop):
    """``POST /v1/awards`` above the threshold answers 202 and posts nothing; the award
    waits on the Adjustments page, and a finance user's approval posts it once."""
    award = {"member_id": shop.member_id, "event": "manual", "points": 5000, "reason": "vip"}
    response = client.post("/v1/awards", json=award, headers=shop.tenant.auth)
    assert response.status_code == 202, response.get_json()
    pending = response.get_json()
    assert pending["status"] == "pending_approval" and balance(client, shop) == 500
    finance = signed_in(app, shop.staff[Role.FINANCE])
    listing = finance.get("/console/adjustments")
    assert pending["id"] in html(listing) and "vip" in text_of(listing)
    finance.post(f"/console/adjustments/{pending['id']}/approve")
    assert "approved and posted" in text_of(finance.get("/console/adjustments"))
    assert balance(client, shop) == 5500
    finance.post(f"/console/adjustments/{pending['id']}/approve")
    assert balance(client, shop) == 5500
    [posted] = [a for a in adjustments_of(client, shop) if a["id"] == pending["id"]]
    assert posted["status"] == "posted" and posted["requested_by"] == shop.tenant.client_id
    assert posted["approved_by"].startswith("usr_")


def test_finance_rejects_with_a_reason_and_nothing_is_posted(app, client, shop, owner):
    owner.post(
        f"/console/members/{shop.member_id}/adjust",
        {"direction": "debit", "points": "300", "reason": "suspected fraud"},
    )
    [pending] = adjustments_of(client, shop)
    finance = signed_in(app, shop.staff[Role.FINANCE])
    finance.post(
        f"/console/adjustments/{pending['id']}/reject", {"rejection_reason": "order was genuine"}
    )
    assert "was rejected" in text_of(finance.get("/console/adjustments"))
    [rejected] = adjustments_of(client, shop)
    assert rejected["status"] == "rejected" and rejected["rejection_reason"] == "order was genuine"
    assert balance(client, shop) == 500
    page = text_of(owner.get(f"/console/members/{shop.member_id}"))
    assert "suspected fraud" in page and "order was genuine" in page


def test_the_adjustments_page_finds_the_member_by_external_id(client, shop, owner):
    owner.post(
        "/console/adjustments",
        {"member": shop.member_external_id, "direction": "debit", "points": "20", "reason": "x"},
    )
    assert "Adjusted by 20 points." in text_of(owner.get("/console/adjustments"))
    assert balance(client, shop) == 480
    owner.post(
        "/console/adjustments",
        {"member": "nobody-at-all", "direction": "credit", "points": "5", "reason": "x"},
    )
    assert "No member matches" in text_of(owner.get("/console/adjustments"))
    assert balance(client, shop) == 480 and len(adjustments_of(client, shop)) == 1


def test_a_debit_beyond_the_balance_says_why_and_changes_nothing(client, shop, owner):
    detail = f"/console/members/{shop.member_id}"
    owner.post(f"{detail}/adjust", {"direction": "debit", "points": "501", "reason": "too much"})
    assert "not have enough available points" in text_of(owner.get(detail))
    assert balance(client, shop) == 500 and adjustments_of(client, shop) == []


def test_support_sees_adjustments_but_cannot_decide(app, client, shop, owner):
    owner.post(
        f"/console/members/{shop.member_id}/adjust",
        {"direction": "credit", "points": "150", "reason": "big"},
    )
    [pending] = adjustments_of(client, shop)
    support = signed_in(app, shop.staff[Role.SUPPORT])
    page = support.get("/console/adjustments")
    assert page.status_code == 200 and pending["id"] in html(page)
    assert "console/adjustments/" + pending["id"] + "/approve" not in html(page)
    assert support.post(f"/console/adjustments/{pending['id']}/approve").status_code == 403
    assert balance(client, shop) == 500


def test_another_tenants_adjustment_is_not_found(app, client, webhook_url, shop, owner):
    other = open_shop(client, webhook_url)
    theirs = client.post(
        "/v1/adjustments",
        json={"member_id": other.member_id, "points": 20_000, "reason": "theirs"},
        headers=other.tenant.auth,
    ).get_json()
    assert owner.post(f"/console/adjustments/{theirs['id']}/approve").status_code == 404
    assert owner.post(f"/console/adjustments/{theirs['id']}/reject").status_code == 404
    assert theirs["id"] not in html(owner.get("/console/adjustments"))
