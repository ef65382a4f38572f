"""Two people for a manual payment in the finance console: above the platform's threshold
a line marked paid waits on the batch page until another platform staff user confirms
it (or someone rejects it); whoever marked it is shown no confirm button and is refused
if they post one anyway."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
from console_helpers import Console, html, make_staff, text_of

from jifen.platform import clock

sys.path.append(str(Path(__file__).parent.parent / "settlement"))
from settlement_support import open_settlement  # noqa: E402

EN = {"Accept-Language": "en"}


@pytest.fixture
def paying(app, api, monkeypatch):
    """A batch of one swap between two new merchants, approved and being paid by hand,
    with the platform's threshold below every line."""
    from jifen.settlement.payments import pay_batch
    from jifen.settlement.services import approve_batch, close_batch

    settlement = open_settlement(api)
    source = settlement.tenant("0.01", name="源商户")
    target = settlement.tenant("0.02", name="目标商户")
    settlement.swap(settlement.card(source), source, target, 10_000)
    closed = close_batch(make_staff(platform_operator=True)[0], clock.now())
    approve_batch(closed.batch.id, make_staff(platform_operator=True)[0])
    pay_batch(closed.batch.id)
    config = app.extensions["jifen.config"]
    monkeypatch.setitem(
        app.extensions, "jifen.config", replace(config, manual_payment_approval_threshold=0)
    )
    return closed.batch, source, target


def signed_in(app, email: str) -> Console:
    browser = Console(app.test_client())
    assert browser.login(email).status_code == 302
    return browser


def test_a_large_line_waits_for_a_second_person_who_confirms_it(app, paying):
    from jifen.settlement.manual import list_payments
    from jifen.settlement.payments import list_instructions
    from jifen.settlement.services import get_batch

    batch, source, target = paying
    url = f"/console/finance/batches/{batch.id}"
    marker = signed_in(app, make_staff(platform_operator=True)[1])
    marker.post(f"{url}/instructions/{source.id}/mark-paid", {"reference": "BANK-BIG"})
    page = marker.get(url, headers=EN)
    assert "another person must confirm it" in text_of(page)
    assert all(i.status == "pending" for i in list_instructions(batch.id))
    [waiting] = list_payments(batch.id)
    assert waiting.status == "pending_confirmation" and waiting.reference == "BANK-BIG"
    row = html(page).split(f'id="manual-payment-{waiting.id}"')[1].split("</tr>")[0]
    assert "BANK-BIG" in row and "confirm-payment" not in row and "reject-payment" in row
    assert html(page).count('class="inline mark-paid"') == 1  # the other line only

    own = marker.post(f"/console/finance/manual-payments/{waiting.id}/confirm")
    assert own.status_code == 303 and own.headers["Location"].endswith(url)
    assert "someone other than who marked it paid" in text_of(marker.get(url, headers=EN))
    assert list_payments(batch.id)[0].status == "pending_confirmation"

    checker = signed_in(app, make_staff(platform_operator=True)[1])
    page = checker.get(url, headers=EN)
    assert f'/console/finance/manual-payments/{waiting.id}/confirm"' in html(page)
    checker.post(f"/console/finance/manual-payments/{waiting.id}/confirm")
    assert "confirmed and the line is paid" in text_of(checker.get(url, headers=EN))
    lines = {i.tenant_id: i for i in list_instructions(batch.id)}
    assert (lines[source.id].status, lines[source.id].reference) == ("paid", "BANK-BIG")
    assert get_batch(batch.id).batch.status == "paying"
    assert 'id="manual-payments"' not in html(checker.get(url, headers=EN))


def test_a_rejected_line_can_be_marked_again(app, paying):
    from jifen.settlement.manual import list_payments

    batch, source, _target = paying
    url = f"/console/finance/batches/{batch.id}"
    marker = signed_in(app, make_staff(platform_operator=True)[1])
    marker.post(f"{url}/instructions/{source.id}/mark-paid", {"reference": "BANK-TYPO"})
    [waiting] = list_payments(batch.id)
    marker.post(f"/console/finance/manual-payments/{waiting.id}/reject")
    assert "was rejected" in text_of(marker.get(url, headers=EN))
    assert list_payments(batch.id)[0].status == "rejected"
    marker.post(f"{url}/instructions/{source.id}/mark-paid", {"reference": "BANK-OK"})
    assert [p.reference for p in list_payments(batch.id)] == ["BANK-OK", "BANK-TYPO"]


def test_the_batch_page_in_chinese_names_the_waiting_payments(app, paying):
    batch, source, _target = paying
    url = f"/console/finance/batches/{batch.id}"
    marker = signed_in(app, make_staff(platform_operator=True)[1])
    marker.post(f"{url}/instructions/{source.id}/mark-paid", {"reference": "BANK-ZH"})
    page = marker.get(url, headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and 'id="manual-payments"' in html(page)
