"""Small reads the console pages need beyond the areas' services: names for pickers, a
member's lots, and the operator's list of tenants."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from jifen.platform.db import unit_of_work


def tenant_names(tenant_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """tenant id -> (name, time zone) for the given ids."""
    from jifen.tenants.model import Tenant

    ids = list(tenant_ids)
    if not ids:
        return {}
    with unit_of_work(platform=True) as uow:
        rows = uow.session.execute(
            select(Tenant.id, Tenant.name, Tenant.time_zone).where(Tenant.id.in_(ids))
        ).all()
    return {row.id: (row.name, row.time_zone) for row in rows}


def member_lots(tenant_id: str, member_id: str) -> list:
    """The member's open lots (points left, expiry), nearest expiry first.
    Raises NotFound for an unknown member or another tenant's."""
    from jifen.platform.ledger.model import Lot
    from jifen.tenants.members.services import load_member
    from jifen.tenants.members.wallets import member_wallet

    with unit_of_work(tenant_id=tenant_id) as uow:
        member = load_member(uow.session, member_id)
        wallet = member_wallet(uow.session, member)
        return list(
            uow.session.scalars(
                select(Lot)
                .where(Lot.wallet_id == wallet.id, Lot.remaining > 0)
                .order_by(Lot.expires_at.is_(None), Lot.expires_at, Lot.created)
                .limit(100)
            )
        )


@dataclass(frozen=True)
class TenantRow:
    id: str
    name: str
    slug: str
    kind: str
    status: str
    plan: str
    billing_status: str
    members: int
    created: datetime


def tenant_overview() -> list[TenantRow]:
    """Every tenant with its billing plan and status (``platform.billing``; the default
    plan, active, without an account) and its member count, newest first."""
    from jifen.platform.billing.model import BillingAccount
    from jifen.platform.billing.plans import DEFAULT_PLAN
    from jifen.platform.billing.states import Status
    from jifen.tenants.members.model import Member
    from jifen.tenants.model import Tenant

    members = (
        select(Member.tenant_id, func.count(Member.id).label("n"))
        .group_by(Member.tenant_id)
        .subquery()
    )
    with unit_of_work(platform=True) as uow:
        rows = uow.session.execute(
            select(Tenant, BillingAccount.plan, BillingAccount.status, members.c.n)
            .outerjoin(BillingAccount, BillingAccount.tenant_id == Tenant.id)
            .outerjoin(members, members.c.tenant_id == Tenant.id)
            .order_by(Tenant.created.desc(), Tenant.id)
        ).all()
    return [
        TenantRow(
            t.id,
            t.name,
            t.slug,
            t.kind,
            t.status,
            plan or DEFAULT_PLAN,
            status or Status.ACTIVE.value,
            n or 0,
            t.created,
        )
        for t, plan, status, n in rows
    ]
