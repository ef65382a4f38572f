"""Redemption at checkout: how many points an order can take and what they are worth
(pure).

Points are spent in steps of ``redemption.points``, each worth ``redemption.per_amount``
minor units (100 points = 10.00). No fraction of a step is sold, so no rounding remainder
ever arises. Two limits cap an order:

* the member's available balance (balance minus holds);
* ``max_order_share_pct`` of the order amount, rounded down to whole minor units
  (``floor(amount × pct / 100)``; the member pays at least the rest in cash).

Below ``min_points`` nothing can be redeemed. Whatever the points do not cover is paid in
cash: points plus cash (``cash_due``).
"""

from __future__ import annotations

from dataclasses import dataclass

from jifen.platform.errors import InsufficientPoints, LimitExceeded, Unprocessable

from .rules import Program


@dataclass(frozen=True)
class CheckoutQuote:
    order_amount: int
    max_points: int  # the most points this order can take
    money_value: int  # what ``max_points`` are worth, minor units
    cash_due: int  # order_amount - money_value


def max_share(program: Program, order_amount: int) -> int:
    """The most of ``order_amount`` points may pay (rounded down, in the merchant's favour)."""
    return order_amount * program.redemption.max_order_share_pct // 100


def checkout_quote(program: Program, balance_available: int, order_amount: int) -> CheckoutQuote:
    """The most points usable on an order and their value. Raises Unprocessable for a
    negative amount or balance."""
    if order_amount < 0:
        raise Unprocessable("order_amount must be 0 or more.", param="order_amount")
    if balance_available < 0:
        raise Unprocessable("The available balance is negative.", param="balance_available")
    rules = program.redemption
    steps = min(
        balance_available // rules.points, max_share(program, order_amount) // rules.per_amount
    )
    points = steps * rules.points
    if points < rules.min_points or points == 0:
        return CheckoutQuote(order_amount, 0, 0, order_amount)
    value = steps * rules.per_amount
    return CheckoutQuote(order_amount, points, value, order_amount - value)


def points_plus_cash(
    program: Program, points: int, balance_available: int, order_amount: int
) -> CheckoutQuote:
    """Pay ``points`` towards an order: their value and the cash left to pay.

    Raises Unprocessable when ``points`` is not a whole number of steps or is below
    ``min_points``, InsufficientPoints when the member has fewer available, LimitExceeded
    when they would pay more than ``max_order_share_pct`` of the order.
    """
    rules = program.redemption
    if points <= 0 or points % rules.points:
        raise Unprocessable(f"Points are redeemed in steps of {rules.points}.", param="points")
    if points < rules.min_points:
        raise Unprocessable(f"Redeem at least {rules.min_points} points.", param="points")
    if points > balance_available:
        raise InsufficientPoints(f"Only {balance_available} points are available.", param="points")
    value = points // rules.points * rules.per_amount
    if value > max_share(program, order_amount):
        raise LimitExceeded(
            f"Points may pay at most {rules.max_order_share_pct}% of an order.", param="points"
        )
    return CheckoutQuote(order_amount, points, value, order_amount - value)
