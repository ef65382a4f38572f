"""A tenant owner invites a finance clerk in Chromium: the invitation is mailed through a
real SMTP server (aiosmtpd on loopback), the clerk opens the link from the mail in
another browser, chooses a password, is signed in and reads the statements. The team
page, the invitation page and the clerk's first pages are screenshot to
``test-artifacts/console/``. Skipped without Debian's Chromium or Playwright."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest
from browser_support import ARTIFACTS, console_sign_in, require_chromium, screenshot
from console_helpers import OWNER_PASSWORD, open_shop
from factories import drain_jobs, unique
from team_helpers import LINK, NEW_PASSWORD

sys.path.append(str(Path(__file__).parent.parent / "messages"))
from message_servers import MailServer, text_of  # noqa: E402

require_chromium()


@pytest.fixture
def mail(app, live_server):
    """A real mail server; the app mails through it and builds links to the live server."""
    server = MailServer().start()
    config = app.extensions["jifen.config"]
    app.extensions["jifen.config"] = dataclasses.replace(
        config, smtp_url=f"smtp://127.0.0.1:{server.port}", base_url=live_server
    )
    yield server
    app.extensions["jifen.config"] = config
    server.stop()


def shoot(page, name: str) -> None:
    screenshot(page, ARTIFACTS / "console" / "team" / f"{name}.png")


def test_owner_invites_a_finance_clerk_who_signs_in_from_the_mail(
    app, browser, live_server, mail, webhook_url
):
    shop = open_shop(app.test_client(), webhook_url)
    clerk = f"{unique('clerk-')}@example.test"
    owner = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = owner.new_page()
    console_sign_in(page, live_server, shop.owner_email, OWNER_PASSWORD)
    page.wait_for_url(re.compile(r"/console/$"))
    page.click("nav a[href='/console/team']")
    page.fill("#invite-form input[name=email]", clerk)
    page.select_option("#invite-form select[name=role]", "finance")
    page.select_option("#invite-form select[name=language]", "en")
    page.click("#invite-form button[type=submit]")
    page.wait_for_selector(".flash.ok")
    assert clerk in page.inner_text("#invitations")
    shoot(page, "1-owner-invited")
    drain_jobs()

    received = next(r for r in mail.received if clerk in r.rcpt_tos)
    link = LINK.search(text_of(received.message)).group(0)
    assert link.startswith(f"{live_server}/console/invitations/inv_")
    context = browser.new_context(locale="en", viewport={"width": 1280, "height": 900})
    clerk_page = context.new_page()
    clerk_page.goto(link)
    assert clerk in clerk_page.input_value("#invitation-form input[name=email]")
    shoot(clerk_page, "2-invitation")
    clerk_page.fill("input[name=password]", NEW_PASSWORD)
    clerk_page.fill("input[name=password_again]", NEW_PASSWORD)
    clerk_page.click("#invitation-form button[type=submit]")
    clerk_page.wait_for_url(re.compile(r"/console/$"))
    assert clerk in clerk_page.inner_text(".who")
    assert "/console/team" not in clerk_page.inner_html("nav")
    clerk_page.click("nav a[href='/console/statements']")
    clerk_page.wait_for_url(re.compile(r"/console/statements"))
    shoot(clerk_page, "3-clerk-statements")

    page.reload()
    assert "Finance" in page.inner_text("#team") or "财务" in page.inner_text("#team")
    shoot(page, "4-owner-team")
    context.close()
    owner.close()
