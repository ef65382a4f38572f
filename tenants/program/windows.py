"""Time windows that multiply earned points: double-points weekdays, a monthly member day
(the 10th of every month) and date ranges (a sale from 11 to 12 November).

A window is read on the order's calendar date in the tenant's time zone. When several
windows fall on the same day:

* every window with ``"stack": true`` applies, and their factors multiply;
* of the others, only the one with the highest ``precedence`` applies.

So the window factor of a day is ``winner.factor × Π stacking factors`` (1 when no window
applies). Two non-stacking windows that can ever fall on the same day must state
different precedences; the program is refused otherwise (``may_coincide`` decides "can
ever"), so the outcome never depends on list order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

# A date range longer than this contains every weekday and every day of the month, so
# comparing its first days with a recurring window is enough.
_RECURRENCE_HORIZON = timedelta(days=62)


@dataclass(frozen=True)
class Window:
    """One window: exactly one of ``weekdays`` (ISO 1 = Monday .. 7 = Sunday),
    ``month_day`` (1..31; months without that day have no member day) or a date range
    ``starts_on``..``ends_on`` (both inclusive)."""

    name: str
    factor: Decimal
    weekdays: frozenset[int] | None = None
    month_day: int | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    precedence: int | None = None
    stack: bool = False

    @property
    def is_range(self) -> bool:
        return self.starts_on is not None

    def applies_on(self, day: date) -> bool:
        if self.weekdays is not None:
            return day.isoweekday() in self.weekdays
        if self.month_day is not None:
            return day.day == self.month_day
        assert self.starts_on is not None and self.ends_on is not None
        return self.starts_on <= day <= self.ends_on


def may_coincide(a: Window, b: Window) -> bool:
    """Whether some calendar day falls in both windows."""
    if a.is_range and b.is_range:
        return a.starts_on <= b.ends_on and b.starts_on <= a.ends_on  # type: ignore[operator]
    if a.is_range or b.is_range:
        span, recurring = (a, b) if a.is_range else (b, a)
        assert span.starts_on is not None and span.ends_on is not None
        last = min(span.ends_on, span.starts_on + _RECURRENCE_HORIZON)
        day = span.starts_on
        while day <= last:
            if recurring.applies_on(day):
                return True
            day += timedelta(days=1)
        return False
    if a.weekdays is not None and b.weekdays is not None:
        return bool(a.weekdays & b.weekdays)
    if a.month_day is not None and b.month_day is not None:
        return a.month_day == b.month_day
    return True  # a weekday and a day of the month meet sooner or later


def windows_on(windows: tuple[Window, ...], day: date) -> list[Window]:
    """The windows that apply on ``day``: the winning exclusive one first (if any), then
    the stacking ones in program order."""
    applying = [window for window in windows if window.applies_on(day)]
    exclusive = [window for window in applying if not window.stack]
    chosen = [max(exclusive, key=lambda w: w.precedence or 0)] if exclusive else []
    return chosen + [window for window in applying if window.stack]
