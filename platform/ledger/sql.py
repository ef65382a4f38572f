"""The ledger's plain SQL, per dialect: the statements that write a posting.

A posting skips the ORM unit of work (docs/architecture.md, Hot paths write with plain
SQL). It writes its transaction, its postings, the lots it opens, the lots it takes from
or gives back to (with a consumption row for each take), and last the wallets' new
balance, held points and version, each wallet on condition that its version is the one
read under its lock. On PostgreSQL all of this is one data-modifying CTE; on SQLite the
same parts run one by one.

``write`` sends one posting. Its statements depend only on the posting's ``Shape`` (how
many legs, wallets and lots opened; whether lots change) and are built once per shape.
On PostgreSQL the lots a posting changes and consumes travel as arrays, so one statement
fits any number of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import JSON, Connection, bindparam, text
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


def write(
    connection: Connection,
    *,
    transaction: dict[str, Any],
    postings: Sequence[tuple[str, str, str, int, int | None]],
    lots: Sequence[tuple[str, str, int, datetime | None]],
    lot_changes: Mapping[str, int],
    consumptions: Sequence[tuple[str, int]],
    wallets: Sequence[Mapping[str, Any]],
) -> int:
    """Send one posting: the ``transaction``'s columns, its ``postings`` (tenant, account,
    asset, amount, balance after), the ``lots`` it opens (id, wallet, points, expiry), the
    change of each lot's remaining points, the ``consumptions`` (lot id, points), and the
    ``wallets``' new values (id, balance, held, version, previous version). Returns how
    many wallets took their new values."""
    shape = Shape(
        legs=len(postings),
        wallets=len(wallets),
        opened=len(lots),
        changes_lots=bool(lot_changes),
        consumes=bool(consumptions),
    )
    params = dict(transaction)
    for i, (tenant_id, account_id, asset, amount, balance_after) in enumerate(postings):
        params[f"leg{i}_tenant"] = tenant_id
        params[f"leg{i}_account"] = account_id
        params[f"leg{i}_asset"] = asset
        params[f"leg{i}_amount"] = amount
        params[f"leg{i}_balance"] = balance_after
    for k, (lot_id, wallet_id, points, expires_at) in enumerate(lots):
        params[f"lot{k}_id"] = lot_id
        params[f"lot{k}_wallet"] = wallet_id
        params[f"lot{k}_points"] = points
        params[f"lot{k}_expires_at"] = expires_at
    if connection.dialect.name == "postgresql":
        for j, values in enumerate(wallets):
            params.update({f"wallet{j}_{name}": value for name, value in values.items()})
        if lot_changes:
            params["changed_ids"] = list(lot_changes)
            params["changed_deltas"] = list(lot_changes.values())
        if consumptions:
            params["consumed_ids"] = [lot_id for lot_id, _ in consumptions]
            params["consumed_points"] = [points for _, points in consumptions]
        return connection.execute(_at_once(shape), params).rowcount
    for statement in _one_by_one(shape):
        connection.execute(statement, params)
    tenant_id, transaction_id = transaction["tenant_id"], transaction["transaction_id"]
    if lot_changes:
        connection.execute(
            _LOT_CHANGE,
            [
                {"tenant_id": tenant_id, "lot_id": lot_id, "delta": delta}
                for lot_id, delta in lot_changes.items()
            ],
        )
    if consumptions:
        connection.execute(
            _CONSUMPTION,
            [
                {"tenant_id": tenant_id, "transaction_id": transaction_id, "lot_id": i, "points": p}
                for i, p in consumptions
            ],
        )
    updated = 0
    for values in wallets:
        wallet_params = {f"wallet0_{name}": value for name, value in values.items()}
        updated += connection.execute(WALLET_UPDATE, wallet_params).rowcount
    return updated


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
def _at_once(shape: Shape) -> TextClause:
    """PostgreSQL: the whole posting in one statement; its row count is the number of
    wallets updated."""
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
    return _typed("WITH " + ", ".join(f"w{n} AS ({s})" for n, s in enumerate(first)) + " " + last)


@cache
def _one_by_one(shape: Shape) -> tuple[TextClause, ...]:
    """SQLite: the transaction, its postings and the lots it opens, one statement each;
    lot changes, consumptions and wallets follow a row at a time."""
    statements = [_transaction(), _postings(shape.legs)]
    if shape.opened:
        statements.append(_lots(shape.opened))
    return tuple(_typed(s) for s in statements)


_LOT_CHANGE = text(
    "UPDATE ledger_lots SET remaining = remaining + :delta"
    " WHERE tenant_id = :tenant_id AND id = :lot_id"
)
_CONSUMPTION = text(
    "INSERT INTO ledger_lot_consumptions (tenant_id, transaction_id, lot_id, points)"
    " VALUES (:tenant_id, :transaction_id, :lot_id, :points)"
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
