"""Tier evaluation at work: what a member's tier measure is, upgrades on earn, and the
periodic review (``tenants.program.tiers`` holds the pure rules).

The measure over the program's window (``tier_evaluation.window_months``, up to now):

* ``spend`` basis: the amounts of the member's earned orders (shipping included) by
  ``occurred_at``, less what was refunded on them;
* ``points`` basis: points earned on those orders and by event awards, less the points
  refunds clawed back. Manual awards and gifts do not count.

Upgrades take effect at once: after every earn, and in the ``tiers`` job. Downgrades
happen only when the job finds that a review period has ended (``review_period``: the
first run after a period starts reviews the one that ended); the first run for a tenant
only records the current period, so a tenant is never downgraded for a period that ended
before tiers were reviewed at all. Every change writes a ``TierChange`` (the history) and
emits ``tier.changed``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jifen.platform import clock
from jifen.platform.db import UnitOfWork, is_unique_violation, run_in_transaction, unit_of_work
from jifen.platform.webhooks.events import emit
from jifen.tenants.model import DEFAULT_TIME_ZONE, Tenant
from jifen.tenants.program.history import TierChange, TierReview
from jifen.tenants.program.rules import Program
from jifen.tenants.program.services import current_program
from jifen.tenants.program.tiers import evaluate_tier, review_period_start, window_start

from .model import Member
from .orders import MemberAward, OrderEarning, OrderRefund

log = logging.getLogger(__name__)


def tier_measure(
    session: Session, program: Program, member_id: str, start: datetime, end: datetime
) -> int:
    """The member's spend (minor units) or points in ``[start, end]``, per the program's
    basis (module docstring); ``end`` is now, and an order placed this instant counts."""
    orders = select(OrderEarning).where(
        OrderEarning.member_id == member_id,
        OrderEarning.occurred_at >= start,
        OrderEarning.occurred_at <= end,
    )
    refunds = (
        select(OrderRefund)
        .join(OrderEarning, OrderEarning.order_id == OrderRefund.order_id)
        .where(
            OrderEarning.member_id == member_id,
            OrderEarning.occurred_at >= start,
            OrderEarning.occurred_at <= end,
        )
    )
    if program.tier_evaluation.basis == "spend":
        spent = session.scalar(
            orders.with_only_columns(func.coalesce(func.sum(OrderEarning.amount), 0))
        )
        refunded = session.scalar(
            refunds.with_only_columns(func.coalesce(func.sum(OrderRefund.amount), 0))
        )
        return int(spent or 0) - int(refunded or 0)
    earned = session.scalar(
        orders.with_only_columns(func.coalesce(func.sum(OrderEarning.points), 0))
    )
    clawed = session.scalar(
        refunds.with_only_columns(func.coalesce(func.sum(OrderRefund.clawed_back), 0))
    )
    awarded = session.scalar(
        select(func.coalesce(func.sum(MemberAward.points), 0)).where(
            MemberAward.member_id == member_id,
            MemberAward.created >= start,
            MemberAward.created <= end,
        )
    )
    return int(earned or 0) - int(clawed or 0) + int(awarded or 0)


def _change(
    uow: UnitOfWork,
    member: Member,
    new_tier: str | None,
    *,
    reason: str,
    measure: int,
    version: int,
) -> None:
    previous = member.tier
    member.tier = new_tier
    uow.session.add(
        TierChange(
            tenant_id=member.tenant_id,
            member_id=member.id,
            from_tier=previous,
            to_tier=new_tier,
            reason=reason,
            measure=measure,
            program_version=version,
        )
    )
    emit(
        uow,
        tenant_id=member.tenant_id,
        type="tier.changed",
        data={
            "member": member.id,
            "from_tier": previous,
            "to_tier": new_tier,
            "reason": reason,
            "measure": measure,
        },
    )


def upgrade_on_earn(
    uow: UnitOfWork, program: Program, version: int, member: Member, time_zone: str
) -> None:
    """Lift the member's tier at once if the measure now reaches a higher one."""
    if not program.tiers:
        return
    now = clock.now()
    measure = tier_measure(
        uow.session, program, member.id, window_start(program, now, time_zone), now
    )
    tier = evaluate_tier(program, measure, member.tier, at_period_end=False)
    if tier != member.tier:
        _change(uow, member, tier, reason="upgrade", measure=measure, version=version)


def tier_history(tenant_id: str, member_id: str, args: dict) -> dict:
    """The member's tier changes, newest first. Raises NotFound."""
    from jifen.platform.paging import cursor_page

    from .services import load_member

    with unit_of_work(tenant_id=tenant_id) as uow:
        member = load_member(uow.session, member_id)
        statement = select(TierChange).where(TierChange.member_id == member.id)
        return cursor_page(uow.session, statement, TierChange, args)


# --- the periodic review ---------------------------------------------------------------


def review_all_tenants(now: datetime | None = None) -> dict:
    """Evaluate every member's tier in every tenant that has members (one unit of work
    per tenant). Returns a JSON-able summary; raises RuntimeError naming tenants that
    failed after the others were done."""
    now = now or clock.now()
    with unit_of_work(platform=True) as uow:
        tenant_ids = sorted(set(uow.session.scalars(select(Member.tenant_id).distinct())))
    summary = {"now": clock.iso(now), "tenants": 0, "upgrades": 0, "downgrades": 0, "reviews": 0}
    failed = []
    for tenant_id in tenant_ids:
        try:
            upgrades, downgrades, reviewed = run_in_transaction(
                lambda t=tenant_id: review_tenant(t, now)
            )
        except Exception:
            log.exception("tier review failed for tenant %s", tenant_id)
            failed.append(tenant_id)
            continue
        summary["tenants"] += 1
        summary["upgrades"] += upgrades
        summary["downgrades"] += downgrades
        summary["reviews"] += int(reviewed)
    if failed:
        raise RuntimeError(f"tier review failed for {', '.join(failed)}; summary {summary}")
    return summary


def review_tenant(tenant_id: str, now: datetime) -> tuple[int, int, bool]:
    """Upgrades, downgrades, and whether a period's end was reviewed, for one tenant."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        session = uow.session
        program, version = current_program(session, tenant_id)
        if not program.tiers:
            return 0, 0, False
        tenant = session.get(Tenant, tenant_id)
        time_zone = tenant.time_zone if tenant is not None else DEFAULT_TIME_ZONE
        period_start = review_period_start(program, now, time_zone)
        last = session.scalar(select(func.max(TierReview.period_start)))
        at_period_end = last is not None and last < period_start
        start = window_start(program, now, time_zone)
        upgrades = downgrades = 0
        members = session.scalars(select(Member).order_by(Member.id)).all()
        for member in members:
            measure = tier_measure(session, program, member.id, start, now)
            tier = evaluate_tier(program, measure, member.tier, at_period_end=at_period_end)
            if tier == member.tier:
                continue
            codes = [t.code for t in program.tiers]
            rank = codes.index(tier) if tier in codes else -1
            old = codes.index(member.tier) if member.tier in codes else -1
            reason = "upgrade" if rank > old else "period_end"
            _change(uow, member, tier, reason=reason, measure=measure, version=version)
            upgrades += rank > old
            downgrades += rank < old
        if last is None or last < period_start:
            try:
                with session.begin_nested():
                    session.add(
                        TierReview(
                            tenant_id=tenant_id, period_start=period_start, downgrades=downgrades
                        )
                    )
            except IntegrityError as exc:
                if not is_unique_violation(exc):
                    raise
                return 0, 0, False  # another run reviewed this period: roll ours back
        uow.commit()
        return upgrades, downgrades, at_period_end
