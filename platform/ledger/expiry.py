"""Expiry policies: when points earned at a given moment stop being spendable.

Pure functions of their inputs (STYLE.md, habit 2). A tenant's program picks one policy
(API.md, Program: ``expiry``); whoever credits a wallet asks the policy for the lot's
``expires_at`` and hands it to ``ledger.credit``. The ledger itself never looks at a
policy: each lot carries its own expiry, so the nightly sweep needs none.

Every policy ends validity at a local midnight in the tenant's time zone: ``expires_at``
is the first instant points are no longer valid, i.e. the start of the day after the last
valid day. The sweep at 00:00 Asia/Shanghai (``0 16 * * *`` UTC) therefore finds exactly
the lots that ran out the day before.

* ``Never()``: points never expire (``expires_at`` is None).
* ``Rolling(months=12)``: each lot is valid through the same calendar day ``months``
  later (clamped to the month's end: earned Jan 31, one month → valid through Feb 28/29).
* ``FixedDate(month=10, day=31)``: a yearly clear date (积分清零日). Points are valid
  through the first clear date strictly after the day they were earned, so points earned
  on the clear date itself survive until the next one. Feb 29 means Feb 28 in other years.
* ``PeriodEnd(period="year", grace_months=12)``: valid through the end of the period
  (month, quarter or calendar year) they were earned in, plus ``grace_months`` whole months.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jifen.platform.errors import Unprocessable

DEFAULT_TIME_ZONE = "Asia/Shanghai"
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


class ExpiryPolicy(Protocol):
    def expires_at(self, earned_at: datetime) -> datetime | None: ...


@dataclass(frozen=True)
class Never:
    time_zone: str = DEFAULT_TIME_ZONE

    def expires_at(self, earned_at: datetime) -> datetime | None:
        return None


@dataclass(frozen=True)
class Rolling:
    months: int
    time_zone: str = DEFAULT_TIME_ZONE

    def __post_init__(self) -> None:
        _check_int(self.months, "months", 1, 120)
        _zone(self.time_zone)

    def expires_at(self, earned_at: datetime) -> datetime:
        earned_on = _local_date(earned_at, self.time_zone)
        return _end_of_day(add_months(earned_on, self.months), self.time_zone)


@dataclass(frozen=True)
class FixedDate:
    month: int
    day: int
    time_zone: str = DEFAULT_TIME_ZONE

    def __post_init__(self) -> None:
        _check_int(self.month, "month", 1, 12)
        _check_int(self.day, "day", 1, calendar.monthrange(2024, self.month)[1])
        _zone(self.time_zone)

    def expires_at(self, earned_at: datetime) -> datetime:
        earned_on = _local_date(earned_at, self.time_zone)
        clear_on = self._clear_date(earned_on.year)
        if clear_on <= earned_on:
            clear_on = self._clear_date(earned_on.year + 1)
        return _end_of_day(clear_on, self.time_zone)

    def _clear_date(self, year: int) -> date:
        return date(year, self.month, min(self.day, calendar.monthrange(year, self.month)[1]))


@dataclass(frozen=True)
class PeriodEnd:
    period: str
    grace_months: int = 0
    time_zone: str = DEFAULT_TIME_ZONE

    def __post_init__(self) -> None:
        if self.period not in PERIOD_MONTHS:
            raise Unprocessable(
                f"period must be one of {', '.join(PERIOD_MONTHS)}.", param="expiry.period"
            )
        _check_int(self.grace_months, "grace_months", 0, 120)
        _zone(self.time_zone)

    def expires_at(self, earned_at: datetime) -> datetime:
        earned_on = _local_date(earned_at, self.time_zone)
        length = PERIOD_MONTHS[self.period]
        first_month_of_period = (earned_on.month - 1) // length * length + 1
        period_start = date(earned_on.year, first_month_of_period, 1)
        next_start = add_months(period_start, length + self.grace_months)
        return _end_of_day(next_start - timedelta(days=1), self.time_zone)


def policy_from_dict(rules: dict[str, Any], *, time_zone: str = DEFAULT_TIME_ZONE) -> ExpiryPolicy:
    """Build a policy from the program's ``expiry`` object (API.md, Program).

    Raises Unprocessable naming the bad field.
    """
    if not isinstance(rules, dict):
        raise Unprocessable("expiry must be an object.", param="expiry")
    policy = rules.get("policy")
    fields = {key: value for key, value in rules.items() if key != "policy"}
    makers: dict[str, tuple[type, set[str]]] = {
        "never": (Never, set()),
        "rolling": (Rolling, {"months"}),
        "fixed_date": (FixedDate, {"month", "day"}),
        "period_end": (PeriodEnd, {"period", "grace_months"}),
    }
    if policy not in makers:
        raise Unprocessable(
            f"expiry.policy must be one of {', '.join(makers)}.", param="expiry.policy"
        )
    maker, allowed = makers[policy]
    unknown = set(fields) - allowed
    if unknown:
        name = sorted(unknown)[0]
        raise Unprocessable(f"Unknown field for the {policy} policy.", param=f"expiry.{name}")
    try:
        return maker(**fields, time_zone=time_zone)
    except TypeError:
        missing = sorted(allowed - set(fields))
        raise Unprocessable(
            f"The {policy} policy needs {', '.join(missing)}.", param=f"expiry.{missing[0]}"
        ) from None


def add_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later, clamped to that month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _local_date(moment: datetime, time_zone: str) -> date:
    if moment.tzinfo is None:
        raise ValueError("expiry needs an aware datetime")
    return moment.astimezone(_zone(time_zone)).date()


def _end_of_day(last_valid_day: date, time_zone: str) -> datetime:
    local_midnight = datetime.combine(last_valid_day + timedelta(days=1), time(), _zone(time_zone))
    return local_midnight.astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable(f"Unknown time zone {name!r}.", param="time_zone") from None


def _check_int(value: Any, name: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Unprocessable(
            f"{name} must be a whole number from {low} to {high}.", param=f"expiry.{name}"
        )
