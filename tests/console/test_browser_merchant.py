"""The merchant console's catalog and key rotation in a real browser: Debian's Chromium,
headless, driven by Playwright against a live server on a free port.

An owner creates a reward (after a refused first try) and sees it in the catalog; an
owner rotates an API client's secret, the new one is shown once and the old one no
longer gets a token. Every page is screenshot in English and Chinese to
``test-artifacts/console/`` (``m…`` names), like ``test_browser.py``.
Skipped when ``/usr/bin/chromium`` or Playwright is missing; never downloads a browser.
"""

from __future__ import annotations

import re

import pytest
from browser_support import ARTIFACTS as BROWSER_ARTIFACTS
from browser_support import console_sign_in, require_chromium, screenshot
from console_helpers import PASSWORD, open_shop

from jifen.tenants.catalog.services import get_reward

ARTIFACTS = BROWSER_ARTIFACTS / "console"

require_chromium()  # skips this module without Debian's Chromium


@pytest.fixture(scope="module")
def shop(app, webhook_url):
    return open_shop(app.test_client(), webhook_url)


def shoot(page, language: str, name: str) -> None:
    screenshot(page, ARTIFACTS / f"{language}-{name}.png")


def sign_in(page, base: str, email: str) -> None:
    console_sign_in(page, base, email, PASSWORD)


LABELS = {
    "en": {"catalog": "Catalog", "created": "is in the catalog.", "rotated": "New secret"},
    "zh-CN": {"catalog": "奖品目录", "created": "已加入目录", "rotated": "新密钥"},
}


def open_page(browser, language: str):
    context = browser.new_context(locale=language, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))
    return context, page, errors


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_owner_creates_a_reward(browser, live_server, shop, language):
    labels = LABELS[language]
    context, page, errors = open_page(browser, language)
    sign_in(page, live_server, shop.owner_email)
    page.wait_for_url(re.compile(r"/console/$"))

    page.click("nav a[href='/console/catalog']")
    page.wait_for_url(re.compile(r"/console/catalog$"))
    assert page.locator("h1").inner_text() == labels["catalog"]
    page.click("#new-reward")
    page.wait_for_url(re.compile(r"/console/catalog/new$"))
    name = f"保温杯 {language}"
    page.fill("#reward-form input[name=name]", name)
    page.fill("#reward-form input[name=price_points]", "120")
    page.fill("#reward-form input[name=cash_amount]", "9.90")
    page.fill("#reward-form input[name=currency]", "CNY")
    page.click("#reward-form button[type=submit]")  # no stock: refused, nothing stored
    page.wait_for_selector("#error-stock")
    assert page.input_value("#reward-form input[name=name]") == name
    shoot(page, language, "m01-reward-refused")

    page.fill("#reward-form input[name=stock]", "12")
    page.click("#reward-form button[type=submit]")
    page.wait_for_url(re.compile(r"/console/catalog/rwd_\w+$"))
    assert labels["created"] in page.inner_text(".flash.ok")
    assert page.inner_text("#reward-stock").strip() == "12"
    reward_id = page.url.rsplit("/", 1)[1]
    reward = get_reward(shop.tenant.id, reward_id)
    assert (reward.name, reward.price_points, reward.cash_amount, reward.stock) == (
        name,
        120,
        990,
        12,
    )
    shoot(page, language, "m02-reward-created")

    page.click("nav a[href='/console/catalog']")
    page.wait_for_selector(f"#reward-{reward_id}")
    shoot(page, language, "m03-catalog")
    for shot, path in [("m04-orders", "orders"), ("m05-lotteries", "lotteries"),
                       ("m06-alliance", "alliance")]:  # fmt: skip
        page.goto(f"{live_server}/console/{path}")
        shoot(page, language, shot)
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_owner_rotates_a_key(browser, live_server, shop, language):
    labels = LABELS[language]
    context, page, errors = open_page(browser, language)
    sign_in(page, live_server, shop.owner_email)
    page.wait_for_url(re.compile(r"/console/$"))
    page.click("nav a[href='/console/clients']")
    page.fill("#client-form input[name=name]", f"till {language}")
    page.check("#client-form input[value='points:read']")
    page.click("#client-form button[type=submit]")
    page.wait_for_selector("#new-secret")
    client_id = page.inner_text("#issued-id").strip()
    old_secret = page.inner_text("#issued-secret").strip()

    page.click(f"#client-{client_id} .rotate-form button[type=submit]")
    page.wait_for_selector("#new-secret h2")
    assert page.inner_text("#new-secret h2") == labels["rotated"]
    assert page.inner_text("#issued-id").strip() == client_id
    new_secret = page.inner_text("#issued-secret").strip()
    assert new_secret.startswith("sk") and new_secret != old_secret
    shoot(page, language, "m07-key-rotated")

    def token_status(secret: str) -> int:
        response = context.request.post(
            f"{live_server}/oauth/token",
            form={"grant_type": "client_credentials"},
            headers={"Authorization": basic(client_id, secret)},
        )
        return response.status

    assert token_status(old_secret) == 401
    assert token_status(new_secret) == 200
    page.goto(f"{live_server}/console/clients")
    assert page.locator("#new-secret").count() == 0  # shown once
    page.goto(f"{live_server}/console/program")
    page.fill("#draft-simulate input[name=amount]", "358.00")
    page.click("#simulate-draft")
    page.wait_for_selector("#draft-simulation")
    shoot(page, language, "m08-program-draft")
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors


def basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
