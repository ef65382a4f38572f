"""Batches over HTTP: closing (hand-worked positions, zero sums, cut-off rules, reruns,
late records), approval by another operator, manual payment, statements, the periodic
job, and the database refusing a record or a window settled twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import assert_error, drain_jobs
from settlement_support import BATCHES, position
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from jifen.platform import clock
from jifen.platform.clearing import ClearingRecord
from jifen.platform.db import unit_of_work
from jifen.settlement.model import SettlementBatch


def batch_of(record_ids: set[str]) -> dict[str, str]:
    """Which batch's range holds each record."""
    with unit_of_work(platform=True) as uow:
        rows = uow.session.execute(
            select(ClearingRecord.id, SettlementBatch.id)
            .join(
                SettlementBatch,
                (ClearingRecord.sequence > SettlementBatch.records_after)
                & (ClearingRecord.sequence <= SettlementBatch.records_through),
            )
            .where(ClearingRecord.id.in_(record_ids))
        ).all()
    found = dict(rows)
    assert len(found) == len(rows), "a record lies in two batches"
    return found


def records_of_swap(swap_id: str) -> list[str]:
    with unit_of_work(platform=True) as uow:
        return list(
            uow.session.scalars(select(ClearingRecord.id).where(ClearingRecord.swap_id == swap_id))
        )


@pytest.fixture
def pair(settlement):
    """A at 0.8 SPU a point, B at 1.5; a card with A points."""
    a, b = settlement.tenant("0.8"), settlement.tenant("1.5")
    return a, b, settlement.card(a)


def test_closing_nets_a_swap_and_a_capture_by_hand(settlement, pair):
    a, b, card = pair
    settlement.settings("0.3")  # 1 SPU = 0.3 fen
    settlement.swap(card, a, b, 1000)  # A owes B 783 SPU, fee 16 + rounding 1 SPU
    settlement.capture(card, a, b, 60)  # A owes B 47.28 SPU, fee 0.72 SPU
    batch = settlement.closed()
    assert batch["object"] == "settlement_batch" and batch["id"].startswith("stb_")
    assert batch["status"] == "closed" and batch["currency"] == "CNY"
    assert batch["spu_value"] == "0.3"
    pa, pb = position(batch, a), position(batch, b)
    assert (pa["payable_spu"], pa["fees_spu"], pa["net_spu"]) == ("830.28", "17.72", "-848")
    assert (pb["receivable_spu"], pb["net_spu"]) == ("830.28", "830.28")
    # money: A pays ceil(830.28 × 0.3 = 249.084) = 250 and ceil(17.72 × 0.3 = 5.316) = 6
    assert (pa["payable"], pa["fees"], pa["net"], pa["currency"]) == (250, 6, -256, "CNY")
    # B is paid floor(249.084) = 249
    assert (pb["receivable"], pb["payable"], pb["fees"], pb["net"]) == (249, 0, 0, 249)
    assert pa["record_count"] == pb["record_count"] == 2
    nets = sum(p["net"] for p in batch["positions"])
    assert nets + batch["platform_fees"] + batch["rounding"] == 0
    assert batch["rounding"] >= 0
    assert batch["record_count"] >= 2


def test_rerunning_a_close_returns_the_same_batch(settlement, pair):
    a, b, card = pair
    settlement.swap(card, a, b, 100)
    first = settlement.closed()
    again = settlement.client.post(
        BATCHES, json={"cutoff": first["cutoff"]}, headers=settlement.closer.auth
    )
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["id"] == first["id"]
    assert again.get_json()["record_count"] == first["record_count"]


def test_a_cutoff_in_the_future_or_before_the_last_is_refused(settlement, pair):
    a, b, card = pair
    settlement.swap(card, a, b, 100)
    future = settlement.close(clock.now() + timedelta(minutes=5))
    assert_error(future, 422, "cutoff_in_future")
    batch = settlement.closed()
    earlier = settlement.close(clock.now() - timedelta(days=400))
    assert_error(earlier, 422, "cutoff_before_last")
    listed = settlement.client.get(BATCHES, headers=settlement.closer.auth).get_json()
    assert listed["object"] == "list" and listed["data"][0]["id"] == batch["id"]


def test_records_after_the_cutoff_and_late_records_go_to_the_next_batch(settlement, pair):
    a, b, card = pair
    early = settlement.swap(card, a, b, 100)
    cutoff = clock.now()
    later = settlement.swap(card, a, b, 200)
    first = settlement.closed(cutoff)
    assert position(first, a)["record_count"] == 1
    # a record that commits after the close but carries a time before the cut-off
    with clock.frozen_at(cutoff - timedelta(seconds=30)):
        late = settlement.swap(card, a, b, 300)
    second = settlement.closed()
    ids = {s["id"]: records_of_swap(s["id"])[0] for s in (early, later, late)}
    where = batch_of(set(ids.values()))
    assert where[ids[early["id"]]] == first["id"]
    assert where[ids[later["id"]]] == second["id"]
    assert where[ids[late["id"]]] == second["id"]
    assert settlement.get(first["id"])["record_count"] == first["record_count"]
    assert position(second, a)["record_count"] == 2


def test_a_batch_is_approved_by_someone_else_then_paid_by_hand(settlement, pair):
    a, b, card = pair
    settlement.swap(card, a, b, 1000)
    batch = settlement.closed()
    assert_error(settlement.pay(batch["id"]), 409, "batch_not_approved")
    assert_error(settlement.approve(batch["id"], settlement.closer), 403, "self_approval")
    assert settlement.get(batch["id"])["status"] == "closed"
    approved = settlement.approve(batch["id"])
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved"

    paying = settlement.pay(batch["id"])
    assert paying.status_code == 200, paying.get_json()
    assert settlement.get(batch["id"])["status"] == "paying"  # manual: finance pays
    lines = settlement.instructions(batch["id"])
    assert lines[a.id]["direction"] == "collection" and lines[a.id]["method"] == "manual"
    assert lines[a.id]["amount"] == -position(batch, a)["net"]
    assert lines[b.id]["direction"] == "payout" and lines[b.id]["status"] == "pending"
    assert settlement.pay(batch["id"]).status_code == 200  # again: nothing new
    assert settlement.instructions(batch["id"]) == lines

    for tenant_id, _line in lines.items():
        marked = settlement.client.post(
            f"{BATCHES}/{batch['id']}/instructions/{tenant_id}/mark_paid",
            json={"reference": f"BANK-{tenant_id[-6:]}"},
            headers=settlement.approver.auth,
        )
        assert marked.status_code == 200, marked.get_json()
        assert marked.get_json()["status"] == "paid"
    paid = settlement.get(batch["id"])
    assert paid["status"] == "paid" and paid["paid_at"]
    reconciled = settlement.client.post(
        f"{BATCHES}/{batch['id']}/reconcile", headers=settlement.approver.auth
    )
    assert reconciled.status_code == 200, reconciled.get_json()
    body = reconciled.get_json()
    assert body["status"] == "reconciled" and body["reconciliation"]["mismatches"] == []


def test_reconciling_an_unpaid_batch_and_marking_an_unknown_line_are_refused(settlement, pair):
    a, b, card = pair
    settlement.swap(card, a, b, 100)
    batch = settlement.closed()
    response = settlement.client.post(
        f"{BATCHES}/{batch['id']}/reconcile", headers=settlement.approver.auth
    )
    assert_error(response, 409, "invalid_state")
    missing = settlement.client.post(
        f"{BATCHES}/{batch['id']}/instructions/{a.id}/mark_paid",
        json={"reference": "x"},
        headers=settlement.approver.auth,
    )
    assert_error(missing, 404)


def test_tenants_read_their_own_statements_only(settlement, pair, client):
    a, b, card = pair
    settlement.swap(card, a, b, 1000)
    batch = settlement.closed()
    response = client.get("/v1/settlement/statements", headers=a.auth)
    assert response.status_code == 200, response.get_json()
    [line] = response.get_json()["data"]
    assert line["object"] == "settlement_statement" and line["batch"] == batch["id"]
    assert line["net"] == position(batch, a)["net"] and line["cutoff"] == batch["cutoff"]
    assert (
        client.get("/v1/settlement/statements", headers=b.auth).get_json()["data"][0]["net"]
        == position(batch, b)["net"]
    )
    assert_error(client.get(BATCHES, headers=a.auth), 403)
    assert_error(client.get("/v1/settlement/statements", headers=settlement.closer.auth), 403)


def test_the_periodic_job_closes_up_to_midnight_once(settlement, api, client):
    admin = {"Authorization": f"Bearer {api.platform_token('platform:admin')}"}
    first = client.post("/v1/platform/jobs", json={"job": "settlement"}, headers=admin)
    assert first.status_code == 200, first.get_json()
    again = client.post("/v1/platform/jobs", json={"job": "settlement"}, headers=admin)
    assert again.get_json()["result"]["batch"] == first.get_json()["result"]["batch"]
    assert again.get_json()["result"]["created"] is False
    drain_jobs()


def test_the_database_refuses_settling_a_record_or_a_window_twice(settlement, pair):
    a, b, card = pair
    swap = settlement.swap(card, a, b, 100)
    batch = settlement.closed()
    [record] = records_of_swap(swap["id"])
    with unit_of_work(platform=True) as uow:
        newest = uow.session.get(SettlementBatch, batch["id"])
        assert newest.records_through > newest.records_after
        later = dict(
            sequence=newest.sequence + 1,
            window_start=newest.cutoff,
            cutoff=newest.cutoff + timedelta(seconds=1),
            currency="CNY",
            spu_value_micro=1,
            closed_by="test",
        )
        bad_ranges = [
            (newest.records_after, newest.records_through),  # the same records again
            (newest.records_through - 1, newest.records_through + 5),  # overlaps the end
            (newest.records_through + 3, newest.records_through + 1),  # backwards
        ]
        window = dict(later, window_start=newest.window_start)  # the same window again
        attempts = [dict(later, records_after=a, records_through=t) for a, t in bad_ranges]
        attempts.append(
            dict(
                window,
                records_after=newest.records_through,
                records_through=newest.records_through,
            )
        )
    for values in attempts:
        with unit_of_work(platform=True) as uow, pytest.raises(IntegrityError):
            uow.session.add(SettlementBatch(**values))
            uow.session.flush()
    assert batch_of({record}) == {record: batch["id"]}


def test_closing_without_a_cutoff_when_nothing_is_due_answers_the_newest_batch(settlement, pair):
    # As after `jifen demo`: the newest batch was closed up to "now", past the latest
    # midnight, so the default close has nothing new to take.
    a, b, card = pair
    settlement.swap(card, a, b, 100)
    newest = settlement.closed()
    again = settlement.client.post(BATCHES, json={}, headers=settlement.closer.auth)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["id"] == newest["id"]
    assert again.get_json()["record_count"] == newest["record_count"]
    assert (
        settlement.client.get(BATCHES, headers=settlement.closer.auth).get_json()["data"][0]["id"]
        == newest["id"]
    )
    # an explicit cut-off before it is still refused
    earlier = settlement.close(clock.now() - timedelta(days=400))
    assert_error(earlier, 422, "cutoff_before_last")


def test_positions_name_their_tenants(settlement, client):
    a = settlement.tenant("0.8", name="杭州 积分店")
    b = settlement.tenant("1.5", name="Shop B")
    settlement.swap(settlement.card(a), a, b, 100)
    batch = settlement.closed()
    for body in (batch, settlement.get(batch["id"])):
        pa, pb = position(body, a), position(body, b)
        assert (pa["tenant"], pa["tenant_name"], pa["tenant_slug"]) == (a.id, "杭州 积分店", a.slug)
        assert (pb["tenant_name"], pb["tenant_slug"]) == ("Shop B", b.slug)
    listed = client.get(BATCHES, headers=settlement.closer.auth).get_json()["data"][0]
    assert position(listed, a)["tenant_name"] == "杭州 积分店"
    approved = settlement.approve(batch["id"]).get_json()
    assert position(approved, b)["tenant_slug"] == b.slug


def test_the_next_cutoff_follows_midnight_in_shanghai():
    from datetime import UTC, datetime

    from jifen.settlement.services import next_cutoff

    # 2026-12-03 23:59 Shanghai -> 2026-12-04 00:00 Shanghai (16:00 UTC on the 3rd)
    assert next_cutoff(datetime(2026, 12, 3, 15, 59, tzinfo=UTC)) == datetime(
        2026, 12, 3, 16, 0, tzinfo=UTC
    )
    # exactly at a cut-off: the following one
    assert next_cutoff(datetime(2026, 12, 3, 16, 0, tzinfo=UTC)) == datetime(
        2026, 12, 4, 16, 0, tzinfo=UTC
    )
