"""Plan limits: pure rules, and the checks other areas call inside their unit of work.

* ``check_member_limit(session, tenant_id)``: call before adding a member; raises
  403 ``plan_limit`` when the plan's member limit is reached.
* ``check_feature(session, tenant_id, "exchange" | "alliances")``: call before using
  the exchange or acceptance, or running or joining an alliance; 403 ``plan_limit``.

A tenant with no billing account (one older than billing) is on the default plan and
active.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jifen.platform.errors import Forbidden

from . import usage
from .model import BillingAccount
from .plans import DEFAULT_PLAN, Plan, get_plan
from .states import BillingState, Status

FEATURES = ("exchange", "alliances")


class PlanLimit(Forbidden):
    code = "plan_limit"


class AccountReadOnly(Forbidden):
    code = "account_read_only"


def member_limit_reached(plan: Plan, members: int) -> bool:
    """True when one more member would exceed the plan."""
    return plan.members is not None and members + 1 > plan.members


def refusal_for_write(state: BillingState) -> AccountReadOnly | None:
    """The error a write gets from an account in ``state``, or None if writes are allowed."""
    if state.allows_writes:
        return None
    if state.status is Status.CANCELLED:
        reason = "its subscription was cancelled; choose a plan at POST /v1/billing/plan"
    else:
        reason = "an invoice is unpaid past its grace period"
    return AccountReadOnly(f"This account is read-only: {reason}. Reads keep working.")


def account_of(session: Session, tenant_id: str, *, for_update: bool = False):
    statement = select(BillingAccount).where(BillingAccount.tenant_id == tenant_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalar(statement)


def plan_of(session: Session, tenant_id: str, *, for_update: bool = False) -> Plan:
    account = account_of(session, tenant_id, for_update=for_update)
    return get_plan(account.plan if account is not None else DEFAULT_PLAN)


def check_member_limit(session: Session, tenant_id: str) -> None:
    """Raises PlanLimit (403 ``plan_limit``) if the tenant may not add another member.

    Locks the tenant's billing account row (PostgreSQL) so that concurrent enrolments
    cannot pass the limit together; SQLite serializes writers anyway.
    """
    plan = plan_of(session, tenant_id, for_update=True)
    if plan.members is None:
        return
    members = usage.count_members(session, tenant_id)
    if member_limit_reached(plan, members):
        raise PlanLimit(
            f"The {plan.name} plan allows {plan.members} members and this tenant has "
            f"{members}. Change plan at POST /v1/billing/plan to add more."
        )


def check_feature(session: Session, tenant_id: str, feature: str) -> None:
    """Raises PlanLimit (403 ``plan_limit``) if the tenant's plan excludes ``feature``."""
    if feature not in FEATURES:
        raise ValueError(f"unknown plan feature {feature!r}")
    plan = plan_of(session, tenant_id)
    if not getattr(plan, feature):
        raise PlanLimit(f"The {plan.name} plan does not include the {feature}.")
