"""The earn path locks the member's wallet once, in the statement that reads it."""

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

pytestmark = pytest.mark.usefixtures("audited")


def earn_body(member_id: str, order_id: str) -> dict:
    return {"member_id": member_id, "order_id": order_id, "amount": 35800, "currency": "CNY"}


def test_an_earn_reads_the_wallet_once_locking_it(points):
    member = points.member()
    for order_id in ("ord-1", "ord-2"):  # the wallet and the tenant's accounts exist
        assert points.post("/v1/earn", earn_body(member["id"], order_id)).status_code == 201
    wallet_reads: list[tuple[str, str]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT") and "FROM ledger_accounts" in statement:
            wallet_reads.append((conn.dialect.name, statement))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        response = points.post("/v1/earn", earn_body(member["id"], "ord-3"))
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert response.status_code == 201
    assert len(wallet_reads) == 1, wallet_reads
    dialect, statement = wallet_reads[0]
    assert "owner_id" in statement
    if dialect == "postgresql":  # SQLite has no row locks (BEGIN IMMEDIATE instead)
        assert "FOR UPDATE" in statement
