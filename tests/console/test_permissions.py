"""Every console action against every role, over HTTP: allowed roles get their page or
their redirect, others a 403 page, anonymous visitors the sign-in page.

The expectations are written out here on purpose (not read from ``permissions``): this
table is the specification the code is checked against.
"""

from __future__ import annotations

import pytest
from console_helpers import Console, make_staff, open_shop

from jifen.platform.auth.model import Role
from jifen.platform.errors import Unprocessable
from jifen.platform.shell.console import permissions

OWNER, ADMIN, OPERATOR, SUPPORT, FINANCE = "owner", "admin", "operator", "support", "finance"
PLATFORM, PLATFORM_FINANCE, ANONYMOUS = "platform operator", "platform finance", "anonymous"
TENANT_ROLES = (OWNER, ADMIN, OPERATOR, SUPPORT, FINANCE)

ALLOWED = {
    "dashboard.view": {OWNER, ADMIN, OPERATOR, SUPPORT, FINANCE},
    "members.view": {OWNER, ADMIN, OPERATOR, SUPPORT},
    "members.freeze": {OWNER, ADMIN, SUPPORT},
    "members.adjust": {OWNER, ADMIN},
    "adjustments.view": {OWNER, ADMIN, SUPPORT, FINANCE},
    "adjustments.request": {OWNER, ADMIN},
    "adjustments.approve": {OWNER, ADMIN, FINANCE},
    "webhooks.view": {OWNER, ADMIN, OPERATOR},
    "webhooks.replay": {OWNER, ADMIN, OPERATOR},
    "statements.view": {OWNER, ADMIN, FINANCE},
    "payouts.view": {OWNER, ADMIN, FINANCE},
    "payouts.manage": {OWNER, ADMIN},
    "clients.view": {OWNER, ADMIN},
    "clients.manage": {OWNER, ADMIN},
    "exchange.view": {OWNER, ADMIN, FINANCE},
    "exchange.edit": {OWNER, ADMIN},
    "program.view": {OWNER, ADMIN, OPERATOR},
    "program.edit": {OWNER, ADMIN},
    "program.simulate": {OWNER, ADMIN, OPERATOR},
    "catalog.view": {OWNER, ADMIN, OPERATOR, SUPPORT},
    "catalog.edit": {OWNER, ADMIN, OPERATOR},
    "orders.fulfil": {OWNER, ADMIN, OPERATOR, SUPPORT},
    "orders.cancel": {OWNER, ADMIN, SUPPORT},
    "lottery.view": {OWNER, ADMIN, OPERATOR},
    "lottery.edit": {OWNER, ADMIN},
    "alliance.view": {OWNER, ADMIN, FINANCE},
    "alliance.manage": {OWNER, ADMIN},
    "activity.tenant_view": {OWNER, ADMIN},
    "team.view": {OWNER, ADMIN},
    "team.manage": {OWNER, ADMIN},
    "tenants.view": {PLATFORM, PLATFORM_FINANCE},
    "tenants.plan": {PLATFORM},
    "activity.view": {PLATFORM},
    "fees.view": {PLATFORM, PLATFORM_FINANCE},
    "fees.edit": {PLATFORM},
    "spu_value.view": {PLATFORM, PLATFORM_FINANCE},
    "spu_value.edit": {PLATFORM},
    "jobs.view": {PLATFORM},
    "jobs.requeue": {PLATFORM},
    "outbox.view": {PLATFORM},
    "audit.run": {PLATFORM, PLATFORM_FINANCE},
    "staff.view": {PLATFORM},
    "staff.manage": {PLATFORM},
    "batches.view": {PLATFORM, PLATFORM_FINANCE},
    "batches.close": {PLATFORM, PLATFORM_FINANCE},
    "batches.approve": {PLATFORM, PLATFORM_FINANCE},
    "batches.report": {PLATFORM, PLATFORM_FINANCE},
    "batches.reconcile": {PLATFORM, PLATFORM_FINANCE},
    "batches.confirm_payment": {PLATFORM, PLATFORM_FINANCE},
}

CASES = [
    ("dashboard.view", "GET", "/console/", None),
    ("members.view", "GET", "/console/members", None),
    ("members.view", "GET", "/console/members/{member}", None),
    ("members.freeze", "POST", "/console/members/{member}/freeze", {}),
    ("members.freeze", "POST", "/console/members/{member}/unfreeze", {}),
    (
        "members.adjust",
        "POST",
        "/console/members/{member}/adjust",
        {"direction": "credit", "points": "1", "reason": "permission test"},
    ),
    ("adjustments.view", "GET", "/console/adjustments", None),
    (
        "adjustments.request",
        "POST",
        "/console/adjustments",
        {"member": "nobody-at-all", "direction": "credit", "points": "1", "reason": "test"},
    ),
    ("adjustments.approve", "POST", "/console/adjustments/adj_missing/approve", {}),
    ("adjustments.approve", "POST", "/console/adjustments/adj_missing/reject", {}),
    ("webhooks.view", "GET", "/console/webhooks", None),
    ("webhooks.view", "GET", "/console/webhooks/{endpoint}", None),
    ("webhooks.replay", "POST", "/console/webhooks/deliveries/{delivery}/replay", {}),
    ("statements.view", "GET", "/console/statements", None),
    ("payouts.view", "GET", "/console/payouts", None),
    # without Stripe in these tests, onboarding answers with a flash and a redirect
    ("payouts.manage", "POST", "/console/payouts/onboard", {}),
    ("payouts.manage", "GET", "/console/payouts/onboard", None),
    ("payouts.manage", "GET", "/console/payouts/return", None),
    # forms an allowed role sends are refused by validation (422) or name nothing (404),
    # so the table changes no data
    ("clients.view", "GET", "/console/clients", None),
    ("clients.manage", "POST", "/console/clients", {"name": " "}),
    ("clients.manage", "POST", "/console/clients/cli_missing/revoke", {}),
    ("exchange.view", "GET", "/console/exchange", None),
    ("exchange.edit", "POST", "/console/exchange", {"spu_rate": "not a rate"}),
    ("program.view", "GET", "/console/program", None),
    ("program.edit", "POST", "/console/program", {"document": "not json"}),
    ("program.simulate", "POST", "/console/program/simulate", {"amount": "1", "currency": "CNY"}),
    ("clients.manage", "POST", "/console/clients/cli_missing/rotate", {}),
    ("program.simulate", "POST", "/console/program/simulate-draft", {"document": "not json"}),
    ("catalog.view", "GET", "/console/catalog", None),
    ("catalog.view", "GET", "/console/catalog/rwd_missing", None),
    ("catalog.view", "GET", "/console/orders", None),
    ("catalog.edit", "GET", "/console/catalog/new", None),
    ("catalog.edit", "POST", "/console/catalog", {"kind": "physical", "name": " "}),
    ("catalog.edit", "POST", "/console/catalog/rwd_missing", {"name": "x"}),
    ("catalog.edit", "POST", "/console/catalog/rwd_missing/archive", {}),
    ("catalog.edit", "POST", "/console/catalog/rwd_missing/codes", {"codes": "X"}),
    ("orders.fulfil", "POST", "/console/orders/rdo_missing/fulfil", {"status": "shipped"}),
    ("orders.cancel", "POST", "/console/orders/rdo_missing/cancel", {}),
    ("lottery.view", "GET", "/console/lotteries", None),
    ("lottery.view", "GET", "/console/lotteries/ltr_missing", None),
    ("lottery.edit", "POST", "/console/lotteries", {"name": ""}),
    ("lottery.edit", "POST", "/console/lotteries/ltr_missing/close", {}),
    ("alliance.view", "GET", "/console/alliance", None),
    ("alliance.manage", "POST", "/console/alliance/members", {"tenant_slug": " "}),
    ("alliance.manage", "POST", "/console/alliance/invitations/amb_missing/accept", {}),
    ("alliance.manage", "POST", "/console/alliance/invitations/amb_missing/decline", {}),
    ("team.view", "GET", "/console/team", None),
    ("team.manage", "POST", "/console/team/invitations", {"email": "no address", "role": "admin"}),
    ("team.manage", "POST", "/console/team/invitations/inv_missing/revoke", {}),
    ("team.manage", "POST", "/console/team/usr_missing/role", {"role": "support"}),
    ("team.manage", "POST", "/console/team/usr_missing/disable", {}),
    ("team.manage", "POST", "/console/team/usr_missing/enable", {}),
    ("team.manage", "POST", "/console/team/usr_missing/remove", {}),
    ("staff.view", "GET", "/console/operator/staff", None),
    (
        "staff.manage",
        "POST",
        "/console/operator/staff/invitations",
        {"email": "no address", "role": "finance"},
    ),
    ("staff.manage", "POST", "/console/operator/staff/invitations/inv_missing/revoke", {}),
    ("staff.manage", "POST", "/console/operator/staff/usr_missing/role", {"role": "finance"}),
    ("staff.manage", "POST", "/console/operator/staff/usr_missing/disable", {}),
    ("staff.manage", "POST", "/console/operator/staff/usr_missing/enable", {}),
    ("tenants.view", "GET", "/console/operator/tenants", None),
    ("tenants.view", "GET", "/console/operator/tenants/{tenant}", None),
    ("tenants.plan", "POST", "/console/operator/tenants/{tenant}/plan", {"plan": "no such plan"}),
    ("activity.view", "GET", "/console/operator/activity", None),
    ("activity.tenant_view", "GET", "/console/activity", None),
    ("fees.view", "GET", "/console/operator/fees", None),
    ("fees.edit", "POST", "/console/operator/fees", {"swap_bps": "x"}),
    ("spu_value.view", "GET", "/console/operator/spu-value", None),
    ("spu_value.edit", "POST", "/console/operator/spu-value", {"currency": "X"}),
    ("jobs.view", "GET", "/console/operator/jobs", None),
    ("jobs.requeue", "POST", "/console/operator/jobs/default/job_missing/requeue", {}),
    ("outbox.view", "GET", "/console/outbox", None),
    ("audit.run", "GET", "/console/operator/audit", None),
    ("batches.view", "GET", "/console/finance/batches", None),
    ("batches.view", "GET", "/console/finance/batches/stb_missing", None),
    ("batches.close", "POST", "/console/finance/batches", {}),
    ("batches.approve", "POST", "/console/finance/batches/stb_missing/approve", {}),
    ("batches.approve", "POST", "/console/finance/batches/stb_missing/pay", {}),
    ("batches.report", "GET", "/console/finance/batches/stb_missing/report.csv", None),
    ("batches.reconcile", "POST", "/console/finance/batches/stb_missing/reconcile", {}),
    ("batches.confirm_payment", "POST", "/console/finance/manual-payments/smp_missing/confirm", {}),
    ("batches.confirm_payment", "POST", "/console/finance/manual-payments/smp_missing/reject", {}),
    (
        "batches.approve",
        "POST",
        "/console/finance/batches/stb_missing/instructions/{tenant}/mark-paid",
        {"reference": "permission test"},
    ),
]


@pytest.fixture(scope="module")
def shop(app, webhook_url):
    shop = open_shop(app.test_client(), webhook_url)
    shop.staff[PLATFORM] = make_staff(platform_operator=True)[1]
    shop.staff[PLATFORM_FINANCE] = make_staff(platform_role="finance")[1]
    return shop


@pytest.fixture(autouse=True)
def no_real_batch_closing(monkeypatch):
    """Closing a batch would settle the whole shared test database: pretend instead."""

    def refuse(closed_by, cutoff=None):
        raise Unprocessable("not in this test", code="cutoff_in_future")

    monkeypatch.setattr("jifen.settlement.services.close_batch", refuse)


def test_an_operator_sees_no_other_tenant(app, client, webhook_url, shop):
    """A tenant's operator is refused the operator console, cannot pick another tenant,
    and another tenant's members and API clients are not theirs to see or touch."""
    from jifen.platform.auth.services import list_clients

    other = open_shop(client, webhook_url)
    browser = Console(app.test_client())
    assert browser.login(shop.staff[Role.OPERATOR]).status_code == 302
    assert browser.get("/console/operator/tenants").status_code == 403
    assert browser.post("/console/tenant", {"tenant": other.tenant.id}).status_code == 403
    assert browser.get(f"/console/members/{other.member_id}").status_code == 404
    found = browser.get(f"/console/members?q={other.member_external_id}")
    assert other.member_id not in found.get_data(as_text=True)
    owner = Console(app.test_client())
    owner.login(shop.owner_email)
    theirs = list_clients(other.tenant.id)[0].id
    assert owner.post(f"/console/clients/{theirs}/revoke").status_code == 404


def test_the_table_covers_every_declared_action():
    declared = set(permissions.TENANT_ACTIONS) | set(permissions.PLATFORM_ACTIONS)
    assert declared == set(ALLOWED) == {case[0] for case in CASES}


def test_every_console_view_declares_its_action(app):
    public = {
        "console.login",
        "console.logout",
        "console.choose_tenant",
        "console.switch_language",
        "console.change_password",  # any signed-in user, for their own account
        "console.staff_invitation",  # an invitation link: its token is the authority
    }
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or rule.endpoint in public:
            continue
        if rule.endpoint == "console.static":
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "console_action", None) in ALLOWED, rule.endpoint
    tested = {(method, path.split("{")[0]) for _, method, path, _ in CASES}
    assert len(tested) >= len(ALLOWED)


@pytest.mark.parametrize("role", [*TENANT_ROLES, PLATFORM, PLATFORM_FINANCE, ANONYMOUS])
@pytest.mark.parametrize(("action", "method", "path", "form"), CASES)
def test_role_may_or_may_not(app, shop, role, action, method, path, form):
    browser = Console(app.test_client())
    if role != ANONYMOUS:
        email = shop.staff[Role(role)] if role in TENANT_ROLES else shop.staff[role]
        assert browser.login(email).status_code == 302
    url = path.format(
        member=shop.member_id,
        endpoint=shop.endpoint_id,
        delivery=shop.delivery_id,
        tenant=shop.tenant.id,
    )
    response = browser.get(url) if method == "GET" else browser.post(url, form)
    if role == ANONYMOUS:
        assert response.status_code == 302
        assert "/console/login" in response.headers["Location"]
    elif role in ALLOWED[action]:
        assert response.status_code in (200, 303, 404, 422), response.status_code
        if response.status_code == 404:
            assert "_missing" in url  # only the unknown batch, client or job is missing
        if response.status_code == 422:
            assert method == "POST" and response.mimetype == "text/html"
    else:
        assert response.status_code in (403, 302), response.status_code
        if response.status_code == 302:  # platform staff have no tenant dashboard
            assert role in (PLATFORM, PLATFORM_FINANCE)
            assert response.headers["Location"].endswith("/finance/batches")
        else:
            assert response.mimetype == "text/html"
