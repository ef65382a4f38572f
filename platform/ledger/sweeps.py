"""The expiry sweep: release expired holds, then move expired lots' points to breakage.

One unit of work per tenant (retried on deadlock), so one large tenant never holds every
other tenant's wallets locked, and a failure in one tenant does not stop the others.
Holds go first so that points they stop protecting can expire in the same run. Running
the sweep twice for the same moment changes nothing the second time.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, union

from jifen.platform import clock
from jifen.platform.db import run_in_transaction, unit_of_work

from .holds import expire_holds
from .model import Hold, HoldStatus, Lot
from .postings import expire_lots

log = logging.getLogger(__name__)


def sweep_expired(*, now: datetime | None = None) -> dict:
    """Expire due holds and lots of every tenant as of ``now`` (default: the clock).

    Returns a JSON-able summary. Raises RuntimeError naming the tenants that failed after
    the others were swept (the job is then retried; what succeeded is not redone).
    """
    now = now or clock.now()
    summary = {"now": clock.iso(now), "tenants": 0, "transactions": 0, "points": 0, "holds": 0}
    failed = []
    for tenant_id in _tenants_with_due_work(now):
        try:
            transactions, points, holds = run_in_transaction(lambda t=tenant_id: _sweep(t, now))
        except Exception:
            log.exception("expiry sweep failed for tenant %s", tenant_id)
            failed.append(tenant_id)
            continue
        summary["tenants"] += 1
        summary["transactions"] += transactions
        summary["points"] += points
        summary["holds"] += holds
    if failed:
        raise RuntimeError(f"expiry sweep failed for {', '.join(failed)}; summary {summary}")
    return summary


def _tenants_with_due_work(now: datetime) -> list[str]:
    lots = select(Lot.tenant_id).where(Lot.remaining > 0, Lot.expires_at <= now)
    holds = select(Hold.tenant_id).where(
        Hold.status == HoldStatus.PENDING.value, Hold.expires_at <= now
    )
    with unit_of_work(platform=True) as uow:
        return sorted(uow.session.scalars(union(lots, holds)))


def _sweep(tenant_id: str, now: datetime) -> tuple[int, int, int]:
    with unit_of_work(tenant_id=tenant_id) as uow:
        holds = expire_holds(uow.session, now=now)
        transactions = expire_lots(uow.session, tenant_id=tenant_id, now=now)
        points = sum(p.amount for t in transactions for p in t.postings if p.amount > 0)
        uow.commit()
        return len(transactions), points, holds
