"""A member's wallet in the ledger, and how its transactions read from the member's side.

Each member has one wallet account in ``platform.ledger`` (owner = member id, asset = the
tenant's currency code), opened when the member joins. This module is the members'
only door into the ledger's tables for reading; every posting goes through the ledger's
own functions (STYLE.md: the ledger is the only code that writes postings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jifen.platform import clearing, clock, ledger
from jifen.platform.errors import NotFound
from jifen.platform.ledger.model import Account, Posting, Transaction
from jifen.tenants.model import Currency

from .model import Member

WalletBalance = ledger.Balance


def spu_value(session: Session, currency_code: str, points: int) -> str | None:
    """The SPU value of ``points`` as a decimal string; None if the currency is not priced
    (the rate comes through the clearing port, from the exchange)."""
    rate = clearing.spu_rate(session, currency_code)
    return clearing.format_spu(clearing.value_of(points, rate)) if rate is not None else None


_ID = re.compile(r"[A-Za-z0-9_]{1,64}")


@dataclass(frozen=True)
class MemberEntry:
    """One ledger transaction as one member sees it (``points`` signed from their side)."""

    id: str
    created: datetime
    kind: str
    member_id: str | None
    points: int
    balance_after: int | None
    currency: str
    reference: str | None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TransferEntry(MemberEntry):
    from_member_id: str = ""
    to_member_id: str = ""


def entry_event_data(entry: MemberEntry) -> dict:
    """The data of a ``points.*`` event about one member's transaction."""
    return {
        "transaction": entry.id,
        "member": entry.member_id,
        "kind": entry.kind,
        "points": entry.points,
        "currency": entry.currency,
        "reference": entry.reference,
    }


def currency_code(session: Session, tenant_id: str) -> str:
    """The tenant's currency code: the asset of its members' wallets."""
    code = session.scalar(select(Currency.code).where(Currency.tenant_id == tenant_id))
    if code is None:
        raise NotFound(f"No currency for tenant {tenant_id}")
    return code


def member_wallet(
    session: Session, member: Member, asset: str | None = None, *, lock: bool = False
) -> Account:
    """The member's wallet, opened on first use; ``lock=True`` also locks it in the same
    statement (``ledger.open_wallet``)."""
    return ledger.open_wallet(
        session,
        tenant_id=member.tenant_id,
        asset=asset or currency_code(session, member.tenant_id),
        owner_id=member.id,
        lock=lock,
    )


def balance_of(session: Session, member: Member, asset: str) -> WalletBalance:
    return ledger.wallet_balance(session, member_wallet(session, member, asset), now=clock.now())


def entry(transaction: ledger.PostedTransaction, wallet: Account, member_id: str) -> MemberEntry:
    """``transaction`` seen from ``wallet``: the sum of its postings there."""
    postings = [p for p in transaction.postings if p.account_id == wallet.id]
    return MemberEntry(
        id=transaction.id,
        created=transaction.created,
        kind=transaction.kind,
        member_id=member_id,
        points=sum(p.amount for p in postings),
        balance_after=postings[-1].balance_after if postings else None,
        currency=wallet.asset,
        reference=transaction.reference,
        metadata=dict(transaction.meta or {}),
    )


def transfer_entry(
    transaction: ledger.PostedTransaction,
    points: int,
    from_member_id: str,
    to_member_id: str,
    asset: str,
) -> TransferEntry:
    return TransferEntry(
        id=transaction.id,
        created=transaction.created,
        kind=transaction.kind,
        member_id=None,
        points=points,
        balance_after=None,
        currency=asset,
        reference=transaction.reference,
        metadata=dict(transaction.meta or {}),
        from_member_id=from_member_id,
        to_member_id=to_member_id,
    )


def entries_page(session: Session, wallet: Account, member_id: str, args: dict) -> dict:
    """The wallet's transactions, newest first, as a cursor list of ``MemberEntry``.

    Ordered by posting id (the order the ledger wrote them). Raises NotFound when
    ``starting_after`` names no transaction of this wallet.
    """
    statement = (
        select(Posting, Transaction)
        .join(Transaction, Transaction.id == Posting.transaction_id)
        .where(Posting.account_id == wallet.id)
    )
    cursor_id = args.get("starting_after")
    if cursor_id:
        cursor = (
            None
            if not _ID.fullmatch(cursor_id)
            else session.scalar(
                select(Posting.id).where(
                    Posting.account_id == wallet.id, Posting.transaction_id == cursor_id
                )
            )
        )
        if cursor is None:
            raise NotFound(f"No such transaction: {cursor_id}", param="starting_after")
        statement = statement.where(Posting.id < cursor)
    limit = args["limit"]
    rows = session.execute(statement.order_by(Posting.id.desc()).limit(limit + 1)).all()
    data = [
        MemberEntry(
            id=txn.id,
            created=txn.created,
            kind=txn.kind,
            member_id=member_id,
            points=posting.amount,
            balance_after=posting.balance_after,
            currency=posting.asset,
            reference=txn.reference,
            metadata=dict(txn.meta or {}),
        )
        for posting, txn in rows[:limit]
    ]
    return {"object": "list", "data": data, "has_more": len(rows) > limit}
