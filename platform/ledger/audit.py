"""The ledger's invariants for ``jifen audit`` (DESIGN.md, The ledger).

Each check is one SQL aggregate over every tenant (a platform unit of work) and returns
the violations it finds, one readable line each. Tests run them after every scenario
(``violations()``), so a bug that slips past Python's checks and the database's
constraints is still caught here.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from jifen.platform.audit import invariant
from jifen.platform.db import unit_of_work

from .model import Account, AccountType, Hold, HoldStatus, Lot, LotConsumption, Posting, Transaction

WALLET = AccountType.MEMBER_WALLET.value
LIMIT = 50


def _rows(query, tenant_id: str | None) -> list:
    scope = {"tenant_id": tenant_id} if tenant_id else {"platform": True}
    with unit_of_work(**scope) as uow:
        return uow.session.execute(query.limit(LIMIT)).all()


@invariant("ledger: postings sum to zero per transaction and asset")
def postings_balance(tenant_id: str | None = None) -> list[str]:
    rows = _rows(
        select(Posting.transaction_id, Posting.asset, func.sum(Posting.amount))
        .group_by(Posting.transaction_id, Posting.asset)
        .having(func.sum(Posting.amount) != 0),
        tenant_id,
    )
    return [f"transaction {txn} is off by {total} {asset}" for txn, asset, total in rows]


@invariant("ledger: every transaction has postings")
def transactions_have_postings(tenant_id: str | None = None) -> list[str]:
    rows = _rows(
        select(Transaction.id)
        .outerjoin(Posting, Posting.transaction_id == Transaction.id)
        .group_by(Transaction.id)
        .having(func.count(Posting.id) == 0),
        tenant_id,
    )
    return [f"transaction {txn} has no postings" for (txn,) in rows]


@invariant("ledger: postings match their account's asset and tenant")
def postings_match_accounts(tenant_id: str | None = None) -> list[str]:
    rows = _rows(
        select(Posting.id, Posting.account_id)
        .join(Account, Account.id == Posting.account_id)
        .where((Account.asset != Posting.asset) | (Account.tenant_id != Posting.tenant_id)),
        tenant_id,
    )
    return [f"posting {posting} does not match account {account}" for posting, account in rows]


@invariant("ledger: cached wallet balances equal the sum of their postings")
def cached_balances(tenant_id: str | None = None) -> list[str]:
    posted = func.coalesce(func.sum(Posting.amount), 0)
    rows = _rows(
        select(Account.id, Account.balance, posted)
        .outerjoin(Posting, Posting.account_id == Account.id)
        .where(Account.type == WALLET)
        .group_by(Account.id, Account.balance)
        .having(Account.balance != posted),
        tenant_id,
    )
    return [
        f"wallet {wallet} caches {cached}, postings say {total}" for wallet, cached, total in rows
    ]


@invariant("ledger: wallet held equals the sum of its pending holds")
def held_matches_holds(tenant_id: str | None = None) -> list[str]:
    pending = func.coalesce(func.sum(Hold.points), 0)
    rows = _rows(
        select(Account.id, Account.held, pending)
        .outerjoin(
            Hold, and_(Hold.wallet_id == Account.id, Hold.status == HoldStatus.PENDING.value)
        )
        .where(Account.type == WALLET)
        .group_by(Account.id, Account.held)
        .having(Account.held != pending),
        tenant_id,
    )
    return [
        f"wallet {wallet} holds {held}, pending holds say {total}" for wallet, held, total in rows
    ]


@invariant("ledger: no wallet below zero unless allowed, held within the balance")
def wallets_in_bounds(tenant_id: str | None = None) -> list[str]:
    rows = _rows(
        select(Account.id, Account.balance, Account.held).where(
            Account.type == WALLET,
            ((Account.balance < 0) & ~Account.may_go_negative)
            | (Account.held < 0)
            | ((Account.held > Account.balance) & (Account.held != 0)),
        ),
        tenant_id,
    )
    return [f"wallet {wallet}: balance {balance}, held {held}" for wallet, balance, held in rows]


@invariant("ledger: issued = redeemed + expired + outstanding + other, per currency")
def issuance_reconciles(tenant_id: str | None = None) -> list[str]:
    def total(*types: AccountType):
        values = [t.value for t in types]
        return func.coalesce(func.sum(case((Account.type.in_(values), Posting.amount), else_=0)), 0)

    wallets = (
        select(Account.asset, func.sum(Account.balance).label("outstanding"))
        .where(Account.type == WALLET)
        .group_by(Account.asset)
        .subquery()
    )
    flows = (
        select(
            Posting.asset,
            (-total(AccountType.ISSUANCE)).label("issued"),
            total(AccountType.REDEMPTION).label("redeemed"),
            total(AccountType.BREAKAGE).label("expired"),
            total(
                AccountType.EXCHANGE_LIQUIDITY,
                AccountType.CLEARING,
                AccountType.FEE,
                AccountType.ROUNDING,
            ).label("other"),
        )
        .join(Account, Account.id == Posting.account_id)
        .group_by(Posting.asset)
        .subquery()
    )
    outstanding = func.coalesce(wallets.c.outstanding, 0)
    rows = _rows(
        select(flows, outstanding)
        .outerjoin(wallets, wallets.c.asset == flows.c.asset)
        .where(flows.c.issued != flows.c.redeemed + flows.c.expired + flows.c.other + outstanding),
        tenant_id,
    )
    return [
        f"{asset}: issued {issued} != redeemed {redeemed} + expired {expired}"
        f" + other {other} + outstanding {out}"
        for asset, issued, redeemed, expired, other, out in rows
    ]


@invariant("ledger: open lots sum to wallet balances")
def lots_match_balances(tenant_id: str | None = None) -> list[str]:
    in_lots = func.coalesce(func.sum(Lot.remaining), 0)
    rows = _rows(
        select(Account.id, Account.balance, in_lots)
        .outerjoin(Lot, Lot.wallet_id == Account.id)
        .where(Account.type == WALLET)
        .group_by(Account.id, Account.balance)
        .having(Account.balance != in_lots),
        tenant_id,
    )
    return [f"wallet {wallet}: balance {balance}, lots {total}" for wallet, balance, total in rows]


@invariant("ledger: lot consumptions account for every point a lot lost")
def lots_consumed_consistently(tenant_id: str | None = None) -> list[str]:
    reversal = aliased(Transaction)
    standing = (
        select(LotConsumption.lot_id, func.sum(LotConsumption.points).label("consumed"))
        .outerjoin(reversal, reversal.reverses_id == LotConsumption.transaction_id)
        .where(reversal.id.is_(None))
        .group_by(LotConsumption.lot_id)
        .subquery()
    )
    consumed = func.coalesce(standing.c.consumed, 0)
    rows = _rows(
        select(Lot.id, Lot.points, Lot.remaining, consumed)
        .outerjoin(standing, standing.c.lot_id == Lot.id)
        .where(Lot.points - Lot.remaining != consumed),
        tenant_id,
    )
    return [
        f"lot {lot}: {points - remaining} of {points} gone, consumptions say {used}"
        for lot, points, remaining, used in rows
    ]


@invariant("ledger: each transaction reversed at most once")
def reversed_once(tenant_id: str | None = None) -> list[str]:
    rows = _rows(
        select(Transaction.reverses_id, func.count())
        .where(Transaction.reverses_id.is_not(None))
        .group_by(Transaction.reverses_id)
        .having(func.count() > 1),
        tenant_id,
    )
    return [f"transaction {txn} is reversed {count} times" for txn, count in rows]


@invariant("ledger: holds never capture more than they held")
def holds_in_bounds(tenant_id: str | None = None) -> list[str]:
    rows = _rows(
        select(Hold.id, Hold.points, Hold.captured_points).where(
            (Hold.captured_points > Hold.points) | (Hold.captured_points < 0)
        ),
        tenant_id,
    )
    return [f"hold {hold} captured {captured} of {points}" for hold, points, captured in rows]


CHECKS = [
    postings_balance,
    transactions_have_postings,
    postings_match_accounts,
    cached_balances,
    held_matches_holds,
    wallets_in_bounds,
    issuance_reconciles,
    lots_match_balances,
    lots_consumed_consistently,
    reversed_once,
    holds_in_bounds,
]


def violations(tenant_id: str | None = None) -> dict[str, list[str]]:
    """Every ledger check that found something: ``{check name: [violation, ...]}``, over
    all tenants or (for tests) one tenant's rows."""
    found = {check.__name__: check(tenant_id) for check in CHECKS}
    return {name: problems for name, problems in found.items() if problems}
