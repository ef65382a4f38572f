"""The wallet in a real browser, end to end: Debian's Chromium (Playwright) against the
test app on a free port, with the sign-in code mailed through a real SMTP server
(aiosmtpd on loopback) and read from the mail it received. Then a quote with its
countdown (wallet.js under the wallet's CSP), an expired quote, a confirmed swap, the
counter code with its QR code, and signing out.

The app's config points at the mail server for the test only. With Redis, messages go
out through RQ: the test drains the queues where a worker would pick the message up.
Screenshots land in ``test-artifacts/``. Skipped, saying why, without ``/usr/bin/chromium``
or Playwright.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from browser_support import ARTIFACTS, require_chromium, screenshot, serve
from factories import drain_jobs
from widgets_support import MailBox, build_world, new_address

sync_api = require_chromium()
expect = sync_api.expect


@pytest.fixture(scope="module")
def server(app):
    """The app on a free port, every request from one address of this module's own: the
    sign-in throttles count per address, and other tests' requests come from 127.0.0.1
    too."""
    address = new_address()

    def from_one_address(environ, start_response):
        environ["REMOTE_ADDR"] = address
        return app(environ, start_response)

    with serve(from_one_address) as origin:
        yield origin


@pytest.fixture
def mail(app):
    """A real mail server, and the app's config pointed at it for the test's length."""
    box = MailBox().start()
    config = app.extensions["jifen.config"]
    app.extensions["jifen.config"] = dataclasses.replace(config, smtp_url=box.url)
    yield box
    app.extensions["jifen.config"] = config
    box.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    page.policy_violations = []  # what the browser says the page's CSP blocked
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and page.policy_violations.append(message.text)
        ),
    )
    yield page
    context.close()


def shot(page, name: str) -> None:
    screenshot(page, ARTIFACTS / f"{name}.png")


def points_of(page, currency: str):
    return page.locator(f"[data-testid=points-{currency}]")


def test_sign_in_by_mailed_code_then_quote_and_swap(page, server, mail, client, api):
    world = build_world(client, api, origins=[server])
    a, b = world.a.currency_code, world.b.currency_code
    page.clock.install()  # the page's timers, so an expiry can be shown without waiting

    page.goto(f"{server}/wallet")
    expect(page).to_have_url(re.compile(r"/wallet/sign-in$"))
    shot(page, "wallet-sign-in")
    page.fill("[data-testid=code-request] input[name=card_number]", world.card_number)
    page.click("[data-testid=code-request] button[type=submit]")
    expect(page.locator(".notice")).to_contain_text("a code is on its way")
    drain_jobs()  # with Redis, a worker sends the message now
    sent = mail.wait_for(world.email)
    assert sent["Subject"] == "Your Jifen sign-in code"  # the browser asked in English
    code = re.search(r"\b(\d{6})\b", sent.get_content()).group(1)
    page.fill("input[name=code]", code)
    shot(page, "wallet-code")
    page.click("[data-testid=code-sign-in] button[type=submit]")
    expect(points_of(page, a)).to_have_text("5000")
    shot(page, "wallet-home")

    def ask_quote(points: str) -> None:
        page.select_option("select[name=from_currency]", a)
        page.select_option("select[name=to_currency]", b)
        page.fill("form.swap input[name=points]", points)
        page.click("form.swap button[type=submit]")
        expect(page.locator("[data-testid=points-out]")).to_have_text(f"{points} {a}")

    ask_quote("500")
    countdown = page.locator("[data-countdown]")
    expect(countdown).to_have_text(re.compile(r"^(60|59|58)$"))
    page.clock.run_for(3000)
    expect(countdown).to_have_text(re.compile(r"^(57|56|55)$"))  # wallet.js counts down
    page.clock.run_for(60_000)
    expect(page.locator("[data-expired]")).to_be_visible()
    expect(page.locator("[data-testid=confirm]")).to_be_disabled()
    shot(page, "wallet-quote-expired")
    page.click("[data-testid=cancel]")
    expect(points_of(page, a)).to_have_text("5000")

    ask_quote("500")
    expect(page.locator("[data-testid=fee]")).to_have_text(re.compile(r"SPU$"))
    shot(page, "wallet-quote")
    points_in = page.locator("[data-testid=points-in]").inner_text().split()[0]
    page.click("[data-testid=confirm]")
    expect(page.locator(".notice")).to_contain_text(f"Swapped 500 {a} for {points_in} {b}")
    expect(points_of(page, a)).to_have_text("4500")
    expect(points_of(page, b)).to_have_text(points_in)
    assert world.balance(world.b, world.member_b) == int(points_in)

    page.click("[data-testid=counter-code]")
    expect(page.locator("[data-testid=qr] svg")).to_be_visible()
    expect(page.locator("[data-testid=code]")).to_have_text(
        re.compile(r"^\d{4} \d{4} \d{4} \d{4} \d{2}$")
    )
    shot(page, "wallet-counter-code")
    page.clock.run_for(61_000)
    expect(page.locator("[data-testid=qr]")).to_be_hidden()
    expect(page.get_by_text("This code has expired")).to_be_visible()

    page.goto(f"{server}/wallet")
    page.click("header button[type=submit]")  # sign out
    expect(page).to_have_url(re.compile(r"/wallet/sign-in$"))
    page.goto(f"{server}/wallet")
    expect(page).to_have_url(re.compile(r"/wallet/sign-in$"))
    assert page.policy_violations == []
