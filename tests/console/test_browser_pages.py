"""Every console page, as every role, in both languages, in a real browser (Debian's
Chromium, headless, driven by Playwright against a live server), plus each role's key
flow.

The pages are the console blueprint's GET rules, read from ``app.url_map``: a page
added later is visited without touching this file, and a rule whose path parameter
nobody knows how to fill fails ``test_every_page_has_its_path_parameters`` by name. Each
page is screenshot to ``test-artifacts/console/<lang>/<role>-<page>.png`` (look at
them). A role gets 200 where ``permissions`` allows the page's action and 403 where it
does not; a platform operator without a tenant is sent from tenant pages to the batches.
In Chinese every page says ``<html lang="zh-CN">``, shows a translated navigation label
and no table header or button left in English.

Flows: finance (a platform operator closes the batch, a platform finance user who did
not close it approves, pays by hand line by line, reconciles, downloads the CSV);
support finds a member and freezes them; the platform operator changes a tenant's plan;
the owner reads the activity log showing what the others did.
Skipped when ``/usr/bin/chromium`` or Playwright is missing; never downloads a browser.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from browser_support import ARTIFACTS as BROWSER_ARTIFACTS
from browser_support import console_sign_in, require_chromium, screenshot
from console_helpers import PASSWORD, Console, make_staff, open_shop
from factories import Api, drain_jobs

from jifen.platform import clock
from jifen.platform.auth.model import PlatformRole, Role
from jifen.platform.shell.console import permissions

sys.path.append(str(Path(__file__).parent.parent / "settlement"))
from settlement_support import Settlement, open_settlement  # noqa: E402

ARTIFACTS = BROWSER_ARTIFACTS / "console"
LANGUAGES = ("en", "zh-CN")
ROLES = ("owner", "admin", "operator", "support", "finance", "platform", "platform_finance")
PLATFORM_ROLES = {"platform": "operator", "platform_finance": "finance"}
# Pages any signed-in user sees whatever the role (the password page: test_sessions.py),
# and an invitation link's page, which needs its token (test_browser_team.py shoots it).
PUBLIC = {"console.login", "console.choose_tenant", "console.static", "console.change_password",
          "console.staff_invitation"}  # fmt: skip
DOWNLOADS = {"console.report", "console.statement_export"}  # files, not pages: fetched
NAV = {"en": {"tenant": "Dashboard", "platform": "Tenants"},
       "zh-CN": {"tenant": "仪表盘", "platform": "租户"}}  # fmt: skip
ASCII_WORD = re.compile(r"[A-Za-z]{3,}")
SAME_IN_BOTH = {"URL", "CSV", "XLSX", "PDF", "SPU", "API", "JSON", "Stripe", "Webhook"}
CODE = re.compile(r"^[a-z_]+([:.][a-z_]+)?$")  # scopes, event types, action names

require_chromium()  # skips this module without Debian's Chromium


def settlement_helper(client) -> Settlement:
    return open_settlement(Api(client))


def swap_between_two_merchants(client, label: str) -> None:
    helper = settlement_helper(client)
    source = helper.tenant("0.01", name=f"源商户 {label}")
    target = helper.tenant("0.02", name=f"目标商户 {label}")
    helper.swap(helper.card(source), source, target, 10_000)


@pytest.fixture(scope="module")
def world(app, webhook_url):
    """Demo-like data: a shop with a user per role, a reward, a lottery, a settlement
    batch, a platform operator; and the value of every path parameter."""
    from jifen.settlement.services import close_batch, list_batches

    client = app.test_client()
    shop = open_shop(client, webhook_url)
    shop.staff["platform"] = make_staff(platform_operator=True, email="")[1]
    shop.staff["platform_finance"] = make_staff(platform_role="finance")[1]
    auth = shop.tenant.auth
    reward = client.post(
        "/v1/rewards",
        json={"kind": "physical", "name": "保温杯", "price_points": 100, "stock": 5},
        headers=auth,
    )
    lottery = client.post(
        "/v1/lotteries",
        json={"name": "幸运转盘", "cost_points": 10, "prizes": [{"name": "笔", "weight": 1}]},
        headers=auth,
    )
    batches = list_batches({"limit": 1})["data"]
    if not batches:
        swap_between_two_merchants(client, "pages")
        close_batch(make_staff(platform_operator=True)[0], clock.now())
        batches = list_batches({"limit": 1})["data"]
    drain_jobs()
    values = {
        "member_id": shop.member_id,
        "endpoint_id": shop.endpoint_id,
        "tenant_id": shop.tenant.id,
        "batch_id": batches[0].batch.id,
        "fmt": "csv",
    }
    if reward.status_code == 201:
        values["reward_id"] = reward.get_json()["id"]
    if lottery.status_code == 201:
        values["lottery_id"] = lottery.get_json()["id"]
    return shop, values


def console_rules(app) -> list:
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("console.")
        and "GET" in rule.methods
        and rule.endpoint not in PUBLIC
    ]
    return sorted(rules, key=lambda rule: rule.rule)


def test_every_page_has_its_path_parameters(app, world):
    _shop, values = world
    unfilled = {rule.rule: sorted(set(rule.arguments) - set(values)) for rule in console_rules(app)}
    unfilled = {rule: names for rule, names in unfilled.items() if names}
    assert not unfilled, (
        f"no seeded value for the path parameters {unfilled}: seed one in the `world` "
        "fixture of tests/console/test_browser_pages.py so the page gets its screenshots"
    )


def shoot(page, language: str, name: str) -> None:
    screenshot(page, ARTIFACTS / language / f"{name}.png")


def sign_in(page, base: str, email: str) -> None:
    console_sign_in(page, base, email, PASSWORD)
    page.wait_for_url(re.compile(r"/console/(finance/batches)?$"))


def expected_status(app, rule, role: str) -> int:
    action = app.view_functions[rule.endpoint].console_action
    if role in PLATFORM_ROLES:
        if action not in permissions.PLATFORM_ACTIONS:
            return 302  # no tenant: sent to the settlement batches
        platform_role = PlatformRole(PLATFORM_ROLES[role])
        return 200 if permissions.allowed(action, role=None, platform_role=platform_role) else 403
    return 200 if permissions.allowed(action, role=Role(role)) else 403


def labels_of(page) -> list[str]:
    return page.eval_on_selector_all(
        "main th, main button, main label, main h2", "nodes => nodes.map(n => n.innerText.trim())"
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_page_as_every_role_in_both_languages(app, browser, live_server, world, role):
    shop, values = world
    email = shop.staff[role] if role in PLATFORM_ROLES else shop.staff[Role(role)]
    seen: dict[str, dict[str, list[str]]] = {}
    problems: list[str] = []
    for language in LANGUAGES:
        context = browser.new_context(locale=language, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message, errors=errors: errors.append(message.text))
        if role == ROLES[0]:
            page.goto(f"{live_server}/console/login")
            shoot(page, language, "anonymous-login")
        sign_in(page, live_server, email)
        page.goto(f"{live_server}/console/tenant")
        shoot(page, language, f"{role}-choose_tenant")
        for rule in console_rules(app):
            name = rule.endpoint.removeprefix("console.")
            path = rule.rule
            for argument in rule.arguments:
                path = path.replace(f"<{argument}>", values[argument])
            url = f"{live_server}{path}"
            expected = expected_status(app, rule, role)
            if rule.endpoint in DOWNLOADS:
                response = context.request.get(url, max_redirects=0)
                if response.status != expected:
                    problems.append(f"{language} {path}: {response.status}, expected {expected}")
                continue
            response = page.goto(url)
            status = response.status if response else 0
            if expected == 302:
                if not page.url.endswith("/console/finance/batches"):
                    problems.append(f"{language} {path}: ended at {page.url}, not the batches")
            elif status != expected:
                problems.append(f"{language} {path}: {status}, expected {expected}")
            shoot(page, language, f"{role}-{name}")
            if expected != 200:
                continue
            document = page.content()
            if language == "zh-CN":
                nav = NAV[language]["platform" if role in PLATFORM_ROLES else "tenant"]
                if '<html lang="zh-CN">' not in document or nav not in page.inner_text("nav"):
                    problems.append(f"{path}: not a Chinese page")
            seen.setdefault(path, {})[language] = labels_of(page)
        context.close()
        if [e for e in errors if "Content Security Policy" in e]:
            problems.append(f"{language}: CSP violations {errors}")
    for path, by_language in seen.items():
        english = set(by_language.get("en", ()))
        untranslated = sorted(
            text
            for text in set(by_language.get("zh-CN", ())) & english
            if ASCII_WORD.search(text) and not re.search(r"[\u4e00-\u9fff]", text)
        )
        untranslated = [t for t in untranslated if t not in SAME_IN_BOTH and not CODE.match(t)]
        if untranslated:
            problems.append(f"{path}: English left on the Chinese page: {untranslated}")
    assert not problems, "\n".join(problems)


# --- a key flow per role ----------------------------------------------------------------


@pytest.fixture
def closing_now(monkeypatch):
    """The console closes up to the latest daily cut-off; here up to now, so the swap the
    test has just made is in the batch."""
    monkeypatch.setattr("jifen.settlement.services.default_cutoff", lambda now: now)


def test_finance_closes_approves_pays_reconciles_and_downloads(
    app, browser, live_server, world, closing_now
):
    swap_between_two_merchants(app.test_client(), "flow")
    closer = make_staff(platform_operator=True)[1]
    shop, _values = world
    finance = make_staff({shop.tenant.id: Role.FINANCE}, platform_operator=True)[1]
    context = browser.new_context(locale="en", viewport={"width": 1280, "height": 900})
    page = context.new_page()

    sign_in(page, live_server, closer)
    page.click("form[action='/console/finance/batches'] button[type=submit]")
    page.wait_for_url(re.compile(r"/console/finance/batches/stb_"))
    batch_url = page.url
    assert page.inner_text("#batch-status") == "closed"
    shoot(page, "en", "flow-finance-1-closed")
    page.click("#sign-out")

    sign_in(page, live_server, finance)
    page.goto(batch_url)
    page.click("#approve")
    page.wait_for_selector(".flash.ok")
    assert page.inner_text("#batch-status") == "approved"
    page.click("#pay")
    page.wait_for_selector("#instructions")
    assert page.inner_text("#batch-status") == "paying"
    shoot(page, "en", "flow-finance-2-paying")
    for n in range(page.locator("form.mark-paid").count()):
        page.fill("form.mark-paid >> nth=0 >> input[name=reference]", f"BANK-{n:03d}")
        page.click("form.mark-paid >> nth=0 >> button")
        page.wait_for_selector(".flash.ok")
    assert page.inner_text("#batch-status") == "paid"
    page.click("#reconcile")
    page.wait_for_selector("#reconciliation")
    assert page.inner_text("#batch-status") == "reconciled"
    assert "Reconciled: every line matches." in page.inner_text(".flash.ok")
    assert page.locator("#no-mismatches").count() == 1
    shoot(page, "en", "flow-finance-3-reconciled")
    with page.expect_download() as download:
        page.click("#report-csv")
    body = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename.endswith(".csv") and body.startswith(b"\xef\xbb\xbf")
    context.close()


def test_support_finds_a_member_and_freezes_them(browser, live_server, world):
    shop, _values = world
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, shop.staff[Role.SUPPORT])
    page.click("nav a[href='/console/members']")
    page.fill("input[name=q]", shop.member_external_id)
    page.press("input[name=q]", "Enter")
    page.click(f"text={shop.member_external_id}")
    page.wait_for_url(re.compile(rf"/console/members/{shop.member_id}$"))
    if "解冻" in page.inner_text("#freeze-toggle"):  # frozen by an earlier run: thaw first
        page.click("#freeze-toggle")
        page.wait_for_selector(".flash.ok")
    page.click("#freeze-toggle")
    page.wait_for_selector(".flash.ok")
    assert "解冻" in page.inner_text("#freeze-toggle")
    shoot(page, "zh-CN", "flow-support-frozen")
    page.click("#freeze-toggle")  # leave the member active for the other tests
    page.wait_for_selector(".flash.ok")
    context.close()


def test_platform_operator_changes_a_tenants_plan(app, browser, live_server, world):
    from jifen.platform.billing.services import get_billing

    shop, _values = world
    tenant = Api(app.test_client()).signup()
    context = browser.new_context(locale="en", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, shop.staff["platform"])
    page.goto(f"{live_server}/console/operator/tenants")
    page.click(f"#tenant-{tenant.id} a")
    page.wait_for_url(re.compile(rf"/console/operator/tenants/{tenant.id}$"))
    page.select_option("#plan-form select[name=plan]", "scale")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert page.inner_text("#tenant-plan") == "Scale"
    assert get_billing(tenant.id).plan.code == "scale"
    shoot(page, "en", "flow-operator-plan-changed")
    context.close()


def test_owner_reads_the_activity_log_of_the_others(app, browser, live_server, world):
    shop, _values = world
    support = Console(app.test_client())
    assert support.login(shop.staff[Role.SUPPORT]).status_code == 302
    support.post(f"/console/members/{shop.member_id}/freeze")
    support.post(f"/console/members/{shop.member_id}/unfreeze")
    support.post(f"/console/members/{shop.member_id}/adjust", {"points": "1"})  # refused
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, shop.owner_email)
    page.click("nav a[href='/console/activity']")
    page.wait_for_selector("#activity")
    table = page.inner_text("#activity")
    assert shop.staff[Role.SUPPORT] in table and "members.freeze" in table
    assert "被拒绝" in table and "auth.sign_in" in table
    page.select_option("select[name=action]", "members.adjust")
    page.click("#activity-filters button[type=submit]")
    page.wait_for_url(re.compile(r"action=members.adjust"))
    assert page.locator("#activity tbody tr").count() >= 1
    assert "members.freeze" not in page.inner_text("#activity")
    shoot(page, "zh-CN", "flow-owner-activity")
    context.close()
