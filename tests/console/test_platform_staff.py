"""The platform's own staff on the operator console's Staff page: operators invite
operators and finance people, change their role, disable and enable them; what a
platform finance user may do is the permission table's (settlement yes, the rest of the
platform read-only or not at all)."""

from __future__ import annotations

import re

from console_helpers import PASSWORD, Console, html, make_staff, text_of
from factories import unique
from team_helpers import NEW_PASSWORD, accept, held_link, signed_in, stranger, user_id_of


def operator_console(app) -> tuple[str, Console]:
    user_id, email = make_staff(platform_role="operator")
    browser = Console(app.test_client())
    assert browser.login(email).status_code == 302
    return user_id, browser


def staff_row(operator: Console, email: str) -> str:
    page = html(operator.get("/console/operator/staff"))
    row = re.search(rf'data-email="{re.escape(email)}">(.*?)</tr>', page, re.S)
    return row.group(1) if row else ""


def test_an_operator_invites_a_finance_user_who_works_the_batches_only(app):
    _, operator = operator_console(app)
    email = f"{unique('fin-')}@example.test"
    sent = operator.post("/console/operator/staff/invitations", {"email": email, "role": "finance"})
    assert sent.status_code == 303
    assert email in text_of(operator.get("/console/operator/staff"))
    browser, accepted = accept(app, held_link(email))
    assert accepted.status_code == 303
    assert accepted.headers["Location"].endswith("/console/finance/batches")

    for path in ("/console/finance/batches", "/console/operator/tenants", "/console/operator/fees",
                 "/console/operator/spu-value", "/console/operator/audit"):  # fmt: skip
        assert browser.get(path).status_code == 200, path
    for path in ("/console/outbox", "/console/operator/jobs", "/console/operator/staff",
                 "/console/operator/activity"):  # fmt: skip
        assert browser.get(path).status_code == 403, path
    fees = browser.get("/console/operator/fees")
    assert "Save as a new version" not in html(fees)
    assert browser.post("/console/operator/fees", {"swap_bps": "1"}).status_code == 403
    nav = html(browser.get("/console/finance/batches")).split("</nav>")[0]
    assert "/console/finance/batches" in nav and "/console/outbox" not in nav
    assert "Finance" in staff_row(operator, email)


def test_a_platform_role_change_signs_the_person_out(app):
    _, operator = operator_console(app)
    user_id, email = make_staff(platform_role="finance")
    finance = Console(app.test_client())
    finance.login(email)
    assert finance.get("/console/outbox").status_code == 403
    changed = operator.post(f"/console/operator/staff/{user_id}/role", {"role": "operator"})
    assert changed.status_code == 303
    assert not signed_in(finance) and finance.get("/console/outbox").status_code == 302
    finance.login(email)
    assert finance.get("/console/outbox").status_code == 200
    assert "Operator" in staff_row(operator, email)


def test_a_disabled_platform_user_cannot_sign_in_until_enabled(app):
    _, operator = operator_console(app)
    user_id, email = make_staff(platform_role="finance")
    finance = Console(app.test_client())
    finance.login(email)
    assert operator.post(f"/console/operator/staff/{user_id}/disable").status_code == 303
    assert "disabled" in staff_row(operator, email)
    assert finance.get("/console/finance/batches").status_code == 302  # signed out
    refused = finance.login(email)
    assert refused.status_code == 403 and "This account is disabled" in text_of(refused)
    assert finance.login(email, "a wrong password").status_code == 401  # nothing told
    assert operator.post(f"/console/operator/staff/{user_id}/enable").status_code == 303
    assert finance.login(email).status_code == 302


def test_an_operator_cannot_disable_themselves(app):
    user_id, operator = operator_console(app)
    assert f"/console/operator/staff/{user_id}/disable" not in html(
        operator.get("/console/operator/staff")
    )
    assert operator.post(f"/console/operator/staff/{user_id}/disable").status_code == 303
    assert "You cannot disable your own account." in text_of(
        operator.get("/console/operator/staff")
    )
    assert signed_in(operator)


def test_a_tenant_owner_joins_the_platform_finance_team_with_their_own_password(app, api):
    tenant = api.signup()
    owner_email = f"owner@{tenant.slug}.example"
    _, operator = operator_console(app)
    operator.post("/console/operator/staff/invitations", {"email": owner_email, "role": "finance"})
    browser = stranger(app)
    path = held_link(owner_email)
    assert 'name="password_again"' not in html(browser.get(path))
    assert browser.post(path, {"password": NEW_PASSWORD}).status_code == 401
    assert browser.post(path, {"password": PASSWORD}).status_code == 303
    assert browser.get("/console/finance/batches").status_code == 200
    again = Console(app.test_client())
    again.login(owner_email, tenant_id=tenant.id)
    assert again.get("/console/team").status_code == 200  # still the tenant's owner
    assert user_id_of(owner_email) in html(operator.get("/console/operator/staff"))
