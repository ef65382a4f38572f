"""Accounts and locks: member wallets, tenant-wide accounts, and the wallet row lock.

Every function that changes a wallet first locks its row (``SELECT ... FOR UPDATE``; two
wallets in id order, so two transfers in opposite directions never deadlock) and then reads
the wallet's lots and holds afresh. Everything about a wallet - balance, held, lots, holds -
is written only under that lock, and only by ``postings``. SQLite has no row locks; there
every transaction starts with ``BEGIN IMMEDIATE`` and writers take turns. Tenant-wide
accounts (issuance, redemption, breakage, ...) are never locked or updated: they keep no
cached balance, a posting to them is one INSERT.

The session remembers which wallets its current transaction has locked, so a wallet is
locked (and read) once per transaction however many postings follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from jifen.platform import clock
from jifen.platform.cache import ProcessCache
from jifen.platform.db import insert_rows, is_unique_violation
from jifen.platform.errors import Unprocessable
from jifen.platform.ids import new_id

from .model import NEGATIVE_BY_DESIGN, Account, AccountType


def open_wallet(
    session: Session, *, tenant_id: str, asset: str, owner_id: str, lock: bool = False
) -> Account:
    """The member wallet of ``owner_id`` in ``asset``, created empty if there is none.

    ``lock=True`` also locks its row for the rest of the transaction (what a posting
    would do next) in the same statement that reads it, saving a second round trip.
    """
    if lock:
        session.flush()  # a wallet this transaction created is found below
        params = {"tenant_id": tenant_id, "asset": asset, "owner_id": owner_id}
        row = session.connection().execute(_LOCK_WALLET, params).first()
        if row is not None:
            wallet = _in_session(session, row)
            locked_wallet_ids(session).add(wallet.id)
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
        locked_wallet_ids(session).add(wallet.id)
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
    locked_wallet_ids(session).add(wallet.id)
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
    locked = locked_wallet_ids(session)
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


def locked_wallet_ids(session: Session) -> set[str]:
    """Ids of the wallets locked in the session's current transaction."""
    transaction = session.get_transaction()
    current = session.info.get("jifen.locked_wallets")
    if current is None or current[0] is not transaction:
        current = (transaction, set())
        session.info["jifen.locked_wallets"] = current
    return current[1]
