"""Holds: two-phase spending (DESIGN.md, The ledger).

A hold reserves points on a wallet: the wallet's ``held`` grows and its available points
shrink, but nothing is posted. It then ends exactly once:

* captured, whole or in part: the captured points are debited (one transaction, lots
  consumed as for any debit) and the rest is released;
* voided: everything is released;
* expired: ``expire_holds`` releases holds whose ``expires_at`` has come. A hold past its
  ``expires_at`` cannot be captured even before the sweep has marked it.

Like ``postings``, these run inside the caller's unit of work and lock the wallet row
(``accounts``) before touching the hold, so a hold never changes state twice; the wallet's
held points and the capture are written by ``postings``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jifen.platform import clock
from jifen.platform.errors import InvalidState, Unprocessable

from . import postings
from .accounts import lock_wallets, tenant_account
from .model import Account, Hold, HoldStatus, Kind
from .postings import PostedTransaction


def place_hold(
    session: Session,
    wallet: Account,
    points: int,
    *,
    expires_at: datetime,
    reference: str | None = None,
) -> Hold:
    """Reserve ``points`` on the wallet until ``expires_at``.

    Raises InsufficientPoints when fewer points are available (nothing changes), and
    Unprocessable for bad points or an ``expires_at`` that is not in the future.
    """
    postings.check_points(points)
    now = clock.now()
    if expires_at.tzinfo is None or expires_at <= now:
        raise Unprocessable("A hold must expire in the future.", param="expires_at")
    wallet = lock_wallets(session, [wallet])[wallet.id]
    postings.reserve(session, wallet, points)
    hold = Hold(
        tenant_id=wallet.tenant_id,
        wallet_id=wallet.id,
        points=points,
        captured_points=0,
        status=HoldStatus.PENDING.value,
        expires_at=expires_at,
        reference=reference,
        created=now,
    )
    session.add(hold)
    session.flush()
    return hold


def capture_hold(
    session: Session,
    hold: Hold,
    points: int | None = None,
    *,
    kind: str = Kind.CAPTURE,
    sink_type: str = "redemption",
    reference: str | None = None,
    metadata: dict | None = None,
) -> PostedTransaction:
    """Debit ``points`` (default: all) of a pending hold and release the rest.

    Raises InvalidState if the hold is not pending or has expired, Unprocessable if
    ``points`` is not a whole number from 1 to what is held.
    """
    wallet_id, asset, tenant_id = _wallet_of(session, hold)
    sink = tenant_account(session, tenant_id=tenant_id, asset=asset, type=sink_type)
    wallet = lock_wallets(session, [wallet_id])[wallet_id]
    hold = _pending(session, hold, action="capture")
    points = hold.points if points is None else postings.check_points(points)
    if points > hold.points:
        raise Unprocessable(
            f"Cannot capture {points} points; the hold is for {hold.points}.",
            code="capture_exceeds_hold",
            param="points",
        )
    transaction = postings.spend(
        session,
        wallet,
        points,
        sink=sink,
        kind=kind,
        reference=reference if reference is not None else hold.reference,
        metadata={**(metadata or {}), "hold": hold.id},
        releasing=hold.points,
    )
    session.flush()
    hold.status = HoldStatus.CAPTURED.value
    hold.captured_points = points
    hold.capture_transaction_id = transaction.id
    hold.closed_at = clock.now()
    session.flush()
    return transaction


def void_hold(session: Session, hold: Hold) -> Hold:
    """Release all points of a pending hold.

    Raises InvalidState if the hold is not pending.
    """
    wallet_id, _, _ = _wallet_of(session, hold)
    wallet = lock_wallets(session, [wallet_id])[wallet_id]
    hold = _pending(session, hold, action="void", allow_due=True)
    postings.release(session, wallet, hold.points)
    hold.status = HoldStatus.VOIDED.value
    hold.closed_at = clock.now()
    session.flush()
    return hold


def expire_holds(session: Session, *, now: datetime) -> int:
    """Release every pending hold (of the session's tenant, or of all tenants in a
    platform unit of work) whose ``expires_at <= now``; returns how many expired.
    Safe to re-run."""
    due = (
        select(Hold)
        .where(Hold.status == HoldStatus.PENDING.value, Hold.expires_at <= now)
        .order_by(Hold.wallet_id, Hold.id)
    )
    wallet_ids = {hold.wallet_id for hold in session.scalars(due)}
    if not wallet_ids:
        return 0
    wallets = lock_wallets(session, wallet_ids)
    expired = 0
    locked_due = due.where(Hold.wallet_id.in_(wallet_ids))
    for hold in session.scalars(locked_due.execution_options(populate_existing=True)).all():
        postings.release(session, wallets[hold.wallet_id], hold.points)
        hold.status = HoldStatus.EXPIRED.value
        hold.closed_at = now
        expired += 1
    session.flush()
    return expired


def _wallet_of(session: Session, hold: Hold) -> tuple[str, str, str]:
    row = session.execute(
        select(Account.id, Account.asset, Account.tenant_id).where(Account.id == hold.wallet_id)
    ).one()
    return row.id, row.asset, row.tenant_id


def _pending(session: Session, hold: Hold, *, action: str, allow_due: bool = False) -> Hold:
    fresh = session.scalars(
        select(Hold).where(Hold.id == hold.id).execution_options(populate_existing=True)
    ).one()
    if fresh.status != HoldStatus.PENDING.value:
        raise InvalidState(f"Cannot {action} a {fresh.status} hold.", param="hold")
    if not allow_due and fresh.expires_at <= clock.now():
        raise InvalidState(f"Cannot {action} an expired hold.", param="hold")
    return fresh
