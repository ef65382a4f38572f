"""The tenants' invariant for ``jifen audit``: one currency per tenant."""

from __future__ import annotations

from sqlalchemy import func, select

from jifen.platform.audit import invariant
from jifen.platform.db import unit_of_work

from .model import Currency, Tenant


@invariant("every tenant owns exactly one currency")
def one_currency_per_tenant() -> list[str]:
    with unit_of_work(platform=True) as uow:
        rows = uow.session.execute(
            select(Tenant.id, func.count(Currency.id))
            .outerjoin(Currency, Currency.tenant_id == Tenant.id)
            .group_by(Tenant.id)
            .having(func.count(Currency.id) != 1)
        ).all()
    return [f"tenant {tenant_id} has {count} currencies" for tenant_id, count in rows]
