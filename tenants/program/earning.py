"""The earning engine: how many points an order or a one-off event earns (pure).

Points for an order, in this order, every step written to the breakdown:

1. Eligible amount: ``amount - shipping`` when ``exclude_shipping`` (else ``amount``).
2. Base points: ``floor(eligible / per_amount) × points``, with the order category's own
   rate when the program gives it one. The remainder below one ``per_amount`` earns
   nothing (35800 - 2000 = 33800 at 1 per 10000 → 3 points).
3. Factors multiply, exactly, as ``Decimal``: category factor × tier factor × window
   factor (``windows``: the winning exclusive window × every stacking window) ×
   birthday factor. Factors are never added ("2× day plus 1.5× tier" is 3×, not 2.5×).
4. Rounding happens ONCE, here: ``floor(base × product)`` (``ROUND_DOWN``; the values
   are never negative, so down is toward zero). 3 points × 1.5 = 4.5 → 4. Nothing is
   rounded before this step, so 3 × 1.5 × 2 = 9, never floor(4.5) × 2 = 8.
5. Threshold bonus: the largest ``bonus_points`` whose ``min_amount`` the eligible amount
   reaches (only one threshold applies; bonuses are not multiplied by factors).
6. Caps: ``per_order`` caps the order's points (bonus included); ``per_day`` caps what
   the member earns in the order's local calendar day, orders and events together, given
   what they already earned that day (``MemberContext.earned_today``). A capped order
   earns what is left, possibly 0.

Event awards (``compute_award``): ``signup`` and ``profile_completion`` once per member,
``checkin`` once per calendar day in the tenant's time zone, ``review`` and ``referral``
as often as ``caps.per_event`` allows per day; ``referral`` pays the referrer and the
referee, and only once the referee has placed a first order. ``caps.per_day`` applies to
the member the award is computed for.

Days are the tenant's: an instant is read in the tenant's time zone (23:30 UTC is the
next morning in Asia/Shanghai).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jifen.platform.errors import LimitExceeded, Unprocessable
from jifen.tenants.model import DEFAULT_TIME_ZONE

from .rules import EVENTS, Program, Rate
from .windows import windows_on

MAX_PAST = timedelta(days=731)  # API.md: occurred_at may lie up to two years in the past
CLOCK_SKEW = timedelta(minutes=5)
ONCE_PER_MEMBER = ("signup", "profile_completion")
ONCE_PER_DAY = ("checkin",)


@dataclass(frozen=True)
class Order:
    amount: int  # minor units, shipping included
    currency: str
    shipping: int = 0
    category: str | None = None
    occurred_at: datetime | None = None  # None: now


@dataclass(frozen=True)
class MemberContext:
    tier: str | None = None
    birthday: date | None = None
    time_zone: str = DEFAULT_TIME_ZONE
    earned_today: int = 0  # points already earned in the order's local day


@dataclass(frozen=True)
class Step:
    """One line of the breakdown: a rule that contributed points or a factor."""

    rule: str  # base | category | tier | window | birthday | rounding | threshold | cap
    description: str
    points: int | None = None
    factor: Decimal | None = None

    def as_dict(self) -> dict[str, Any]:
        line: dict[str, Any] = {"rule": self.rule, "description": self.description}
        if self.points is not None:
            line["points"] = self.points
        if self.factor is not None:
            line["factor"] = format(self.factor, "f")
        return line


@dataclass(frozen=True)
class EarnResult:
    points: int
    base_points: int
    factor: Decimal
    breakdown: tuple[Step, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class AwardContext:
    now: datetime
    time_zone: str = DEFAULT_TIME_ZONE
    previous_awards: Sequence[datetime] = ()  # earlier awards of this event to this member
    earned_today: int = 0
    referee_has_ordered: bool = False


@dataclass(frozen=True)
class AwardResult:
    event: str
    points: int  # for the member of the context (the referrer, for a referral)
    referee_points: int = 0
    breakdown: tuple[Step, ...] = field(default_factory=tuple)


# --- days in the tenant's time zone ----------------------------------------------------


def zone(name: str) -> ZoneInfo:
    """Raises Unprocessable for an unknown IANA zone name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable(f"Unknown time zone {name!r}.", param="time_zone") from None


def local_day(moment: datetime, time_zone: str) -> date:
    if moment.tzinfo is None:
        raise ValueError("local_day needs an aware datetime")
    return moment.astimezone(zone(time_zone)).date()


def local_day_bounds(day: date, time_zone: str) -> tuple[datetime, datetime]:
    """The UTC instants ``[start, end)`` of ``day`` in ``time_zone`` (for "today" queries)."""
    start = datetime.combine(day, time(), zone(time_zone))
    end = datetime.combine(day + timedelta(days=1), time(), zone(time_zone))
    return start.astimezone(UTC), end.astimezone(UTC)


# --- orders ----------------------------------------------------------------------------


def compute_earn(
    program: Program, order: Order, member: MemberContext, clock_now: datetime
) -> EarnResult:
    """The points ``order`` earns ``member`` under ``program`` (see the module docstring).

    Raises Unprocessable naming the bad order field (negative amount, shipping above the
    amount, another currency than the program's, ``occurred_at`` in the future or more
    than two years ago).
    """
    earning = program.earning
    occurred_at = _check_order(program, order, clock_now)
    eligible = order.amount - order.shipping if earning.exclude_shipping else order.amount
    steps: list[Step] = []

    category = earning.categories.get(order.category) if order.category else None
    rate: Rate = category.rate if category is not None and category.rate else earning.rate
    base = eligible // rate.per_amount * rate.points
    shipping_note = f"{order.amount} - {order.shipping} shipping = " if order.shipping else ""
    source = f"category {order.category}" if rate is not earning.rate else "base rate"
    steps.append(
        Step(
            "base",
            f"{shipping_note}{eligible} eligible; floor({eligible} / {rate.per_amount}) × "
            f"{rate.points} ({source})",
            points=base,
        )
    )

    factors: list[Step] = []
    if category is not None and category.factor is not None:
        factors.append(Step("category", f"category {order.category}", factor=category.factor))
    tier = program.tier(member.tier)
    if tier is not None:
        factors.append(Step("tier", f"tier {tier.code}", factor=tier.factor))
    elif member.tier:
        steps.append(Step("tier", f"tier {member.tier} is not in the program: no factor"))
    day = local_day(occurred_at, member.time_zone)
    for window in windows_on(earning.windows, day):
        kind = "stacking window" if window.stack else "window"
        factors.append(Step("window", f"{kind} {window.name} on {day}", factor=window.factor))
    if earning.birthday is not None and is_birthday(member.birthday, day, earning.birthday.scope):
        factors.append(
            Step("birthday", f"birthday {earning.birthday.scope}", factor=earning.birthday.factor)
        )
    steps.extend(factors)

    product = Decimal(1)
    for step in factors:
        product *= step.factor  # type: ignore[operator]
    # The one rounding: down to whole points, after every factor (module docstring, 4).
    earned = int((base * product).to_integral_value(rounding=ROUND_DOWN))
    if factors:
        steps.append(
            Step("rounding", f"floor({base} × {format(product, 'f')}) rounded down", earned)
        )

    bonus = next(
        (t for t in reversed(earning.thresholds) if eligible >= t.min_amount),
        None,
    )
    points = earned
    if bonus is not None:
        points += bonus.bonus_points
        steps.append(Step("threshold", f"order of at least {bonus.min_amount}", bonus.bonus_points))

    points = _apply_caps(program, points, member.earned_today, steps, per_order=True)
    return EarnResult(points=points, base_points=base, factor=product, breakdown=tuple(steps))


def _check_order(program: Program, order: Order, clock_now: datetime) -> datetime:
    if isinstance(order.amount, bool) or not isinstance(order.amount, int) or order.amount < 0:
        raise Unprocessable(
            "amount must be a whole number of minor units, 0 or more.", param="amount"
        )
    if not isinstance(order.shipping, int) or not 0 <= order.shipping <= order.amount:
        raise Unprocessable("shipping must be from 0 to the order amount.", param="shipping")
    currency = program.earning.currency
    if currency is not None and order.currency != currency:
        raise Unprocessable(
            f"This program earns on {currency} orders, not {order.currency}.",
            param="currency",
            code="currency_mismatch",
        )
    occurred_at = order.occurred_at or clock_now
    if occurred_at.tzinfo is None:
        raise Unprocessable("occurred_at needs a time zone.", param="occurred_at")
    if occurred_at > clock_now + CLOCK_SKEW:
        raise Unprocessable("occurred_at lies in the future.", param="occurred_at")
    if occurred_at < clock_now - MAX_PAST:
        raise Unprocessable("occurred_at lies more than two years ago.", param="occurred_at")
    return occurred_at


def _apply_caps(
    program: Program, points: int, earned_today: int, steps: list[Step], *, per_order: bool
) -> int:
    caps = program.earning.caps
    if per_order and caps.per_order is not None and points > caps.per_order:
        steps.append(Step("cap", f"at most {caps.per_order} points per order", caps.per_order))
        points = caps.per_order
    if caps.per_day is not None:
        left = max(0, caps.per_day - earned_today)
        if points > left:
            steps.append(
                Step("cap", f"at most {caps.per_day} points a day, {earned_today} earned", left)
            )
            points = left
    return points


def is_birthday(birthday: date | None, day: date, scope: str) -> bool:
    """Whether ``day`` is the birthday (``scope`` "day") or in its month ("month").
    A 29 February birthday is kept on the 28th in other years."""
    if birthday is None:
        return False
    if scope == "month":
        return day.month == birthday.month
    last = calendar.monthrange(day.year, birthday.month)[1]
    return (day.month, day.day) == (birthday.month, min(birthday.day, last))


# --- one-off events ---------------------------------------------------------------------


def compute_award(program: Program, event: str, context: AwardContext) -> AwardResult:
    """The points ``event`` awards now (module docstring).

    Raises Unprocessable (``unknown_event``, ``event_not_configured``,
    ``referral_not_qualified``) or LimitExceeded (``already_awarded`` for a second signup or
    a second check-in the same day; ``limit_exceeded`` past ``caps.per_event`` or
    ``caps.per_day``).
    """
    if event not in EVENTS:
        raise Unprocessable(f"Unknown event {event!r}.", param="event", code="unknown_event")
    points = program.earning.events.get(event, 0)
    if points == 0:
        raise Unprocessable(
            f"This program awards nothing for {event}.", param="event", code="event_not_configured"
        )
    today = local_day(context.now, context.time_zone)
    earlier_today = sum(
        1 for moment in context.previous_awards if local_day(moment, context.time_zone) == today
    )
    if event in ONCE_PER_MEMBER and context.previous_awards:
        raise LimitExceeded(f"{event} is awarded once per member.", code="already_awarded")
    if event in ONCE_PER_DAY and earlier_today:
        raise LimitExceeded(f"Already checked in on {today}.", code="already_awarded")
    times = program.earning.caps.per_event.get(event)
    if times is not None and earlier_today >= times:
        raise LimitExceeded(f"{event} is awarded at most {times} times a day.", param="event")
    referee_points = 0
    if event == "referral":
        if not context.referee_has_ordered:
            raise Unprocessable(
                "A referral is awarded after the referee's first order.",
                param="event",
                code="referral_not_qualified",
            )
        referee_points = program.earning.referee_points
    steps = [Step(event, f"{event} award", points)]
    if referee_points:
        steps.append(Step(event, "referee's share", referee_points))
    points = _apply_caps(program, points, context.earned_today, steps, per_order=False)
    if points == 0:
        raise LimitExceeded("The member reached today's points cap.", param="event")
    return AwardResult(event, points, referee_points, tuple(steps))


def apply_daily_cap(program: Program, points: int, earned_today: int) -> int:
    """``points`` limited by ``caps.per_day`` given ``earned_today`` (for the referee's
    share of a referral, computed in the referee's own day)."""
    return _apply_caps(program, points, earned_today, [], per_order=False)
