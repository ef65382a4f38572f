"""Earning through the program over HTTP: the base rate, tiers, caps, one earn per order,
event awards, and the record every transaction keeps of the rules it used."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from factories import assert_error, in_app_context

sys.path.append(str(Path(__file__).parent))
from rules_support import PROGRAM, earn, events, put_program, set_tier, shanghai  # noqa: E402

from jifen.platform import clock  # noqa: E402
from jifen.platform.errors import JifenError  # noqa: E402

pytestmark = pytest.mark.usefixtures("audited")


# amount and shipping in fen; expected points worked out by hand
EARN_TABLE = [
    # 358.00 - 20.00 shipping = 338.00; floor(33800 / 10000) = 3; no tier
    (None, 35800, 2000, 3),
    # 399.99 with no shipping: floor(39999 / 10000) = 3 (the 99.99 earns nothing)
    (None, 39999, 0, 3),
    # silver: 3 × 1.5 = 4.5, rounded down once at the end -> 4
    ("silver", 35800, 2000, 4),
    # gold: 3 × 2 = 6
    ("gold", 35800, 2000, 6),
    # silver on 1,000.00: 10 × 1.5 = 15
    ("silver", 100000, 0, 15),
    # gold on 1,234.56 with 34.56 shipping: floor(120000 / 10000) = 12; × 2 = 24
    ("gold", 123456, 3456, 24),
]


@pytest.mark.parametrize(("tier", "amount", "shipping", "expected"), EARN_TABLE)
def test_points_per_order_follow_rate_shipping_and_tier(points, tenant, tier, amount, shipping,
                                                        expected):  # fmt: skip
    put_program(points, PROGRAM)
    member = points.member()
    set_tier(tenant.id, member["id"], tier)
    earned = earn(points, member["id"], "order-1", amount, shipping=shipping)
    assert earned["points"] == expected
    assert points.balance(member["id"])["points"] == expected


def test_every_earn_records_the_program_version_and_breakdown(points):
    version = put_program(points, PROGRAM)["version"]
    member = points.member()
    earned = earn(points, member["id"], "order-1", 35800, shipping=2000)
    metadata = earned["metadata"]
    assert metadata["program_version"] == version
    assert metadata["base_points"] == 3 and metadata["factor"] == "1"
    assert metadata["breakdown"][0]["rule"] == "base" and metadata["breakdown"][0]["points"] == 3
    listed = points.get(f"/v1/members/{member['id']}/transactions").get_json()["data"]
    assert listed[0]["metadata"]["program_version"] == version


def test_spend_lifts_the_tier_at_once_silver_then_gold(points):
    put_program(points, PROGRAM)
    member = points.member()
    # 1,000.00 at no tier: 10 points; the order lifts the spend to 1,000.00 -> silver
    assert earn(points, member["id"], "o-1", 100000)["points"] == 10
    assert points.get(f"/v1/members/{member['id']}").get_json()["tier"] == "silver"
    # 338.00 as silver: 3 × 1.5 = 4.5 -> 4; spend 1,358.00
    assert earn(points, member["id"], "o-2", 35800, shipping=2000)["points"] == 4
    # 4,000.00 as silver: 40 × 1.5 = 60; spend 5,358.00 -> gold
    assert earn(points, member["id"], "o-3", 400000)["points"] == 60
    assert points.get(f"/v1/members/{member['id']}").get_json()["tier"] == "gold"
    # 338.00 as gold: 3 × 2 = 6
    assert earn(points, member["id"], "o-4", 35800, shipping=2000)["points"] == 6
    assert points.balance(member["id"])["points"] == 10 + 4 + 60 + 6
    history = points.get(f"/v1/members/{member['id']}/tier_history").get_json()["data"]
    assert [(h["from_tier"], h["to_tier"], h["reason"]) for h in history] == [
        ("silver", "gold", "upgrade"),
        (None, "silver", "upgrade"),
    ]
    changed = events(points.tenant.id, "tier.changed")
    assert [e["to_tier"] for e in changed] == ["silver", "gold"]


def test_the_daily_cap_counts_orders_and_events_in_the_local_day(points):
    program = {
        **PROGRAM,
        "tiers": [],
        "expiry": {"policy": "never"},
        "earning": {**PROGRAM["earning"], "caps": {"per_day": 25}},
    }
    put_program(points, program)
    member = points.member()
    with clock.frozen_at(shanghai("2025-06-10 10:00")):
        # 1,000.00 earns 10; then 20 for profile completion would make 30 > 25 -> 15
        assert earn(points, member["id"], "o-1", 100000)["points"] == 10
        award = points.post(
            "/v1/awards", {"member_id": member["id"], "event": "profile_completion"}
        )
        assert award.get_json()["points"] == 15
        # the day is full: the next order earns 0 -> 422, nothing posted
        response = points.post("/v1/earn", {"member_id": member["id"], "order_id": "o-2",
                                            "amount": 100000, "currency": "CNY"})  # fmt: skip
        assert_error(response, 422, "no_points_earned")
    with clock.frozen_at(shanghai("2025-06-11 00:10")):  # a new day in Shanghai
        assert earn(points, member["id"], "o-2", 100000)["points"] == 10
    assert points.balance(member["id"])["points"] == 35


def test_an_order_earns_once(points):
    put_program(points, PROGRAM)
    member, other = points.member(), points.member()
    earn(points, member["id"], "order-7", 35800)
    again = points.post("/v1/earn", {"member_id": other["id"], "order_id": "order-7",
                                     "amount": 50000, "currency": "CNY"})  # fmt: skip
    assert assert_error(again, 409, "order_already_earned")["param"] == "order_id"
    batch = points.post("/v1/earn/batch", {"earns": [
        {"member_id": member["id"], "order_id": "order-8", "amount": 50000, "currency": "CNY"},
        {"member_id": other["id"], "order_id": "order-8", "amount": 50000, "currency": "CNY"},
    ]})  # fmt: skip
    assert_error(batch, 409, "order_already_earned")
    assert points.balance(member["id"])["points"] == 3
    assert points.balance(other["id"])["points"] == 0


def test_concurrent_earns_of_one_order_post_once(tenant):
    from jifen.tenants.members import points as service
    from jifen.tenants.members import services

    members = [services.create_member(tenant.id, external_id=f"racer-{i}").id for i in range(8)]
    barrier = threading.Barrier(len(members))

    def run(member_id):
        barrier.wait()
        order = {"member_id": member_id, "order_id": "same-order", "amount": 50000,
                 "currency": "CNY"}  # fmt: skip
        try:
            service.earn(tenant.id, order)
            return "ok"
        except JifenError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=len(members)) as pool:
        outcome = Counter(pool.map(in_app_context(run), members))
    assert outcome == Counter({"ok": 1, "order_already_earned": 7})
    total = sum(service.balance(tenant.id, m).points for m in members)
    assert total == 5


def test_earn_and_award_emit_points_earned_and_joining_emits_member_created(points):
    put_program(points, PROGRAM)
    member = points.member()
    earn(points, member["id"], "o-1", 35800)
    points.post("/v1/awards", {"member_id": member["id"], "event": "signup"})
    earned = events(points.tenant.id, "points.earned")
    assert [(e["member"], e["points"]) for e in earned] == [(member["id"], 3), (member["id"], 50)]
    assert events(points.tenant.id, "member.created")[-1]["member"] == member["id"]
    points.post("/v1/redemptions", {"member_id": member["id"], "points": 10})
    assert events(points.tenant.id, "points.redeemed")[-1]["points"] == -10


# --- event awards ----------------------------------------------------------------------


def award(points, member_id: str, event: str, **extra):
    return points.post("/v1/awards", {"member_id": member_id, "event": event, **extra})


def test_signup_and_profile_completion_are_paid_once(points):
    put_program(points, PROGRAM)
    member = points.member()
    assert award(points, member["id"], "signup").get_json()["points"] == 50
    assert_error(award(points, member["id"], "signup"), 422, "already_awarded")
    assert award(points, member["id"], "profile_completion").get_json()["points"] == 20
    assert_error(award(points, member["id"], "profile_completion"), 422, "already_awarded")
    assert points.balance(member["id"])["points"] == 70


def test_checkin_once_per_calendar_day_in_the_tenants_zone(points):
    put_program(points, PROGRAM)
    member = points.member()
    with clock.frozen_at(shanghai("2025-06-10 23:30")):  # 15:30 UTC
        assert award(points, member["id"], "checkin").status_code == 201
        assert_error(award(points, member["id"], "checkin"), 422, "already_awarded")
    with clock.frozen_at(shanghai("2025-06-11 00:30")):  # still 10 June in UTC
        assert award(points, member["id"], "checkin").status_code == 201
        assert points.balance(member["id"])["points"] == 20


def test_reviews_are_capped_per_day(points):
    put_program(points, PROGRAM)
    member = points.member()
    with clock.frozen_at(shanghai("2025-06-10 10:00")):
        assert award(points, member["id"], "review").status_code == 201
        assert award(points, member["id"], "review").status_code == 201
        assert_error(award(points, member["id"], "review"), 422, "limit_exceeded")
        assert points.balance(member["id"])["points"] == 10


def test_a_referral_pays_both_after_the_referees_first_order(points):
    put_program(points, PROGRAM)
    referrer, referee = points.member(), points.member()
    early = award(points, referrer["id"], "referral", referee_id=referee["id"])
    assert_error(early, 422, "referral_not_qualified")
    earn(points, referee["id"], "first-order", 35800)
    paid = award(points, referrer["id"], "referral", referee_id=referee["id"])
    assert paid.status_code == 201 and paid.get_json()["points"] == 100
    assert points.balance(referrer["id"])["points"] == 100
    assert points.balance(referee["id"])["points"] == 3 + 30
    again = award(points, referrer["id"], "referral", referee_id=referee["id"])
    assert_error(again, 422, "already_awarded")
    assert points.balance(referrer["id"])["points"] == 100


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"event": "referral"}, 422, "referee_id"),
        ({"event": "bogus"}, 422, "event"),
        ({"event": "signup", "referee_id": "mem_x"}, 422, "referee_id"),
        ({"event": "referral", "referee_id": "mem_nobody"}, 404, "referee_id"),
        ({"event": "manual", "points": 5}, 422, "reason"),
    ],
)
def test_bad_awards_are_refused_and_post_nothing(points, body, status, param):
    put_program(points, PROGRAM)
    member = points.member()
    response = points.post("/v1/awards", {"member_id": member["id"], **body})
    assert assert_error(response, status)["param"] == param
    assert points.balance(member["id"])["points"] == 0


def test_a_self_referral_is_refused(points):
    put_program(points, PROGRAM)
    member = points.member()
    earn(points, member["id"], "o-1", 35800)
    assert_error(award(points, member["id"], "referral", referee_id=member["id"]), 422)
    assert points.balance(member["id"])["points"] == 3
