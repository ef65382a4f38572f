"""The alliance page: an alliance invites merchants and sees each member's issued and
redeemed figures; a merchant accepts or declines invitations and sees its memberships."""

from __future__ import annotations

import pytest
from console_helpers import Console, html, make_staff, text_of
from factories import TenantHandle, unique

from jifen.platform.auth.model import Role
from jifen.tenants.alliances.services import list_invitations, list_members

EN = {"Accept-Language": "en"}


def owner_of(client, tenant: TenantHandle) -> Console:
    browser = Console(client.application.test_client())
    assert browser.login(f"owner@{tenant.slug}.example").status_code == 302
    return browser


@pytest.fixture
def alliance(api, client) -> TenantHandle:
    """An alliance priced at 0.5 SPU a point, earning 1 point per full 1.00 yuan."""
    tenant = api.signup("alliance", plan="scale")
    priced = client.put(
        "/v1/exchange/settings",
        json={"spu_rate": "0.5", "inbound": True, "outbound": True, "acceptance": True},
        headers=tenant.auth,
    )
    assert priced.status_code == 200, priced.get_json()
    program = client.put(
        "/v1/program", json={"earning": {"points": 1, "per_amount": 100}}, headers=tenant.auth
    )
    assert program.status_code == 200, program.get_json()
    return tenant


@pytest.fixture
def merchant(api) -> TenantHandle:
    return api.signup(plan="scale")


def invite(client, alliance, merchant) -> str:
    invited = owner_of(client, alliance).post(
        "/console/alliance/members", {"tenant_slug": merchant.slug}
    )
    assert invited.status_code == 303, text_of(invited)
    return list_invitations(merchant.id)[0].id


def test_an_alliance_invites_a_merchant_who_accepts(client, alliance, merchant):
    invitation_id = invite(client, alliance, merchant)
    assert [(m.merchant_id, m.status) for m in list_members(alliance.id)] == [
        (merchant.id, "pending")
    ]
    alliance_page = html(owner_of(client, alliance).get("/console/alliance", headers=EN))
    assert f'id="member-{merchant.slug}"' in alliance_page and "invited" in alliance_page

    shopkeeper = owner_of(client, merchant)
    page = shopkeeper.get("/console/alliance", headers=EN)
    assert f'id="invitation-{invitation_id}"' in html(page) and alliance.slug in html(page)
    assert 'id="invite-form"' not in html(page)
    assert (
        shopkeeper.post(f"/console/alliance/invitations/{invitation_id}/accept").status_code == 303
    )
    assert list_invitations(merchant.id)[0].status == "active"
    page = shopkeeper.get("/console/alliance", headers=EN)
    assert f'id="membership-{invitation_id}"' in html(page)
    assert f'id="invitation-{invitation_id}"' not in html(page)
    assert "You joined the alliance" in text_of(page)


def test_the_alliance_sees_each_members_issued_and_redeemed_figures(
    api, client, alliance, merchant
):
    invitation_id = invite(client, alliance, merchant)
    owner_of(client, merchant).post(f"/console/alliance/invitations/{invitation_id}/accept")
    card = client.post(
        "/v1/members", json={"external_id": unique("cust-")}, headers=merchant.auth
    ).get_json()["card_number"]
    earned = client.post(
        "/v1/alliance/earn",
        json={"alliance": alliance.currency_code, "card_number": card, "order_id": "o-1",
              "amount": 123456, "currency": "CNY"},
        headers=merchant.auth,
    )  # fmt: skip
    assert earned.status_code == 201, earned.get_json()
    redeemed = client.post(
        "/v1/alliance/redeem",
        json={"alliance": alliance.currency_code, "card_number": card, "points": 300,
              "reference": "till-1"},
        headers=merchant.auth,
    )  # fmt: skip
    assert redeemed.status_code == 201, redeemed.get_json()

    page = html(owner_of(client, alliance).get("/console/alliance", headers=EN))
    row = page.split(f'id="member-{merchant.slug}"')[1].split("</tr>")[0]
    assert '"num issued-points">1,234<' in row and '"num redeemed-points">300<' in row
    assert ">617<" in row and ">150<" in row and ">467<" in row  # SPU at 0.5 a point
    figures = list_members(alliance.id)[0]
    assert (figures.issued_points, figures.redeemed_points, figures.net_spu) == (
        1234,
        300,
        467_000_000,
    )


def test_a_merchant_declines_and_may_be_invited_again(client, alliance, merchant):
    invitation_id = invite(client, alliance, merchant)
    shopkeeper = owner_of(client, merchant)
    declined = shopkeeper.post(f"/console/alliance/invitations/{invitation_id}/decline")
    assert declined.status_code == 303
    assert list_invitations(merchant.id) == [] and list_members(alliance.id) == []
    invite(client, alliance, merchant)
    assert [m.status for m in list_members(alliance.id)] == ["pending"]


def test_an_accepted_membership_cannot_be_declined(client, alliance, merchant):
    invitation_id = invite(client, alliance, merchant)
    shopkeeper = owner_of(client, merchant)
    shopkeeper.post(f"/console/alliance/invitations/{invitation_id}/accept")
    assert (
        shopkeeper.post(f"/console/alliance/invitations/{invitation_id}/decline").status_code == 303
    )
    assert "accepted already" in text_of(shopkeeper.get("/console/alliance", headers=EN))
    assert list_invitations(merchant.id)[0].status == "active"


@pytest.mark.parametrize("case", ["unknown", "twice", "alliance", "blank"])
def test_a_bad_invitation_says_why(api, client, alliance, merchant, case):
    owner = owner_of(client, alliance)
    if case == "twice":
        invite(client, alliance, merchant)
    slug = {
        "unknown": unique("nobody-"),
        "twice": merchant.slug,
        "alliance": api.signup("alliance", plan="scale").slug,
        "blank": " ",
    }[case]
    refused = owner.post("/console/alliance/members", {"tenant_slug": slug}, headers=EN)
    assert refused.status_code == 422 and 'id="error-tenant_slug"' in html(refused)
    assert len(list_members(alliance.id)) == (1 if case == "twice" else 0)


def test_a_merchant_cannot_invite(client, merchant, api):
    other = api.signup(plan="scale")
    refused = owner_of(client, merchant).post(
        "/console/alliance/members", {"tenant_slug": other.slug}
    )
    assert refused.status_code == 422
    assert list_invitations(other.id) == []


def test_another_merchants_invitation_is_not_found(api, client, alliance, merchant):
    invitation_id = invite(client, alliance, merchant)
    stranger = owner_of(client, api.signup(plan="scale"))
    assert stranger.post(f"/console/alliance/invitations/{invitation_id}/accept").status_code == 404
    assert (
        stranger.post(f"/console/alliance/invitations/{invitation_id}/decline").status_code == 404
    )
    assert invitation_id not in html(stranger.get("/console/alliance"))
    assert list_invitations(merchant.id)[0].status == "pending"


def test_finance_sees_the_alliance_page_but_only_owners_and_admins_act(client, alliance, merchant):
    invitation_id = invite(client, alliance, merchant)
    finance = Console(client.application.test_client())
    finance.login(make_staff({merchant.id: Role.FINANCE})[1])
    page = finance.get("/console/alliance")
    assert page.status_code == 200 and f'id="invitation-{invitation_id}"' in html(page)
    assert "/accept" not in html(page)
    assert finance.post(f"/console/alliance/invitations/{invitation_id}/accept").status_code == 403
    operator = Console(client.application.test_client())
    operator.login(make_staff({merchant.id: Role.OPERATOR})[1])
    assert operator.get("/console/alliance").status_code == 403
    admin = Console(client.application.test_client())
    admin.login(make_staff({merchant.id: Role.ADMIN})[1])
    assert admin.post(f"/console/alliance/invitations/{invitation_id}/accept").status_code == 303
    assert list_invitations(merchant.id)[0].status == "active"
