"""Holds: pending, then captured (whole or in part), voided or expired - exactly once."""

from __future__ import annotations

import pytest
from ledger_support import at

from jifen.platform import clock
from jifen.platform.errors import InsufficientPoints, InvalidState, Unprocessable
from jifen.platform.ledger.model import Transaction

NOW = at(2026, 5, 1, 8)
LATER = at(2026, 5, 2, 8)


@pytest.fixture
def funded(books):
    wallet = books.wallet()
    with clock.frozen_at(NOW):
        books.credit(wallet, 100)
    return wallet


def test_a_hold_reserves_points_without_posting(books, funded):
    before = books.count(Transaction)
    with clock.frozen_at(NOW):
        books.hold(funded, 60, expires_at=LATER)
        balance = books.balance(funded)
    assert (balance.points, balance.held, balance.available) == (100, 60, 40)
    assert books.count(Transaction) == before
    with pytest.raises(InsufficientPoints), clock.frozen_at(NOW):
        books.debit(funded, 41)


def test_capture_in_part_debits_that_much_and_releases_the_rest(books, funded):
    with clock.frozen_at(NOW):
        hold = books.hold(funded, 60, expires_at=LATER)
        books.capture(hold, 45)
    assert books.hold_state(hold) == ("captured", 45)
    assert books.cached(funded) == (55, 0)


def test_capture_whole_by_default(books, funded):
    with clock.frozen_at(NOW):
        hold = books.hold(funded, 60, expires_at=LATER)
        txn = books.capture(hold)
    assert books.hold_state(hold) == ("captured", 60)
    assert books.cached(funded) == (40, 0)
    assert (funded, -60) in books.postings(txn)


def test_capturing_twice_is_refused(books, funded):
    with clock.frozen_at(NOW):
        hold = books.hold(funded, 60, expires_at=LATER)
        books.capture(hold, 10)
        with pytest.raises(InvalidState):
            books.capture(hold, 10)
    assert books.cached(funded) == (90, 0)


def test_voiding_a_captured_hold_is_refused(books, funded):
    with clock.frozen_at(NOW):
        hold = books.hold(funded, 60, expires_at=LATER)
        books.capture(hold)
        with pytest.raises(InvalidState) as error:
            books.void(hold)
    assert error.value.code == "invalid_state"
    assert books.hold_state(hold) == ("captured", 60)


def test_void_releases_everything_and_cannot_be_captured_after(books, funded):
    with clock.frozen_at(NOW):
        hold = books.hold(funded, 60, expires_at=LATER)
        assert books.void(hold) == "voided"
        with pytest.raises(InvalidState):
            books.capture(hold)
        with pytest.raises(InvalidState):
            books.void(hold)
    assert books.cached(funded) == (100, 0)


@pytest.mark.parametrize("points", [61, 0, -1, 2.5])
def test_capturing_more_than_held_or_bad_points_is_refused(books, funded, points):
    with clock.frozen_at(NOW):
        hold = books.hold(funded, 60, expires_at=LATER)
        with pytest.raises(Unprocessable):
            books.capture(hold, points)
    assert books.hold_state(hold) == ("pending", 0)
    assert books.cached(funded) == (100, 60)


def test_holding_more_than_available_is_refused(books, funded):
    with clock.frozen_at(NOW):
        books.hold(funded, 70, expires_at=LATER)
        with pytest.raises(InsufficientPoints):
            books.hold(funded, 31, expires_at=LATER)
    assert books.cached(funded) == (100, 70)


def test_a_hold_must_expire_in_the_future(books, funded):
    with clock.frozen_at(NOW), pytest.raises(Unprocessable) as error:
        books.hold(funded, 10, expires_at=NOW)
    assert error.value.param == "expires_at"


def test_a_hold_past_its_expiry_cannot_be_captured_and_the_sweep_releases_it(books, funded):
    with clock.frozen_at(NOW):
        hold = books.hold(funded, 60, expires_at=LATER)
    with clock.frozen_at(LATER):
        with pytest.raises(InvalidState):
            books.capture(hold)
        assert books.expire_holds(LATER) == 1
        assert books.expire_holds(LATER) == 0
    assert books.hold_state(hold) == ("expired", 0)
    assert books.cached(funded) == (100, 0)


def test_held_points_do_not_expire_until_the_hold_ends(books):
    wallet = books.wallet()
    with clock.frozen_at(NOW):
        books.credit(wallet, 50, expires_at=at(2026, 5, 1, 12))
        books.credit(wallet, 20)
        hold = books.hold(wallet, 60, expires_at=at(2026, 5, 3))
    with clock.frozen_at(LATER):
        books.expire(LATER)  # 10 of the 50 expire, 40 stay for the hold
        assert books.cached(wallet) == (60, 60)
        books.capture(hold, 30)  # from the expired lot's 40 first
        assert books.lots(wallet) == [(20, 20, None), (50, 10, at(2026, 5, 1, 12))]
        assert books.cached(wallet) == (30, 0)
        assert books.balance(wallet).points == 20  # released, so the other 10 are gone


def test_voided_hold_lets_the_protected_points_expire_at_the_next_sweep(books):
    wallet = books.wallet()
    with clock.frozen_at(NOW):
        books.credit(wallet, 50, expires_at=at(2026, 5, 1, 12))
        hold = books.hold(wallet, 50, expires_at=at(2026, 5, 3))
    with clock.frozen_at(LATER):
        assert books.expire(LATER) == []
        books.void(hold)
        assert books.balance(wallet).points == 0  # expired, shown before the sweep
        assert len(books.expire(LATER)) == 1
    assert books.cached(wallet) == (0, 0)
