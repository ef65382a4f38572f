"""Expiry policies, table-driven; every expected instant was worked out by hand.

Asia/Shanghai is UTC+8 all year, so local midnight is 16:00 UTC the day before.
"""

from __future__ import annotations

import pytest
from ledger_support import at

from jifen.platform.errors import Unprocessable
from jifen.platform.ledger.expiry import (
    FixedDate,
    Never,
    PeriodEnd,
    Rolling,
    add_months,
    policy_from_dict,
)

CASES = [
    # rolling: valid through the same day N months later, local time
    (Rolling(12), at(2026, 3, 15, 2), at(2027, 3, 15, 16)),
    (Rolling(12), at(2026, 3, 15, 17), at(2027, 3, 16, 16)),  # already 16 March in Shanghai
    (Rolling(1), at(2026, 1, 31, 4), at(2026, 2, 28, 16)),  # clamped to 28 Feb
    (Rolling(1), at(2028, 1, 31, 4), at(2028, 2, 29, 16)),  # leap year
    (Rolling(3, time_zone="UTC"), at(2026, 11, 30, 23, 59), at(2027, 3, 1)),
    # fixed yearly clear date: the first clear date strictly after the earning day
    (FixedDate(10, 31), at(2026, 11, 1), at(2027, 10, 31, 16)),
    (FixedDate(10, 31), at(2026, 10, 30, 12), at(2026, 10, 31, 16)),
    (FixedDate(10, 31), at(2026, 10, 31, 15, 59), at(2027, 10, 31, 16)),  # on the clear date
    (FixedDate(10, 31), at(2026, 10, 30, 16, 30), at(2027, 10, 31, 16)),  # 31 Oct 00:30 local
    (FixedDate(2, 29), at(2026, 3, 1), at(2027, 2, 28, 16)),
    (FixedDate(2, 29), at(2027, 3, 1), at(2028, 2, 29, 16)),
    # period end plus whole grace months
    (PeriodEnd("year", 12), at(2026, 5, 10), at(2027, 12, 31, 16)),
    (PeriodEnd("quarter"), at(2026, 5, 10), at(2026, 6, 30, 16)),
    (PeriodEnd("month", 1), at(2026, 1, 31, 20), at(2026, 3, 31, 16)),  # 1 Feb local
    (PeriodEnd("year"), at(2026, 12, 31, 16), at(2027, 12, 31, 16)),  # 1 Jan 2027 local
    (Never(), at(2026, 5, 10), None),
]


@pytest.mark.parametrize(("policy", "earned_at", "expected"), CASES, ids=repr)
def test_expires_at(policy, earned_at, expected):
    assert policy.expires_at(earned_at) == expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        ((2026, 1, 31), 1, (2026, 2, 28)),
        ((2026, 12, 15), 1, (2027, 1, 15)),
        ((2026, 5, 31), 13, (2027, 6, 30)),
        ((2024, 2, 29), 12, (2025, 2, 28)),
    ],
)
def test_add_months_clamps_to_the_months_end(day, months, expected):
    from datetime import date

    assert add_months(date(*day), months) == date(*expected)


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"policy": "never"}, Never()),
        ({"policy": "rolling", "months": 12}, Rolling(12)),
        ({"policy": "fixed_date", "month": 10, "day": 31}, FixedDate(10, 31)),
        ({"policy": "period_end", "period": "year", "grace_months": 3}, PeriodEnd("year", 3)),
    ],
)
def test_policy_from_the_programs_expiry_object(rules, expected):
    assert policy_from_dict(rules) == expected


@pytest.mark.parametrize(
    ("rules", "param"),
    [
        ({"policy": "sometimes"}, "expiry.policy"),
        ({"policy": "rolling"}, "expiry.months"),
        ({"policy": "rolling", "months": 0}, "expiry.months"),
        ({"policy": "rolling", "months": 1.5}, "expiry.months"),
        ({"policy": "rolling", "months": True}, "expiry.months"),
        ({"policy": "fixed_date", "month": 2, "day": 30}, "expiry.day"),
        ({"policy": "fixed_date", "month": 13, "day": 1}, "expiry.month"),
        ({"policy": "never", "months": 3}, "expiry.months"),
        ({"policy": "period_end", "period": "week"}, "expiry.period"),
        ("rolling", "expiry"),
    ],
)
def test_bad_policies_name_the_bad_field(rules, param):
    with pytest.raises(Unprocessable) as error:
        policy_from_dict(rules)
    assert error.value.param == param


def test_unknown_time_zone_is_refused():
    with pytest.raises(Unprocessable):
        Rolling(12, time_zone="Mars/Olympus")


def test_naive_earning_time_is_a_programming_error():
    from datetime import datetime

    with pytest.raises(ValueError):
        Rolling(12).expires_at(datetime(2026, 1, 1))
