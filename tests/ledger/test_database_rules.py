"""The database enforces the ledger's rules on its own: raw SQL that skips the posting
service is refused. CHECK constraints and the append-only triggers exist on both
databases; the deferred zero-sum trigger is PostgreSQL's."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, update
from sqlalchemy.exc import DBAPIError

from jifen.platform.db import unit_of_work
from jifen.platform.ids import new_id
from jifen.platform.ledger.model import Account, Hold, Lot, Posting, Transaction


@pytest.fixture
def earned(books):
    wallet = books.wallet()
    txn = books.credit(wallet, 100)
    return wallet, txn


def refused(books, statement_for) -> None:
    """The statement fails at the latest at commit, and nothing is written."""
    with pytest.raises(DBAPIError), unit_of_work(tenant_id=books.tenant_id) as uow:
        for statement in statement_for(uow.session):
            uow.session.execute(statement)
        uow.commit()


def test_updating_a_posting_is_refused(books, earned):
    wallet, txn = earned
    refused(books, lambda s: [update(Posting).where(Posting.account_id == wallet).values(amount=5)])


def test_deleting_a_posting_or_transaction_is_refused(books, earned):
    wallet, txn = earned
    refused(books, lambda s: [delete(Posting).where(Posting.transaction_id == txn)])
    refused(books, lambda s: [delete(Transaction).where(Transaction.id == txn)])
    refused(books, lambda s: [update(Transaction).where(Transaction.id == txn).values(kind="x")])


def test_a_wallet_below_zero_is_refused(books, earned):
    wallet, _ = earned
    refused(books, lambda s: [update(Account).where(Account.id == wallet).values(balance=-1)])


def test_held_above_the_balance_is_refused(books, earned):
    wallet, _ = earned
    refused(books, lambda s: [update(Account).where(Account.id == wallet).values(held=101)])
    refused(books, lambda s: [update(Account).where(Account.id == wallet).values(held=-1)])


def test_a_lot_cannot_hold_more_than_it_opened_with(books, earned):
    wallet, _ = earned
    refused(books, lambda s: [update(Lot).where(Lot.wallet_id == wallet).values(remaining=101)])
    refused(books, lambda s: [update(Lot).where(Lot.wallet_id == wallet).values(remaining=-1)])


def test_a_hold_cannot_capture_more_than_it_held(books, earned):
    from ledger_support import at

    wallet, _ = earned
    hold = books.hold(wallet, 10, expires_at=at(2100, 1, 1))
    refused(
        books,
        lambda s: [
            update(Hold).where(Hold.id == hold).values(status="captured", captured_points=11)
        ],
    )


def _raw_transaction(books, txn_id: str, **values) -> object:
    return insert(Transaction).values(
        id=txn_id, tenant_id=books.tenant_id, kind="adjust", meta={}, **values
    )


def test_a_zero_posting_is_refused(books, earned):
    wallet, _ = earned
    txn_id = new_id("txn")
    refused(
        books,
        lambda s: [
            _raw_transaction(books, txn_id, created=_now()),
            insert(Posting).values(
                tenant_id=books.tenant_id,
                transaction_id=txn_id,
                account_id=wallet,
                asset=books.asset,
                amount=0,
            ),
        ],
    )


def test_a_posting_in_another_asset_than_its_account_is_refused(books, earned):
    wallet, _ = earned
    txn_id = new_id("txn")
    refused(
        books,
        lambda s: [
            _raw_transaction(books, txn_id, created=_now()),
            insert(Posting).values(
                tenant_id=books.tenant_id,
                transaction_id=txn_id,
                account_id=wallet,
                asset="OTHER",
                amount=5,
            ),
        ],
    )


def test_a_second_reversal_is_refused_by_the_unique_constraint(books, earned):
    _, txn = earned
    books.reverse(txn)
    refused(
        books, lambda s: [_raw_transaction(books, new_id("txn"), reverses_id=txn, created=_now())]
    )


@pytest.mark.postgres
def test_unbalanced_postings_fail_at_commit(books, earned):
    wallet, _ = earned
    txn_id = new_id("txn")
    with pytest.raises(DBAPIError) as error, unit_of_work(tenant_id=books.tenant_id) as uow:
        uow.session.execute(_raw_transaction(books, txn_id, created=_now()))
        uow.session.execute(
            insert(Posting).values(
                tenant_id=books.tenant_id,
                transaction_id=txn_id,
                account_id=wallet,
                asset=books.asset,
                amount=5,
            )
        )
        uow.session.flush()  # accepted for now: the check is deferred to commit
        uow.commit()
    assert "do not sum to zero" in str(error.value)


@pytest.mark.postgres
def test_a_transaction_without_postings_fails_at_commit(books):
    with pytest.raises(DBAPIError) as error, unit_of_work(tenant_id=books.tenant_id) as uow:
        uow.session.execute(_raw_transaction(books, new_id("txn"), created=_now()))
        uow.commit()
    assert "has no postings" in str(error.value)


@pytest.mark.postgres
def test_row_level_security_hides_other_tenants_ledgers(books, earned):
    from ledger_support import Books, new_tenant
    from sqlalchemy import text

    other = Books(*new_tenant())
    other.credit(other.wallet(), 5)
    with unit_of_work(tenant_id=books.tenant_id) as uow:
        visible = uow.session.execute(
            text("SELECT count(*) FROM ledger_postings WHERE tenant_id = :other"),
            {"other": other.tenant_id},
        ).scalar()
    assert visible == 0


def _now():
    from jifen.platform import clock

    return clock.now()
