"""Tier evaluation and checkout redemption, with hand-worked numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jifen.platform.errors import InsufficientPoints, LimitExceeded, Unprocessable
from jifen.tenants.program.redemption import checkout_quote, points_plus_cash
from jifen.tenants.program.rules import parse_program
from jifen.tenants.program.tiers import evaluate_tier, review_period_start, window_start

LADDER = [
    {"code": "silver", "name": "银卡", "min_spend": 100000, "factor": "1.5"},
    {"code": "gold", "name": "金卡", "min_spend": 500000, "factor": "2"},
    {"code": "black", "name": "黑卡", "min_spend": 2000000, "factor": "3"},
]
TIERS = parse_program({"tiers": LADDER})
RETAINING = parse_program({"tiers": LADDER, "tier_evaluation": {"max_drop_levels": 1}})


@pytest.mark.parametrize(
    ("program", "spend", "current", "at_period_end", "expected"),
    [
        (TIERS, 99999, None, False, None),  # 999.99 yuan: below silver
        (TIERS, 100000, None, False, "silver"),  # 1000.00 reaches silver at once
        (TIERS, 600000, None, False, "gold"),  # straight to gold
        (TIERS, 600000, "silver", False, "gold"),  # upgrade mid-period
        (TIERS, 150000, "gold", False, "gold"),  # no downgrade mid-period
        (TIERS, 150000, "gold", True, "silver"),  # downgrade at period end
        (TIERS, 0, "gold", True, None),  # nothing spent: drop to no tier
        (TIERS, 600000, "gold", True, "gold"),  # still qualifies: kept
        (TIERS, 3000000, "gold", True, "black"),  # upgrades happen at period end too
        (RETAINING, 0, "black", True, "gold"),  # retention: one level per period
        (RETAINING, 0, "silver", True, None),
        (RETAINING, 150000, "black", True, "gold"),  # qualifies silver, drops only to gold
        (TIERS, 0, "retired", False, "retired"),  # an unknown tier waits for period end
        (TIERS, 0, "retired", True, None),
        (TIERS, 100000, "retired", False, "silver"),
    ],
)
def test_evaluate_tier(program, spend, current, at_period_end, expected):
    assert evaluate_tier(program, spend, current, at_period_end) == expected


def test_tier_window_and_review_period_are_local():
    now = datetime(2026, 11, 18, 17, 0, tzinfo=UTC)  # 19 Nov 01:00 in Shanghai
    # 12 months back from 19 Nov 2026 (Shanghai): 19 Nov 2025 00:00 +08:00
    assert window_start(TIERS, now, "Asia/Shanghai") == datetime(2025, 11, 18, 16, 0, tzinfo=UTC)
    assert review_period_start(TIERS, now, "Asia/Shanghai").isoformat() == "2026-01-01"


# --- redemption: 100 points = 10.00 yuan, at most 50% of an order, at least 100 points ----

REDEMPTION = parse_program({})  # the default program's redemption rules


@pytest.mark.parametrize(
    ("available", "order_amount", "points", "value", "cash"),
    [
        # 100.00 order → at most 50.00 by points = 5 steps of 100 points → 500 pts, 5000
        (10000, 10000, 500, 5000, 5000),
        # balance is the limit: 250 available → 2 whole steps → 200 points = 20.00
        (250, 10000, 200, 2000, 8000),
        # 99 available < 100 minimum: nothing
        (99, 10000, 0, 0, 10000),
        # 358.00 order: 50% = 179.00 → 17 whole steps of 10.00 → 1700 points, 170.00
        (100000, 35800, 1700, 17000, 18800),
        # 15.00 order: 50% = 7.50 < one step of 10.00 → nothing
        (1000, 1500, 0, 0, 1500),
        # a 0.01 order: 50% = floor(0.5) = 0 → nothing
        (1000, 1, 0, 0, 1),
    ],
)
def test_checkout_quote(available, order_amount, points, value, cash):
    quote = checkout_quote(REDEMPTION, available, order_amount)
    assert (quote.max_points, quote.money_value, quote.cash_due) == (points, value, cash)


def test_min_points_above_one_step():
    program = parse_program(
        {"redemption": {"min_points": 500, "points": 100, "per_amount": 1000,
                        "max_order_share_pct": 100}}
    )  # fmt: skip
    # 400 available would be 4 steps, but 400 < 500 minimum → nothing
    assert checkout_quote(program, 400, 100000).max_points == 0
    assert checkout_quote(program, 500, 100000).max_points == 500


def test_points_plus_cash():
    # 300 points on a 100.00 order → 30.00 off, 70.00 cash
    quote = points_plus_cash(REDEMPTION, 300, 1000, 10000)
    assert (quote.money_value, quote.cash_due) == (3000, 7000)
    with pytest.raises(Unprocessable):
        points_plus_cash(REDEMPTION, 150, 1000, 10000)  # not a whole step of 100
    with pytest.raises(InsufficientPoints):
        points_plus_cash(REDEMPTION, 500, 400, 10000)
    with pytest.raises(LimitExceeded):
        points_plus_cash(REDEMPTION, 600, 1000, 10000)  # 60.00 > half of 100.00
