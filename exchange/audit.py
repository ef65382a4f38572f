"""The exchange's invariants for ``jifen audit``.

* every swap balances in SPU (``spu_out = spu_in + fee + rounding``, each leg equal to
  points × rate) and has exactly one clearing record, which carries the same amounts;
* every swap's two ledger transactions moved exactly the swap's points, out of the
  member's wallet in A and into the card's membership in B;
* an authorization's captured and reversed points match its clearing records, and the
  reversals never exceed the capture.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, select

from jifen.platform.audit import invariant
from jifen.platform.clearing import ClearingKind, ClearingRecord
from jifen.platform.db import unit_of_work
from jifen.platform.ledger.model import Account, Posting

from .model import Authorization, Swap

LIMIT = 50


def _rows(query) -> list:
    with unit_of_work(platform=True) as uow:
        return uow.session.execute(query.limit(LIMIT)).all()


@invariant("exchange: every swap balances in SPU and has exactly one clearing record")
def swaps_balance_and_clear() -> list[str]:
    unbalanced = _rows(
        select(Swap.id).where(
            (Swap.spu_out != Swap.spu_in + Swap.fee_spu + Swap.rounding_spu)
            | (Swap.spu_out != Swap.from_points * Swap.rate_from)
            | (Swap.spu_in != Swap.to_points * Swap.rate_to)
        )
    )
    records = (
        select(
            ClearingRecord.swap_id,
            func.count().label("count"),
            func.sum(ClearingRecord.amount_spu).label("amount"),
            func.sum(ClearingRecord.fee_spu).label("fee"),
            func.sum(ClearingRecord.rounding_spu).label("rounding"),
        )
        .where(ClearingRecord.swap_id.is_not(None))
        .group_by(ClearingRecord.swap_id)
        .subquery()
    )
    mismatched = _rows(
        select(Swap.id, func.coalesce(records.c.count, 0))
        .outerjoin(records, records.c.swap_id == Swap.id)
        .where(
            (func.coalesce(records.c.count, 0) != 1)
            | (records.c.amount != Swap.spu_in)
            | (records.c.fee != Swap.fee_spu)
            | (records.c.rounding != Swap.rounding_spu)
        )
    )
    return [f"swap {swap} does not balance in SPU" for (swap,) in unbalanced] + [
        f"swap {swap} has {count} clearing records, or they disagree with it"
        for swap, count in mismatched
    ]


@invariant("exchange: every swap's ledger legs move exactly its points")
def swaps_match_the_ledger() -> list[str]:
    problems = []
    for column, points, member, sign in (
        (Swap.source_transaction_id, Swap.from_points, Swap.from_member_id, -1),
        (Swap.destination_transaction_id, Swap.to_points, Swap.to_member_id, 1),
    ):
        moved = (
            select(func.coalesce(func.sum(Posting.amount), 0))
            .join(Account, Account.id == Posting.account_id)
            .where(
                Posting.transaction_id == column,
                Account.type == "member_wallet",
                Account.owner_id == member,
            )
            .scalar_subquery()
        )
        rows = _rows(select(Swap.id, moved).where(moved != sign * points))
        problems += [f"swap {swap}: the wallet moved {amount} points" for swap, amount in rows]
    return problems


@invariant("exchange: authorizations agree with their clearing records")
def authorizations_clear() -> list[str]:
    kinds = (ClearingKind.ACCEPTANCE_CAPTURE.value, ClearingKind.ACCEPTANCE_REVERSAL.value)

    def total(kind: ClearingKind):
        points = case((ClearingRecord.kind == kind.value, func.abs(ClearingRecord.points)), else_=0)
        return func.coalesce(func.sum(points), 0)

    captured = total(ClearingKind.ACCEPTANCE_CAPTURE)
    reversed_ = total(ClearingKind.ACCEPTANCE_REVERSAL)
    rows = _rows(
        select(Authorization.id, Authorization.captured_points, captured, reversed_)
        .outerjoin(
            ClearingRecord,
            and_(
                ClearingRecord.authorization_id == Authorization.id,
                ClearingRecord.kind.in_(kinds),
            ),
        )
        .group_by(Authorization.id, Authorization.captured_points, Authorization.reversed_points)
        .having(
            (Authorization.captured_points != captured)
            | (Authorization.reversed_points != reversed_)
            | (reversed_ > captured)
        )
    )
    return [
        f"authorization {auth}: captured {points}, clearing says {cap} captured, {rev} reversed"
        for auth, points, cap, rev in rows
    ]
