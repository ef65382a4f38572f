"""The merchant dashboard's numbers: SQL aggregates over one tenant's ledger.

Read-only, in one tenant-bound unit of work (so the tenant filter and, on PostgreSQL,
row-level security apply). The ledger's own vocabulary gives the figures:

* issued = what left the tenant's issuance account (earn, awards, manual credits);
* redeemed = what reached its redemption account; expired = what reached breakage;
* outstanding liability = the sum of member wallet balances, and its money value under
  the program's redemption rule (``per_amount`` minor units per ``points``, rounded down);
* breakage rate = expired / issued (None before anything was issued).

The daily series groups postings by the UTC day of their transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from jifen.platform import clock
from jifen.platform.db import unit_of_work
from jifen.platform.ledger.model import Account, AccountType, Posting, Transaction

DEFAULT_MONEY_CURRENCY = "CNY"
SERIES_DAYS = 30


@dataclass(frozen=True)
class DayFlow:
    day: date
    issued: int
    redeemed: int


@dataclass(frozen=True)
class Dashboard:
    currency: str
    members: int
    issued: int
    redeemed: int
    expired: int
    outstanding: int
    liability_minor: int | None
    money_currency: str
    series: list[DayFlow]

    @property
    def breakage_rate(self) -> Decimal | None:
        if not self.issued:
            return None
        return Decimal(self.expired) / Decimal(self.issued)


def dashboard(tenant_id: str) -> Dashboard:
    from jifen.tenants.members.model import Member
    from jifen.tenants.members.wallets import currency_code
    from jifen.tenants.program.services import current_program

    with unit_of_work(tenant_id=tenant_id) as uow:
        session = uow.session
        asset = currency_code(session, tenant_id)
        members = session.scalar(select(func.count(Member.id))) or 0
        flows = dict(
            session.execute(
                select(Account.type, func.coalesce(func.sum(Posting.amount), 0))
                .join(Account, Account.id == Posting.account_id)
                .where(
                    Posting.asset == asset,
                    Account.type.in_(
                        [AccountType.ISSUANCE, AccountType.REDEMPTION, AccountType.BREAKAGE]
                    ),
                )
                .group_by(Account.type)
            ).all()
        )
        outstanding = session.scalar(
            select(func.coalesce(func.sum(Account.balance), 0)).where(
                Account.type == AccountType.MEMBER_WALLET, Account.asset == asset
            )
        )
        program, _version = current_program(session, tenant_id)
        series = _series(session, asset)
    rule = program.redemption
    liability = int(outstanding) * rule.per_amount // rule.points if rule.points else None
    return Dashboard(
        currency=asset,
        members=int(members),
        issued=-int(flows.get(AccountType.ISSUANCE, 0)),
        redeemed=int(flows.get(AccountType.REDEMPTION, 0)),
        expired=int(flows.get(AccountType.BREAKAGE, 0)),
        outstanding=int(outstanding),
        liability_minor=liability,
        money_currency=program.earning.currency or DEFAULT_MONEY_CURRENCY,
        series=series,
    )


def _series(session, asset: str) -> list[DayFlow]:
    today = clock.now().date()
    first = today - timedelta(days=SERIES_DAYS - 1)
    day = func.date(Transaction.created)
    rows = session.execute(
        select(day, Account.type, func.sum(Posting.amount))
        .join(Transaction, Transaction.id == Posting.transaction_id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            Posting.asset == asset,
            Account.type.in_([AccountType.ISSUANCE, AccountType.REDEMPTION]),
            Transaction.created >= datetime(first.year, first.month, first.day, tzinfo=UTC),
        )
        .group_by(day, Account.type)
    ).all()
    totals: dict[str, dict[str, int]] = {}
    for when, type_, amount in rows:
        totals.setdefault(str(when)[:10], {})[type_] = int(amount)
    result = []
    for offset in range(SERIES_DAYS):
        current = first + timedelta(days=offset)
        day_totals = totals.get(current.isoformat(), {})
        result.append(
            DayFlow(
                current,
                -day_totals.get(AccountType.ISSUANCE, 0),
                day_totals.get(AccountType.REDEMPTION, 0),
            )
        )
    return result
