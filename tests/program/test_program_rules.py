"""Program documents: defaults, the canonical form, and every contradiction refused with
the dotted path of the bad field."""

from __future__ import annotations

import copy

import pytest

from jifen.platform.errors import Unprocessable
from jifen.tenants.program.rules import (
    DEFAULT_DOCUMENT,
    default_program,
    parse_program,
    program_document,
)

FULL = {
    "earning": {
        "points": 1,
        "per_amount": 10000,
        "exclude_shipping": True,
        "currency": "CNY",
        "events": {"signup": 50, "checkin": 10, "review": 5, "referral": 100,
                   "profile_completion": 20},
        "categories": {"books": {"points": 2, "per_amount": 10000}, "wine": {"factor": "1.2"}},
        "windows": [
            {"name": "weekend", "weekdays": [6, 7], "factor": "2", "precedence": 1},
            {"name": "member day", "month_day": 10, "factor": "3", "precedence": 2},
            {"name": "11.11", "dates": {"from": "2026-11-11", "to": "2026-11-11"},
             "factor": "1.5", "stack": True},
        ],
        "birthday": {"scope": "day", "factor": "2"},
        "caps": {"per_day": 1000, "per_order": 500, "per_event": {"review": 3}},
        "thresholds": [{"min_amount": 50000, "bonus_points": 10},
                       {"min_amount": 100000, "bonus_points": 30}],
    },
    "tiers": [
        {"code": "silver", "name": "银卡", "min_spend": 100000, "factor": "1.5"},
        {"code": "gold", "name": "金卡", "min_spend": 500000, "factor": "2"},
    ],
    "tier_evaluation": {"window_months": 12, "review_period": "year", "max_drop_levels": 1},
    "expiry": {"policy": "fixed_date", "month": 10, "day": 31},
    "reminders": {"days_before": [30, 7, 1]},
    "redemption": {"min_points": 100, "points": 100, "per_amount": 1000,
                   "max_order_share_pct": 50},
}  # fmt: skip


def test_default_program():
    program = default_program()
    assert (program.earning.rate.points, program.earning.rate.per_amount) == (1, 10000)
    assert program.earning.exclude_shipping is True
    assert program.expiry.policy == "never"
    assert program.reminders == (30, 7, 1)
    redemption = program.redemption
    assert (redemption.points, redemption.per_amount, redemption.max_order_share_pct) == (
        100,
        1000,
        50,
    )
    assert program_document(program)["redemption"] == DEFAULT_DOCUMENT["redemption"]


def test_canonical_document_round_trips():
    document = program_document(parse_program(FULL))
    assert program_document(parse_program(document)) == document
    assert document["tiers"] == FULL["tiers"]
    assert document["earning"]["windows"] == FULL["earning"]["windows"]
    assert document["expiry"] == FULL["expiry"]


def test_missing_sections_take_defaults():
    document = program_document(parse_program({"tiers": FULL["tiers"]}))
    assert document["earning"]["per_amount"] == 10000
    assert document["redemption"] == DEFAULT_DOCUMENT["redemption"]


def with_change(path: list, value) -> dict:
    """FULL with the value at ``path`` replaced (``...`` as value deletes the key)."""
    document = copy.deepcopy(FULL)
    target = document
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


BAD = [
    # negative, zero and malformed factors
    (["tiers", 1, "factor"], "-2", "tiers[1].factor"),
    (["tiers", 1, "factor"], "0", "tiers[1].factor"),
    (["tiers", 0, "factor"], 1.5, "tiers[0].factor"),  # a float, not a decimal string
    (["tiers", 0, "factor"], "abc", "tiers[0].factor"),
    (["tiers", 0, "factor"], "1000", "tiers[0].factor"),
    (["earning", "windows", 0, "factor"], "0.0", "earning.windows[0].factor"),
    (["earning", "birthday", "factor"], "-1", "earning.birthday.factor"),
    (["earning", "categories", "wine", "factor"], "0", "earning.categories.wine.factor"),
    # a tier ladder that does not go up
    (["tiers", 1, "min_spend"], 100000, "tiers[1].min_spend"),
    (["tiers", 1, "min_spend"], 50000, "tiers[1].min_spend"),
    (["tiers", 1, "code"], "silver", "tiers[1].code"),
    (["tiers", 1], {"code": "gold", "name": "G", "min_points": 5000, "factor": "2"},
     "tiers[1].min_points"),
    (["tiers", 1], {"code": "gold", "name": "G", "factor": "2"}, "tiers[1]"),
    (["tiers", 0, "name"], ..., "tiers[0].name"),
    # windows that can coincide with no precedence, or the same one
    (["earning", "windows", 1, "precedence"], ..., "earning.windows[1].precedence"),
    (["earning", "windows", 1, "precedence"], 1, "earning.windows[1].precedence"),
    (["earning", "windows", 2, "precedence"], 5, "earning.windows[2].stack"),
    (["earning", "windows", 0], {"factor": "2", "weekdays": [8]}, "earning.windows[0].weekdays[0]"),
    (["earning", "windows", 0], {"factor": "2", "weekdays": [6], "month_day": 10},
     "earning.windows[0]"),
    # dates that do not exist, or run backwards
    (["earning", "windows", 2, "dates", "from"], "2026-02-30", "earning.windows[2].dates.from"),
    (["earning", "windows", 2, "dates", "to"], "2026-11-10", "earning.windows[2].dates.to"),
    (["expiry"], {"policy": "fixed_date", "month": 2, "day": 30}, "expiry.day"),
    (["expiry"], {"policy": "fixed_date", "month": 13, "day": 1}, "expiry.month"),
    (["expiry"], {"policy": "period_end_grace", "grace_month": 4, "grace_day": 31},
     "expiry.grace_day"),
    (["expiry"], {"policy": "rolling"}, "expiry.months"),
    (["expiry"], {"policy": "rolling", "months": 0}, "expiry.months"),
    (["expiry"], {"policy": "rolling", "months": 12, "day": 1}, "expiry.day"),
    (["expiry"], {"policy": "sometimes"}, "expiry.policy"),
    # percentages outside 1..100
    (["redemption", "max_order_share_pct"], 0, "redemption.max_order_share_pct"),
    (["redemption", "max_order_share_pct"], 101, "redemption.max_order_share_pct"),
    (["redemption", "max_order_share_pct"], "50", "redemption.max_order_share_pct"),
    (["redemption", "points"], 0, "redemption.points"),
    (["redemption", "per_amount"], ..., "redemption.per_amount"),
    # earning
    (["earning", "per_amount"], 0, "earning.per_amount"),
    (["earning", "points"], -1, "earning.points"),
    (["earning", "points"], True, "earning.points"),
    (["earning", "exclude_shipping"], "yes", "earning.exclude_shipping"),
    (["earning", "currency"], "yuan", "earning.currency"),
    (["earning", "events", "birthday"], 5, "earning.events.birthday"),
    (["earning", "events", "checkin"], -10, "earning.events.checkin"),
    (["earning", "categories", "wine"], {"factor": "2", "points": 1}, "earning.categories.wine"),
    (["earning", "birthday", "scope"], "week", "earning.birthday.scope"),
    (["earning", "caps", "per_day"], 0, "earning.caps.per_day"),
    (["earning", "caps", "per_event", "dance"], 1, "earning.caps.per_event.dance"),
    (["earning", "thresholds", 1, "min_amount"], 50000, "earning.thresholds[1].min_amount"),
    (["earning", "thresholds", 0, "bonus_points"], 0, "earning.thresholds[0].bonus_points"),
    # reminders, tier evaluation, unknown keys
    (["reminders", "days_before"], [30, 30], "reminders.days_before"),
    (["reminders", "days_before", 2], 0, "reminders.days_before[2]"),
    (["tier_evaluation", "review_period"], "week", "tier_evaluation.review_period"),
    (["lottery"], {}, "lottery"),
    (["earning", "bogus"], 1, "earning.bogus"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "param"), BAD, ids=[case[2] for case in BAD])
def test_contradictions_are_refused_naming_the_field(path, value, param):
    with pytest.raises(Unprocessable) as raised:
        parse_program(with_change(path, value))
    assert raised.value.status == 422
    assert raised.value.param == param, raised.value.message


def test_windows_that_cannot_meet_need_no_precedence():
    # Weekends, Mondays and Wed 6 - Fri 8 May 2026 never share a day.
    windows = [
        {"weekdays": [6, 7], "factor": "2"},
        {"weekdays": [1], "factor": "1.5"},
        {"dates": {"from": "2026-05-06", "to": "2026-05-08"}, "factor": "2"},
    ]
    parse_program(with_change(["earning", "windows"], windows))
    # A member day on the 10th meets the weekend sooner or later: precedence needed.
    windows.append({"month_day": 10, "factor": "3"})
    with pytest.raises(Unprocessable) as raised:
        parse_program(with_change(["earning", "windows"], windows))
    assert raised.value.param == "earning.windows[3].precedence"
    assert raised.value.code == "ambiguous_windows"
    # It meets Mondays too; 6-8 May contains no 10th, so that range needs none.
    windows[0]["precedence"], windows[1]["precedence"], windows[3]["precedence"] = 1, 3, 2
    parse_program(with_change(["earning", "windows"], windows))


def test_referral_may_split_referrer_and_referee():
    document = with_change(["earning", "events", "referral"], {"referrer": 100, "referee": 50})
    program = parse_program(document)
    assert program.earning.events["referral"] == 100
    assert program.earning.referee_points == 50
    shown = program_document(program)["earning"]["events"]["referral"]
    assert shown == {"referrer": 100, "referee": 50}
