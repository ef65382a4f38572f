"""The console in a real browser: Debian's Chromium, headless, driven by Playwright
against a live server on a free port.

An owner signs in, sees the dashboard, finds a member and adjusts their points; a support
user is refused the adjustment. A platform operator opens the operator pages and runs the
audit; an owner creates an API client (its secret shown once) and revokes it. Every page
is screenshot in English and Chinese to ``test-artifacts/console/`` (look at them: Chinese
needs a CJK font in the browser).
Skipped when ``/usr/bin/chromium`` or Playwright is missing; never downloads a browser.
"""

from __future__ import annotations

import re

import pytest
from browser_support import ARTIFACTS as BROWSER_ARTIFACTS
from browser_support import console_sign_in, require_chromium, screenshot
from console_helpers import PASSWORD, make_staff, open_shop

from jifen.platform.auth.model import Role

ARTIFACTS = BROWSER_ARTIFACTS / "console"

require_chromium()  # skips this module without Debian's Chromium


@pytest.fixture(scope="module")
def shop(app, webhook_url):
    shop = open_shop(app.test_client(), webhook_url)
    shop.staff["platform"] = make_staff(platform_operator=True)[1]
    return shop


def shoot(page, language: str, name: str) -> None:
    screenshot(page, ARTIFACTS / f"{language}-{name}.png")


def sign_in(page, base: str, email: str) -> None:
    console_sign_in(page, base, email, PASSWORD)


LABELS = {
    "en": {"dashboard": "Dashboard", "adjust": "Adjust", "adjusted": "Adjusted by 7 points."},
    "zh-CN": {"dashboard": "仪表盘", "adjust": "调整", "adjusted": "已调整 7 积分。"},
}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_owner_adjusts_points_and_support_is_refused(browser, live_server, shop, language):
    labels = LABELS[language]
    context = browser.new_context(locale=language, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))

    page.goto(f"{live_server}/console/login")
    shoot(page, language, "01-login")
    sign_in(page, live_server, shop.owner_email)
    page.wait_for_url(re.compile(r"/console/$"))
    assert page.locator("h1").inner_text() == labels["dashboard"]
    shoot(page, language, "02-dashboard")

    page.click("nav a[href='/console/members']")
    page.fill("input[name=q]", shop.member_external_id)
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"/console/members\?q="))
    shoot(page, language, "03-members")
    page.click(f"text={shop.member_external_id}")
    page.wait_for_url(re.compile(rf"/console/members/{shop.member_id}$"))
    before = int(re.sub(r"\D", "", page.inner_text("#balance-points").split()[0]))
    shoot(page, language, "04-member")

    page.select_option("select[name=direction]", "credit")
    page.fill("input[name=points]", "7")
    page.fill("input[name=reason]", f"browser test {language}")
    page.click(f"#adjust-form button:has-text('{labels['adjust']}')")
    page.wait_for_selector(".flash.ok")
    assert labels["adjusted"] in page.inner_text(".flash.ok")
    after = int(re.sub(r"\D", "", page.inner_text("#balance-points").split()[0]))
    assert after == before + 7
    shoot(page, language, "05-adjusted")

    page.goto(f"{live_server}/console/webhooks")
    shoot(page, language, "06-webhooks")
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/console/login"))

    sign_in(page, live_server, shop.staff[Role.SUPPORT])
    page.wait_for_url(re.compile(r"/console/$"))
    page.goto(f"{live_server}/console/members/{shop.member_id}")
    assert page.locator("#adjust-form").count() == 0  # support sees no adjustment form
    shoot(page, language, "07-support-member")
    token = page.get_attribute("input[name=csrf_token]", "value")
    refused = context.request.post(
        f"{live_server}/console/members/{shop.member_id}/adjust",
        form={"csrf_token": token, "direction": "credit", "points": "7", "reason": "sneaky"},
        max_redirects=0,
    )
    assert refused.status == 403
    page.goto(f"{live_server}/console/webhooks")  # not for support either
    shoot(page, language, "08-support-refused")
    assert page.locator("h1").inner_text() == "403"
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_platform_operator_sees_settlement_batches(browser, live_server, shop, language):
    context = browser.new_context(locale=language, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, shop.staff["platform"])
    page.wait_for_url(re.compile(r"/console/finance/batches$"))
    shoot(page, language, "09-batches")
    context.close()


NEW_PAGES = {
    "en": {"audit": "Audit", "revoked": "revoked", "holds": "holds"},
    "zh-CN": {"audit": "审计", "revoked": "已吊销", "holds": "成立"},
}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_operator_runs_the_audit_and_owner_creates_and_revokes_an_api_client(
    browser, live_server, shop, language
):
    labels = NEW_PAGES[language]
    context = browser.new_context(locale=language, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))

    sign_in(page, live_server, shop.staff["platform"])
    page.wait_for_url(re.compile(r"/console/finance/batches$"))
    for name, path in [("10-tenants", "tenants"), ("11-fees", "fees"), ("12-jobs", "jobs")]:
        page.goto(f"{live_server}/console/operator/{path}")
        shoot(page, language, name)
    page.click("nav a[href='/console/operator/audit']")
    page.wait_for_url(re.compile(r"/console/operator/audit$"))
    assert page.locator("h1").inner_text() == labels["audit"]
    assert page.locator("#invariants tbody tr").count() > 5
    assert labels["holds"] in page.inner_text("#invariants")
    shoot(page, language, "13-audit")
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/console/login"))

    sign_in(page, live_server, shop.owner_email)
    page.wait_for_url(re.compile(r"/console/$"))
    page.click("nav a[href='/console/clients']")
    page.fill("#client-form input[name=name]", f"till {language}")
    page.check("#client-form input[value='points:read']")
    page.check("#client-form input[value='points:write']")
    page.click("#client-form button[type=submit]")
    page.wait_for_selector("#new-secret")
    client_id = page.inner_text("#issued-id").strip()
    assert page.inner_text("#issued-secret").startswith("sk")
    shoot(page, language, "14-client-created")
    page.click(f"#client-{client_id} button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert labels["revoked"] in page.inner_text(f"#client-{client_id}")
    assert page.locator("#new-secret").count() == 0  # the secret is not shown again
    shoot(page, language, "15-client-revoked")
    page.goto(f"{live_server}/console/program")
    shoot(page, language, "16-program")
    page.goto(f"{live_server}/console/exchange")
    shoot(page, language, "17-exchange")
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
