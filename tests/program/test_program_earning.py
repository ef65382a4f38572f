"""The earning engine, table-driven, with every expected number worked out by hand.

Amounts are minor units: 35800 is 358.00 yuan. The base program earns 1 point per full
100.00 (10000), excluding shipping.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from jifen.platform.errors import LimitExceeded, Unprocessable
from jifen.tenants.program.earning import (
    AwardContext,
    MemberContext,
    Order,
    compute_award,
    compute_earn,
    local_day_bounds,
)
from jifen.tenants.program.rules import parse_program

# 2026-11-18 is a Wednesday (ISO weekday 3); 2026-11-21 a Saturday; 2026-11-10 a Tuesday.
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
WEDNESDAY = datetime(2026, 11, 18, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
SATURDAY = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
MEMBER_DAY = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)  # the 10th, a Tuesday
SATURDAY_THE_10TH = datetime(2026, 10, 10, 4, 0, tzinfo=UTC)  # 2026-10-10 is a Saturday

TIERS = [
    {"code": "silver", "name": "银卡", "min_spend": 100000, "factor": "1.5"},
    {"code": "gold", "name": "金卡", "min_spend": 500000, "factor": "2"},
]
PROGRAM = parse_program(
    {
        "earning": {
            "points": 1,
            "per_amount": 10000,
            "exclude_shipping": True,
            "categories": {
                "books": {"points": 3, "per_amount": 10000},
                "wine": {"factor": "1.2"},
                "tobacco": {"points": 0, "per_amount": 10000},
            },
            "windows": [
                {"name": "weekend", "weekdays": [6, 7], "factor": "2", "precedence": 1},
                {"name": "member day", "month_day": 10, "factor": "3", "precedence": 2},
            ],
            "birthday": {"scope": "day", "factor": "2"},
            "thresholds": [
                {"min_amount": 50000, "bonus_points": 10},
                {"min_amount": 100000, "bonus_points": 30},
            ],
        },
        "tiers": TIERS,
    }
)


def earn(order: Order, *, program=PROGRAM, **member) -> int:
    return compute_earn(program, order, MemberContext(**member), NOW).points


@pytest.mark.parametrize(
    ("amount", "shipping", "category", "occurred_at", "member", "expected"),
    [
        # 35800 - 2000 shipping = 33800; floor(33800 / 10000) = 3; × 1 point = 3
        (35800, 2000, None, WEDNESDAY, {}, 3),
        # 9999 < 10000: the remainder earns nothing
        (9999, 0, None, WEDNESDAY, {}, 0),
        # exactly 100.00 → 1
        (10000, 0, None, WEDNESDAY, {}, 1),
        # 10999 - 1000 shipping = 9999 → 0 (shipping pushes it under a full step)
        (10999, 1000, None, WEDNESDAY, {}, 0),
        # books earn 3 per 100.00: floor(35800 / 10000) = 3 steps × 3 = 9
        (35800, 0, "books", WEDNESDAY, {}, 9),
        # wine: base 3 × 1.2 = 3.6 → 3
        (35800, 0, "wine", WEDNESDAY, {}, 3),
        # wine × gold: 4 steps → 4 × 1.2 × 2 = 9.6 → 9
        (40000, 0, "wine", WEDNESDAY, {"tier": "gold"}, 9),
        # tobacco earns nothing
        (35800, 0, "tobacco", WEDNESDAY, {}, 0),
        # an unknown category earns at the base rate: 3
        (35800, 0, "garden", WEDNESDAY, {}, 3),
        # silver: 3 × 1.5 = 4.5 → 4 (rounded down once, at the end)
        (35800, 2000, None, WEDNESDAY, {"tier": "silver"}, 4),
        # gold: 3 × 2 = 6
        (35800, 2000, None, WEDNESDAY, {"tier": "gold"}, 6),
        # a tier the program no longer has: no factor, 3
        (35800, 2000, None, WEDNESDAY, {"tier": "platinum"}, 3),
        # Saturday is a 2× day: 3 × 2 = 6
        (35800, 2000, None, SATURDAY, {}, 6),
        # Saturday × silver: 3 × 2 × 1.5 = 9 (not floor(4.5) × 2 = 8: one rounding only)
        (35800, 2000, None, SATURDAY, {"tier": "silver"}, 9),
        # Saturday × gold: 3 × 2 × 2 = 12
        (35800, 2000, None, SATURDAY, {"tier": "gold"}, 12),
        # member day (the 10th, 3×): 3 × 3 = 9
        (35800, 2000, None, MEMBER_DAY, {}, 9),
        # a Saturday the 10th: member day (precedence 2) beats weekend (1): 3 × 3 = 9
        (35800, 2000, None, SATURDAY_THE_10TH, {}, 9),
        # birthday today (2×): 3 × 2 = 6
        (35800, 2000, None, WEDNESDAY, {"birthday": date(1990, 11, 18)}, 6),
        # birthday yesterday: no factor, 3
        (35800, 2000, None, WEDNESDAY, {"birthday": date(1990, 11, 17)}, 3),
        # birthday × Saturday × silver: 3 × 2 × 2 × 1.5 = 18
        (35800, 2000, None, SATURDAY, {"tier": "silver", "birthday": date(1990, 11, 21)}, 18),
        # threshold: 50000 eligible → floor(5) = 5, + 10 bonus = 15
        (50000, 0, None, WEDNESDAY, {}, 15),
        # 50000 with 1000 shipping → 49000 eligible: 4, and no bonus (below 50000)
        (50000, 1000, None, WEDNESDAY, {}, 4),
        # only the highest threshold met applies: 120000 → 12 + 30 = 42 (not + 10 + 30)
        (120000, 0, None, WEDNESDAY, {}, 42),
        # bonuses are not multiplied: silver Saturday 120000 → 12 × 2 × 1.5 = 36, + 30 = 66
        (120000, 0, None, SATURDAY, {"tier": "silver"}, 66),
    ],
)
def test_order_points(amount, shipping, category, occurred_at, member, expected):
    order = Order(amount, "CNY", shipping, category, occurred_at)
    assert earn(order, **member) == expected


def test_breakdown_shows_every_rule_and_the_one_rounding():
    result = compute_earn(
        PROGRAM,
        Order(35800, "CNY", shipping=2000, occurred_at=SATURDAY),
        MemberContext(tier="silver"),
        NOW,
    )
    rules = [step.rule for step in result.breakdown]
    assert rules == ["base", "tier", "window", "rounding"]
    assert result.base_points == 3
    assert result.factor == Decimal("3.0")  # 1.5 × 2
    assert result.breakdown[-1].points == 9
    assert all(isinstance(step.as_dict(), dict) for step in result.breakdown)


def test_shipping_counts_when_the_program_says_so():
    program = parse_program(
        {"earning": {"points": 1, "per_amount": 10000, "exclude_shipping": False}}
    )
    # 35800 including shipping → floor(3.58) = 3; 40500 with 1000 shipping → 4
    assert earn(Order(40500, "CNY", 1000, occurred_at=WEDNESDAY), program=program) == 4


def test_the_order_day_is_the_tenants_day():
    # 2026-11-20 17:00 UTC is Saturday 01:00 in Shanghai: the weekend window applies (×2).
    friday_utc = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    assert earn(Order(35800, "CNY", 2000, occurred_at=friday_utc)) == 6
    # ...but not in a tenant on UTC, where it is still Friday.
    assert earn(Order(35800, "CNY", 2000, occurred_at=friday_utc), time_zone="UTC") == 3


def test_birthday_month_and_leap_day():
    program = parse_program(
        {
            "earning": {
                "points": 1,
                "per_amount": 10000,
                "birthday": {"scope": "month", "factor": "1.5"},
            }
        }
    )
    # any day of the birth month: 3 × 1.5 = 4.5 → 4
    assert earn(Order(35800, "CNY", 2000, occurred_at=WEDNESDAY), program=program,
                birthday=date(1990, 11, 2)) == 4  # fmt: skip
    # a 29 February birthday is kept on 28 February in 2027 (not a leap year); that day is
    # a Sunday, so the weekend window applies too: 3 × 2 (birthday) × 2 (weekend) = 12
    feb_28 = datetime(2027, 2, 28, 4, 0, tzinfo=UTC)
    order = Order(35800, "CNY", 2000, occurred_at=feb_28)
    assert (
        compute_earn(PROGRAM, order, MemberContext(birthday=date(2004, 2, 29)), feb_28).points == 12
    )


def test_stacking_windows_multiply():
    program = parse_program(
        {
            "earning": {
                "points": 1,
                "per_amount": 10000,
                "windows": [
                    {"name": "weekend", "weekdays": [6, 7], "factor": "2"},
                    {"name": "11.11", "dates": {"from": "2026-11-21", "to": "2026-11-22"},
                     "factor": "1.5", "stack": True},
                ],
            }
        }
    )  # fmt: skip
    # Saturday 21 Nov: 3 × 2 × 1.5 = 9
    assert earn(Order(35800, "CNY", 2000, occurred_at=SATURDAY), program=program) == 9


@pytest.mark.parametrize(
    ("caps", "earned_today", "expected"),
    [
        # per order: 120000 → 12 + 30 bonus = 42, capped at 20
        ({"per_order": 20}, 0, 20),
        # per day 50, 40 already earned → 10 left of the 42
        ({"per_day": 50}, 40, 10),
        # per day reached: the order earns 0
        ({"per_day": 50}, 50, 0),
        # both: 42 → 20 per order, then 15 left today
        ({"per_order": 20, "per_day": 100}, 85, 15),
    ],
)
def test_caps(caps, earned_today, expected):
    program = parse_program(
        {
            "earning": {
                "points": 1,
                "per_amount": 10000,
                "caps": caps,
                "thresholds": [{"min_amount": 100000, "bonus_points": 30}],
            }
        }
    )
    order = Order(120000, "CNY", occurred_at=WEDNESDAY)
    assert earn(order, program=program, earned_today=earned_today) == expected


@pytest.mark.parametrize(
    ("order", "param"),
    [
        (Order(-1, "CNY"), "amount"),
        (Order(1000, "CNY", shipping=2000), "shipping"),
        (Order(1000, "USD"), "currency"),
        (Order(1000, "CNY", occurred_at=datetime(2026, 12, 1, tzinfo=UTC)), "occurred_at"),
        (Order(1000, "CNY", occurred_at=datetime(2024, 11, 1, tzinfo=UTC)), "occurred_at"),
    ],
)
def test_bad_orders_name_the_field(order, param):
    program = parse_program({"earning": {"points": 1, "per_amount": 10000, "currency": "CNY"}})
    with pytest.raises(Unprocessable) as raised:
        compute_earn(program, order, MemberContext(), NOW)
    assert raised.value.param == param


# --- events ---------------------------------------------------------------------------

EVENTS = parse_program(
    {
        "earning": {
            "points": 1,
            "per_amount": 10000,
            "events": {
                "signup": 50,
                "checkin": 10,
                "review": 5,
                "referral": {"referrer": 100, "referee": 50},
                "profile_completion": 20,
            },
            "caps": {"per_event": {"review": 2}, "per_day": 120},
        }
    }
)


def test_checkin_once_per_shanghai_day():
    # 2026-11-18 23:30 UTC is already 19 Nov 07:30 in Shanghai.
    first = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # 18 Nov 18:00 Shanghai
    late = datetime(2026, 11, 18, 23, 30, tzinfo=UTC)  # 19 Nov 07:30 Shanghai
    assert compute_award(EVENTS, "checkin", AwardContext(now=first)).points == 10
    # a second check-in on 18 Nov Shanghai time is refused...
    same_day = datetime(2026, 11, 18, 15, 59, tzinfo=UTC)  # 23:59 Shanghai
    with pytest.raises(LimitExceeded) as raised:
        compute_award(EVENTS, "checkin", AwardContext(now=same_day, previous_awards=[first]))
    assert raised.value.code == "already_awarded"
    # ...but 23:30 UTC is the next day in Shanghai: allowed.
    assert (
        compute_award(EVENTS, "checkin", AwardContext(now=late, previous_awards=[first])).points
        == 10
    )
    # In a UTC tenant, 23:30 is still the 18th: refused.
    with pytest.raises(LimitExceeded):
        compute_award(
            EVENTS, "checkin", AwardContext(now=late, time_zone="UTC", previous_awards=[first])
        )


def test_day_bounds_for_today_queries():
    start, end = local_day_bounds(date(2026, 11, 19), "Asia/Shanghai")
    assert start == datetime(2026, 11, 18, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 19, 16, 0, tzinfo=UTC)


def test_signup_and_profile_completion_once_per_member():
    assert compute_award(EVENTS, "signup", AwardContext(now=NOW)).points == 50
    with pytest.raises(LimitExceeded):
        compute_award(EVENTS, "signup", AwardContext(now=NOW, previous_awards=[WEDNESDAY]))
    assert compute_award(EVENTS, "profile_completion", AwardContext(now=NOW)).points == 20


def test_review_cap_per_event():
    earlier = [NOW.replace(hour=1), NOW.replace(hour=2)]  # two reviews today (Shanghai)
    assert (
        compute_award(EVENTS, "review", AwardContext(now=NOW, previous_awards=earlier[:1])).points
        == 5
    )
    with pytest.raises(LimitExceeded) as raised:
        compute_award(EVENTS, "review", AwardContext(now=NOW, previous_awards=earlier))
    assert raised.value.code == "limit_exceeded"


def test_referral_pays_both_after_the_first_order():
    with pytest.raises(Unprocessable) as raised:
        compute_award(EVENTS, "referral", AwardContext(now=NOW))
    assert raised.value.code == "referral_not_qualified"
    award = compute_award(EVENTS, "referral", AwardContext(now=NOW, referee_has_ordered=True))
    assert (award.points, award.referee_points) == (100, 50)


def test_daily_cap_limits_awards():
    # per day 120, 100 earned: a 50-point signup pays 20; at 120 nothing is left.
    assert compute_award(EVENTS, "signup", AwardContext(now=NOW, earned_today=100)).points == 20
    with pytest.raises(LimitExceeded):
        compute_award(EVENTS, "checkin", AwardContext(now=NOW, earned_today=120))


@pytest.mark.parametrize(
    ("event", "code"), [("birthday", "unknown_event"), ("review", "event_not_configured")]
)
def test_unknown_or_unconfigured_events(event, code):
    program = parse_program(
        {"earning": {"points": 1, "per_amount": 10000, "events": {"signup": 5}}}
    )
    with pytest.raises(Unprocessable) as raised:
        compute_award(program, event, AwardContext(now=NOW))
    assert raised.value.code == code and raised.value.param == "event"
