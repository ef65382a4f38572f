"""Expiry reminders at work: ``points.expiring`` events for lots about to expire.

For every tenant, every open lot of a member wallet that expires within the program's
farthest reminder threshold (default 30 days) is checked with
``tenants.program.reminders.reminder_due``. A due reminder emits one ``points.expiring``
event (member, lot, points left, ``expires_at``, ``days_before``) and writes an
``ExpiryReminder`` row; thresholds that passed unsent are recorded as ``skipped``. The
row's unique ``(tenant_id, lot_id, days_before)`` makes each reminder go out at most
once, even when two runs overlap: the second one's insert fails and its unit of work
(event included) rolls back.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from jifen.platform import clock
from jifen.platform.db import is_unique_violation, run_in_transaction, unit_of_work
from jifen.platform.ledger.model import Account, AccountType, Lot
from jifen.platform.webhooks.events import emit
from jifen.tenants.program.history import ExpiryReminder
from jifen.tenants.program.reminders import reminder_due
from jifen.tenants.program.services import current_program

log = logging.getLogger(__name__)
MAX_THRESHOLD = timedelta(days=366)


def send_all_reminders(now: datetime | None = None) -> dict:
    """Send what is due in every tenant (one unit of work per tenant). Raises
    RuntimeError naming tenants that failed after the others were done."""
    now = now or clock.now()
    with unit_of_work(platform=True) as uow:
        tenant_ids = sorted(
            set(
                uow.session.scalars(
                    select(Lot.tenant_id)
                    .where(
                        Lot.remaining > 0,
                        Lot.expires_at.is_not(None),
                        Lot.expires_at > now,
                        Lot.expires_at <= now + MAX_THRESHOLD,
                    )
                    .distinct()
                )
            )
        )
    summary = {"now": clock.iso(now), "tenants": 0, "sent": 0, "skipped": 0}
    failed = []
    for tenant_id in tenant_ids:
        try:
            sent, skipped = run_in_transaction(lambda t=tenant_id: send_reminders(t, now))
        except Exception:
            log.exception("expiry reminders failed for tenant %s", tenant_id)
            failed.append(tenant_id)
            continue
        summary["tenants"] += 1
        summary["sent"] += sent
        summary["skipped"] += skipped
    if failed:
        raise RuntimeError(f"expiry reminders failed for {', '.join(failed)}; summary {summary}")
    return summary


def send_reminders(tenant_id: str, now: datetime) -> tuple[int, int]:
    """Reminders sent and skipped for one tenant at ``now``."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        session = uow.session
        program, _version = current_program(session, tenant_id)
        if not program.reminders:
            return 0, 0
        horizon = now + timedelta(days=max(program.reminders))
        lots = session.execute(
            select(Lot, Account.owner_id, Account.asset)
            .join(Account, Account.id == Lot.wallet_id)
            .where(
                Account.type == AccountType.MEMBER_WALLET.value,
                Lot.remaining > 0,
                Lot.expires_at.is_not(None),
                Lot.expires_at > now,
                Lot.expires_at <= horizon,
            )
            .order_by(Lot.expires_at, Lot.id)
        ).all()
        if not lots:
            return 0, 0
        already: dict[str, set[int]] = {}
        for lot_id, days in session.execute(
            select(ExpiryReminder.lot_id, ExpiryReminder.days_before).where(
                ExpiryReminder.lot_id.in_([lot.id for lot, _, _ in lots])
            )
        ):
            already.setdefault(lot_id, set()).add(days)
        sent = skipped = 0
        for lot, member_id, asset in lots:
            due = reminder_due(program, lot.expires_at, lot.remaining, already.get(lot.id, ()), now)
            if due is None:
                continue
            event = emit(
                uow,
                tenant_id=tenant_id,
                type="points.expiring",
                data={
                    "member": member_id,
                    "lot": lot.id,
                    "points": lot.remaining,
                    "currency": asset,
                    "expires_at": clock.iso(lot.expires_at),
                    "days_before": due.days_before,
                },
            )
            rows = [(due.days_before, "sent", event.id)]
            rows += [(days, "skipped", None) for days in due.skipped]
            for days, status, event_id in rows:
                session.add(
                    ExpiryReminder(
                        tenant_id=tenant_id,
                        lot_id=lot.id,
                        member_id=member_id,
                        days_before=days,
                        status=status,
                        points=lot.remaining,
                        event_id=event_id,
                    )
                )
            sent += 1
            skipped += len(due.skipped)
        try:
            session.flush()
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            log.info("expiry reminders for %s were sent by another run", tenant_id)
            return 0, 0
        uow.commit()
        return sent, skipped
