"""Test helpers: tenants without HTTP, and ``Books`` - one tenant's ledger where every
call runs in its own unit of work (retried on deadlock) and commits, as services do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from factories import unique
from sqlalchemy import select

from jifen.platform import ledger
from jifen.platform.db import run_in_transaction, unit_of_work
from jifen.platform.ledger import audit
from jifen.platform.ledger.model import Account, Hold, Lot, Transaction
from jifen.tenants.model import Currency, Tenant

T = TypeVar("T")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def new_tenant() -> tuple[str, str]:
    """A merchant tenant and its currency code, inserted directly."""
    with unit_of_work(platform=True) as uow:
        tenant = Tenant(name="Ledger test", slug=unique("ledger-"), kind="merchant")
        uow.session.add(tenant)
        uow.session.flush()
        currency = Currency(tenant_id=tenant.id, code=unique("L").upper(), name="Points")
        uow.session.add(currency)
        uow.commit()
        return tenant.id, currency.code


class Books:
    def __init__(self, tenant_id: str, asset: str):
        self.tenant_id = tenant_id
        self.asset = asset

    def run(self, fn: Callable[..., T]) -> T:
        """``fn(session)`` in a committed unit of work of this tenant, retried on deadlock."""

        def attempt() -> T:
            with unit_of_work(tenant_id=self.tenant_id) as uow:
                result = fn(uow.session)
                uow.commit()
                return result

        return run_in_transaction(attempt)

    def wallet(self, owner: str | None = None) -> str:
        owner = owner or unique("mem_")
        return self.run(
            lambda s: (
                ledger.open_wallet(s, tenant_id=self.tenant_id, asset=self.asset, owner_id=owner).id
            )
        )

    def _account(self, session, wallet_id: str) -> Account:
        return session.get(Account, wallet_id)

    def credit(self, wallet_id: str, points: Any, *, expires_at=None, kind="earn", **kw) -> str:
        return self.run(
            lambda s: (
                ledger.credit(
                    s, self._account(s, wallet_id), points, kind=kind, expires_at=expires_at, **kw
                ).id
            )
        )

    def debit(self, wallet_id: str, points: Any, *, kind="redeem", **kw) -> str:
        return self.run(
            lambda s: ledger.debit(s, self._account(s, wallet_id), points, kind=kind, **kw).id
        )

    def transfer(self, from_id: str, to_id: str, points: Any) -> str:
        return self.run(
            lambda s: (
                ledger.transfer(s, self._account(s, from_id), self._account(s, to_id), points).id
            )
        )

    def reverse(self, transaction_id: str, reason: str | None = None) -> str:
        return self.run(
            lambda s: ledger.reverse(s, s.get(Transaction, transaction_id), reason=reason).id
        )

    def hold(self, wallet_id: str, points: Any, *, expires_at: datetime) -> str:
        return self.run(
            lambda s: (
                ledger.place_hold(s, self._account(s, wallet_id), points, expires_at=expires_at).id
            )
        )

    def capture(self, hold_id: str, points: Any = None) -> str:
        return self.run(lambda s: ledger.capture_hold(s, s.get(Hold, hold_id), points).id)

    def void(self, hold_id: str) -> str:
        return self.run(lambda s: ledger.void_hold(s, s.get(Hold, hold_id)).status)

    def expire(self, now: datetime) -> list[str]:
        return self.run(
            lambda s: [t.id for t in ledger.expire_lots(s, tenant_id=self.tenant_id, now=now)]
        )

    def expire_holds(self, now: datetime) -> int:
        return self.run(lambda s: ledger.expire_holds(s, now=now))

    def balance(self, wallet_id: str, *, now: datetime | None = None) -> ledger.Balance:
        from jifen.platform import clock

        return self.run(
            lambda s: ledger.wallet_balance(s, self._account(s, wallet_id), now=now or clock.now())
        )

    def cached(self, wallet_id: str) -> tuple[int, int]:
        """(balance, held) as cached on the wallet row."""
        return self.run(lambda s: (lambda a: (a.balance, a.held))(self._account(s, wallet_id)))

    def lots(self, wallet_id: str) -> list[tuple[int, int, datetime | None]]:
        """(points, remaining, expires_at) of every lot, by creation time, points, expiry."""
        rows = self.run(
            lambda s: [
                (lot.created, lot.points, lot.remaining, lot.expires_at)
                for lot in s.scalars(select(Lot).where(Lot.wallet_id == wallet_id))
            ]
        )
        return [
            row[1:] for row in sorted(rows, key=lambda row: (*row[:2], row[3] or at(9999, 1, 1)))
        ]

    def hold_state(self, hold_id: str) -> tuple[str, int]:
        return self.run(lambda s: (lambda h: (h.status, h.captured_points))(s.get(Hold, hold_id)))

    def postings(self, transaction_id: str) -> list[tuple[str, int]]:
        return self.run(
            lambda s: [
                (p.account_id, p.amount) for p in s.get(Transaction, transaction_id).postings
            ]
        )

    def count(self, model) -> int:
        from sqlalchemy import func

        return self.run(lambda s: s.scalar(select(func.count()).select_from(model)))

    def assert_clean(self) -> None:
        assert audit.violations(self.tenant_id) == {}
