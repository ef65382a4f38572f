"""Refunds over HTTP: claw back earned points in proportion (the house keeps the
rounding), restore redeemed points, record what a short balance could not give back,
never more than was earned, once per Idempotency-Key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from factories import assert_error

sys.path.append(str(Path(__file__).parent))
from rules_support import PROGRAM, earn, put_program  # noqa: E402

from jifen.platform.errors import Unprocessable  # noqa: E402
from jifen.tenants.members.refunds import plan_refund  # noqa: E402

NO_TIERS = {**PROGRAM, "tiers": [], "expiry": {"policy": "never"}}

# order amount A, refunded before, this refund, points earned E, clawed before,
# redeemed P, restored before -> claw back now, restore now
PLANS = [
    # 358.00 earned 3; refund 100.00: keep floor(3 × 258 / 358) = floor(2.16) = 2 -> 1
    (35800, 0, 10000, 3, 0, 0, 0, 1, 0),
    # another 100.00: keep floor(3 × 158 / 358) = floor(1.32) = 1 -> 2 in all, 1 now
    (35800, 10000, 10000, 3, 1, 0, 0, 1, 0),
    # the rest (None): keep 0 -> 3 in all, 1 now
    (35800, 20000, None, 3, 2, 0, 0, 1, 0),
    # 1,000.00 earned 10 and took 500 points; refund half: keep floor(10 × 1/2) = 5 -> 5,
    # restore floor(500 × 1/2) = 250
    (100000, 0, 50000, 10, 0, 500, 0, 5, 250),
    # a refund of 0.01: keep floor(10 × 99999 / 100000) = 9 -> 1 (the house's rounding);
    # restore floor(500 × 1 / 100000) = 0
    (100000, 0, 1, 10, 0, 500, 0, 1, 0),
    # order amount unknown (redeemed only, no amount recorded): in full only
    (None, 0, None, 0, 0, 300, 0, 0, 300),
]


@pytest.mark.parametrize(
    ("order_amount", "before", "amount", "earned", "settled", "redeemed", "restored",
     "clawback", "restore"),
    PLANS,
)  # fmt: skip
def test_refund_plans(order_amount, before, amount, earned, settled, redeemed, restored,
                      clawback, restore):  # fmt: skip
    plan = plan_refund(
        order_amount=order_amount,
        refunded_before=before,
        amount=amount,
        earned=earned,
        settled_before=settled,
        redeemed=redeemed,
        restored_before=restored,
    )
    assert (plan.clawback_due, plan.restore) == (clawback, restore)


def test_a_plan_refuses_more_than_is_left():
    with pytest.raises(Unprocessable):
        plan_refund(order_amount=100, refunded_before=60, amount=41, earned=1,
                    settled_before=0, redeemed=0, restored_before=0)  # fmt: skip


def refund(points, order_id: str, amount: int | None = None, **headers):
    body = {"order_id": order_id} if amount is None else {"order_id": order_id, "amount": amount}
    return points.post("/v1/refunds", body, **headers)


def test_repeated_partial_refunds_never_claw_back_more_than_was_earned(audited, points):
    put_program(points, NO_TIERS)
    member = points.funded_member(100)
    earn(points, member["id"], "o-1", 35800)  # 3 points
    clawed = []
    for amount in (10000, 10000, 10000, 5800):
        response = refund(points, "o-1", amount)
        assert response.status_code == 201, response.get_json()
        clawed.append(response.get_json()["clawed_back"])
    # kept after each: floor(3×258/358)=2, floor(3×158/358)=1, floor(3×58/358)=0, 0
    assert clawed == [1, 1, 1, 0]
    assert points.balance(member["id"])["points"] == 100
    assert_error(refund(points, "o-1", 1), 422, "order_fully_refunded")
    assert_error(refund(points, "o-1"), 422, "order_fully_refunded")
    assert points.balance(member["id"])["points"] == 100


def test_a_refund_after_the_earned_points_were_partly_spent(audited, points):
    put_program(points, NO_TIERS)
    member = points.member()
    earn(points, member["id"], "o-1", 100000)  # 10 points
    points.post("/v1/redemptions", {"member_id": member["id"], "points": 8})  # 2 left
    response = refund(points, "o-1")
    assert response.status_code == 201
    body = response.get_json()
    assert body["object"] == "refund" and body["id"].startswith("ref_")
    # 10 to claw back, 2 available: take 2, record 8 as unrecovered; never below zero
    assert (body["clawed_back"], body["restored"], body["unrecovered"]) == (2, 0, 8)
    assert body["amount"] == 100000 and body["order_amount"] == 100000
    balance = points.balance(member["id"])
    assert (balance["points"], balance["available"]) == (0, 0)
    listed = points.get(f"/v1/members/{member['id']}/transactions").get_json()["data"]
    assert (listed[0]["kind"], listed[0]["points"], listed[0]["reference"]) == ("refund", -2, "o-1")


def test_held_points_are_not_clawed_back(audited, points):
    put_program(points, NO_TIERS)
    member = points.member()
    earn(points, member["id"], "o-1", 100000)  # 10 points
    points.post("/v1/holds", {"member_id": member["id"], "points": 7})
    body = refund(points, "o-1", 50000).get_json()  # claw back 5, only 3 available
    assert (body["clawed_back"], body["unrecovered"]) == (3, 2)
    # the rest claws back the other 5; the 2 written off are not chased again
    body = refund(points, "o-1").get_json()
    assert (body["clawed_back"], body["unrecovered"]) == (0, 5)
    assert points.balance(member["id"])["points"] == 7


def test_a_refund_restores_the_points_redeemed_on_the_order(audited, points):
    put_program(points, NO_TIERS)
    member = points.funded_member(1000)
    paid = points.post("/v1/redemptions", {"member_id": member["id"], "points": 500,
                                           "order_id": "o-1", "order_amount": 100000})  # fmt: skip
    assert paid.status_code == 201, paid.get_json()
    earn(points, member["id"], "o-1", 100000)  # 10 points; balance 510
    half = refund(points, "o-1", 50000).get_json()
    # restore floor(500 × ½) = 250 first, then claw back 10 - floor(10 × ½) = 5
    assert (half["restored"], half["clawed_back"], half["unrecovered"]) == (250, 5, 0)
    assert points.balance(member["id"])["points"] == 510 + 250 - 5
    rest = refund(points, "o-1").get_json()
    assert (rest["restored"], rest["clawed_back"]) == (250, 5)
    assert points.balance(member["id"])["points"] == 1000


def test_a_redeemed_only_order_is_refunded_in_full(audited, points):
    put_program(points, NO_TIERS)
    member = points.funded_member(300)
    points.post("/v1/redemptions", {"member_id": member["id"], "points": 200, "order_id": "o-9"})
    assert assert_error(refund(points, "o-9", 100), 422)["param"] == "amount"
    body = refund(points, "o-9").get_json()
    assert (body["restored"], body["amount"]) == (200, None)
    assert points.balance(member["id"])["points"] == 300
    assert_error(refund(points, "o-9"), 422, "order_fully_refunded")


def test_a_refund_replayed_with_its_idempotency_key_has_one_effect(audited, points):
    put_program(points, NO_TIERS)
    member = points.funded_member(100)
    earn(points, member["id"], "o-1", 100000)
    first = refund(points, "o-1", 30000, **{"Idempotency-Key": "refund-1"})
    again = refund(points, "o-1", 30000, **{"Idempotency-Key": "refund-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    assert points.balance(member["id"])["points"] == 110 - 3  # keep floor(10 × 0.7) = 7
    other = refund(points, "o-1", 30001, **{"Idempotency-Key": "refund-1"})
    assert_error(other, 409, "idempotency_key_reused")
    assert points.balance(member["id"])["points"] == 107


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"order_id": "o-unknown"}, 404, "order_id"),
        ({"order_id": "o-1", "amount": 0}, 422, "amount"),
        ({"order_id": "o-1", "amount": -5}, 422, "amount"),
        ({"order_id": "o-1", "amount": 1.5}, 422, "amount"),
        ({"order_id": "o-1", "amount": "100"}, 422, "amount"),
        ({"order_id": "o-1", "amount": 100001}, 422, "amount"),
        ({"order_id": ""}, 422, "order_id"),
        ({"amount": 100}, 422, "order_id"),
    ],
)
def test_bad_refunds_are_refused_and_post_nothing(
    audited, points, other_points, body, status, param
):
    put_program(points, NO_TIERS)
    member = points.member()
    earn(points, member["id"], "o-1", 100000)
    assert assert_error(points.post("/v1/refunds", body), status)["param"] == param
    assert points.balance(member["id"])["points"] == 10
    # another tenant cannot refund this tenant's order
    assert_error(other_points.post("/v1/refunds", {"order_id": "o-1"}), 404)
    assert points.balance(member["id"])["points"] == 10
