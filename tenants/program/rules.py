"""The program document (API.md, Program): its shape, its validation and its defaults.

``parse_program(document)`` turns a JSON document into a frozen ``Program`` or raises
``Unprocessable`` whose ``param`` is the dotted path of the first bad field
(``tiers[1].factor``, ``earning.windows[0].dates.to``). ``program_document(program)`` is the
canonical form: every section present, defaults filled in; it is what is stored and shown.

Contradictions are refused, never repaired: factors must be positive, tier thresholds
strictly increasing, threshold bonuses strictly increasing in ``min_amount``, windows
that can fall on the same day need distinct precedences (or ``stack``), dates must exist,
percentages lie in 1..100. Factors and rates are decimal strings (``"1.5"``), read with
``Decimal``; points and money are integers (money in minor units).

A section left out of a ``PUT`` takes its default (``DEFAULT_DOCUMENT``): 1 point per
full 100.00, shipping excluded, no tiers, points never expire, reminders 30/7/1 days
before expiry, 100 points are worth 10.00 at checkout and pay at most half an order.

The document, key by key::

    earning:
      points, per_amount         points per full per_amount minor units of spend
      exclude_shipping           bool (default true)
      currency                   optional ISO code; orders in another currency are refused
      events                     {signup, checkin, review, profile_completion: points,
                                  referral: points | {referrer, referee}}
      categories                 {code: {points, per_amount} | {factor}}
      windows                    [{name, factor, weekdays | month_day | dates{from, to},
                                   precedence | stack}]
      birthday                   {scope: day | month, factor} or null
      caps                       {per_day, per_order, per_event: {event: times per day}}
      thresholds                 [{min_amount, bonus_points}]  (the highest one met applies)
    tiers                        [{code, name, min_spend | min_points, factor}]
    tier_evaluation              {window_months, review_period: month|quarter|year,
                                  max_drop_levels}
    expiry                       {policy: never} | {policy: rolling, months}
                                 | {policy: fixed_date, month, day}
                                 | {policy: period_end_grace, grace_month, grace_day}
                                 | {policy: period_end, period, grace_months}
    reminders                    {days_before: [30, 7, 1]}
    redemption                   {min_points, points, per_amount, max_order_share_pct}
    adjustments                  {approval_threshold}: a manual adjustment or award of
                                 more points waits for a second person (default 10,000)
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from jifen.platform.errors import Unprocessable

from .windows import Window, may_coincide

EVENTS = ("signup", "checkin", "review", "referral", "profile_completion")
REVIEW_PERIODS = ("month", "quarter", "year")
MAX_POINTS = 10**9
MAX_AMOUNT = 10**13
MAX_FACTOR = Decimal(100)
DEFAULT_APPROVAL_THRESHOLD = 10_000
_DECIMAL = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,4})?$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

DEFAULT_DOCUMENT: dict[str, Any] = {
    "earning": {"points": 1, "per_amount": 10000, "exclude_shipping": True},
    "tiers": [],
    "expiry": {"policy": "never"},
    "reminders": {"days_before": [30, 7, 1]},
    "redemption": {"min_points": 100, "points": 100, "per_amount": 1000, "max_order_share_pct": 50},
    "adjustments": {"approval_threshold": DEFAULT_APPROVAL_THRESHOLD},
}


# --- the program, as values ----------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """``points`` per full ``per_amount`` minor units; the remainder earns nothing."""

    points: int
    per_amount: int


@dataclass(frozen=True)
class CategoryRule:
    """A category earns at its own ``rate`` or at the base rate times ``factor``."""

    rate: Rate | None = None
    factor: Decimal | None = None


@dataclass(frozen=True)
class Birthday:
    scope: str  # "day" | "month"
    factor: Decimal


@dataclass(frozen=True)
class Caps:
    per_day: int | None = None  # points per member per local day, orders and events together
    per_order: int | None = None  # points one order can earn, bonus included
    per_event: Mapping[str, int] = field(default_factory=dict)  # awards per member per day


@dataclass(frozen=True)
class Threshold:
    min_amount: int
    bonus_points: int


@dataclass(frozen=True)
class Earning:
    rate: Rate
    exclude_shipping: bool = True
    currency: str | None = None
    events: Mapping[str, int] = field(default_factory=dict)
    referee_points: int = 0
    categories: Mapping[str, CategoryRule] = field(default_factory=dict)
    windows: tuple[Window, ...] = ()
    birthday: Birthday | None = None
    caps: Caps = field(default_factory=Caps)
    thresholds: tuple[Threshold, ...] = ()


@dataclass(frozen=True)
class Tier:
    code: str
    name: str
    threshold: int  # min_spend (minor units) or min_points, per ``TierEvaluation.basis``
    factor: Decimal


@dataclass(frozen=True)
class TierEvaluation:
    basis: str = "spend"  # "spend" | "points": what the tier thresholds count
    window_months: int = 12
    review_period: str = "year"  # downgrades happen only at the end of one
    max_drop_levels: int | None = None  # None: drop straight to the tier still earned


@dataclass(frozen=True)
class Expiry:
    policy: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Redemption:
    min_points: int
    points: int
    per_amount: int
    max_order_share_pct: int


@dataclass(frozen=True)
class Adjustments:
    """Manual adjustments (and manual awards) of more than ``approval_threshold`` points
    (either way) wait for a second person's approval; at or below it they post at once."""

    approval_threshold: int = DEFAULT_APPROVAL_THRESHOLD


@dataclass(frozen=True)
class Program:
    earning: Earning
    tiers: tuple[Tier, ...]
    tier_evaluation: TierEvaluation
    expiry: Expiry
    reminders: tuple[int, ...]
    redemption: Redemption
    adjustments: Adjustments = field(default_factory=Adjustments)

    def tier(self, code: str | None) -> Tier | None:
        return next((tier for tier in self.tiers if tier.code == code), None)


@functools.cache
def default_program() -> Program:
    """The program of a tenant that has stored none (programs are immutable: one serves)."""
    return parse_program({})


# --- parsing ---------------------------------------------------------------------------


def _fail(path: str, message: str, code: str = "invalid_value") -> Unprocessable:
    return Unprocessable(f"{path}: {message}", param=path, code=code)


def _object(value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()):
    if not isinstance(value, dict):
        raise _fail(path or "program", "must be an object.")
    for key in value:
        if key not in allowed:
            name = f"{path}.{key}" if path else str(key)
            raise _fail(name, "unknown field.", code="unknown_field")
    for key in required:
        if key not in value:
            raise _fail(f"{path}.{key}" if path else key, "is required.")
    return value


def _integer(value: Any, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, "must be a whole number.")
    if not low <= value <= high:
        raise _fail(path, f"must be from {low} to {high}.")
    return value


def _boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, "must be true or false.")
    return value


def _text(value: Any, path: str, max_length: int = 100, pattern: re.Pattern | None = None) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise _fail(path, f"must be a non-empty string of at most {max_length} characters.")
    if pattern is not None and not pattern.match(value):
        raise _fail(path, "has an invalid format.")
    return value


def parse_factor(value: Any, path: str) -> Decimal:
    """A positive decimal string such as ``"1.5"`` (up to 4 decimals, at most 100).

    Zero and negative factors are contradictions: a factor that takes points away is
    not a multiplier (exclude a category with ``points: 0`` instead)."""
    if not isinstance(value, str):
        raise _fail(path, 'must be a decimal string such as "1.5".')
    if value.startswith("-") or value.startswith("+"):
        raise _fail(path, "must be greater than zero.")
    if not _DECIMAL.match(value):
        raise _fail(path, 'must be a decimal string such as "1.5" (at most 4 decimals).')
    factor = Decimal(value)
    if factor <= 0:
        raise _fail(path, "must be greater than zero.")
    if factor > MAX_FACTOR:
        raise _fail(path, f"must be at most {MAX_FACTOR}.")
    return factor


def _date(value: Any, path: str) -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise _fail(path, "must be a date YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(path, f"{value} is not a date.") from None


def _month_day(month: Any, day: Any, path: str, month_key: str, day_key: str) -> tuple[int, int]:
    """A day of the year; 29 February is allowed (it means the 28th in other years)."""
    month = _integer(month, f"{path}.{month_key}", 1, 12)
    day = _integer(day, f"{path}.{day_key}", 1, 31)
    if day > calendar.monthrange(2024, month)[1]:
        raise _fail(f"{path}.{day_key}", f"month {month} has no day {day}.")
    return month, day


def _rate(value: Any, path: str) -> Rate:
    _object(value, path, ("points", "per_amount"), required=("points", "per_amount"))
    return Rate(
        points=_integer(value["points"], f"{path}.points", 0, MAX_POINTS),
        per_amount=_integer(value["per_amount"], f"{path}.per_amount", 1, MAX_AMOUNT),
    )


def parse_program(document: Any) -> Program:
    """The ``Program`` a document describes. Raises ``Unprocessable`` naming the field."""
    _object(
        document,
        "",
        ("earning", "tiers", "tier_evaluation", "expiry", "reminders", "redemption", "adjustments"),
    )
    sections = {**DEFAULT_DOCUMENT, **document}
    tiers, basis = _tiers(sections["tiers"])
    return Program(
        earning=_earning(sections["earning"]),
        tiers=tiers,
        tier_evaluation=_tier_evaluation(sections.get("tier_evaluation", {}), basis),
        expiry=_expiry(sections["expiry"]),
        reminders=_reminders(sections["reminders"]),
        redemption=_redemption(sections["redemption"]),
        adjustments=_adjustments(sections["adjustments"]),
    )


def _earning(value: Any) -> Earning:
    path = "earning"
    _object(
        value,
        path,
        (
            "points",
            "per_amount",
            "exclude_shipping",
            "currency",
            "events",
            "categories",
            "windows",
            "birthday",
            "caps",
            "thresholds",
        ),
        required=("points", "per_amount"),
    )
    events, referee_points = _events(value.get("events", {}))
    birthday = value.get("birthday")
    currency = value.get("currency")
    return Earning(
        rate=_rate({"points": value["points"], "per_amount": value["per_amount"]}, path),
        exclude_shipping=_boolean(value.get("exclude_shipping", True), f"{path}.exclude_shipping"),
        currency=None if currency is None else _text(currency, f"{path}.currency", 3, _CURRENCY),
        events=events,
        referee_points=referee_points,
        categories=_categories(value.get("categories", {})),
        windows=_windows(value.get("windows", [])),
        birthday=None if birthday is None else _birthday(birthday),
        caps=_caps(value.get("caps", {})),
        thresholds=_thresholds(value.get("thresholds", [])),
    )


def _events(value: Any) -> tuple[dict[str, int], int]:
    path = "earning.events"
    _object(value, path, EVENTS)
    events: dict[str, int] = {}
    referee = 0
    for name, points in value.items():
        if name == "referral" and isinstance(points, dict):
            _object(points, f"{path}.referral", ("referrer", "referee"), ("referrer", "referee"))
            events[name] = _integer(points["referrer"], f"{path}.referral.referrer", 0, MAX_POINTS)
            referee = _integer(points["referee"], f"{path}.referral.referee", 0, MAX_POINTS)
        else:
            events[name] = _integer(points, f"{path}.{name}", 0, MAX_POINTS)
            if name == "referral":
                referee = events[name]
    return events, referee


def _categories(value: Any) -> dict[str, CategoryRule]:
    path = "earning.categories"
    if not isinstance(value, dict):
        raise _fail(path, "must be an object of category codes.")
    categories = {}
    for code, rule in value.items():
        here = f"{path}.{code}"
        _text(code, here, 32, _CODE)
        _object(rule, here, ("points", "per_amount", "factor"))
        if "factor" in rule:
            if len(rule) != 1:
                raise _fail(here, "give either points and per_amount, or a factor, not both.")
            categories[code] = CategoryRule(factor=parse_factor(rule["factor"], f"{here}.factor"))
        else:
            categories[code] = CategoryRule(rate=_rate(rule, here))
    return categories


def _windows(value: Any) -> tuple[Window, ...]:
    path = "earning.windows"
    if not isinstance(value, list):
        raise _fail(path, "must be a list.")
    windows = tuple(_window(item, f"{path}[{index}]") for index, item in enumerate(value))
    for later, b in enumerate(windows):
        for earlier, a in enumerate(windows[:later]):
            if a.stack or b.stack or not may_coincide(a, b):
                continue
            if a.precedence is None or b.precedence is None or a.precedence == b.precedence:
                raise _fail(
                    f"{path}[{later}].precedence",
                    f"windows[{earlier}] and windows[{later}] can fall on the same day; give "
                    'them different precedences, or set "stack": true to multiply them.',
                    code="ambiguous_windows",
                )
    return windows


def _window(value: Any, path: str) -> Window:
    _object(
        value,
        path,
        ("name", "factor", "weekdays", "month_day", "dates", "precedence", "stack"),
        required=("factor",),
    )
    kinds = [key for key in ("weekdays", "month_day", "dates") if key in value]
    if len(kinds) != 1:
        raise _fail(path, "give exactly one of weekdays, month_day or dates.")
    stack = _boolean(value.get("stack", False), f"{path}.stack")
    precedence = value.get("precedence")
    if precedence is not None:
        precedence = _integer(precedence, f"{path}.precedence", 0, 1000)
        if stack:
            raise _fail(f"{path}.stack", "a window either stacks or has a precedence, not both.")
    window = {
        "name": _text(value.get("name", kinds[0]), f"{path}.name"),
        "factor": parse_factor(value["factor"], f"{path}.factor"),
        "precedence": precedence,
        "stack": stack,
    }
    if kinds[0] == "weekdays":
        days = value["weekdays"]
        if not isinstance(days, list) or not days:
            raise _fail(f"{path}.weekdays", "must be a non-empty list of 1 (Monday) to 7.")
        numbers = [_integer(d, f"{path}.weekdays[{i}]", 1, 7) for i, d in enumerate(days)]
        if len(set(numbers)) != len(numbers):
            raise _fail(f"{path}.weekdays", "lists a weekday twice.")
        return Window(**window, weekdays=frozenset(numbers))
    if kinds[0] == "month_day":
        return Window(**window, month_day=_integer(value["month_day"], f"{path}.month_day", 1, 31))
    dates = _object(value["dates"], f"{path}.dates", ("from", "to"), required=("from", "to"))
    starts_on = _date(dates["from"], f"{path}.dates.from")
    ends_on = _date(dates["to"], f"{path}.dates.to")
    if ends_on < starts_on:
        raise _fail(f"{path}.dates.to", "must not be before dates.from.")
    return Window(**window, starts_on=starts_on, ends_on=ends_on)


def _birthday(value: Any) -> Birthday:
    path = "earning.birthday"
    _object(value, path, ("scope", "factor"), required=("scope", "factor"))
    if value["scope"] not in ("day", "month"):
        raise _fail(f"{path}.scope", "must be day or month.")
    return Birthday(scope=value["scope"], factor=parse_factor(value["factor"], f"{path}.factor"))


def _caps(value: Any) -> Caps:
    path = "earning.caps"
    _object(value, path, ("per_day", "per_order", "per_event"))
    per_event = _object(value.get("per_event", {}), f"{path}.per_event", EVENTS)
    per_day, per_order = value.get("per_day"), value.get("per_order")
    return Caps(
        per_day=None if per_day is None else _integer(per_day, f"{path}.per_day", 1, MAX_POINTS),
        per_order=(
            None if per_order is None else _integer(per_order, f"{path}.per_order", 1, MAX_POINTS)
        ),
        per_event={
            name: _integer(times, f"{path}.per_event.{name}", 1, 1000)
            for name, times in per_event.items()
        },
    )


def _thresholds(value: Any) -> tuple[Threshold, ...]:
    path = "earning.thresholds"
    if not isinstance(value, list):
        raise _fail(path, "must be a list.")
    thresholds: list[Threshold] = []
    for index, item in enumerate(value):
        here = f"{path}[{index}]"
        _object(item, here, ("min_amount", "bonus_points"), ("min_amount", "bonus_points"))
        threshold = Threshold(
            min_amount=_integer(item["min_amount"], f"{here}.min_amount", 1, MAX_AMOUNT),
            bonus_points=_integer(item["bonus_points"], f"{here}.bonus_points", 1, MAX_POINTS),
        )
        if thresholds and threshold.min_amount <= thresholds[-1].min_amount:
            raise _fail(f"{here}.min_amount", "must be greater than the one before it.")
        thresholds.append(threshold)
    return tuple(thresholds)


def _tiers(value: Any) -> tuple[tuple[Tier, ...], str | None]:
    if not isinstance(value, list):
        raise _fail("tiers", "must be a list.")
    tiers: list[Tier] = []
    basis: str | None = None
    for index, item in enumerate(value):
        here = f"tiers[{index}]"
        _object(item, here, ("code", "name", "min_spend", "min_points", "factor"))
        for key in ("code", "name", "factor"):
            if key not in item:
                raise _fail(f"{here}.{key}", "is required.")
        kinds = [key for key in ("min_spend", "min_points") if key in item]
        if len(kinds) != 1:
            raise _fail(here, "give exactly one of min_spend or min_points.")
        kind = "spend" if kinds[0] == "min_spend" else "points"
        if basis is not None and kind != basis:
            raise _fail(f"{here}.{kinds[0]}", "every tier must count the same thing as tiers[0].")
        basis = kind
        tier = Tier(
            code=_text(item["code"], f"{here}.code", 32, _CODE),
            name=_text(item["name"], f"{here}.name"),
            threshold=_integer(item[kinds[0]], f"{here}.{kinds[0]}", 0, MAX_AMOUNT),
            factor=parse_factor(item["factor"], f"{here}.factor"),
        )
        if any(earlier.code == tier.code for earlier in tiers):
            raise _fail(f"{here}.code", f"tier code {tier.code} is used twice.")
        if tiers and tier.threshold <= tiers[-1].threshold:
            raise _fail(
                f"{here}.{kinds[0]}",
                "tier thresholds must be strictly increasing from one tier to the next.",
            )
        tiers.append(tier)
    return tuple(tiers), basis


def _tier_evaluation(value: Any, basis: str | None) -> TierEvaluation:
    path = "tier_evaluation"
    _object(value, path, ("window_months", "review_period", "max_drop_levels"))
    review_period = value.get("review_period", "year")
    if review_period not in REVIEW_PERIODS:
        raise _fail(f"{path}.review_period", f"must be one of {', '.join(REVIEW_PERIODS)}.")
    drop = value.get("max_drop_levels")
    return TierEvaluation(
        basis=basis or "spend",
        window_months=_integer(value.get("window_months", 12), f"{path}.window_months", 1, 120),
        review_period=review_period,
        max_drop_levels=None if drop is None else _integer(drop, f"{path}.max_drop_levels", 1, 50),
    )


def _expiry(value: Any) -> Expiry:
    path = "expiry"
    _object(value, path, ("policy", "months", "month", "day", "grace_month", "grace_day",
                          "period", "grace_months"), required=("policy",))  # fmt: skip
    shapes: dict[str, tuple[str, ...]] = {
        "never": (),
        "rolling": ("months",),
        "fixed_date": ("month", "day"),
        "period_end_grace": ("grace_month", "grace_day"),
        "period_end": ("period", "grace_months"),
    }
    policy = value["policy"]
    if policy not in shapes:
        raise _fail(f"{path}.policy", f"must be one of {', '.join(shapes)}.")
    for key in value:
        if key != "policy" and key not in shapes[policy]:
            raise _fail(f"{path}.{key}", f"is not a field of the {policy} policy.", "unknown_field")
    for key in shapes[policy]:
        if key not in value:
            raise _fail(f"{path}.{key}", f"the {policy} policy needs it.")
    if policy == "rolling":
        return Expiry(policy, {"months": _integer(value["months"], f"{path}.months", 1, 120)})
    if policy == "fixed_date":
        month, day = _month_day(value["month"], value["day"], path, "month", "day")
        return Expiry(policy, {"month": month, "day": day})
    if policy == "period_end_grace":
        month, day = _month_day(
            value["grace_month"], value["grace_day"], path, "grace_month", "grace_day"
        )
        return Expiry(policy, {"grace_month": month, "grace_day": day})
    if policy == "period_end":
        if value["period"] not in REVIEW_PERIODS:
            raise _fail(f"{path}.period", f"must be one of {', '.join(REVIEW_PERIODS)}.")
        grace = _integer(value["grace_months"], f"{path}.grace_months", 0, 120)
        return Expiry(policy, {"period": value["period"], "grace_months": grace})
    return Expiry(policy)


def _reminders(value: Any) -> tuple[int, ...]:
    path = "reminders"
    _object(value, path, ("days_before",), required=("days_before",))
    days = value["days_before"]
    if not isinstance(days, list):
        raise _fail(f"{path}.days_before", "must be a list of days.")
    numbers = [_integer(d, f"{path}.days_before[{i}]", 1, 366) for i, d in enumerate(days)]
    if len(set(numbers)) != len(numbers):
        raise _fail(f"{path}.days_before", "lists a day twice.")
    return tuple(sorted(numbers, reverse=True))


def _redemption(value: Any) -> Redemption:
    path = "redemption"
    keys = ("min_points", "points", "per_amount", "max_order_share_pct")
    _object(value, path, keys, required=keys)
    redemption = Redemption(
        min_points=_integer(value["min_points"], f"{path}.min_points", 0, MAX_POINTS),
        points=_integer(value["points"], f"{path}.points", 1, MAX_POINTS),
        per_amount=_integer(value["per_amount"], f"{path}.per_amount", 1, MAX_AMOUNT),
        max_order_share_pct=_integer(
            value["max_order_share_pct"], f"{path}.max_order_share_pct", 1, 100
        ),
    )
    return redemption


def _adjustments(value: Any) -> Adjustments:
    path = "adjustments"
    _object(value, path, ("approval_threshold",), required=("approval_threshold",))
    threshold = _integer(value["approval_threshold"], f"{path}.approval_threshold", 0, MAX_POINTS)
    return Adjustments(approval_threshold=threshold)


# --- the canonical document ------------------------------------------------------------


def _factor_text(factor: Decimal) -> str:
    return format(factor, "f")


def program_document(program: Program) -> dict[str, Any]:
    """The canonical JSON form of ``program``: what is stored and what GET shows."""
    earning = program.earning
    events: dict[str, Any] = dict(earning.events)
    if "referral" in events and earning.referee_points != events["referral"]:
        events["referral"] = {"referrer": events["referral"], "referee": earning.referee_points}
    earning_document: dict[str, Any] = {
        "points": earning.rate.points,
        "per_amount": earning.rate.per_amount,
        "exclude_shipping": earning.exclude_shipping,
        "events": events,
        "categories": {
            code: (
                {"factor": _factor_text(rule.factor)}
                if rule.factor is not None
                else {"points": rule.rate.points, "per_amount": rule.rate.per_amount}  # type: ignore[union-attr]
            )
            for code, rule in earning.categories.items()
        },
        "windows": [_window_document(window) for window in earning.windows],
        "birthday": (
            None
            if earning.birthday is None
            else {"scope": earning.birthday.scope, "factor": _factor_text(earning.birthday.factor)}
        ),
        "caps": {
            key: value
            for key, value in (
                ("per_day", earning.caps.per_day),
                ("per_order", earning.caps.per_order),
                ("per_event", dict(earning.caps.per_event)),
            )
            if value is not None
        },
        "thresholds": [
            {"min_amount": t.min_amount, "bonus_points": t.bonus_points} for t in earning.thresholds
        ],
    }
    if earning.currency is not None:
        earning_document["currency"] = earning.currency
    threshold_key = "min_spend" if program.tier_evaluation.basis == "spend" else "min_points"
    evaluation = program.tier_evaluation
    return {
        "earning": earning_document,
        "tiers": [
            {
                "code": tier.code,
                "name": tier.name,
                threshold_key: tier.threshold,
                "factor": _factor_text(tier.factor),
            }
            for tier in program.tiers
        ],
        "tier_evaluation": {
            "window_months": evaluation.window_months,
            "review_period": evaluation.review_period,
            **(
                {"max_drop_levels": evaluation.max_drop_levels}
                if evaluation.max_drop_levels is not None
                else {}
            ),
        },
        "expiry": {"policy": program.expiry.policy, **program.expiry.params},
        "reminders": {"days_before": list(program.reminders)},
        "redemption": {
            "min_points": program.redemption.min_points,
            "points": program.redemption.points,
            "per_amount": program.redemption.per_amount,
            "max_order_share_pct": program.redemption.max_order_share_pct,
        },
        "adjustments": {"approval_threshold": program.adjustments.approval_threshold},
    }


def _window_document(window: Window) -> dict[str, Any]:
    document: dict[str, Any] = {"name": window.name, "factor": _factor_text(window.factor)}
    if window.weekdays is not None:
        document["weekdays"] = sorted(window.weekdays)
    elif window.month_day is not None:
        document["month_day"] = window.month_day
    else:
        document["dates"] = {
            "from": window.starts_on.isoformat(),  # type: ignore[union-attr]
            "to": window.ends_on.isoformat(),  # type: ignore[union-attr]
        }
    if window.stack:
        document["stack"] = True
    if window.precedence is not None:
        document["precedence"] = window.precedence
    return document
