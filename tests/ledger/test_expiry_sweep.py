"""Lots expiring: the balance a member sees, the sweep to breakage, the periodic job."""

from __future__ import annotations

import pytest
from ledger_support import at

from jifen.platform import clock
from jifen.platform.errors import InsufficientPoints
from jifen.platform.jobs import periodic_jobs, run_periodic
from jifen.platform.ledger.sweeps import sweep_expired

EARNED = at(2026, 1, 10, 4)


def test_balance_lists_expiring_points_by_date(books):
    wallet = books.wallet()
    with clock.frozen_at(EARNED):
        books.credit(wallet, 30, expires_at=at(2026, 6, 30, 16))
        books.credit(wallet, 20, expires_at=at(2026, 6, 30, 16))
        books.credit(wallet, 5, expires_at=at(2026, 3, 31, 16))
        books.credit(wallet, 7)
        balance = books.balance(wallet)
    assert (balance.points, balance.held, balance.available) == (62, 0, 62)
    assert [(e.points, e.expires_at) for e in balance.expiring] == [
        (5, at(2026, 3, 31, 16)),
        (50, at(2026, 6, 30, 16)),
    ]


def test_expired_points_cannot_be_spent_even_before_the_sweep(books):
    wallet = books.wallet()
    with clock.frozen_at(EARNED):
        books.credit(wallet, 30, expires_at=at(2026, 2, 1))
        books.credit(wallet, 10)
    with clock.frozen_at(at(2026, 2, 1)):
        assert books.balance(wallet).available == 10
        with pytest.raises(InsufficientPoints):
            books.debit(wallet, 11)
        books.debit(wallet, 10)
    assert books.lots(wallet) == [(10, 0, None), (30, 30, at(2026, 2, 1))]


def test_expire_lots_moves_the_remainder_to_breakage_once(books):
    wallet = books.wallet()
    with clock.frozen_at(EARNED):
        books.credit(wallet, 30, expires_at=at(2026, 2, 1))
        books.credit(wallet, 10, expires_at=at(2026, 3, 1))
        books.debit(wallet, 12)
    with clock.frozen_at(at(2026, 2, 1)):
        (expired,) = books.expire(at(2026, 2, 1))
        assert books.expire(at(2026, 2, 1)) == []
    assert sorted(amount for _, amount in books.postings(expired)) == [-18, 18]
    assert books.cached(wallet) == (10, 0)
    assert books.lots(wallet) == [(10, 10, at(2026, 3, 1)), (30, 0, at(2026, 2, 1))]


def test_reversing_a_debit_into_an_expired_lot_leaves_it_for_the_sweep(books):
    wallet = books.wallet()
    with clock.frozen_at(EARNED):
        books.credit(wallet, 30, expires_at=at(2026, 2, 1))
        spend = books.debit(wallet, 30)
    with clock.frozen_at(at(2026, 2, 2)):
        books.reverse(spend)
        assert books.balance(wallet).points == 0
        assert len(books.expire(at(2026, 2, 2))) == 1
    assert books.cached(wallet) == (0, 0)


def test_the_sweep_expires_holds_then_lots_for_every_tenant(books):
    wallet = books.wallet()
    with clock.frozen_at(EARNED):
        books.credit(wallet, 40, expires_at=at(2026, 1, 20))
        books.hold(wallet, 40, expires_at=at(2026, 1, 15))
    summary = sweep_expired(now=at(2026, 1, 20))
    assert summary["holds"] >= 1 and summary["points"] >= 40 and summary["tenants"] >= 1
    assert books.cached(wallet) == (0, 0)
    again = sweep_expired(now=at(2026, 1, 20))
    assert again["tenants"] == 0 and again["points"] == 0


def test_the_expiry_job_is_registered_for_midnight_in_shanghai(app):
    job = periodic_jobs()["expiry"]
    assert job.cron == "0 16 * * *"
    with clock.frozen_at(at(2020, 1, 1)):
        summary = run_periodic("expiry")
    assert summary["now"] == "2020-01-01T00:00:00Z"


def test_jifen_audit_runs_the_ledger_checks(app):
    from jifen.platform.audit import run_all

    results = run_all()
    assert any(name.startswith("ledger: postings sum to zero") for name in results)
    assert all(problems == [] for name, problems in results.items() if name.startswith("ledger"))
