"""The posting service: the only code that writes postings, wallet balances and lots.

Every other part of Jifen asks these functions to move points (STYLE.md, habit 4). They run
inside the caller's unit of work: they take its ``session`` first, flush, and never commit.
Callers that may meet a deadlock wrap their unit of work in ``run_in_transaction``.

Concurrency. Every function that changes a wallet first locks the wallet row (``SELECT ...
FOR UPDATE``; two wallets in id order, so two transfers in opposite directions never
deadlock) and then reads the wallet's lots and holds afresh. Everything about a wallet -
balance, held, lots, holds - is written only under that lock. SQLite has no row locks;
there every transaction starts with ``BEGIN IMMEDIATE`` and writers take turns.
Tenant-wide accounts (issuance, redemption, breakage, ...) are never locked or updated:
they keep no cached balance, a posting to them is one INSERT.

Points whose lot has expired but that the nightly sweep has not yet moved to breakage are
not spendable: every spend takes only *live* points (see ``lots.py``), and
``wallet_balance`` shows the balance as it will be after the sweep.

A credit (every earn) and a debit (every redemption, the source leg of every swap) are
written with plain SQL statements rather than through the ORM unit of work - on
PostgreSQL each as one statement - and return a read-only ``PostedTransaction``;
everything else posts through the ORM. Both keep the locked wallet, and any lot the
session holds, up to date.

Sign convention: a posting's amount is positive into an account and negative out of it.
Credits come out of ``issuance`` (which runs below zero by design); debits go into
``redemption``; expiry goes into ``breakage``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, bindparam, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from jifen.platform import clock
from jifen.platform.cache import ProcessCache
from jifen.platform.db import UTCDateTime, insert_rows, is_unique_violation
from jifen.platform.errors import InsufficientPoints, InvalidState, Unprocessable
from jifen.platform.ids import new_id

from . import lots as lot_rules
from .lots import LotLike
from .model import (
    MAX_POINTS,
    NEGATIVE_BY_DESIGN,
    Account,
    AccountType,
    Kind,
    Lot,
    LotConsumption,
    Posting,
    Transaction,
)


@dataclass(frozen=True)
class ExpiringPoints:
    points: int
    expires_at: datetime


@dataclass(frozen=True)
class Balance:
    points: int
    held: int
    available: int
    expiring: list[ExpiringPoints]


@dataclass(frozen=True)
class PostedLeg:
    """One posting of a ``PostedTransaction``, as written."""

    tenant_id: str
    account_id: str
    asset: str
    amount: int
    balance_after: int | None


@dataclass(frozen=True)
class PostedTransaction:
    """A credit or debit as ``credit`` or ``debit`` wrote it: the transaction's columns and
    its postings in the order written (a credit: the source's, then the wallet's; a
    debit: the wallet's, then the sink's). It reads like a ``Transaction``; load one from
    the session for anything more."""

    id: str
    tenant_id: str
    kind: str
    reference: str | None
    meta: dict[str, Any]
    created: datetime
    postings: tuple[PostedLeg, ...]
    reverses_id: str | None = None


# --- accounts --------------------------------------------------------------------------


def check_points(points: Any, *, param: str = "points") -> int:
    """Return ``points`` if it is a whole number from 1 to 2**53 - 1.

    Raises Unprocessable (code ``invalid_points``) otherwise.
    """
    if isinstance(points, bool) or not isinstance(points, int):
        raise Unprocessable("Points must be a whole number.", code="invalid_points", param=param)
    if points <= 0:
        raise Unprocessable("Points must be positive.", code="invalid_points", param=param)
    if points > MAX_POINTS:
        raise Unprocessable(
            f"Points must be at most {MAX_POINTS}.", code="invalid_points", param=param
        )
    return points


def open_wallet(
    session: Session, *, tenant_id: str, asset: str, owner_id: str, lock: bool = False
) -> Account:
    """The member wallet of ``owner_id`` in ``asset``, created empty if there is none.

    ``lock=True`` also locks its row for the rest of the transaction (what a posting
    would do next), saving a second round trip.
    """
    if lock:
        session.flush()  # a wallet this transaction created is found below
        params = {"tenant_id": tenant_id, "asset": asset, "owner_id": owner_id}
        row = session.connection().execute(_LOCK_WALLET, params).first()
        if row is not None:
            wallet = _in_session(session, row)
            _locked_wallet_ids(session).add(wallet.id)
            return wallet
    query = select(Account).where(
        Account.tenant_id == tenant_id,
        Account.asset == asset,
        Account.type == AccountType.MEMBER_WALLET.value,
        Account.owner_id == owner_id,
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    wallet = _get_or_create(session, query, lambda: _empty_wallet(tenant_id, asset, owner_id))
    if lock:
        _locked_wallet_ids(session).add(wallet.id)
    return wallet


# Locking the wallet is the first statement of every earn: a plain row, not an ORM query.
_LOCK_WALLET = (
    select(Account.__table__)
    .where(
        Account.tenant_id == bindparam("tenant_id"),
        Account.asset == bindparam("asset"),
        Account.type == AccountType.MEMBER_WALLET.value,
        Account.owner_id == bindparam("owner_id"),
    )
    .with_for_update()
)


def _in_session(session: Session, row: Any) -> Account:
    """The session's ``Account`` for a wallet row just read under its lock: the one the
    session holds, brought up to date, or a new persistent one."""
    held = session.identity_map.get(identity_key(Account, row.id))
    if held is not None:
        for name in ("balance", "held", "version"):
            set_committed_value(held, name, getattr(row, name))
        return held
    wallet = Account(**row._mapping)
    make_transient_to_detached(wallet)
    session.add(wallet)
    return wallet


def create_wallet(session: Session, *, tenant_id: str, asset: str, owner_id: str) -> Account:
    """A new, empty wallet for an owner known to have none in ``asset`` (a member this
    transaction created), written with one INSERT and locked, as any row is that the
    transaction inserted. Raises IntegrityError if the owner has one already."""
    wallet = _empty_wallet(tenant_id, asset, owner_id)
    insert_rows(session, wallet)
    make_transient_to_detached(wallet)
    session.add(wallet)  # persistent and clean: the session knows the row as written
    _locked_wallet_ids(session).add(wallet.id)
    return wallet


def _empty_wallet(tenant_id: str, asset: str, owner_id: str) -> Account:
    return Account(
        id=new_id("acc"),
        tenant_id=tenant_id,
        asset=asset,
        type=AccountType.MEMBER_WALLET.value,
        owner_id=owner_id,
        may_go_negative=False,
        balance=0,
        held=0,
        version=0,
        created=clock.now(),
    )


@dataclass(frozen=True)
class TenantAccount:
    """A tenant-wide account (issuance, breakage, ...), by reference. Such accounts keep
    no cached balance and are never updated, so a posting needs only their identity."""

    id: str
    tenant_id: str
    asset: str
    type: str
    may_go_negative: bool
    is_wallet = False


# Tenant-wide accounts never change once created, so each process remembers their ids
# and skips a query per posting. Only accounts read back from the database are kept: one
# created by a transaction that may still roll back is not.
_tenant_accounts: ProcessCache[tuple[str, str, str], TenantAccount] = ProcessCache(size=4096)


def tenant_account(session: Session, *, tenant_id: str, asset: str, type: str) -> TenantAccount:
    """The tenant's one account of ``type`` (issuance, breakage, ...) in ``asset``.

    Raises ValueError for an unknown type or for ``member_wallet`` (use ``open_wallet``).
    """
    account_type = AccountType(type)
    if account_type is AccountType.MEMBER_WALLET:
        raise ValueError("member wallets are opened with open_wallet")
    key = (tenant_id, asset, account_type.value)
    known = _tenant_accounts.get(key)
    if known is not None:
        return known
    query = select(Account).where(
        Account.tenant_id == tenant_id,
        Account.asset == asset,
        Account.type == account_type.value,
        Account.owner_id.is_(None),
    )
    found = session.scalars(query).first()
    account = found or _get_or_create(
        session,
        query,
        lambda: Account(
            tenant_id=tenant_id,
            asset=asset,
            type=account_type.value,
            may_go_negative=account_type in NEGATIVE_BY_DESIGN,
        ),
    )
    reference = TenantAccount(
        account.id, account.tenant_id, account.asset, account.type, account.may_go_negative
    )
    if found is not None:
        _tenant_accounts.put(key, reference)
    return reference


def _get_or_create(session: Session, query: Any, make: Any) -> Account:
    found = session.scalars(query).first()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            account = make()
            session.add(account)
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return session.scalars(query).one()
    return account


def lock_wallets(session: Session, wallets: Iterable[Account | str]) -> dict[str, Account]:
    """Lock the wallets' rows (given as accounts or ids) in id order and refresh them:
    ``{wallet id: wallet}``. Wallets this transaction has locked already are not read
    again (nothing else can have changed them).

    Raises Unprocessable if one of them is not a member wallet.
    """
    ids = sorted({wallet if isinstance(wallet, str) else wallet.id for wallet in wallets})
    locked = _locked_wallet_ids(session)
    found = {wallet_id: session.get(Account, wallet_id) for wallet_id in ids if wallet_id in locked}
    missing = [wallet_id for wallet_id in ids if wallet_id not in found]
    if missing:
        rows = session.scalars(
            select(Account)
            .where(Account.id.in_(missing))
            .order_by(Account.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        found.update({account.id: account for account in rows})
        locked.update(account.id for account in rows)
    for wallet_id in ids:
        if found.get(wallet_id) is None or not found[wallet_id].is_wallet:
            raise Unprocessable(f"{wallet_id} is not a member wallet.", param="wallet")
    return found


def _locked_wallet_ids(session: Session) -> set[str]:
    """Ids of the wallets locked in the session's current transaction."""
    transaction = session.get_transaction()
    current = session.info.get("jifen.locked_wallets")
    if current is None or current[0] is not transaction:
        current = (transaction, set())
        session.info["jifen.locked_wallets"] = current
    return current[1]


# --- moving points ---------------------------------------------------------------------


def credit(
    session: Session,
    wallet: Account,
    points: int,
    *,
    kind: str,
    reference: str | None = None,
    expires_at: datetime | None = None,
    metadata: dict | None = None,
    source_type: str = "issuance",
) -> PostedTransaction:
    """Move ``points`` from the tenant's ``source_type`` account into the wallet and open a
    lot expiring at ``expires_at`` (None: never; a past time is allowed for imports).

    Raises Unprocessable for bad points or a naive ``expires_at``, ValueError for an
    unknown ``kind``.
    """
    check_points(points)
    if expires_at is not None and expires_at.tzinfo is None:
        raise Unprocessable("expires_at must carry a time zone.", param="expires_at")
    source = tenant_account(
        session, tenant_id=wallet.tenant_id, asset=wallet.asset, type=source_type
    )
    wallet = lock_wallets(session, [wallet])[wallet.id]
    return _write_credit(
        session,
        wallet,
        source,
        points,
        kind=Kind(kind).value,
        reference=reference,
        metadata=metadata,
        expires_at=expires_at,
    )


def debit(
    session: Session,
    wallet: Account,
    points: int,
    *,
    kind: str,
    reference: str | None = None,
    metadata: dict | None = None,
    sink_type: str = "redemption",
) -> PostedTransaction:
    """Move ``points`` out of the wallet into the tenant's ``sink_type`` account, consuming
    lots nearest expiry first.

    Raises InsufficientPoints when fewer points are available (nothing changes), and
    Unprocessable for bad points.
    """
    check_points(points)
    sink = tenant_account(session, tenant_id=wallet.tenant_id, asset=wallet.asset, type=sink_type)
    wallet = lock_wallets(session, [wallet])[wallet.id]
    session.flush()  # lots this transaction opened are read below
    lots = _open_lot_rows(session, wallet)
    dead = _dead_points(lots, wallet, clock.now())
    available = wallet.balance - wallet.held - sum(dead.values())
    if points > available:
        raise _insufficient(available, points)
    plan = lot_rules.take(lots, points, dead=dead)
    return _write_debit(
        session, wallet, sink, plan, kind=Kind(kind).value, reference=reference, metadata=metadata
    )


def spend(
    session: Session,
    wallet: Account,
    points: int,
    *,
    sink: Account,
    kind: str,
    reference: str | None = None,
    metadata: dict | None = None,
    releasing: int = 0,
) -> Transaction:
    """Debit a wallet the caller has locked; ``releasing`` held points are freed for it
    (a hold being captured), through the ORM. For ``holds.capture_hold``.

    Raises InsufficientPoints when fewer points are available.
    """
    plan = _plan_take(session, wallet, points, releasing=releasing)
    wallet.held -= releasing
    transaction = _post(
        session,
        tenant_id=wallet.tenant_id,
        kind=kind,
        legs=[(wallet, -points), (sink, points)],
        reference=reference,
        metadata=metadata,
    )
    _consume(session, transaction, plan)
    session.flush()
    return transaction


def transfer(
    session: Session,
    from_wallet: Account,
    to_wallet: Account,
    points: int,
    *,
    reference: str | None = None,
    metadata: dict | None = None,
) -> Transaction:
    """Move ``points`` between two wallets of one tenant and asset (gifting).

    The receiver gets the giver's lots' expiry, not a fresh one: for each expiry date among
    the consumed lots, one lot with that date opens on the receiving side, so a gift never
    extends the life of points.

    Raises InsufficientPoints (nothing changes); Unprocessable for bad points, the same
    wallet on both sides, or wallets of different tenants or assets.
    """
    check_points(points)
    if from_wallet.id == to_wallet.id:
        raise Unprocessable(
            "Cannot transfer points to the same wallet.", code="same_wallet", param="to"
        )
    if (from_wallet.tenant_id, from_wallet.asset) != (to_wallet.tenant_id, to_wallet.asset):
        raise Unprocessable("Both wallets must hold the same tenant's points.", param="to")
    locked = lock_wallets(session, [from_wallet, to_wallet])
    giver, receiver = locked[from_wallet.id], locked[to_wallet.id]
    plan = _plan_take(session, giver, points)
    transaction = _post(
        session,
        tenant_id=giver.tenant_id,
        kind=Kind.TRANSFER,
        legs=[(giver, -points), (receiver, points)],
        reference=reference,
        metadata=metadata,
    )
    _consume(session, transaction, plan)
    by_expiry: dict[datetime | None, int] = {}
    for lot, taken in plan:
        by_expiry[lot.expires_at] = by_expiry.get(lot.expires_at, 0) + taken
    for expires_at, taken in by_expiry.items():
        _open_lot(session, receiver, taken, expires_at, transaction)
    session.flush()
    return transaction


def reverse(
    session: Session, transaction: Transaction, *, reason: str | None = None
) -> Transaction:
    """Post the exact mirror of ``transaction``: every posting negated.

    Points a debit took come back into the very lots they left (even an expired lot, which
    the next sweep then clears). Points a credit gave are taken back from the lots it
    opened first, then from the wallet's other lots in spending order.

    Raises InvalidState if the transaction is a reversal or was reversed already (a unique
    constraint makes this hold under concurrency too), InsufficientPoints if a wallet no
    longer has the points to give back (nothing changes).
    """
    if transaction.kind == Kind.REVERSE:
        raise InvalidState("A reversal cannot itself be reversed.", param="transaction")
    postings = session.scalars(
        select(Posting).where(Posting.transaction_id == transaction.id).order_by(Posting.id)
    ).all()
    accounts = {
        account.id: account
        for account in session.scalars(
            select(Account).where(Account.id.in_({p.account_id for p in postings}))
        )
    }
    wallets = lock_wallets(session, [a for a in accounts.values() if a.is_wallet])
    accounts.update(wallets)
    _refuse_second_reversal(session, transaction)

    net: dict[str, int] = {}
    for posting in postings:
        if posting.account_id in wallets:
            net[posting.account_id] = net.get(posting.account_id, 0) - posting.amount
    consumed = session.scalars(
        select(LotConsumption)
        .where(LotConsumption.transaction_id == transaction.id)
        .order_by(LotConsumption.id)
    ).all()
    opened = session.scalars(select(Lot.id).where(Lot.transaction_id == transaction.id)).all()
    takes = {
        wallet_id: _plan_take(session, wallets[wallet_id], -amount, first=set(opened))
        for wallet_id, amount in net.items()
        if amount < 0
    }
    mirror = _post(
        session,
        tenant_id=transaction.tenant_id,
        kind=Kind.REVERSE,
        legs=[(accounts[p.account_id], -p.amount) for p in postings],
        reference=transaction.reference,
        metadata={"reason": reason} if reason else None,
        reverses_id=transaction.id,
    )
    for consumption in consumed:
        consumption.lot.remaining += consumption.points
    for plan in takes.values():
        _consume(session, mirror, plan)
    try:
        session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise InvalidState("The transaction was reversed already.") from None
        raise
    return mirror


def _refuse_second_reversal(session: Session, transaction: Transaction) -> None:
    reversal = session.scalar(
        select(Transaction.id).where(
            Transaction.tenant_id == transaction.tenant_id,
            Transaction.reverses_id == transaction.id,
        )
    )
    if reversal is not None:
        raise InvalidState(
            f"The transaction was reversed already (by {reversal}).", param="transaction"
        )


def expire_lots(session: Session, *, tenant_id: str, now: datetime) -> list[Transaction]:
    """Move what remains in the tenant's expired lots (``expires_at <= now``) to breakage:
    one ``expire`` transaction per wallet. Points pending holds reserve stay (see lots.py).
    Safe to re-run: lots already emptied are not due any more."""
    due = session.execute(
        select(Lot.wallet_id, Account.asset)
        .join(Account, Account.id == Lot.wallet_id)
        .where(
            Lot.tenant_id == tenant_id,
            Lot.remaining > 0,
            Lot.expires_at.is_not(None),
            Lot.expires_at <= now,
        )
        .distinct()
    ).all()
    if not due:
        return []
    breakage = {
        asset: tenant_account(session, tenant_id=tenant_id, asset=asset, type="breakage")
        for asset in {asset for _, asset in due}
    }
    wallets = lock_wallets(session, [wallet_id for wallet_id, _ in due])
    transactions = []
    for wallet_id in sorted(wallets):
        wallet = wallets[wallet_id]
        plan = lot_rules.expiry_plan(
            _open_lots(session, wallet), balance=wallet.balance, held=wallet.held, now=now
        )
        points = sum(taken for _, taken in plan)
        if not points:
            continue
        transaction = _post(
            session,
            tenant_id=tenant_id,
            kind=Kind.EXPIRE,
            legs=[(wallet, -points), (breakage[wallet.asset], points)],
            reference=None,
            metadata=None,
        )
        _consume(session, transaction, plan)
        transactions.append(transaction)
    session.flush()
    return transactions


def wallet_balance(session: Session, wallet: Account, *, now: datetime) -> Balance:
    """The wallet as the member sees it at ``now``: expired points already left out."""
    wallet = session.get(Account, wallet.id, populate_existing=True)
    lots = _open_lots(session, wallet)
    dead = _dead_points(lots, wallet, now)
    points = wallet.balance - sum(dead.values())
    expiring = lot_rules.expiring(lots, after=dead)
    return Balance(
        points=points,
        held=wallet.held,
        available=points - wallet.held,
        expiring=[ExpiringPoints(points=p, expires_at=at) for p, at in expiring],
    )


def reserve(session: Session, wallet: Account, points: int) -> None:
    """Add ``points`` to what a locked wallet holds (for ``holds.place_hold``).

    Raises InsufficientPoints when fewer points are available.
    """
    dead = _dead_points(_open_lots(session, wallet), wallet, clock.now())
    available = wallet.balance - wallet.held - sum(dead.values())
    if points > available:
        raise _insufficient(available, points)
    wallet.held += points
    wallet.version += 1


def release(wallet: Account, points: int) -> None:
    """Free ``points`` a locked wallet held for a voided or expired hold."""
    wallet.held -= points
    wallet.version += 1


# --- writing rows ----------------------------------------------------------------------


def _check_legs(legs: Sequence[tuple[Account | TenantAccount, int]]) -> None:
    totals: dict[str, int] = {}
    for account, amount in legs:
        if amount == 0:
            raise ValueError("a posting moves a non-zero amount")
        totals[account.asset] = totals.get(account.asset, 0) + amount
    if any(totals.values()):
        raise ValueError(f"postings do not balance: {totals}")


def _sql(statement: str) -> Any:
    return text(statement).bindparams(
        *(
            bindparam(name, type_=type_)
            for name, type_ in (
                ("meta", JSON()),
                ("created", UTCDateTime()),
                ("expires_at", UTCDateTime()),
            )
            if f":{name}" in statement
        )
    )


# Credits and debits are the hot paths (every earn, redemption and swap), so they skip the
# ORM unit of work: plain statements, sent as one data-modifying CTE on PostgreSQL. Ids
# are made here; the wallet's new balance is computed under its lock.
_INSERT_TRANSACTION = (
    "INSERT INTO ledger_transactions (id, tenant_id, kind, reference, metadata, created)"
    " VALUES (:transaction_id, :tenant_id, :kind, :reference, :meta, :created)"
)
_UPDATE_WALLET = (
    "UPDATE ledger_accounts SET balance = :balance, version = :version"
    " WHERE id = :wallet_id AND version = :previous_version"
)
_CREDIT_STATEMENTS = (
    _INSERT_TRANSACTION,
    "INSERT INTO ledger_postings"
    " (tenant_id, transaction_id, account_id, asset, amount, balance_after)"
    " VALUES (:tenant_id, :transaction_id, :source_id, :asset, :outflow, NULL),"
    " (:tenant_id, :transaction_id, :wallet_id, :asset, :points, :balance)",
    "INSERT INTO ledger_lots"
    " (id, tenant_id, wallet_id, points, remaining, expires_at, transaction_id, created)"
    " VALUES (:lot_id, :tenant_id, :wallet_id, :points, :points, :expires_at,"
    " :transaction_id, :created)",
)
_DEBIT_STATEMENTS = (
    _INSERT_TRANSACTION,
    "INSERT INTO ledger_postings"
    " (tenant_id, transaction_id, account_id, asset, amount, balance_after)"
    " VALUES (:tenant_id, :transaction_id, :wallet_id, :asset, :outflow, :balance),"
    " (:tenant_id, :transaction_id, :sink_id, :asset, :points, NULL)",
)
# The lots a debit takes from, on PostgreSQL as arrays (one statement for any number)...
_TAKEN = "unnest(CAST(:lot_ids AS VARCHAR[]), CAST(:lot_points AS BIGINT[])) AS taken(id, points)"
_DEBIT_LOT_STATEMENTS = (
    "UPDATE ledger_lots SET remaining = ledger_lots.remaining - taken.points"
    f" FROM {_TAKEN} WHERE ledger_lots.tenant_id = :tenant_id AND ledger_lots.id = taken.id",
    "INSERT INTO ledger_lot_consumptions (tenant_id, transaction_id, lot_id, points)"
    f" SELECT :tenant_id, :transaction_id, taken.id, taken.points FROM {_TAKEN}",
)
# ... and on SQLite a lot at a time.
_DEBIT_LOT_ONE_BY_ONE = tuple(
    _sql(s)
    for s in (
        "UPDATE ledger_lots SET remaining = remaining - :points"
        " WHERE tenant_id = :tenant_id AND id = :lot_id",
        "INSERT INTO ledger_lot_consumptions (tenant_id, transaction_id, lot_id, points)"
        " VALUES (:tenant_id, :transaction_id, :lot_id, :points)",
    )
)


def _at_once(statements: Sequence[str]) -> Any:
    return _sql(
        "WITH "
        + ", ".join(f"w{n} AS ({s})" for n, s in enumerate(statements))
        + " "
        + _UPDATE_WALLET
    )


_CREDIT_AT_ONCE = _at_once(_CREDIT_STATEMENTS)
_CREDIT_ONE_BY_ONE = tuple(_sql(s) for s in (*_CREDIT_STATEMENTS, _UPDATE_WALLET))
_DEBIT_AT_ONCE = _at_once((*_DEBIT_STATEMENTS, *_DEBIT_LOT_STATEMENTS))
_DEBIT_ONE_BY_ONE = tuple(_sql(s) for s in _DEBIT_STATEMENTS)
_UPDATE_WALLET_ALONE = _sql(_UPDATE_WALLET)


def _write_credit(
    session: Session,
    wallet: Account,
    source: TenantAccount,
    points: int,
    *,
    kind: str,
    reference: str | None,
    metadata: dict | None,
    expires_at: datetime | None,
) -> PostedTransaction:
    """Post ``points`` from ``source`` into the locked ``wallet`` and open its lot."""
    posted, params = _new_transaction(
        session, wallet, [(source, -points), (wallet, points)], kind, reference, metadata
    )
    params.update(source_id=source.id, lot_id=new_id("lot"), expires_at=expires_at)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        updated = connection.execute(_CREDIT_AT_ONCE, params).rowcount
    else:
        for statement in _CREDIT_ONE_BY_ONE:
            updated = connection.execute(statement, params).rowcount
    _written(wallet, updated, params)
    return posted


def _write_debit(
    session: Session,
    wallet: Account,
    sink: TenantAccount,
    plan: Sequence[tuple[LotLike, int]],
    *,
    kind: str,
    reference: str | None,
    metadata: dict | None,
) -> PostedTransaction:
    """Post the points of ``plan`` (lots of the locked ``wallet``, and what to take from
    each) out of the wallet into ``sink``."""
    points = sum(taken for _, taken in plan)
    posted, params = _new_transaction(
        session, wallet, [(wallet, -points), (sink, points)], kind, reference, metadata
    )
    params["sink_id"] = sink.id
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        params["lot_ids"] = [lot.id for lot, _ in plan]
        params["lot_points"] = [taken for _, taken in plan]
        updated = connection.execute(_DEBIT_AT_ONCE, params).rowcount
    else:
        for statement in _DEBIT_ONE_BY_ONE:
            connection.execute(statement, params)
        per_lot = [{**params, "lot_id": lot.id, "points": taken} for lot, taken in plan]
        for statement in _DEBIT_LOT_ONE_BY_ONE:
            connection.execute(statement, per_lot)
        updated = connection.execute(_UPDATE_WALLET_ALONE, params).rowcount
    _written(wallet, updated, params)
    for lot, taken in plan:
        held = session.identity_map.get(identity_key(Lot, lot.id))
        if held is not None:
            set_committed_value(held, "remaining", lot.remaining - taken)
    return posted


def _new_transaction(
    session: Session,
    wallet: Account,
    legs: Sequence[tuple[Account | TenantAccount, int]],
    kind: str,
    reference: str | None,
    metadata: dict | None,
) -> tuple[PostedTransaction, dict[str, Any]]:
    """The transaction a credit or debit of ``wallet`` writes, and the parameters of its
    statements (the wallet's leg sets ``points``, its new balance and version)."""
    _check_legs(legs)
    session.flush()  # the rows written next may refer to rows the session still holds
    points = next(amount for account, amount in legs if account is wallet)
    balance = wallet.balance + points
    if balance < 0:
        raise _insufficient(wallet.balance, -points)
    posted = PostedTransaction(
        id=new_id("txn"),
        tenant_id=wallet.tenant_id,
        kind=kind,
        reference=reference,
        meta=dict(metadata or {}),
        created=clock.now(),
        postings=tuple(
            PostedLeg(
                tenant_id=account.tenant_id,
                account_id=account.id,
                asset=account.asset,
                amount=amount,
                balance_after=balance if account is wallet else None,
            )
            for account, amount in legs
        ),
    )
    params = {
        "transaction_id": posted.id,
        "tenant_id": posted.tenant_id,
        "kind": kind,
        "reference": reference,
        "meta": posted.meta,
        "created": posted.created,
        "wallet_id": wallet.id,
        "asset": wallet.asset,
        "points": abs(points),
        "outflow": -abs(points),
        "balance": balance,
        "version": wallet.version + 1,
        "previous_version": wallet.version,
    }
    return posted, params


def _written(wallet: Account, updated: int, params: dict[str, Any]) -> None:
    """Check the wallet's row took the new balance; keep the session's copy in step."""
    if updated != 1:
        raise RuntimeError(f"wallet {wallet.id} changed while locked")
    set_committed_value(wallet, "balance", params["balance"])
    set_committed_value(wallet, "version", params["version"])


def _post(
    session: Session,
    *,
    tenant_id: str,
    kind: str,
    legs: Sequence[tuple[Account | TenantAccount, int]],
    reference: str | None,
    metadata: dict | None,
    reverses_id: str | None = None,
) -> Transaction:
    _check_legs(legs)
    transaction = Transaction(
        tenant_id=tenant_id,
        kind=Kind(kind).value,
        reference=reference,
        meta=dict(metadata or {}),
        reverses_id=reverses_id,
        created=clock.now(),
    )
    session.add(transaction)
    for account, amount in legs:
        balance_after = None
        if account.is_wallet:
            balance_after = account.balance + amount
            if balance_after < 0 and not account.may_go_negative:
                raise _insufficient(account.balance, -amount)
            account.balance = balance_after
            account.version += 1
        session.add(
            Posting(
                transaction=transaction,
                tenant_id=account.tenant_id,
                account_id=account.id,
                asset=account.asset,
                amount=amount,
                balance_after=balance_after,
            )
        )
    return transaction


def _open_lot(
    session: Session,
    wallet: Account,
    points: int,
    expires_at: datetime | None,
    transaction: Transaction,
) -> Lot:
    lot = Lot(
        tenant_id=wallet.tenant_id,
        wallet_id=wallet.id,
        points=points,
        remaining=points,
        expires_at=expires_at,
        transaction=transaction,
        created=clock.now(),
    )
    session.add(lot)
    return lot


def _consume(session: Session, transaction: Transaction, plan: Iterable[tuple[Lot, int]]) -> None:
    for lot, taken in plan:
        lot.remaining -= taken
        session.add(
            LotConsumption(tenant_id=lot.tenant_id, transaction=transaction, lot=lot, points=taken)
        )


def _plan_take(
    session: Session,
    wallet: Account,
    points: int,
    *,
    releasing: int = 0,
    first: Collection[str] = (),
) -> list[tuple[Lot, int]]:
    lots = _open_lots(session, wallet)
    dead = _dead_points(lots, wallet, clock.now())
    available = wallet.balance - wallet.held + releasing - sum(dead.values())
    if points > available:
        raise _insufficient(available, points)
    return lot_rules.take(lots, points, dead=dead, first=first)


def _dead_points(lots: Sequence[Lot], wallet: Account, now: datetime) -> dict[str, int]:
    plan = lot_rules.expiry_plan(lots, balance=wallet.balance, held=wallet.held, now=now)
    return {lot.id: taken for lot, taken in plan}


def _open_lots(session: Session, wallet: Account) -> list[Lot]:
    return list(
        session.scalars(
            select(Lot)
            .where(Lot.tenant_id == wallet.tenant_id, Lot.wallet_id == wallet.id, Lot.remaining > 0)
            .execution_options(populate_existing=True)
        )
    )


def _open_lot_rows(session: Session, wallet: Account) -> Sequence[Any]:
    """The wallet's open lots as read-only rows (id, remaining, expires_at, created): what
    planning a debit needs, without loading ORM objects."""
    return (
        session.connection()
        .execute(_OPEN_LOT_ROWS, {"tenant_id": wallet.tenant_id, "wallet_id": wallet.id})
        .all()
    )


_OPEN_LOT_ROWS = select(Lot.id, Lot.remaining, Lot.expires_at, Lot.created).where(
    Lot.tenant_id == bindparam("tenant_id"),
    Lot.wallet_id == bindparam("wallet_id"),
    Lot.remaining > 0,
)


def _insufficient(available: int, points: int) -> InsufficientPoints:
    return InsufficientPoints(
        f"{points} points needed, {max(available, 0)} available.", param="points"
    )
