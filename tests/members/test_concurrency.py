"""Concurrent spending over the services.

Each test fires many use cases at once from threads released together by a barrier, then
checks the outcome a user would see and that the audit stays clean. They run on both
databases: on PostgreSQL against real row locks and deadlocks (retried inside), on SQLite
against serialized writers (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from factories import in_app_context

from jifen.platform.errors import JifenError
from jifen.tenants.members import awards, points, services

pytestmark = pytest.mark.usefixtures("audited")


def race(calls: list) -> Counter:
    """Run every call at once; count outcomes by result type name or error code."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            call()
            return "ok"
        except JifenError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return Counter(pool.map(in_app_context(run), calls))


def funded(tenant_id: str, amount: int) -> str:
    member = services.create_member(tenant_id, external_id=f"race-{id(object())}-{amount}")
    awards.award(
        tenant_id, member_id=member.id, event="manual", points=amount, reason="race", actor="test"
    )
    return member.id


def test_fifty_concurrent_redemptions_of_ten_against_a_hundred(tenant):
    member_id = funded(tenant.id, 100)
    outcome = race(
        [lambda: points.redeem(tenant.id, member_id=member_id, points=10) for _ in range(50)]
    )
    assert outcome == Counter({"ok": 10, "insufficient_points": 40})
    balance = points.balance(tenant.id, member_id)
    assert (balance.points, balance.available) == (0, 0)


def test_fifty_concurrent_holds_of_ten_against_a_hundred(tenant):
    member_id = funded(tenant.id, 100)
    outcome = race(
        [lambda: points.place_hold(tenant.id, member_id=member_id, points=10) for _ in range(50)]
    )
    assert outcome == Counter({"ok": 10, "insufficient_points": 40})
    balance = points.balance(tenant.id, member_id)
    assert (balance.points, balance.held, balance.available) == (100, 100, 0)


def test_transfers_both_ways_at_once_never_deadlock_to_the_client(tenant):
    alice, bob = funded(tenant.id, 500), funded(tenant.id, 500)
    calls = [
        lambda: points.transfer(tenant.id, from_member_id=alice, to_member_id=bob, points=7),
        lambda: points.transfer(tenant.id, from_member_id=bob, to_member_id=alice, points=5),
    ] * 20
    assert race(calls) == Counter({"ok": 40})
    assert points.balance(tenant.id, alice).points == 500 - 20 * 7 + 20 * 5
    assert points.balance(tenant.id, bob).points == 500 - 20 * 5 + 20 * 7


def test_concurrent_enrolments_of_one_external_id_make_one_member(tenant):
    outcome = race(
        [lambda: services.create_member(tenant.id, external_id="same-customer") for _ in range(10)]
    )
    assert outcome["ok"] == 1 and sum(outcome.values()) == 10
    assert set(outcome) <= {"ok", "external_id_taken", "member_conflict"}
    listed = services.list_members(tenant.id, {"limit": 10, "external_id": "same-customer"})
    assert len(listed["data"]) == 1
