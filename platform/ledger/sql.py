"""The ledger's plain SQL, per dialect: the statements that write a posting.

A posting skips the ORM unit of work (docs/architecture.md, Hot paths write with plain
SQL). It writes its transaction, its postings, the lots it opens, the lots it takes from
or gives back to (with a consumption row for each take), and last the wallets' new
balance, held points and version, each wallet on condition that its version is the one
read under its lock. On PostgreSQL all of this is one data-modifying CTE; on SQLite the
same parts run one by one.

Statements depend only on a posting's ``Shape`` and are built once per shape. Parameters:
the transaction's (``transaction_id``, ``tenant_id``, ``kind``, ``reference``, ``meta``,
``reverses_id``, ``created``); per leg ``leg{i}_tenant``, ``_account``, ``_asset``,
``_amount``, ``_balance``; per lot opened ``lot{k}_id``, ``_wallet``, ``_points``,
``_expires_at``; per wallet ``wallet{j}_id``, ``_balance``, ``_held``, ``_version``,
``_previous``; on PostgreSQL the lot changes and consumptions as arrays (``changed_ids``,
``changed_deltas``, ``consumed_ids``, ``consumed_points``), on SQLite one parameter set per
lot (``lot_id`` and ``delta`` or ``points``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from sqlalchemy import JSON, bindparam, text
from sqlalchemy.sql.elements import TextClause

from jifen.platform.db import UTCDateTime


@dataclass(frozen=True)
class Shape:
    """What decides a posting's statements."""

    legs: int
    wallets: int
    opened: int
    changes_lots: bool
    consumes: bool


@dataclass(frozen=True)
class Statements:
    """A posting's statements for one dialect. ``at_once`` (PostgreSQL) is the whole
    posting in one statement whose row count is the number of wallets updated; otherwise
    ``each`` runs once, then ``lot_change`` and ``consumption`` once per lot, then
    ``wallet`` once per wallet (SQLite)."""

    at_once: TextClause | None
    each: tuple[TextClause, ...]
    lot_change: TextClause | None
    consumption: TextClause | None
    wallet: TextClause | None


def statements(dialect: str, shape: Shape) -> Statements:
    """The statements that write a posting of ``shape`` on ``dialect``."""
    if dialect == "postgresql":
        return _postgresql(shape)
    return _one_by_one(shape)


def _transaction() -> str:
    return (
        "INSERT INTO ledger_transactions"
        " (id, tenant_id, kind, reference, metadata, reverses_id, created)"
        " VALUES (:transaction_id, :tenant_id, :kind, :reference, :meta, :reverses_id, :created)"
    )


def _postings(legs: int) -> str:
    return (
        "INSERT INTO ledger_postings"
        " (tenant_id, transaction_id, account_id, asset, amount, balance_after) VALUES "
        + ", ".join(
            f"(:leg{i}_tenant, :transaction_id, :leg{i}_account, :leg{i}_asset,"
            f" :leg{i}_amount, :leg{i}_balance)"
            for i in range(legs)
        )
    )


def _lots(opened: int) -> str:
    return (
        "INSERT INTO ledger_lots"
        " (id, tenant_id, wallet_id, points, remaining, expires_at, transaction_id, created)"
        " VALUES "
        + ", ".join(
            f"(:lot{k}_id, :tenant_id, :lot{k}_wallet, :lot{k}_points, :lot{k}_points,"
            f" :lot{k}_expires_at, :transaction_id, :created)"
            for k in range(opened)
        )
    )


_WALLET = (
    "UPDATE ledger_accounts SET balance = :wallet{j}_balance, held = :wallet{j}_held,"
    " version = :wallet{j}_version WHERE id = :wallet{j}_id AND version = :wallet{j}_previous"
)


def _wallets(count: int) -> str:
    """One UPDATE for ``count`` wallets; its row count says how many took their values."""
    if count == 1:
        return _WALLET.format(j=0)
    rows = ", ".join(
        f"(CAST(:wallet{j}_id AS VARCHAR), CAST(:wallet{j}_balance AS BIGINT),"
        f" CAST(:wallet{j}_held AS BIGINT), CAST(:wallet{j}_version AS INTEGER),"
        f" CAST(:wallet{j}_previous AS INTEGER))"
        for j in range(count)
    )
    return (
        "UPDATE ledger_accounts SET balance = w.balance, held = w.held, version = w.version"
        f" FROM (VALUES {rows}) AS w(id, balance, held, version, previous)"
        " WHERE ledger_accounts.id = w.id AND ledger_accounts.version = w.previous"
    )


WALLET_UPDATE = text(_WALLET.format(j=0))
"""The UPDATE of one wallet (parameters ``wallet0_*``), on either dialect: what a change
of held points alone (placing or releasing a hold) writes."""

_CHANGED = (
    "unnest(CAST(:changed_ids AS VARCHAR[]), CAST(:changed_deltas AS BIGINT[]))"
    " AS changed(id, delta)"
)
_CONSUMED = (
    "unnest(CAST(:consumed_ids AS VARCHAR[]), CAST(:consumed_points AS BIGINT[]))"
    " AS consumed(id, points)"
)


@cache
def _postgresql(shape: Shape) -> Statements:
    parts = [_transaction(), _postings(shape.legs)]
    if shape.opened:
        parts.append(_lots(shape.opened))
    if shape.changes_lots:
        parts.append(
            "UPDATE ledger_lots SET remaining = ledger_lots.remaining + changed.delta"
            f" FROM {_CHANGED}"
            " WHERE ledger_lots.tenant_id = :tenant_id AND ledger_lots.id = changed.id"
        )
    if shape.consumes:
        parts.append(
            "INSERT INTO ledger_lot_consumptions (tenant_id, transaction_id, lot_id, points)"
            f" SELECT :tenant_id, :transaction_id, consumed.id, consumed.points FROM {_CONSUMED}"
        )
    if shape.wallets:
        parts.append(_wallets(shape.wallets))
    *first, last = parts
    at_once = "WITH " + ", ".join(f"w{n} AS ({s})" for n, s in enumerate(first)) + " " + last
    return Statements(_typed(at_once), (), None, None, None)


@cache
def _one_by_one(shape: Shape) -> Statements:
    each = [_transaction(), _postings(shape.legs)]
    if shape.opened:
        each.append(_lots(shape.opened))
    return Statements(
        at_once=None,
        each=tuple(_typed(s) for s in each),
        lot_change=_typed(
            "UPDATE ledger_lots SET remaining = remaining + :delta"
            " WHERE tenant_id = :tenant_id AND id = :lot_id"
        )
        if shape.changes_lots
        else None,
        consumption=_typed(
            "INSERT INTO ledger_lot_consumptions (tenant_id, transaction_id, lot_id, points)"
            " VALUES (:tenant_id, :transaction_id, :lot_id, :points)"
        )
        if shape.consumes
        else None,
        wallet=WALLET_UPDATE if shape.wallets else None,
    )


def _typed(statement: str) -> TextClause:
    """``statement`` with its JSON and time parameters typed."""
    names = dict.fromkeys(re.findall(r":(\w+)", statement))
    return text(statement).bindparams(
        *(
            bindparam(name, type_=JSON() if name == "meta" else UTCDateTime())
            for name in names
            if name in ("meta", "created") or name.endswith("expires_at")
        )
    )
