"""A connected account's payout to its bank marks exactly the lines whose transfers it
carries (its balance transactions on that account name them), whatever order Stripe's
``payout.paid`` and ``payout.failed`` arrive in and however often."""

from __future__ import annotations

import pytest
from factories import drain_jobs
from settlement_support import connect, deliver, ours
from stripe_servers import stripe_event


def payout_event(settlement, fake, kind: str, payout: dict, account: str) -> str:
    """Stripe's ``kind`` event about ``payout`` on ``account``, delivered and worked off."""
    response = deliver(settlement.client, stripe_event(kind, payout, account=account))
    assert response.status_code == 200, response.get_json()
    drain_jobs()
    return response.get_json()["outcome"]


def paid_batch(settlement, payer, receivers: list[tuple]) -> dict:
    """A batch in which ``payer`` pays each receiver (tenant, points swapped), paid."""
    settlement.closed()  # earlier tests' records go to that batch, not ours
    card = settlement.card(payer)
    for receiver, points in receivers:
        settlement.swap(card, payer, receiver, points)
    batch = settlement.closed()
    assert settlement.approve(batch["id"]).status_code == 200
    settlement.pay(batch["id"])
    return batch


def line(settlement, batch, tenant) -> dict:
    return settlement.instructions(batch["id"])[tenant.id]


@pytest.fixture
def receivers(settlement, stripe_on):
    """B and D are paid by transfer in a first batch; B again in a second one, whose
    transfer Stripe has not paid out yet when B's first payout goes."""
    a, b, d = settlement.tenant("1"), settlement.tenant("1.5"), settlement.tenant("1.5")
    accounts = {t.id: connect(settlement, stripe_on, t) for t in (b, d)}
    first = paid_batch(settlement, a, [(b, 1000), (d, 700)])
    payout = stripe_on.pay_out(accounts[b.id])  # carries B's first transfer
    second = paid_batch(settlement, a, [(b, 400)])
    for batch, tenant in ((first, b), (first, d), (second, b)):
        assert line(settlement, batch, tenant)["status"] == "paid"
        assert line(settlement, batch, tenant)["payout_status"] is None
    return a, b, d, accounts, first, second, payout


def test_a_payout_marks_only_the_transfers_it_carries(settlement, stripe_on, receivers):
    a, b, d, accounts, first, second, payout = receivers
    [carried] = [
        t for t in ours(stripe_on, first["id"], "transfer") if t["metadata"]["jifen_tenant"] == b.id
    ]
    assert payout["amount"] == carried["amount"]
    outcome = payout_event(settlement, stripe_on, "payout.paid", payout, accounts[b.id])
    assert outcome == "settlement_payout_queued"
    marked = line(settlement, first, b)
    assert (marked["payout_status"], marked["stripe_payout_id"]) == ("paid", payout["id"])
    assert line(settlement, second, b)["payout_status"] is None  # not in this payout
    assert line(settlement, first, d)["payout_status"] is None  # another tenant's
    later = stripe_on.pay_out(accounts[b.id])
    payout_event(settlement, stripe_on, "payout.paid", later, accounts[b.id])
    assert line(settlement, second, b)["stripe_payout_id"] == later["id"]
    assert line(settlement, first, b) == marked
    # the same news again, under another event id: nothing changes
    before = settlement.instructions(first["id"])
    payout_event(settlement, stripe_on, "payout.paid", payout, accounts[b.id])
    assert settlement.instructions(first["id"]) == before


def test_a_failed_payout_and_the_one_that_carries_its_money_again(settlement, stripe_on, receivers):
    a, b, d, accounts, first, second, payout = receivers
    paid_then = dict(payout)
    failed = stripe_on.fail_payout(payout["id"])
    payout_event(settlement, stripe_on, "payout.failed", failed, accounts[b.id])
    returned = line(settlement, first, b)
    assert returned["payout_status"] == "failed" and "account is closed" in returned["last_error"]
    assert returned["status"] == "paid"  # the transfer itself stands
    assert line(settlement, second, b)["payout_status"] is None

    again = stripe_on.pay_out(accounts[b.id])  # the returned money and the second transfer
    payout_event(settlement, stripe_on, "payout.paid", again, accounts[b.id])
    for batch in (first, second):
        carried = line(settlement, batch, b)
        assert (carried["payout_status"], carried["stripe_payout_id"]) == ("paid", again["id"])
        assert carried["last_error"] is None
    # Stripe delivers out of order: the first payout's news comes late, both ways
    for late in (("payout.failed", failed), ("payout.paid", paid_then)):
        payout_event(settlement, stripe_on, *late, accounts[b.id])
        assert line(settlement, first, b)["stripe_payout_id"] == again["id"]
        assert line(settlement, first, b)["payout_status"] == "paid"


def test_payouts_not_ours_mark_nothing(settlement, stripe_on, receivers):
    a, b, d, accounts, first, second, payout = receivers
    before = {t.id: line(settlement, first, t) for t in (b, d)}
    # B's payout announced as D's: D's account has no such payout
    payout_event(settlement, stripe_on, "payout.paid", payout, accounts[d.id])
    foreign = stripe_on.foreign_account()
    outcome = payout_event(settlement, stripe_on, "payout.paid", payout, foreign)
    assert outcome == "settlement_unknown_account"
    platform_own = stripe_event("payout.paid", {**payout, "id": "po_platform"})
    assert deliver(settlement.client, platform_own).get_json()["outcome"] == "ignored"
    assert {t.id: line(settlement, first, t) for t in (b, d)} == before
    # a manual payout: Stripe cannot list what it carries, so nothing is marked
    manual = stripe_on.pay_out(accounts[d.id], automatic=False)
    payout_event(settlement, stripe_on, "payout.paid", manual, accounts[d.id])
    assert line(settlement, first, d)["payout_status"] is None
