"""Manual adjustments: staff add or take away a member's points by hand, with a reason,
and above the program's threshold only with a second person's approval.

The rule (``needs_approval``): an adjustment of more than the program's
``adjustments.approval_threshold`` points, either way, waits as ``pending_approval``;
at or below it, it posts at once. Waiting adjustments are approved (posted) or rejected
by someone. The requester and deciders are actors: a staff user (``usr_…``, from the
console) or an API client (``cli_…``). Approving needs a staff user — a person — other
than the requester: an API client is refused (403 ``approval_requires_staff``), since a
tenant can hold several clients and whoever manages them could otherwise approve their
own request through a second one; the requester is refused (403 ``self_approval``).
Rejecting needs neither (a requester or a client may withdraw a request). Deciding
anything but a pending adjustment is 409 ``invalid_state``.

Posting asks the ledger: a credit from the tenant's issuance account (a lot expiring by
the program's policy, as a manual award would), a debit to its redemption account
(nearest expiry first), both of kind ``adjust`` with the adjustment's id as reference
and ``adjustment``, ``reason``, ``requested_by`` and ``approved_by`` in the metadata.
A debit beyond the available balance is 422 ``insufficient_points`` (checked when asked
and again when approved); a frozen member is 422 ``member_frozen``. Each use case is one
unit of work: a refusal changes nothing. Approval locks the adjustment's row first, so
two approvers racing post it once (the loser sees ``invalid_state``); the table's unique
``transaction_id`` and CHECKs hold "posted once" and four eyes in the database too.

A manual award (``POST /v1/awards`` with ``event: manual``, ``manual_award``) follows
the same rule, since it too creates points by hand: up to the threshold it posts at once
as an award (kind ``award``); above it, it becomes an adjustment left
``pending_approval``, nothing posted, decided like any other (approved, it posts as an
adjustment).

The approver is checked twice: ``check_decision`` (pure) refuses API clients and the
requester, and the use case refuses a ``usr_…`` that is no live staff user of the
adjustment's tenant (403 ``approval_requires_staff``).

The ``adjustments`` table is the audit trail: every request and decision with its actor
and time, listed newest first.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jifen.platform import clock, ledger
from jifen.platform.auth.model import StaffRole, StaffUser
from jifen.platform.db import UnitOfWork, run_in_transaction, unit_of_work
from jifen.platform.errors import Conflict, Forbidden, InsufficientPoints, NotFound, Unprocessable
from jifen.platform.ids import new_id
from jifen.platform.ledger.model import Kind
from jifen.platform.paging import cursor_page
from jifen.platform.webhooks.events import emit
from jifen.tenants.program.expiry import expires_at

from . import wallets
from .model import Adjustment, AdjustmentStatus, Member
from .points import ProgramContext, program_context
from .services import load_active_member, looks_like_id
from .wallets import MemberEntry, entry_event_data

MAX_REASON = 500
MAX_POINTS = ledger.MAX_POINTS
STAFF_PREFIX = "usr_"  # the actor prefix of a staff user (a person)

# --- the rules -------------------------------------------------------------------------


def needs_approval(points: int, threshold: int) -> bool:
    """Does an adjustment of ``points`` (signed) wait for a second person?"""
    return abs(points) > threshold


def check_points(points: object) -> int:
    """Signed, non-zero, whole, within JSON's exact range. Raises Unprocessable."""
    if isinstance(points, bool) or not isinstance(points, int):
        raise Unprocessable("Points must be a whole number.", code="invalid_points", param="points")
    if points == 0:
        raise Unprocessable("Points must not be 0.", code="invalid_points", param="points")
    if abs(points) > MAX_POINTS:
        raise Unprocessable(
            f"Points must lie within ±{MAX_POINTS}.", code="invalid_points", param="points"
        )
    return points


def check_reason(reason: object, param: str = "reason") -> str:
    """The reason without surrounding blanks. Raises Unprocessable if none is left or it
    is longer than ``MAX_REASON``."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise Unprocessable("Give a reason.", param=param)
    if len(text) > MAX_REASON:
        raise Unprocessable(f"A reason has at most {MAX_REASON} characters.", param=param)
    return text


def is_staff(actor: str) -> bool:
    """Is ``actor`` a staff user (a person) rather than an API client?"""
    return (
        isinstance(actor, str) and actor.startswith(STAFF_PREFIX) and len(actor) > len(STAFF_PREFIX)
    )


def check_decision(adjustment: Adjustment, actor: str, *, approve: bool) -> None:
    """May ``actor`` approve (or reject) ``adjustment`` now?

    Raises Forbidden (``approval_requires_staff``) when anyone but a staff user
    approves, Conflict (``invalid_state``) unless it is pending, and Forbidden
    (``self_approval``) when the requester approves their own.
    """
    if approve and not is_staff(actor):
        raise Forbidden(
            "An adjustment must be approved by a signed-in staff user, not an API client.",
            code="approval_requires_staff",
        )
    if adjustment.status != AdjustmentStatus.PENDING_APPROVAL:
        raise Conflict(
            f"The adjustment is {adjustment.status}; only a pending one can be decided.",
            code="invalid_state",
        )
    if approve and adjustment.requested_by == actor:
        raise Forbidden(
            "An adjustment must be approved by someone other than who requested it.",
            code="self_approval",
        )


# --- use cases -------------------------------------------------------------------------


def request_adjustment(
    tenant_id: str, *, member_id: str, points: int, reason: str, actor: str
) -> Adjustment:
    """Adjust a member's points by ``points`` (negative takes away): posted at once up to
    the program's threshold, else left ``pending_approval``.

    Raises Unprocessable (bad points or reason), NotFound (unknown or foreign member),
    MemberFrozen, and InsufficientPoints for a debit beyond the available balance.
    """
    points = check_points(points)
    reason = check_reason(reason)

    def attempt() -> Adjustment:
        with unit_of_work(tenant_id=tenant_id) as uow:
            session = uow.session
            context = program_context(session, tenant_id)
            member = load_active_member(session, member_id, "member_id")
            threshold = context.program.adjustments.approval_threshold
            if needs_approval(points, threshold):
                if points < 0:
                    _refuse_overdraft(session, member, context, -points)
                adjustment = _ask_for_approval(uow, member, points, reason, threshold, actor)
            else:
                adjustment = _adjustment(member, points, reason, threshold, actor)
                _post(uow, context, member, adjustment)
                session.add(adjustment)
                session.flush()
            uow.commit(adjustment)
            return adjustment

    return run_in_transaction(attempt)


def manual_award(
    tenant_id: str, *, member_id: str, points: int, reason: str, actor: str
) -> MemberEntry | Adjustment:
    """Give a member ``points`` by hand (``POST /v1/awards``, ``event: manual``): up to
    the program's threshold posted at once as an award (the member's transaction); above
    it an adjustment left ``pending_approval`` with nothing posted, for a second person.

    Raises Unprocessable (points not positive, a blank reason), NotFound (unknown or
    foreign member) and MemberFrozen.
    """
    points = check_points(points)
    if points < 0:
        raise Unprocessable(
            "A manual award gives points; take points away with an adjustment.",
            code="invalid_points",
            param="points",
        )
    reason = check_reason(reason)

    def attempt() -> MemberEntry | Adjustment:
        with unit_of_work(tenant_id=tenant_id) as uow:
            context = program_context(uow.session, tenant_id)
            member = load_active_member(uow.session, member_id, "member_id")
            threshold = context.program.adjustments.approval_threshold
            result: MemberEntry | Adjustment
            if needs_approval(points, threshold):
                result = _ask_for_approval(uow, member, points, reason, threshold, actor)
            else:
                result = _award_now(uow, context, member, points, reason)
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


def approve_adjustment(tenant_id: str, adjustment_id: str, actor: str) -> Adjustment:
    """Post a pending adjustment, by a staff user of the tenant other than its requester.

    Raises NotFound, Forbidden (``approval_requires_staff``: ``actor`` is not a live
    staff user of the tenant; ``self_approval``), Conflict (``invalid_state``: not
    pending), MemberFrozen and InsufficientPoints; the adjustment then stays pending and
    nothing is posted.
    """

    def attempt() -> Adjustment:
        with unit_of_work(tenant_id=tenant_id) as uow:
            adjustment = _load(uow.session, adjustment_id, lock=True)
            check_decision(adjustment, actor, approve=True)
            _refuse_unless_staff_of(uow.session, tenant_id, actor)
            context = program_context(uow.session, tenant_id)
            member = load_active_member(uow.session, adjustment.member_id, "member")
            adjustment.approved_by = actor
            _post(uow, context, member, adjustment)
            uow.session.flush()
            uow.commit(adjustment)
            return adjustment

    return run_in_transaction(attempt)


def reject_adjustment(
    tenant_id: str, adjustment_id: str, actor: str, *, reason: str | None = None
) -> Adjustment:
    """Refuse a pending adjustment (its requester may withdraw it this way); nothing is
    posted. Raises NotFound, Conflict (``invalid_state``) and Unprocessable (a blank or
    over-long ``reason``)."""
    reason = None if reason is None else check_reason(reason)

    def attempt() -> Adjustment:
        with unit_of_work(tenant_id=tenant_id) as uow:
            adjustment = _load(uow.session, adjustment_id, lock=True)
            check_decision(adjustment, actor, approve=False)
            adjustment.status = AdjustmentStatus.REJECTED.value
            adjustment.rejected_by = actor
            adjustment.rejection_reason = reason
            adjustment.decided_at = clock.now()
            uow.session.flush()
            _emit(uow, adjustment, "adjustment.rejected")
            uow.commit(adjustment)
            return adjustment

    return run_in_transaction(attempt)


def get_adjustment(tenant_id: str, adjustment_id: str) -> Adjustment:
    """Raises NotFound (also for another tenant's adjustment)."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        return _load(uow.session, adjustment_id)


def list_adjustments(tenant_id: str, args: dict) -> dict:
    """The audit trail, newest first; ``member_id`` and ``status`` filter. Raises NotFound
    for an unknown ``starting_after``."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        statement = select(Adjustment)
        if args.get("member_id") is not None:
            statement = statement.where(Adjustment.member_id == args["member_id"])
        if args.get("status") is not None:
            statement = statement.where(Adjustment.status == args["status"])
        return cursor_page(uow.session, statement, Adjustment, args)


# --- inside a unit of work -------------------------------------------------------------


def _load(session: Session, adjustment_id: str, *, lock: bool = False) -> Adjustment:
    adjustment = None
    if looks_like_id(adjustment_id):
        query = select(Adjustment).where(Adjustment.id == adjustment_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        adjustment = session.scalar(query)
    if adjustment is None:
        raise NotFound(f"No such adjustment: {adjustment_id}", param="adjustment")
    return adjustment


def _adjustment(member: Member, points: int, reason: str, threshold: int, actor: str) -> Adjustment:
    return Adjustment(
        id=new_id("adj"),
        tenant_id=member.tenant_id,
        member_id=member.id,
        points=points,
        reason=reason,
        status=AdjustmentStatus.PENDING_APPROVAL.value,
        approval_threshold=threshold,
        requested_by=actor,
    )


def _ask_for_approval(
    uow: UnitOfWork, member: Member, points: int, reason: str, threshold: int, actor: str
) -> Adjustment:
    """Record a pending adjustment; nothing is posted until someone approves it."""
    adjustment = _adjustment(member, points, reason, threshold, actor)
    uow.session.add(adjustment)
    uow.session.flush()
    _emit(uow, adjustment, "adjustment.requested")
    return adjustment


def _refuse_unless_staff_of(session: Session, tenant_id: str, actor: str) -> None:
    """Raises Forbidden (``approval_requires_staff``) unless ``actor`` is a staff user,
    not disabled, with a live role in ``tenant_id``."""
    role = session.scalar(
        select(StaffRole.id)
        .join(StaffUser, StaffUser.id == StaffRole.user_id)
        .where(
            StaffRole.tenant_id == tenant_id,
            StaffRole.user_id == actor,
            StaffRole.disabled_at.is_(None),
            StaffUser.disabled_at.is_(None),
        )
    )
    if role is None:
        raise Forbidden(
            "An adjustment must be approved by a staff user of this tenant.",
            code="approval_requires_staff",
        )


def _award_now(
    uow: UnitOfWork, context: ProgramContext, member: Member, points: int, reason: str
) -> MemberEntry:
    """Post a manual award of ``points``: a credit of kind ``award`` from the tenant's
    issuance account, in a lot expiring by the program's policy."""
    wallet = wallets.member_wallet(uow.session, member, context.asset)
    transaction = ledger.credit(
        uow.session,
        wallet,
        points,
        kind=Kind.AWARD,
        expires_at=expires_at(context.program, clock.now(), context.time_zone),
        metadata={"event": "manual", "reason": reason, "program_version": context.version},
    )
    entry = wallets.entry(transaction, wallet, member.id)
    emit(uow, tenant_id=member.tenant_id, type="points.earned", data=entry_event_data(entry))
    return entry


def _refuse_overdraft(session: Session, member: Member, context: ProgramContext, points: int):
    wallet = wallets.member_wallet(session, member, context.asset)
    available = ledger.wallet_balance(session, wallet, now=clock.now()).available
    if available < points:
        raise InsufficientPoints(
            f"The member has {available} points available, fewer than {points}.",
            param="points",
        )


def _post(uow: UnitOfWork, context: ProgramContext, member: Member, adjustment: Adjustment):
    """Post ``adjustment`` to the member's wallet and mark it posted."""
    session = uow.session
    wallet = wallets.member_wallet(session, member, context.asset)
    now = clock.now()
    metadata = {
        "adjustment": adjustment.id,
        "reason": adjustment.reason,
        "requested_by": adjustment.requested_by,
        "approved_by": adjustment.approved_by,
    }
    if adjustment.points > 0:
        transaction = ledger.credit(
            session,
            wallet,
            adjustment.points,
            kind=Kind.ADJUST,
            reference=adjustment.id,
            expires_at=expires_at(context.program, now, context.time_zone),
            metadata=metadata,
        )
        event = "points.earned"
    else:
        transaction = ledger.debit(
            session,
            wallet,
            -adjustment.points,
            kind=Kind.ADJUST,
            reference=adjustment.id,
            metadata=metadata,
        )
        event = "points.redeemed"
    adjustment.status = AdjustmentStatus.POSTED.value
    adjustment.transaction_id = transaction.id
    adjustment.decided_at = now
    entry = wallets.entry(transaction, wallet, member.id)
    emit(uow, tenant_id=member.tenant_id, type=event, data=entry_event_data(entry))
    _emit(uow, adjustment, "adjustment.posted")


def _emit(uow: UnitOfWork, adjustment: Adjustment, type: str) -> None:
    emit(
        uow,
        tenant_id=adjustment.tenant_id,
        type=type,
        data={
            "adjustment": adjustment.id,
            "member": adjustment.member_id,
            "points": adjustment.points,
            "status": adjustment.status,
            "reason": adjustment.reason,
            "requested_by": adjustment.requested_by,
            "approved_by": adjustment.approved_by,
            "rejected_by": adjustment.rejected_by,
            "transaction": adjustment.transaction_id,
        },
    )
