"""Which lots a debit or an expiry takes from: the pure rules of ``lots.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from ledger_support import at

from jifen.platform.ledger.lots import expiring, expiry_plan, take


@dataclass
class FakeLot:
    id: str
    remaining: int
    expires_at: datetime | None
    created: datetime


def lots(*specs) -> list[FakeLot]:
    return [FakeLot(f"lot_{i}", rem, exp, created) for i, (rem, exp, created) in enumerate(specs)]


def taken(plan) -> list[tuple[str, int]]:
    return [(lot.id, points) for lot, points in plan]


def test_nearest_expiry_first_then_oldest_and_never_expiring_last():
    wallet = lots(
        (10, None, at(2026, 1, 1)),
        (10, at(2027, 1, 1), at(2026, 1, 1)),
        (10, at(2026, 6, 1), at(2026, 2, 1)),
        (10, at(2026, 6, 1), at(2026, 1, 15)),
    )
    assert taken(take(wallet, 35)) == [("lot_3", 10), ("lot_2", 10), ("lot_1", 10), ("lot_0", 5)]


def test_take_skips_dead_points_and_prefers_given_lots():
    wallet = lots((10, at(2026, 1, 1), at(2025, 1, 1)), (10, None, at(2025, 1, 1)))
    assert taken(take(wallet, 4, dead={"lot_0": 8})) == [("lot_0", 2), ("lot_1", 2)]
    assert taken(take(wallet, 4, first={"lot_1"})) == [("lot_1", 4)]


def test_take_more_than_the_lots_hold_is_an_error():
    with pytest.raises(ValueError):
        take(lots((5, None, at(2026, 1, 1))), 6)


@pytest.mark.parametrize(
    ("balance", "held", "expected"),
    [
        (30, 0, [("lot_0", 10), ("lot_1", 10)]),  # both due lots expire
        (30, 10, [("lot_0", 10), ("lot_1", 10)]),  # the live lot covers the hold
        (30, 15, [("lot_0", 10), ("lot_1", 5)]),  # 5 stay to cover the hold
        (30, 30, []),  # everything is reserved
    ],
)
def test_expiry_spares_what_pending_holds_reserve(balance, held, expected):
    wallet = lots(
        (10, at(2026, 3, 1), at(2026, 1, 1)),
        (10, at(2026, 4, 1), at(2026, 1, 1)),
        (10, at(2026, 9, 1), at(2026, 1, 1)),
    )
    plan = expiry_plan(wallet, balance=balance, held=held, now=at(2026, 4, 1))
    assert taken(plan) == expected


def test_expiry_is_due_at_the_instant_itself_not_before():
    wallet = lots((10, at(2026, 4, 1), at(2026, 1, 1)))
    assert expiry_plan(wallet, balance=10, held=0, now=at(2026, 3, 31, 23, 59)) == []
    assert taken(expiry_plan(wallet, balance=10, held=0, now=at(2026, 4, 1))) == [("lot_0", 10)]


def test_expiring_sums_by_date_soonest_first_after_a_plan():
    wallet = lots(
        (10, at(2026, 9, 1), at(2026, 1, 1)),
        (5, at(2026, 6, 1), at(2026, 1, 1)),
        (7, at(2026, 9, 1), at(2026, 1, 2)),
        (100, None, at(2026, 1, 1)),
    )
    assert expiring(wallet) == [(5, at(2026, 6, 1)), (17, at(2026, 9, 1))]
    assert expiring(wallet, after={"lot_1": 5, "lot_0": 3}) == [(14, at(2026, 9, 1))]
