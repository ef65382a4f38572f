"""The finance console: platform operators close, approve (not their own close), pay and
download batches; each tenant's finance users read only their own statements."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from console_helpers import Console, html, make_staff, text_of
from factories import Api

from jifen.platform import clock
from jifen.platform.auth.model import Role

sys.path.append(str(Path(__file__).parent.parent / "settlement"))
from settlement_support import Settlement, open_settlement  # noqa: E402


@pytest.fixture
def settlement(api) -> Settlement:
    return open_settlement(api)


@pytest.fixture
def batch_with_a_swap(settlement):
    """Two merchants, one swap between them, closed into a batch by operator ``closer``."""
    from jifen.settlement.services import close_batch

    source = settlement.tenant("0.01", name="源商户")
    target = settlement.tenant("0.02", name="目标商户")
    card = settlement.card(source)
    settlement.swap(card, source, target, 10_000)
    closer_id, closer = make_staff(platform_operator=True)
    closed = close_batch(closer_id, clock.now())
    return closed.batch, source, target, closer


def signed_in(app, email: str, tenant_id: str | None = None) -> Console:
    browser = Console(app.test_client())
    assert browser.login(email, tenant_id=tenant_id).status_code == 302
    return browser


def test_a_batch_is_approved_by_someone_other_than_who_closed_it(app, batch_with_a_swap):
    batch, source, target, closer_email = batch_with_a_swap
    closer = signed_in(app, closer_email)
    page = closer.get(f"/console/finance/batches/{batch.id}")
    assert page.status_code == 200
    assert "源商户" in text_of(page) and "目标商户" in text_of(page)
    refused = closer.post(f"/console/finance/batches/{batch.id}/approve")
    assert "approved by someone other than who closed it" in text_of(
        closer.get(refused.headers["Location"])
    )
    approver = signed_in(app, make_staff(platform_operator=True)[1])
    approver.post(f"/console/finance/batches/{batch.id}/approve")
    from jifen.settlement.services import get_batch

    assert get_batch(batch.id).batch.status == "approved"
    assert batch.id in text_of(approver.get("/console/finance/batches"))


@pytest.mark.parametrize(
    ("fmt", "mimetype", "magic"),
    [("csv", "text/csv", b"\xef\xbb\xbf"), ("xlsx", "application/vnd.openxml", b"PK"),
     ("pdf", "application/pdf", b"%PDF")],
)  # fmt: skip
def test_reports_download_in_three_formats(app, batch_with_a_swap, fmt, mimetype, magic):
    batch, *_rest, closer_email = batch_with_a_swap
    response = signed_in(app, closer_email).get(f"/console/finance/batches/{batch.id}/report.{fmt}")
    assert response.status_code == 200
    assert response.mimetype.startswith(mimetype)
    assert response.data.startswith(magic)
    assert "attachment" in response.headers["Content-Disposition"]


def test_each_tenants_finance_users_see_their_own_statements_only(app, batch_with_a_swap):
    batch, source, target, _closer = batch_with_a_swap
    _, source_finance = make_staff({source.id: Role.FINANCE})
    _, target_finance = make_staff({target.id: Role.FINANCE})
    source_page = signed_in(app, source_finance).get("/console/statements")
    target_page = signed_in(app, target_finance).get("/console/statements")
    assert source_page.status_code == target_page.status_code == 200
    assert batch.id in text_of(source_page) and batch.id in text_of(target_page)
    from jifen.settlement.services import get_batch

    positions = {p.tenant_id: p for p in get_batch(batch.id).positions}
    assert positions[source.id].net < 0 < positions[target.id].net
    assert "-" in text_of(source_page).split(batch.id, 1)[1][:400]  # the source pays
    assert signed_in(app, source_finance).get("/console/finance/batches").status_code == 403


def test_a_tenant_without_statements_sees_none(app, client):
    tenant = Api(client).signup(plan="growth")
    _, finance = make_staff({tenant.id: Role.FINANCE})
    assert "No statements yet." in text_of(signed_in(app, finance).get("/console/statements"))


def approved_by_another(app, batch) -> Console:
    approver = signed_in(app, make_staff(platform_operator=True)[1])
    approver.post(f"/console/finance/batches/{batch.id}/approve")
    return approver


def test_a_manual_batch_is_paid_line_by_line_then_reconciled(app, batch_with_a_swap):
    from jifen.platform.db import unit_of_work
    from jifen.platform.shell.console.activity import StaffActivity
    from jifen.settlement.payments import list_instructions
    from jifen.settlement.services import get_batch

    batch, source, target, _closer = batch_with_a_swap
    finance = approved_by_another(app, batch)
    url = f"/console/finance/batches/{batch.id}"
    assert finance.post(f"{url}/reconcile").status_code == 303  # approved, not paid
    assert "This is not possible" in text_of(finance.get(url, headers={"Accept-Language": "en"}))
    finance.post(f"{url}/pay")
    page = finance.get(url, headers={"Accept-Language": "en"})
    assert 'id="instructions"' in html(page) and html(page).count('class="inline mark-paid"') == 2
    assert (
        finance.post(f"{url}/instructions/{source.id}/mark-paid", {"reference": " "}).status_code
        == 303
    )
    assert all(i.status == "pending" for i in list_instructions(batch.id))
    for n, tenant in enumerate((source, target)):
        finance.post(f"{url}/instructions/{tenant.id}/mark-paid", {"reference": f"BANK-{n}"})
    assert get_batch(batch.id).batch.status == "paid"
    page = finance.get(url, headers={"Accept-Language": "en"})
    assert "BANK-0" in text_of(page) and 'id="reconcile"' in html(page)

    reconciled = finance.post(f"{url}/reconcile")
    assert reconciled.status_code == 303
    page = finance.get(reconciled.headers["Location"], headers={"Accept-Language": "en"})
    assert "Reconciled: every line matches." in text_of(page)
    assert "2 of 2 lines match" in text_of(page) and 'id="no-mismatches"' in html(page)
    assert get_batch(batch.id).batch.status == "reconciled"
    with unit_of_work(platform=True) as uow:
        outcomes = [
            (row.action, row.outcome)
            for row in uow.session.query(StaffActivity)
            .filter(StaffActivity.target.like(f"{batch.id}%"))
            .order_by(StaffActivity.created, StaffActivity.id)
        ]
    assert outcomes[-1] == ("batches.reconcile", "ok")
    assert ("batches.reconcile", "error") in outcomes  # the early attempt


def test_reconciling_lists_the_mismatches(app, batch_with_a_swap):
    from sqlalchemy import update

    from jifen.platform.db import unit_of_work
    from jifen.settlement.model import PaymentInstruction
    from jifen.settlement.services import get_batch

    batch, source, target, _closer = batch_with_a_swap
    finance = approved_by_another(app, batch)
    url = f"/console/finance/batches/{batch.id}"
    finance.post(f"{url}/pay")
    for tenant in (source, target):
        finance.post(f"{url}/instructions/{tenant.id}/mark-paid", {"reference": "BANK"})
    with unit_of_work(platform=True) as uow:  # a line paid by hand that lost its reference
        uow.session.execute(
            update(PaymentInstruction)
            .where(
                PaymentInstruction.batch_id == batch.id, PaymentInstruction.tenant_id == source.id
            )
            .values(reference=None)
        )
        uow.commit()
    reconciled = finance.post(f"{url}/reconcile")
    page = finance.get(reconciled.headers["Location"], headers={"Accept-Language": "en"})
    assert "Mismatches found: 1." in text_of(page) and "1 of 2 lines match" in text_of(page)
    mismatches = html(page).split('id="mismatches"')[1].split("</table>")[0]
    assert "源商户" in mismatches and "marked paid without a reference" in mismatches
    assert get_batch(batch.id).batch.status == "paid"


def test_the_batch_page_is_translated(app, batch_with_a_swap):
    batch, *_rest, closer_email = batch_with_a_swap
    page = signed_in(app, closer_email).get(
        f"/console/finance/batches/{batch.id}", headers={"Accept-Language": "zh-CN"}
    )
    assert page.status_code == 200 and '<html lang="zh-CN">' in html(page)
    assert "头寸" in text_of(page) and "结算" in text_of(page)


def test_closing_when_nothing_is_new_says_when_the_next_cutoff_is(app, batch_with_a_swap):
    from jifen.settlement.services import list_batches

    batch, *_rest, closer_email = batch_with_a_swap  # closed up to now, past midnight
    finance = signed_in(app, closer_email)
    closed = finance.post("/console/finance/batches")
    assert closed.status_code == 303 and closed.headers["Location"].endswith("/finance/batches")
    page = finance.get(closed.headers["Location"], headers={"Accept-Language": "en"})
    assert 'class="flash info"' in html(page)
    said = text_of(page)
    assert "Nothing new to close; the next cut-off is" in said and "(Asia/Shanghai)" in said
    assert "before the last batch" not in said
    assert list_batches({"limit": 1, "starting_after": None})["data"][0].batch.id == batch.id
    chinese = finance.post("/console/finance/batches")
    page = finance.get(chinese.headers["Location"], headers={"Accept-Language": "zh-CN"})
    assert 'class="flash info"' in html(page) and "before the last batch" not in text_of(page)


def test_the_batch_page_shows_the_rounding_line_with_the_totals(app, batch_with_a_swap):
    from jifen.settlement.services import get_batch

    batch, source, target, closer_email = batch_with_a_swap
    page = signed_in(app, closer_email).get(
        f"/console/finance/batches/{batch.id}", headers={"Accept-Language": "en"}
    )
    view = get_batch(batch.id)
    totals = html(page).split('id="totals"')[1].split("</tfoot>")[0]
    assert "Rounding" in totals and "Platform fees" in totals
    assert 'id="totals-zero">CN¥0.00<' in totals or 'id="totals-zero">¥0.00<' in totals
    rounding = html(page).split('id="totals-rounding">')[1].split("<")[0]
    assert rounding.replace("CN", "").replace("¥", "") == f"{view.batch.rounding / 100:.2f}"
    assert 'id="batch-rounding"' in html(page)
    assert source.slug in text_of(page) and target.slug in text_of(page)
    listed = signed_in(app, closer_email).get("/console/finance/batches")
    assert "Rounding" in text_of(listed)


def test_a_tenants_finance_user_reads_and_exports_its_statement_lines(app, batch_with_a_swap):
    batch, source, target, _closer = batch_with_a_swap
    _, finance_email = make_staff({source.id: Role.FINANCE})
    finance = signed_in(app, finance_email)
    page = finance.get("/console/statements", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    lines = html(page).split('id="lines"')[1].split("</table>")[0]
    assert "目标商户" in lines and target.slug in lines and batch.id in lines
    assert "pays" in lines and "swap" in lines
    today = clock.now().date()
    for fmt, content_type, magic in (
        ("csv", "text/csv; charset=utf-8", b"\xef\xbb\xbf"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"),
    ):
        response = finance.get(
            f"/console/statements/lines.{fmt}",
            query_string={"from": today.isoformat(), "to": today.isoformat()},
        )
        assert response.status_code == 200, response.status_code
        assert response.headers["Content-Type"] == content_type
        assert (
            response.data.startswith(magic)
            and "attachment" in response.headers["Content-Disposition"]
        )
    from jifen.settlement.reports import parse_csv_sections

    sections = parse_csv_sections(
        finance.get("/console/statements/lines.csv", query_string={"to": "2000-01-01"}).data
    )
    assert len(sections["lines"]) == 1  # the header only: nothing before 2000
    everything = parse_csv_sections(finance.get("/console/statements/lines.csv").data)
    header, *rows = everything["lines"]
    assert {row[header.index("counterparty")] for row in rows} == {target.id}
    bad = finance.get("/console/statements/lines.csv", query_string={"from": "yesterday"})
    assert bad.status_code == 303
    assert finance.get("/console/statements/lines.pdf").status_code == 404
    # the other tenant's finance user sees its own side of the same swap
    _, target_email = make_staff({target.id: Role.FINANCE})
    theirs = signed_in(app, target_email).get("/console/statements")
    assert "源商户" in text_of(theirs) and "receives" in text_of(theirs)
