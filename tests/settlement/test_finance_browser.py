"""A finance team's day in Chromium: one finance user closes the day's batch in the
finance console (and may not approve it), a second approves it, pays it by hand (a bank
reference per line) and reconciles it; the batch page names the tenants and shows the
rounding line with the totals; closing again says when the next cut-off is.

The console closes "up to the latest cut-off" (00:00 Asia/Shanghai), which the suite's
shared database has long passed (its tests close up to "now"), so this module runs on a
database of its own: the records are made before the latest midnight, and the close in
the browser is the day's real one. Pages are screenshot to
``test-artifacts/settlement/``. Skipped without Debian's Chromium; never downloads one.
"""

from __future__ import annotations

import re
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from browser_support import ARTIFACTS as BROWSER_ARTIFACTS
from browser_support import console_sign_in, require_chromium, screenshot
from factories import Api, drain_jobs

from jifen.platform import clock

sys.path.append(str(Path(__file__).parents[1] / "console"))
from console_helpers import PASSWORD, make_staff  # noqa: E402
from settlement_support import open_settlement  # noqa: E402

ARTIFACTS = BROWSER_ARTIFACTS / "settlement"

require_chromium()  # skips this module without Debian's Chromium


def make_finance_user() -> str:
    """A platform staff user who closes, approves, pays and reconciles batches; returns
    the email they sign in with (password ``PASSWORD``). The one place this module makes
    finance people. Today a platform operator, as the console's other tests use; once
    platform finance staff land, switch this line to ``make_staff(platform_role="finance")``
    or to the command finance is told to use, ``jifen platform create-staff --email E
    --role finance --password-stdin``."""
    return make_staff(platform_operator=True)[1]


@pytest.fixture(scope="module")
def app(config, tmp_path_factory):
    """This module's own app on a database of its own (see the module's docstring)."""
    from dataclasses import replace

    from conftest import POSTGRES_ADMIN_URL, create_postgres_database, drop_postgres_database

    from jifen.migrations import upgrade
    from jifen.platform.shell.app import create_app

    if POSTGRES_ADMIN_URL:
        url = create_postgres_database(POSTGRES_ADMIN_URL, prefix="jifen_finance")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('finance') / 'jifen.sqlite3'}"
    upgrade(url)
    own = replace(config, database_url=url, queue_prefix=f"test-finance-{secrets.token_hex(4)}-")
    application = create_app(own)
    try:
        with application.app_context():
            yield application
    finally:
        application.extensions["jifen.db"].dispose()
        if POSTGRES_ADMIN_URL:
            drop_postgres_database(POSTGRES_ADMIN_URL, url)


@pytest.fixture(scope="module")
def day(app):
    """Two merchants and a swap between them, made two hours before the latest cut-off;
    the finance users who will close and approve."""
    from jifen.settlement.services import default_cutoff

    api = Api(app.test_client())
    with clock.frozen_at(default_cutoff(clock.now()) - timedelta(hours=2)):
        settlement = open_settlement(api)
        payer = settlement.tenant("0.8", name="甲商户 Payer")
        payee = settlement.tenant("1.5", name="乙商户 Payee")
        settlement.swap(settlement.card(payer), payer, payee, 1000)
    closer, approver = make_finance_user(), make_finance_user()
    return {"payer": payer, "payee": payee, "closer": closer, "approver": approver}


def shoot(page, name: str) -> None:
    screenshot(page, ARTIFACTS / f"{name}.png")


def sign_in(page, base: str, email: str) -> None:
    console_sign_in(page, base, email, PASSWORD)
    page.wait_for_url(re.compile(r"/console/"))
    page.goto(f"{base}/console/finance/batches")


def flash(page, kind: str) -> str:
    page.wait_for_selector(f".flash.{kind}")
    return page.inner_text(f".flash.{kind}")


def status(page) -> str:
    return page.inner_text("#batch-status").strip()


def pay_by_hand(page, tenant_ids: list[str]) -> None:
    """Mark each manual payment line paid with a bank reference."""
    for n, tenant_id in enumerate(tenant_ids):
        row = f"#instruction-{tenant_id}"
        page.fill(f"{row} input[name=reference]", f"BANK-{n + 1:04d}")
        page.click(f"{row} form.mark-paid button[type=submit]")
        assert "marked paid" in flash(page, "ok")


def test_finance_closes_another_approves_pays_and_reconciles(browser, live_server, day):
    context = browser.new_context(
        locale="en", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))
    payer, payee = day["payer"], day["payee"]

    sign_in(page, live_server, day["closer"])
    shoot(page, "01-batches")
    page.click("#close-batch")
    page.wait_for_url(re.compile(r"/console/finance/batches/stb_"))
    assert "Batch closed." in flash(page, "ok")
    batch_id = page.url.rsplit("/", 1)[1]
    assert status(page) == "closed"
    positions = page.inner_text("#positions")
    for tenant in (payer, payee):
        assert tenant.slug in positions
    assert "甲商户 Payer" in positions and "乙商户 Payee" in positions
    totals = page.inner_text("#totals")
    assert "Platform fees" in totals and "Rounding" in totals
    assert re.sub(r"[^\d.]", "", page.inner_text("#totals-zero")) == "0.00"
    assert page.inner_text("#batch-rounding").strip()
    shoot(page, "02-closed")
    page.click("#approve")  # the closer may not approve their own close
    assert "someone other than who closed it" in flash(page, "error")
    assert status(page) == "closed"
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/console/login"))

    sign_in(page, live_server, day["approver"])
    page.click(f"#batch-{batch_id}")
    page.wait_for_url(re.compile(rf"/console/finance/batches/{batch_id}$"))
    page.click("#approve")
    assert "Batch approved." in flash(page, "ok")
    assert status(page) == "approved"
    page.click("#pay")
    assert "Payment instructions sent." in flash(page, "ok")
    drain_jobs()
    assert status(page) == "paying"
    shoot(page, "03-paying")
    pay_by_hand(page, [payer.id, payee.id])
    assert status(page) == "paid"
    page.click("#reconcile")
    assert "Reconciled: every line matches." in flash(page, "ok")
    assert status(page) == "reconciled"
    assert "2 of 2 lines match" in page.inner_text("#reconciliation-summary")
    shoot(page, "04-reconciled")

    with page.expect_download() as download:
        page.click("#report-csv")
    body = Path(download.value.path()).read_bytes()
    assert body.startswith(b"\xef\xbb\xbf") and batch_id.encode() in body

    page.goto(f"{live_server}/console/finance/batches")
    page.click("#close-batch")  # again the same day: nothing new is due
    said = flash(page, "info")
    assert "Nothing new to close; the next cut-off is" in said and "Asia/Shanghai" in said
    assert page.locator(".flash.error").count() == 0
    shoot(page, "05-nothing-new")
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_the_chinese_finance_console_closes_nothing_new_without_an_error(browser, live_server, day):
    from jifen.settlement.services import close_batch

    close_batch("test:finance")  # the day's batch, unless the other test closed it already
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, day["closer"])
    page.click("#close-batch")
    flash(page, "info")
    assert page.locator(".flash.error").count() == 0
    shoot(page, "06-zh-nothing-new")
    page.click("table a.mono")
    page.wait_for_selector("#totals")
    shoot(page, "07-zh-batch")
    context.close()


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_tenants_finance_user_exports_its_statement_lines(browser, live_server, day, language):
    from jifen.platform.auth.model import Role
    from jifen.settlement.services import close_batch

    close_batch("test:finance")  # the day's batch, unless another test closed it already
    payer, payee = day["payer"], day["payee"]
    _, email = make_staff({payer.id: Role.FINANCE})
    context = browser.new_context(
        locale=language, viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    console_sign_in(page, live_server, email, PASSWORD)
    page.wait_for_url(re.compile(r"/console/"))
    page.goto(f"{live_server}/console/statements")
    lines = page.inner_text("#lines")
    assert "乙商户 Payee" in lines and payee.slug in lines
    shoot(page, f"08-{language}-statement-lines")
    for fmt, magic in (("csv", b"\xef\xbb\xbf"), ("xlsx", b"PK")):
        with page.expect_download() as download:
            page.click(f"#export-{fmt}")
        body = Path(download.value.path()).read_bytes()
        assert body.startswith(magic)
        assert download.value.suggested_filename.endswith(f".{fmt}")
        if fmt == "csv":
            assert "乙商户 Payee" in body.decode("utf-8-sig")
    context.close()
