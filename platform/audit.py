"""``jifen audit``: every invariant the platform promises, checked against the database.

Each area marks its checks with ``@invariant``; each returns a list of human-readable
violations (empty when all is well). The composition root (``platform.shell``) registers
the modules holding them at app creation (``register_checks``). The ledger has its own
(DESIGN.md, The ledger); the foundation checks what it owns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType

from flask import Flask, current_app
from sqlalchemy import func, select

from . import registry
from .db import unit_of_work

Check = Callable[[], list[str]]


@dataclass(frozen=True)
class Invariant:
    name: str
    check: Check


def invariant(name: str) -> Callable[[Check], Check]:
    """Mark ``check`` as the audit of invariant ``name``."""

    def mark(check: Check) -> Check:
        return registry.mark(check, "invariant", Invariant(name, check))

    return mark


def register_checks(app: Flask, modules: Iterable[ModuleType]) -> None:
    """Register the checks defined in ``modules`` (``app.extensions["jifen.audit"]``)."""
    checks = app.extensions.setdefault("jifen.audit", {})
    for found in registry.marked(modules, "invariant"):
        checks[found.name] = found.check


def checks() -> dict[str, Check]:
    """The app's checks by invariant name."""
    return dict(current_app.extensions["jifen.audit"])


def run_all() -> dict[str, list[str]]:
    return {name: check() for name, check in checks().items()}


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
