"""The payout settings page: a tenant's owner onboards its Connect account with Stripe
from the console; its finance clerk sees the status but cannot start onboarding."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

sys.path.append(str(Path(__file__).parent.parent / "console"))

from console_helpers import Console, html, make_staff  # noqa: E402

from jifen.platform.auth.model import Role  # noqa: E402


def status_on_page(browser) -> str:
    page = html(browser.get("/console/payouts"))
    return page.split('id="connect-status" data-status="', 1)[1].split('"', 1)[0]


def test_an_owner_onboards_with_stripe_from_the_payout_settings(settlement, stripe_on, app):
    tenant = settlement.tenant("1")
    owner = Console(app.test_client())
    assert (
        owner.login(make_staff({tenant.id: Role.OWNER})[1], tenant_id=tenant.id).status_code == 302
    )
    assert status_on_page(owner) == "none"
    assert 'id="onboard"' in html(owner.get("/console/payouts"))

    to_stripe = owner.post("/console/payouts/onboard")
    assert to_stripe.status_code == 303
    assert to_stripe.headers["Location"].startswith(f"{stripe_on.url}/setup/")
    assert status_on_page(owner) == "onboarding"
    back = stripe_on.visit(to_stripe.headers["Location"])
    assert urlsplit(back).path == "/console/payouts/return"
    returned = owner.get(urlsplit(back).path)
    assert returned.status_code == 303
    assert status_on_page(owner) == "enabled"

    # a used link sends the browser to the refresh URL: a new link, the same account
    again = owner.get(urlsplit(stripe_on.visit(to_stripe.headers["Location"])).path)
    assert again.status_code == 303 and again.headers["Location"].startswith(stripe_on.url)
    assert len([a for a in stripe_on.created("account") if a["metadata"]]) == 1

    clerk = Console(app.test_client())
    clerk.login(make_staff({tenant.id: Role.FINANCE})[1], tenant_id=tenant.id)
    assert status_on_page(clerk) == "enabled"
    assert 'id="onboard"' not in html(clerk.get("/console/payouts"))
    assert clerk.post("/console/payouts/onboard").status_code == 403
