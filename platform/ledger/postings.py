"""Posting: the one writer of postings, wallet balances and lots, and its checks.

Every other part of Jifen asks these functions to move points (STYLE.md, habit 4). They run
inside the caller's unit of work: they take its ``session`` first, lock the wallets they
change (``accounts.lock_wallets``), and never commit. Callers that may meet a deadlock
wrap their unit of work in ``run_in_transaction``.

Every movement - credit, debit, transfer, the capture of a hold, reversal, expiry - plans
what it takes from which lots under the wallets' locks, then posts through ``_post``: one
set of checks (legs that balance per asset, no wallet below zero, points the wallet has
available) and one writer, with plain SQL (``sql.py``: on PostgreSQL one statement per
posting). ``_post`` keeps the locked wallets, and any lot the session holds, in step with
what it wrote, and returns a read-only ``PostedTransaction``. Placing and releasing a hold
changes only a wallet's held points, written the same way.

Points whose lot has expired but that the nightly sweep has not yet moved to breakage are
not spendable: every spend takes only *live* points (see ``lots.py``), and
``wallet_balance`` shows the balance as it will be after the sweep.

Sign convention: a posting's amount is positive into an account and negative out of it.
Credits come out of ``issuance`` (which runs below zero by design); debits go into
``redemption``; expiry goes into ``breakage``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from jifen.platform import clock
from jifen.platform.db import is_unique_violation
from jifen.platform.errors import InsufficientPoints, InvalidState, Unprocessable
from jifen.platform.ids import new_id

from . import lots as lot_rules
from . import sql
from .accounts import TenantAccount, lock_wallets, locked_wallet_ids, tenant_account
from .lots import LotLike
from .model import MAX_POINTS, Account, Kind, Lot, LotConsumption, Posting, Transaction


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
    """A transaction as the ledger wrote it: its columns and its postings in the order
    written (a credit: the source's, then the wallet's; a debit: the wallet's, then the
    sink's). It reads like a ``Transaction``; load one from the session for anything
    more."""

    id: str
    tenant_id: str
    kind: str
    reference: str | None
    meta: dict[str, Any]
    created: datetime
    postings: tuple[PostedLeg, ...]
    reverses_id: str | None = None


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


Leg = tuple[Account | TenantAccount, int]
Take = tuple[LotLike, int]


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
    return _post(
        session,
        tenant_id=wallet.tenant_id,
        kind=kind,
        legs=[(source, -points), (wallet, points)],
        reference=reference,
        metadata=metadata,
        opens=[(wallet, points, expires_at)],
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
    return _post(
        session,
        tenant_id=wallet.tenant_id,
        kind=kind,
        legs=[(wallet, -points), (sink, points)],
        reference=reference,
        metadata=metadata,
        takes=_plan_take(session, wallet, points),
    )


def spend(
    session: Session,
    wallet: Account,
    points: int,
    *,
    sink: TenantAccount,
    kind: str,
    reference: str | None = None,
    metadata: dict | None = None,
    releasing: int = 0,
) -> PostedTransaction:
    """Debit a wallet the caller has locked; ``releasing`` held points are freed for it
    (a hold being captured). For ``holds.capture_hold``.

    Raises InsufficientPoints when fewer points are available.
    """
    return _post(
        session,
        tenant_id=wallet.tenant_id,
        kind=kind,
        legs=[(wallet, -points), (sink, points)],
        reference=reference,
        metadata=metadata,
        takes=_plan_take(session, wallet, points, releasing=releasing),
        releasing={wallet.id: releasing},
    )


def transfer(
    session: Session,
    from_wallet: Account,
    to_wallet: Account,
    points: int,
    *,
    reference: str | None = None,
    metadata: dict | None = None,
) -> PostedTransaction:
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
    by_expiry: dict[datetime | None, int] = {}
    for lot, taken in plan:
        by_expiry[lot.expires_at] = by_expiry.get(lot.expires_at, 0) + taken
    return _post(
        session,
        tenant_id=giver.tenant_id,
        kind=Kind.TRANSFER,
        legs=[(giver, -points), (receiver, points)],
        reference=reference,
        metadata=metadata,
        takes=plan,
        opens=[(receiver, taken, expires_at) for expires_at, taken in by_expiry.items()],
    )


def reverse(
    session: Session, transaction: Transaction, *, reason: str | None = None
) -> PostedTransaction:
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
    postings = session.execute(
        select(Posting.account_id, Posting.amount)
        .where(Posting.transaction_id == transaction.id)
        .order_by(Posting.id)
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
    given_back = session.execute(
        select(Lot.id, Lot.remaining, LotConsumption.points.label("given_back"))
        .join(Lot, Lot.id == LotConsumption.lot_id)
        .where(
            LotConsumption.tenant_id == transaction.tenant_id,
            LotConsumption.transaction_id == transaction.id,
        )
        .order_by(LotConsumption.id)
    ).all()
    opened = set(session.scalars(select(Lot.id).where(Lot.transaction_id == transaction.id)))
    takes = [
        take
        for wallet_id, amount in net.items()
        if amount < 0
        for take in _plan_take(session, wallets[wallet_id], -amount, first=opened)
    ]
    try:
        return _post(
            session,
            tenant_id=transaction.tenant_id,
            kind=Kind.REVERSE,
            legs=[(accounts[p.account_id], -p.amount) for p in postings],
            reference=transaction.reference,
            metadata={"reason": reason} if reason else None,
            reverses_id=transaction.id,
            takes=takes,
            restores=[(lot, lot.given_back) for lot in given_back],
        )
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise InvalidState("The transaction was reversed already.") from None
        raise


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


def expire_lots(session: Session, *, tenant_id: str, now: datetime) -> list[PostedTransaction]:
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
        session.flush()
        plan = lot_rules.expiry_plan(
            _open_lots(session, wallet), balance=wallet.balance, held=wallet.held, now=now
        )
        points = sum(taken for _, taken in plan)
        if not points:
            continue
        transactions.append(
            _post(
                session,
                tenant_id=tenant_id,
                kind=Kind.EXPIRE,
                legs=[(wallet, -points), (breakage[wallet.asset], points)],
                reference=None,
                metadata=None,
                takes=plan,
            )
        )
    return transactions


# --- held points -------------------------------------------------------------------------


def reserve(session: Session, wallet: Account, points: int) -> None:
    """Add ``points`` to what a locked wallet holds (for ``holds.place_hold``).

    Raises InsufficientPoints when fewer points are available.
    """
    session.flush()
    available = _available(wallet, _open_lots(session, wallet))
    if points > available:
        raise _insufficient(available, points)
    _write_held(session, wallet, wallet.held + points)


def release(session: Session, wallet: Account, points: int) -> None:
    """Free ``points`` a locked wallet held for a voided or expired hold."""
    _write_held(session, wallet, wallet.held - points)


def _write_held(session: Session, wallet: Account, held: int) -> None:
    _require_lock(session, wallet)
    session.flush()
    values = _wallet_values(wallet, balance=wallet.balance, held=held)
    params = {f"wallet0_{name}": value for name, value in values.items()}
    updated = session.connection().execute(sql.WALLET_UPDATE, params).rowcount
    _keep_in_step({wallet.id: wallet}, {wallet.id: values}, updated)


def wallet_balance(session: Session, wallet: Account, *, now: datetime) -> Balance:
    """The wallet as the member sees it at ``now``: expired points already left out."""
    session.flush()
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


# --- the checks ----------------------------------------------------------------------------


def _plan_take(
    session: Session,
    wallet: Account,
    points: int,
    *,
    releasing: int = 0,
    first: Collection[str] = (),
) -> list[Take]:
    """What to take from which of the locked wallet's lots to spend ``points``, with
    ``releasing`` held points freed for it.

    Raises InsufficientPoints when fewer points are available.
    """
    session.flush()  # lots this transaction opened are read below
    lots = _open_lots(session, wallet)
    dead = _dead_points(lots, wallet, clock.now())
    available = _available(wallet, lots, dead=dead) + releasing
    if points > available:
        raise _insufficient(available, points)
    return lot_rules.take(lots, points, dead=dead, first=first)


def _available(
    wallet: Account, lots: Sequence[LotLike], *, dead: Mapping[str, int] | None = None
) -> int:
    """Points the wallet can spend now: its balance less held and expired points."""
    if dead is None:
        dead = _dead_points(lots, wallet, clock.now())
    return wallet.balance - wallet.held - sum(dead.values())


def _dead_points(lots: Sequence[LotLike], wallet: Account, now: datetime) -> dict[str, int]:
    plan = lot_rules.expiry_plan(lots, balance=wallet.balance, held=wallet.held, now=now)
    return {lot.id: taken for lot, taken in plan}


def _open_lots(session: Session, wallet: Account) -> Sequence[Any]:
    """The wallet's open lots as read-only rows (id, remaining, expires_at, created, with
    the database's values, not the session's): what planning needs, without ORM objects."""
    return (
        session.connection()
        .execute(_OPEN_LOTS, {"tenant_id": wallet.tenant_id, "wallet_id": wallet.id})
        .all()
    )


_OPEN_LOTS = select(Lot.id, Lot.remaining, Lot.expires_at, Lot.created).where(
    Lot.tenant_id == bindparam("tenant_id"),
    Lot.wallet_id == bindparam("wallet_id"),
    Lot.remaining > 0,
)


def _check_legs(legs: Sequence[Leg]) -> None:
    totals: dict[str, int] = {}
    for account, amount in legs:
        if amount == 0:
            raise ValueError("a posting moves a non-zero amount")
        totals[account.asset] = totals.get(account.asset, 0) + amount
    if any(totals.values()):
        raise ValueError(f"postings do not balance: {totals}")


def _require_lock(session: Session, wallet: Account) -> None:
    if wallet.id not in locked_wallet_ids(session):
        raise RuntimeError(f"wallet {wallet.id} is changed without its lock")


def _insufficient(available: int, points: int) -> InsufficientPoints:
    return InsufficientPoints(
        f"{points} points needed, {max(available, 0)} available.", param="points"
    )


# --- the writer ----------------------------------------------------------------------------


def _post(
    session: Session,
    *,
    tenant_id: str,
    kind: str,
    legs: Sequence[Leg],
    reference: str | None,
    metadata: dict | None,
    reverses_id: str | None = None,
    opens: Sequence[tuple[Account, int, datetime | None]] = (),
    takes: Sequence[Take] = (),
    restores: Sequence[Take] = (),
    releasing: Mapping[str, int] | None = None,
) -> PostedTransaction:
    """Write one transaction: its ``legs`` (the wallets among them locked by the caller),
    the lots it ``opens`` (wallet, points, expiry), the lots it ``takes`` points from
    (consumed) and ``restores`` points to (given back), and the held points it releases
    per wallet.

    Raises InsufficientPoints if a wallet would go below zero (nothing changes), ValueError
    for an unknown ``kind`` or legs that do not balance.
    """
    kind = Kind(kind).value
    _check_legs(legs)
    wallets: dict[str, Account] = {}
    balances: dict[str, int] = {}
    leg_balances: list[int | None] = []
    for account, amount in legs:
        if not account.is_wallet:
            leg_balances.append(None)
            continue
        _require_lock(session, account)
        before = balances.get(account.id, account.balance)
        after = before + amount
        if after < 0 and not account.may_go_negative:
            raise _insufficient(before, -amount)
        wallets[account.id] = account
        balances[account.id] = after
        leg_balances.append(after)
    releasing = releasing or {}
    values = {
        wallet_id: _wallet_values(
            wallet, balance=balances[wallet_id], held=wallet.held - releasing.get(wallet_id, 0)
        )
        for wallet_id, wallet in wallets.items()
    }
    changes: dict[str, list[int]] = {}  # lot id: [remaining read under the lock, change]
    for lot, taken in takes:
        changes.setdefault(lot.id, [lot.remaining, 0])[1] -= taken
    for lot, given in restores:
        changes.setdefault(lot.id, [lot.remaining, 0])[1] += given

    session.flush()  # the rows written next may refer to rows the session still holds
    posted = PostedTransaction(
        id=new_id("txn"),
        tenant_id=tenant_id,
        kind=kind,
        reference=reference,
        meta=dict(metadata or {}),
        created=clock.now(),
        postings=tuple(
            PostedLeg(account.tenant_id, account.id, account.asset, amount, balance)
            for (account, amount), balance in zip(legs, leg_balances, strict=True)
        ),
        reverses_id=reverses_id,
    )
    updated = sql.write(
        session.connection(),
        transaction={
            "transaction_id": posted.id,
            "tenant_id": tenant_id,
            "kind": kind,
            "reference": reference,
            "meta": posted.meta,
            "reverses_id": reverses_id,
            "created": posted.created,
        },
        postings=[
            (leg.tenant_id, leg.account_id, leg.asset, leg.amount, leg.balance_after)
            for leg in posted.postings
        ],
        lots=[
            (new_id("lot"), wallet.id, points, expires_at) for wallet, points, expires_at in opens
        ],
        lot_changes={lot_id: change for lot_id, (_, change) in changes.items()},
        consumptions=[(lot.id, taken) for lot, taken in takes],
        wallets=list(values.values()),
    )
    _keep_in_step(wallets, values, updated)
    for lot_id, (remaining, change) in changes.items():
        held = session.identity_map.get(identity_key(Lot, lot_id))
        if held is not None:
            set_committed_value(held, "remaining", remaining + change)
    return posted


def _wallet_values(wallet: Account, *, balance: int, held: int) -> dict[str, Any]:
    """A locked wallet's row after a change: its new balance and held points, and its
    version bumped on condition that the row still has the one read under the lock."""
    return {
        "id": wallet.id,
        "balance": balance,
        "held": held,
        "version": wallet.version + 1,
        "previous": wallet.version,
    }


def _keep_in_step(
    wallets: Mapping[str, Account], values: Mapping[str, dict[str, Any]], updated: int
) -> None:
    """Check every wallet's row took its new values; keep the session's copies in step."""
    if updated != len(wallets):
        raise RuntimeError(f"wallets {sorted(wallets)} changed while locked")
    for wallet_id, wallet in wallets.items():
        for name in ("balance", "held", "version"):
            set_committed_value(wallet, name, values[wallet_id][name])
