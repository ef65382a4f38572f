"""``jifen audit``: every invariant the platform promises, checked against the database.

Areas register checks with ``@invariant``; each returns a list of human-readable
violations (empty when all is well). The ledger registers its own (DESIGN.md, The
ledger); the foundation checks what it owns.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from sqlalchemy import func, select

from .db import unit_of_work

AUDIT_MODULES = [
    "jifen.platform.audit",
    "jifen.platform.ledger.audit",
    "jifen.exchange.audit",
    "jifen.settlement.audit",
]

_checks: dict[str, Callable[[], list[str]]] = {}


def invariant(name: str) -> Callable:
    def register(check: Callable[[], list[str]]) -> Callable[[], list[str]]:
        _checks[name] = check
        return check

    return register


def run_all() -> dict[str, list[str]]:
    for module in AUDIT_MODULES:
        importlib.import_module(module)
    return {name: check() for name, check in _checks.items()}


@invariant("idempotency keys have at most one effect")
def _one_record_per_key() -> list[str]:
    from .idempotency import IdempotencyRecord

    with unit_of_work(platform=True) as uow:
        duplicates = uow.session.execute(
            select(IdempotencyRecord.caller, IdempotencyRecord.key)
            .group_by(IdempotencyRecord.caller, IdempotencyRecord.key)
            .having(func.count() > 1)
        ).all()
    return [f"key {key!r} of {caller} is stored {2}+ times" for caller, key in duplicates]


@invariant("every tenant owns exactly one currency")
def _one_currency_per_tenant() -> list[str]:
    from jifen.tenants.model import Currency, Tenant

    with unit_of_work(platform=True) as uow:
        rows = uow.session.execute(
            select(Tenant.id, func.count(Currency.id))
            .outerjoin(Currency, Currency.tenant_id == Tenant.id)
            .group_by(Tenant.id)
            .having(func.count(Currency.id) != 1)
        ).all()
    return [f"tenant {tenant_id} has {count} currencies" for tenant_id, count in rows]
