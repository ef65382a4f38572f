"""Credits, debits, transfers and reversals through the posting service."""

from __future__ import annotations

import pytest
from ledger_support import at

from jifen.platform import clock
from jifen.platform.errors import InsufficientPoints, InvalidState, Unprocessable
from jifen.platform.ledger.model import LotConsumption, Posting, Transaction

NOW = at(2026, 3, 1, 12)


def test_credit_posts_from_issuance_and_opens_a_lot(books):
    wallet = books.wallet()
    txn = books.credit(wallet, 120, expires_at=at(2027, 1, 1))
    assert books.cached(wallet) == (120, 0)
    legs = books.postings(txn)
    assert sorted(amount for _, amount in legs) == [-120, 120]
    assert (wallet, 120) in legs
    assert books.lots(wallet) == [(120, 120, at(2027, 1, 1))]


def test_open_wallet_is_get_or_create(books):
    assert books.wallet("mem_same") == books.wallet("mem_same")


def test_debit_consumes_nearest_expiry_first_then_oldest_and_never_last(books):
    wallet = books.wallet()
    with clock.frozen_at(NOW):
        books.credit(wallet, 10)  # never expires
        books.credit(wallet, 20, expires_at=at(2027, 6, 1))
        books.credit(wallet, 30, expires_at=at(2026, 12, 1))
    with clock.frozen_at(at(2026, 3, 2)):
        books.credit(wallet, 40, expires_at=at(2026, 12, 1))  # same expiry, younger
        books.debit(wallet, 45)
    assert books.lots(wallet) == [
        (10, 10, None),
        (20, 20, at(2027, 6, 1)),
        (30, 0, at(2026, 12, 1)),
        (40, 25, at(2026, 12, 1)),
    ]
    with clock.frozen_at(at(2026, 3, 3)):
        books.debit(wallet, 50)
    assert [remaining for _, remaining, _ in books.lots(wallet)] == [5, 0, 0, 0]
    assert books.cached(wallet) == (5, 0)


def test_redeem_more_than_available_changes_nothing(books):
    wallet = books.wallet()
    books.credit(wallet, 50)
    before = books.count(Transaction)
    with pytest.raises(InsufficientPoints) as error:
        books.debit(wallet, 51)
    assert error.value.code == "insufficient_points"
    assert books.count(Transaction) == before
    assert books.cached(wallet) == (50, 0)
    assert books.lots(wallet) == [(50, 50, None)]


@pytest.mark.parametrize("points", [0, -5, 1.5, 10.0, "10", None, True, 2**53, 10**30], ids=repr)
def test_bad_points_are_refused_and_nothing_is_posted(books, points):
    wallet, other = books.wallet(), books.wallet()
    books.credit(wallet, 100)
    before = (books.count(Transaction), books.count(Posting))
    for attempt in (
        lambda: books.credit(wallet, points),
        lambda: books.debit(wallet, points),
        lambda: books.transfer(wallet, other, points),
        lambda: books.hold(wallet, points, expires_at=at(2100, 1, 1)),
    ):
        with pytest.raises(Unprocessable) as error:
            attempt()
        assert error.value.code == "invalid_points" and error.value.param == "points"
    assert (books.count(Transaction), books.count(Posting)) == before
    assert books.cached(wallet) == (100, 0)


def test_largest_amount_is_accepted(books):
    wallet = books.wallet()
    books.credit(wallet, 2**53 - 1)
    books.debit(wallet, 2**53 - 2)
    assert books.cached(wallet) == (1, 0)


def test_transfer_keeps_the_givers_expiry_dates(books):
    giver, receiver = books.wallet(), books.wallet()
    with clock.frozen_at(NOW):
        books.credit(giver, 30, expires_at=at(2026, 12, 1))
        books.credit(giver, 50, expires_at=at(2027, 12, 1))
        books.credit(giver, 20)
        books.transfer(giver, receiver, 90)
    assert books.cached(giver) == (10, 0)
    assert books.cached(receiver) == (90, 0)
    assert sorted(books.lots(receiver), key=lambda lot: lot[0]) == [
        (10, 10, None),
        (30, 30, at(2026, 12, 1)),
        (50, 50, at(2027, 12, 1)),
    ]


def test_transfer_to_the_same_wallet_is_refused(books):
    wallet = books.wallet()
    books.credit(wallet, 10)
    with pytest.raises(Unprocessable) as error:
        books.transfer(wallet, wallet, 5)
    assert error.value.code == "same_wallet"


def test_transfer_more_than_available_changes_nothing(books):
    giver, receiver = books.wallet(), books.wallet()
    books.credit(giver, 10)
    with pytest.raises(InsufficientPoints):
        books.transfer(giver, receiver, 11)
    assert books.cached(giver) == (10, 0) and books.cached(receiver) == (0, 0)


def test_reversing_a_debit_restores_exactly_the_lots_it_consumed(books):
    wallet = books.wallet()
    with clock.frozen_at(NOW):
        books.credit(wallet, 30, expires_at=at(2026, 6, 1))
        books.credit(wallet, 30, expires_at=at(2026, 9, 1))
        spend = books.debit(wallet, 40)
        books.credit(wallet, 5, expires_at=at(2026, 4, 1))
        reversal = books.reverse(spend, reason="order cancelled")
    assert books.cached(wallet) == (65, 0)
    assert books.lots(wallet) == [
        (5, 5, at(2026, 4, 1)),
        (30, 30, at(2026, 6, 1)),
        (30, 30, at(2026, 9, 1)),
    ]
    assert sorted(books.postings(reversal)) == sorted(
        (account, -amount) for account, amount in books.postings(spend)
    )


def test_reversing_a_credit_takes_back_its_own_lot_first(books):
    wallet = books.wallet()
    with clock.frozen_at(NOW):
        books.credit(wallet, 10, expires_at=at(2026, 4, 1))
        earned = books.credit(wallet, 50, expires_at=at(2027, 1, 1))
        books.reverse(earned)
    assert books.lots(wallet) == [(10, 10, at(2026, 4, 1)), (50, 0, at(2027, 1, 1))]


def test_reversing_a_partly_spent_credit_takes_the_rest_from_other_lots(books):
    wallet = books.wallet()
    with clock.frozen_at(NOW):
        books.credit(wallet, 100)
        earned = books.credit(wallet, 50, expires_at=at(2026, 4, 1))
        books.debit(wallet, 30)  # from the earned lot: it expires first
        books.reverse(earned)
    assert books.lots(wallet) == [(50, 0, at(2026, 4, 1)), (100, 70, None)]
    assert books.cached(wallet) == (70, 0)


def test_reversing_a_credit_already_spent_is_refused(books):
    wallet = books.wallet()
    earned = books.credit(wallet, 50)
    books.debit(wallet, 30)
    with pytest.raises(InsufficientPoints):
        books.reverse(earned)
    assert books.cached(wallet) == (20, 0)


def test_reversing_a_transfer_moves_the_points_back(books):
    giver, receiver = books.wallet(), books.wallet()
    with clock.frozen_at(NOW):
        books.credit(giver, 40, expires_at=at(2026, 8, 1))
        gift = books.transfer(giver, receiver, 25)
        books.reverse(gift)
    assert books.cached(giver) == (40, 0) and books.cached(receiver) == (0, 0)
    assert books.lots(giver) == [(40, 40, at(2026, 8, 1))]


def test_a_transaction_is_reversed_at_most_once(books):
    wallet = books.wallet()
    earned = books.credit(wallet, 50)
    reversal = books.reverse(earned)
    with pytest.raises(InvalidState):
        books.reverse(earned)
    with pytest.raises(InvalidState):
        books.reverse(reversal)
    assert books.cached(wallet) == (0, 0)


def test_every_debit_records_its_lot_consumptions(books):
    wallet = books.wallet()
    books.credit(wallet, 5, expires_at=at(2030, 1, 1))
    books.credit(wallet, 5, expires_at=at(2031, 1, 1))
    spend = books.debit(wallet, 7)
    consumed = books.run(
        lambda s: sorted(
            c.points for c in s.query(LotConsumption).filter(LotConsumption.transaction_id == spend)
        )
    )
    assert consumed == [2, 5]


def test_unknown_kind_is_a_programming_error(books):
    wallet = books.wallet()
    with pytest.raises(ValueError):
        books.credit(wallet, 5, kind="bonus-ish")
    assert books.cached(wallet) == (0, 0)


def test_debit_and_credit_keep_what_the_session_holds_in_step(books):
    """Both post with plain SQL: the wallet and any lot already loaded in the session
    must read as the database now holds them, without a refresh."""
    from sqlalchemy import select

    from jifen.platform import ledger
    from jifen.platform.ledger.model import Account, Lot

    wallet_id = books.wallet()
    books.credit(wallet_id, 30, expires_at=at(2027, 1, 1))
    books.credit(wallet_id, 50)

    def spend_then_earn(session):
        wallet = session.get(Account, wallet_id)
        lots = session.scalars(select(Lot).where(Lot.wallet_id == wallet_id)).all()
        posted = ledger.debit(session, wallet, 40, kind="redeem")
        assert [leg.amount for leg in posted.postings] == [-40, 40]  # wallet first
        assert posted.postings[0].balance_after == 40
        assert sorted(lot.remaining for lot in lots) == [0, 40]  # loaded before the debit
        ledger.credit(session, wallet, 5, kind="earn")
        assert (wallet.balance, wallet.version) == (45, 4)

    books.run(spend_then_earn)
    assert books.cached(wallet_id) == (45, 0)
    assert sorted(remaining for _, remaining, _ in books.lots(wallet_id)) == [0, 5, 40]


def test_create_wallet_gives_a_locked_empty_wallet_that_takes_a_credit(books):
    from jifen.platform import ledger

    def create_and_credit(session):
        wallet = ledger.create_wallet(
            session, tenant_id=books.tenant_id, asset=books.asset, owner_id="mem_fresh"
        )
        assert (wallet.balance, wallet.held, wallet.version) == (0, 0, 0)
        ledger.credit(session, wallet, 7, kind="earn")
        return wallet.id

    wallet_id = books.run(create_and_credit)
    assert books.wallet("mem_fresh") == wallet_id  # open_wallet finds the same one
    assert books.cached(wallet_id) == (7, 0)


def test_every_movement_keeps_what_the_session_holds_in_step(books):
    """Transfers, captures, reversals and expiry post with plain SQL too: wallets and
    lots loaded in the session before read as the database holds them after."""
    from sqlalchemy import select

    from jifen.platform import ledger
    from jifen.platform.ledger.model import Account, Hold, Lot

    giver_id, receiver_id = books.wallet(), books.wallet()
    books.credit(giver_id, 30, expires_at=at(2020, 1, 1))  # expired, not yet swept
    books.credit(giver_id, 50)
    hold_id = books.hold(giver_id, 10, expires_at=at(2099, 1, 1))

    def every_movement(session):
        wallets = [session.get(Account, giver_id), session.get(Account, receiver_id)]
        lots = session.scalars(select(Lot).where(Lot.wallet_id == giver_id)).all()
        gift = ledger.transfer(session, wallets[0], wallets[1], 20)
        ledger.capture_hold(session, session.get(Hold, hold_id), 4)
        mirror = ledger.reverse(session, session.get(Transaction, gift.id))
        assert mirror.reverses_id == gift.id
        expired = ledger.expire_lots(session, tenant_id=books.tenant_id, now=clock.now())
        assert [leg.amount for leg in expired[0].postings] == [-30, 30]  # wallet first
        return (
            [(wallet.balance, wallet.held, wallet.version) for wallet in wallets],
            sorted(lot.remaining for lot in lots),
        )

    def stored(session):
        wallets = [session.get(Account, giver_id), session.get(Account, receiver_id)]
        lots = session.scalars(select(Lot).where(Lot.wallet_id == giver_id))
        return (
            [(wallet.balance, wallet.held, wallet.version) for wallet in wallets],
            sorted(lot.remaining for lot in lots),
        )

    held = books.run(every_movement)
    assert held == books.run(stored) == ([(46, 0, 7), (0, 0, 2)], [0, 46])
    books.assert_clean()
