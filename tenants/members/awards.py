"""Event awards: signup, check-in, review, referral and profile completion, paid by the
program's ``earning.events`` (``tenants.program.earning.compute_award`` decides).

One unit of work per award. The member's wallet is locked first, so the "earlier awards
today" and "points earned today" the rules read cannot change under them. A
``MemberAward`` row is written with each award; its partial unique indexes make the
"once" rules hold even for two requests at the same instant (the loser gets the same
422 ``already_awarded`` as a later request would):

* ``signup`` and ``profile_completion``: once per member;
* ``checkin``: once per calendar day in the tenant's time zone;
* ``review``: as often as ``caps.per_event.review`` allows a day (unlimited without);
* ``referral``: ``member_id`` is the referrer, ``referee_id`` the member they brought.
  Paid once the referee has an earned order, to both parties (the referee's share is a
  second transaction, capped by the referee's own ``caps.per_day``), and once per
  referee. A member cannot refer themselves.

Event awards count towards ``caps.per_day`` together with orders; manual awards do not.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from jifen.platform import clock, ledger
from jifen.platform.db import UnitOfWork, is_unique_violation, run_in_transaction, unit_of_work
from jifen.platform.errors import LimitExceeded, Unprocessable
from jifen.platform.ledger.model import Kind
from jifen.platform.webhooks.events import emit
from jifen.tenants.program.earning import (
    AwardContext,
    apply_daily_cap,
    compute_award,
    local_day,
    local_day_bounds,
)
from jifen.tenants.program.expiry import expires_at

from . import wallets
from .adjustments import manual_award
from .model import Adjustment, Member
from .orders import MemberAward, OrderEarning
from .points import ProgramContext, earned_on_day, program_context
from .services import load_active_member
from .wallets import MemberEntry, entry_event_data


def award(
    tenant_id: str,
    *,
    member_id: str,
    event: str,
    points: int | None = None,
    reason: str | None = None,
    referee_id: str | None = None,
    actor: str | None = None,
) -> MemberEntry | Adjustment:
    """An award: ``manual`` (``actor`` gives ``points`` with a ``reason``; above the
    program's approval threshold it waits for a second person as an ``Adjustment``, see
    ``adjustments.manual_award``) or a program event (``award_event``).

    Raises NotFound, MemberFrozen, Unprocessable and LimitExceeded.
    """
    if event != "manual":
        return award_event(tenant_id, member_id=member_id, event=event, referee_id=referee_id)
    if points is None or not reason:
        raise Unprocessable("A manual award needs points and a reason.", param="points")
    if actor is None:
        raise ValueError("A manual award records who gave it: pass actor.")
    return manual_award(tenant_id, member_id=member_id, points=points, reason=reason, actor=actor)


def award_event(
    tenant_id: str, *, member_id: str, event: str, referee_id: str | None = None
) -> MemberEntry:
    """Award ``event`` to ``member_id`` now; returns the member's transaction.

    Raises NotFound (member or referee), MemberFrozen, Unprocessable (``unknown_event``,
    ``event_not_configured``, ``referral_not_qualified``, a referral without
    ``referee_id`` or to oneself) and LimitExceeded (``already_awarded``, caps).
    """
    if event == "referral" and not referee_id:
        raise Unprocessable("A referral names the referee_id.", param="referee_id")
    if event != "referral" and referee_id is not None:
        raise Unprocessable("referee_id is only for a referral.", param="referee_id")
    if referee_id is not None and referee_id == member_id:
        raise Unprocessable("A member cannot refer themselves.", param="referee_id")

    def attempt() -> MemberEntry:
        with unit_of_work(tenant_id=tenant_id) as uow:
            context = program_context(uow.session, tenant_id)
            result = _award(uow, tenant_id, context, member_id, event, referee_id)
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


def _award(
    uow: UnitOfWork,
    tenant_id: str,
    context: ProgramContext,
    member_id: str,
    event: str,
    referee_id: str | None,
) -> MemberEntry:
    session = uow.session
    member = load_active_member(session, member_id, "member_id")
    referee = load_active_member(session, referee_id, "referee_id") if referee_id else None
    parties = [member] + ([referee] if referee is not None else [])
    member_wallets = {p.id: wallets.member_wallet(session, p, context.asset) for p in parties}
    ledger.lock_wallets(session, member_wallets.values())
    now = clock.now()
    time_zone = context.time_zone
    today = local_day(now, time_zone)
    bounds = local_day_bounds(today, time_zone)
    previous = session.scalars(
        select(MemberAward.created).where(
            MemberAward.member_id == member.id, MemberAward.event == event
        )
    ).all()
    result = compute_award(
        context.program,
        event,
        AwardContext(
            now=now,
            time_zone=time_zone,
            previous_awards=previous,
            earned_today=earned_on_day(session, member.id, *bounds),
            referee_has_ordered=referee is not None and _has_ordered(session, referee),
        ),
    )
    if referee is not None and session.scalar(
        select(MemberAward.id).where(
            MemberAward.event == "referral", MemberAward.referee_id == referee.id
        )
    ):
        raise LimitExceeded("This referee was referred already.", code="already_awarded")
    expiry = expires_at(context.program, now, time_zone)
    breakdown = [step.as_dict() for step in result.breakdown]
    metadata = {"event": event, "program_version": context.version, "breakdown": breakdown}
    if referee is not None:
        metadata["referee"] = referee.id
    entry = _credit(uow, tenant_id, context, member, event, result.points, metadata, expiry)
    _record(session, tenant_id, context, member, event, result.points, today, entry.id, referee)
    if referee is not None and result.referee_points:
        share = apply_daily_cap(
            context.program, result.referee_points, earned_on_day(session, referee.id, *bounds)
        )
        if share:
            metadata = {"event": "referral", "referrer": member.id,
                        "program_version": context.version}  # fmt: skip
            referee_entry = _credit(
                uow, tenant_id, context, referee, event, share, metadata, expiry
            )
            _record(session, tenant_id, context, referee, "referred", share, today,
                    referee_entry.id, referee)  # fmt: skip
    return entry


def _has_ordered(session, referee: Member) -> bool:
    return (
        session.scalar(select(OrderEarning.id).where(OrderEarning.member_id == referee.id))
        is not None
    )


def _credit(uow, tenant_id, context, member, event, points, metadata, expiry) -> MemberEntry:
    wallet = wallets.member_wallet(uow.session, member, context.asset)
    transaction = ledger.credit(
        uow.session,
        wallet,
        points,
        kind=Kind.AWARD,
        expires_at=expiry,
        metadata=metadata,
    )
    entry = wallets.entry(transaction, wallet, member.id)
    emit(
        uow,
        tenant_id=tenant_id,
        type="points.earned",
        data={**entry_event_data(entry), "event": event},
    )
    return entry


def _record(session, tenant_id, context, member, event, points, day, transaction_id, referee):
    try:
        with session.begin_nested():
            session.add(
                MemberAward(
                    tenant_id=tenant_id,
                    member_id=member.id,
                    event=event,
                    points=points,
                    local_day=day,
                    referee_id=referee.id if referee is not None else None,
                    transaction_id=transaction_id,
                    program_version=context.version,
                )
            )
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise LimitExceeded(f"{event} was awarded already.", code="already_awarded") from None
