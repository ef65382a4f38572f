"""The plans a tenant can be on, as data: their limits and their price.

Limits are ``None`` where a plan has none. Prices are integers in minor units of
``CURRENCY`` (fen). A paid plan is sold as one monthly Stripe plan (a fixed fee) plus the
monthly active members above those included, reported as usage at the end of each month
(see ``usage`` and docs/billing.md).

A plan's Stripe id is derived from its code, currency, amount and interval, so changing
a price makes a new Stripe plan instead of editing one that subscriptions use (Stripe
plans cannot change their amount).
"""

from __future__ import annotations

from dataclasses import dataclass

from jifen.platform.errors import Unprocessable

CURRENCY = "cny"
INTERVAL = "month"


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    members: int | None  # most members a tenant may have
    api_requests_per_minute: int  # per tenant, every API client together
    exchange: bool  # may use the exchange and acceptance
    alliances: bool  # may run or join an alliance
    monthly_amount: int  # fixed monthly fee, minor units of CURRENCY
    included_active_members: int | None  # monthly active members the fee covers
    active_member_amount: int  # price of each monthly active member above those

    @property
    def is_paid(self) -> bool:
        return self.monthly_amount > 0

    @property
    def stripe_product_id(self) -> str:
        return f"jifen_{self.code}"

    @property
    def stripe_plan_id(self) -> str:
        return f"jifen_{self.code}_{CURRENCY}_{self.monthly_amount}_{INTERVAL}"

    def limits(self) -> dict:
        return {
            "members": self.members,
            "api_requests_per_minute": self.api_requests_per_minute,
            "exchange": self.exchange,
            "alliances": self.alliances,
        }

    def billable_active_members(self, active_members: int) -> int:
        """Monthly active members that cost extra: those above the included ones."""
        if not self.is_paid or self.included_active_members is None:
            return 0
        return max(0, active_members - self.included_active_members)

    def usage_amount(self, active_members: int) -> int:
        return self.billable_active_members(active_members) * self.active_member_amount


FREE = Plan(
    code="free",
    name="Free",
    members=1_000,
    api_requests_per_minute=120,
    exchange=False,
    alliances=False,
    monthly_amount=0,
    included_active_members=None,
    active_member_amount=0,
)
GROWTH = Plan(
    code="growth",
    name="Growth",
    members=50_000,
    api_requests_per_minute=1_200,
    exchange=True,
    alliances=False,
    monthly_amount=29_900,
    included_active_members=5_000,
    active_member_amount=5,
)
SCALE = Plan(
    code="scale",
    name="Scale",
    members=None,
    api_requests_per_minute=6_000,
    exchange=True,
    alliances=True,
    monthly_amount=199_900,
    included_active_members=50_000,
    active_member_amount=2,
)

PLANS: dict[str, Plan] = {plan.code: plan for plan in (FREE, GROWTH, SCALE)}
DEFAULT_PLAN = FREE.code


def get_plan(code: str) -> Plan:
    """Raises Unprocessable (``unknown_plan``) for a code that names no plan."""
    try:
        return PLANS[code]
    except KeyError:
        known = ", ".join(PLANS)
        raise Unprocessable(
            f"Unknown plan {code!r}; plans: {known}.", code="unknown_plan", param="plan"
        ) from None
