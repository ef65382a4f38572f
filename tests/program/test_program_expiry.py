"""Expiry policies: the exact instant points stop being valid, worked out by hand."""

from __future__ import annotations

from datetime import datetime

import pytest

from jifen.tenants.program.expiry import expires_at
from jifen.tenants.program.rules import parse_program

# --- expiry -----------------------------------------------------------------------------

SHANGHAI = "Asia/Shanghai"


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("expiry", "earned_at", "expected"),
    [
        ({"policy": "never"}, "2026-11-01T12:00:00+08:00", None),
        # fixed clear date 31 Oct: earned 1 Nov 2026 → valid through 31 Oct 2027, expiring at
        # the end of that day in Shanghai: 2027-11-01 00:00 +08:00 = 2027-10-31T16:00Z
        ({"policy": "fixed_date", "month": 10, "day": 31}, "2026-11-01T12:00:00+08:00",
         "2027-10-31T16:00:00+00:00"),
        # earned 30 Oct 2026 → the clear date two days later: 2026-10-31T16:00Z
        ({"policy": "fixed_date", "month": 10, "day": 31}, "2026-10-30T12:00:00+08:00",
         "2026-10-31T16:00:00+00:00"),
        # earned on the clear date itself → survives to the next one
        ({"policy": "fixed_date", "month": 10, "day": 31}, "2026-10-31T12:00:00+08:00",
         "2027-10-31T16:00:00+00:00"),
        # 31 Oct 20:00 UTC is already 1 Nov in Shanghai → next year's clear date
        ({"policy": "fixed_date", "month": 10, "day": 31}, "2026-10-31T20:00:00+00:00",
         "2027-10-31T16:00:00+00:00"),
        # period end plus grace: points of 2026 usable until 15 Feb 2027 (end of day)
        ({"policy": "period_end_grace", "grace_month": 2, "grace_day": 15},
         "2026-01-01T00:00:00+08:00", "2027-02-15T16:00:00+00:00"),
        ({"policy": "period_end_grace", "grace_month": 2, "grace_day": 15},
         "2026-12-31T23:59:00+08:00", "2027-02-15T16:00:00+00:00"),
        # rolling 12 months: earned 18 Nov 2026 → valid through 18 Nov 2027
        ({"policy": "rolling", "months": 12}, "2026-11-18T12:00:00+08:00",
         "2027-11-18T16:00:00+00:00"),
    ],
)  # fmt: skip
def test_expiry_policies(expiry, earned_at, expected):
    program = parse_program({"expiry": expiry})
    result = expires_at(program, moment(earned_at), SHANGHAI)
    assert result == (None if expected is None else moment(expected))


@pytest.mark.parametrize(
    ("expiry", "earned_at", "expected"),
    [
        # rolling 1 month from 31 Jan 2027 → clamped to 28 Feb 2027, end of day Shanghai
        ({"policy": "rolling", "months": 1}, "2027-01-31T12:00:00+08:00",
         "2027-02-28T16:00:00+00:00"),
        # clear date 29 Feb in 2027 (no leap year) → 28 Feb 2027
        ({"policy": "fixed_date", "month": 2, "day": 29}, "2026-03-01T12:00:00+08:00",
         "2027-02-28T16:00:00+00:00"),
        # quarter end plus one grace month: earned 5 Aug 2026 (Q3) → valid through 31 Oct
        ({"policy": "period_end", "period": "quarter", "grace_months": 1},
         "2026-08-05T12:00:00+08:00", "2026-10-31T16:00:00+00:00"),
    ],
)  # fmt: skip
def test_expiry_edges(expiry, earned_at, expected):
    program = parse_program({"expiry": expiry})
    assert expires_at(program, moment(earned_at), SHANGHAI) == moment(expected)
