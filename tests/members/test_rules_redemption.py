"""Spending under the program over HTTP: checkout quotes (100 points are worth 10.00 and
pay at most half an order), redemptions against an order, the nearest-expiring points
spent first, and a yearly clear on a fixed date run by the expiry job."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from factories import assert_error

sys.path.append(str(Path(__file__).parent))
from rules_support import PROGRAM, earn, put_program, run_job, shanghai  # noqa: E402

from jifen.platform import clock  # noqa: E402

pytestmark = pytest.mark.usefixtures("audited")

# balance (points), order amount (fen) -> points usable, their value, cash still due
QUOTES = [
    # half of 358.00 is 179.00 = 17 steps of 10.00; the balance has 12 steps of 100
    # points -> 1200 points worth 120.00; 358.00 - 120.00 = 238.00 cash
    (1234, 35800, 1200, 12000, 23800),
    # enough points: the half-order cap wins: 17 steps -> 1700 points, 170.00, 188.00 cash
    (5000, 35800, 1700, 17000, 18800),
    # 99 points are below min_points (100): nothing usable
    (99, 35800, 0, 0, 35800),
    # an order of 19.99: half is 9.99, less than one 10.00 step: nothing
    (5000, 1999, 0, 0, 1999),
    # an order of 20.00: half is 10.00 = one step of 100 points
    (5000, 2000, 100, 1000, 1000),
]


@pytest.mark.parametrize(("balance", "order_amount", "usable", "value", "cash"), QUOTES)
def test_checkout_quote_is_the_most_points_an_order_can_take(points, balance, order_amount,
                                                             usable, value, cash):  # fmt: skip
    put_program(points, PROGRAM)
    member = points.funded_member(balance)
    body = {"member_id": member["id"], "order_amount": order_amount, "currency": "CNY"}
    response = points.post("/v1/checkout/quotes", body)
    assert response.status_code == 200, response.get_json()
    quote = response.get_json()
    assert quote["object"] == "checkout_quote" and quote["member"] == member["id"]
    assert (quote["points"], quote["money_value"], quote["cash_due"]) == (usable, value, cash)
    assert quote["available"] == balance and quote["max_order_share_pct"] == 50
    assert points.balance(member["id"])["points"] == balance  # a quote spends nothing


@pytest.mark.parametrize(
    ("change", "status", "param"),
    [
        ({"currency": "cny"}, 422, "currency"),
        ({"order_amount": -1}, 422, "order_amount"),
        ({"order_amount": 1.5}, 422, "order_amount"),
        ({"order_amount": "35800"}, 422, "order_amount"),
        ({"member_id": "mem_nobody"}, 404, "member_id"),
    ],
)
def test_bad_checkout_quotes_are_refused(points, change, status, param):
    member = points.funded_member(500)
    body = {"member_id": member["id"], "order_amount": 35800, "currency": "CNY", **change}
    assert assert_error(points.post("/v1/checkout/quotes", body), status)["param"] == param


def test_a_program_currency_refuses_quotes_in_another(points):
    put_program(points, {**PROGRAM, "earning": {**PROGRAM["earning"], "currency": "CNY"}})
    member = points.funded_member(500)
    body = {"member_id": member["id"], "order_amount": 35800, "currency": "USD"}
    assert_error(points.post("/v1/checkout/quotes", body), 422, "currency_mismatch")


def test_redemptions_against_an_order_honour_min_points_steps_and_half_the_order(points):
    put_program(points, PROGRAM)
    member = points.funded_member(5000)

    def pay(points_, order_id="order-1", **extra):
        body = {"member_id": member["id"], "points": points_, "order_id": order_id,
                "order_amount": 35800, "currency": "CNY", **extra}  # fmt: skip
        return points.post("/v1/redemptions", body)

    # 1800 points are worth 180.00 > 179.00, half of 358.00
    assert_error(pay(1800), 422, "limit_exceeded")
    assert assert_error(pay(150), 422)["param"] == "points"  # not whole steps of 100
    assert_error(pay(6000), 422, "insufficient_points")
    paid = pay(1000)
    assert paid.status_code == 201, paid.get_json()
    assert paid.get_json()["metadata"]["money_value"] == 10000
    assert paid.get_json()["metadata"]["cash_due"] == 25800
    # the order took 100.00 already: 800 more would make 180.00
    assert_error(pay(800), 422, "limit_exceeded")
    assert pay(700).status_code == 201
    assert points.balance(member["id"])["points"] == 5000 - 1700
    body = {"member_id": member["id"], "points": 100, "order_amount": 35800}
    assert assert_error(points.post("/v1/redemptions", body), 422)["param"] == "order_id"
    assert points.balance(member["id"])["points"] == 3300


def test_min_points_applies_to_order_payments(points):
    put_program(points, {**PROGRAM, "redemption": {**PROGRAM["redemption"], "points": 50,
                                                   "min_points": 200}})  # fmt: skip
    member = points.funded_member(1000)
    body = {"member_id": member["id"], "points": 150, "order_id": "o", "order_amount": 100000}
    assert assert_error(points.post("/v1/redemptions", body), 422)["param"] == "points"
    assert points.post("/v1/redemptions", {**body, "points": 200}).status_code == 201
    assert points.balance(member["id"])["points"] == 800


def test_the_nearest_expiring_points_are_spent_first(points):
    put_program(points, {**PROGRAM, "tiers": [], "expiry": {"policy": "rolling", "months": 12}})
    member = points.member()
    with clock.frozen_at(shanghai("2025-01-10 12:00")):
        earn(points, member["id"], "jan", 100000)  # 10 points until 10 Jan 2026
    with clock.frozen_at(shanghai("2025-03-10 12:00")):
        earn(points, member["id"], "mar", 50000)  # 5 points until 10 Mar 2026
        # an imported order of 1 Feb: 3 points until 1 Feb 2026
        earn(points, member["id"], "feb", 30000, occurred_at="2025-02-01T04:00:00Z")
        spent = points.post("/v1/redemptions", {"member_id": member["id"], "points": 12})
        assert spent.status_code == 201
        # 12 = all 10 of January's lot, then 2 of February's; March's is untouched
        balance = points.balance(member["id"])
        assert balance["points"] == 6
        assert balance["expiring"] == [
            {"points": 1, "expires_at": "2026-02-01T16:00:00Z"},
            {"points": 5, "expires_at": "2026-03-10T16:00:00Z"},
        ]


def test_a_yearly_clear_on_31_october(api, client, points):
    put_program(points, {**PROGRAM, "tiers": []})
    member = points.member()
    with clock.frozen_at(shanghai("2025-10-20 12:00")):
        earn(points, member["id"], "before", 100000)  # 10 points, valid through 31 Oct 2025
        assert points.balance(member["id"])["expiring"] == [
            {"points": 10, "expires_at": "2025-10-31T16:00:00Z"}
        ]
    with clock.frozen_at(shanghai("2025-10-31 23:59")):
        run_job(api, client, "expiry")
        assert points.balance(member["id"])["points"] == 10
        # points earned on the clear date itself live until the next one
        earn(points, member["id"], "on-the-day", 50000)
    with clock.frozen_at(shanghai("2025-11-01 00:00")):
        run_job(api, client, "expiry")
        listed = points.get(f"/v1/members/{member['id']}/transactions").get_json()["data"]
        assert (listed[0]["kind"], listed[0]["points"]) == ("expire", -10)
        balance = points.balance(member["id"])
        assert balance["points"] == 5
        assert balance["expiring"] == [{"points": 5, "expires_at": "2026-10-31T16:00:00Z"}]
        run_job(api, client, "expiry")  # a second run changes nothing
        assert points.balance(member["id"])["points"] == 5
