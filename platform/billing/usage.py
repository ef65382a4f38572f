"""Monthly active members (MAM): how many distinct members of a tenant did something
that reached the ledger in a calendar month (UTC).

The count is written against an *activity source*: any table or select with the columns
``tenant_id``, ``member_id`` and ``occurred``. ``ledger_activity()`` builds the source
from the ledger (a member is active when one of their wallets has a posting in a
transaction of the month); until the ledger's tables exist it returns None and every
count is zero. Lightweight ``table()`` constructs keep billing independent of the
ledger's ORM classes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import FromClause, column, func, inspect, select, table
from sqlalchemy.orm import Session

from jifen.platform.db import UTCDateTime

_transactions = table(
    "ledger_transactions", column("id"), column("tenant_id"), column("created", UTCDateTime())
)
_postings = table(
    "ledger_postings", column("tenant_id"), column("transaction_id"), column("account_id")
)
_accounts = table(
    "ledger_accounts", column("id"), column("tenant_id"), column("type"), column("owner_id")
)
_members = table("members", column("tenant_id"))


def month_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a ``YYYY-MM`` month in UTC."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def previous_month(moment: datetime) -> str:
    start, _ = month_bounds(month_of(moment))
    return month_of(start - timedelta(days=1))


def _has_tables(session: Session, *names: str) -> bool:
    inspector = inspect(session.connection())
    return all(inspector.has_table(name) for name in names)


def ledger_activity(session: Session) -> FromClause | None:
    """Member activity from the ledger, or None while its tables do not exist."""
    if not _has_tables(session, "ledger_transactions", "ledger_postings", "ledger_accounts"):
        return None
    return (
        select(
            _postings.c.tenant_id.label("tenant_id"),
            _accounts.c.owner_id.label("member_id"),
            _transactions.c.created.label("occurred"),
        )
        .join(
            _accounts,
            (_accounts.c.tenant_id == _postings.c.tenant_id)
            & (_accounts.c.id == _postings.c.account_id),
        )
        .join(
            _transactions,
            (_transactions.c.tenant_id == _postings.c.tenant_id)
            & (_transactions.c.id == _postings.c.transaction_id),
        )
        .where(_accounts.c.type == "member_wallet")
        .subquery("member_activity")
    )


def count_active_members(
    session: Session, source: FromClause | None, month: str, *, tenant_id: str | None = None
) -> dict[str, int]:
    """Monthly active members per tenant in ``month`` (only ``tenant_id``'s, if given)."""
    if source is None:
        return {}
    start, end = month_bounds(month)
    statement = (
        select(source.c.tenant_id, func.count(func.distinct(source.c.member_id)))
        .where(source.c.occurred >= start, source.c.occurred < end)
        .group_by(source.c.tenant_id)
    )
    if tenant_id is not None:
        statement = statement.where(source.c.tenant_id == tenant_id)
    return {tenant: count for tenant, count in session.execute(statement)}


def count_members(session: Session, tenant_id: str) -> int:
    """The tenant's members (0 while the members table does not exist)."""
    if not _has_tables(session, "members"):
        return 0
    return session.scalar(
        select(func.count()).select_from(_members).where(_members.c.tenant_id == tenant_id)
    )
