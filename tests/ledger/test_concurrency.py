"""Many units of work on the same wallets at once, each retried by ``run_in_transaction``.

On PostgreSQL these race real row locks (and would deadlock without the fixed lock
order); on SQLite writers are serialized by ``BEGIN IMMEDIATE``. Either way: no wallet
below zero, no lost update, no deadlock reaching the caller, and the audit stays clean.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from factories import in_app_context
from ledger_support import at

from jifen.platform.errors import JifenError


def race(calls: list[Callable[[], object]]) -> Counter:
    """Start every call at the same moment; count outcomes ("ok" or the error code)."""
    return Counter(outcomes(calls))


def outcomes(calls: list[Callable[[], object]]) -> list[str]:
    """Start every call at the same moment: each one's outcome, in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> str:
        barrier.wait()
        try:
            call()
            return "ok"
        except JifenError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(in_app_context(run), calls))


def test_fifty_debits_of_ten_against_a_hundred(books):
    wallet = books.wallet()
    books.credit(wallet, 60, expires_at=at(2100, 1, 1))
    books.credit(wallet, 40)
    outcome = race([lambda: books.debit(wallet, 10) for _ in range(50)])
    assert outcome == Counter({"ok": 10, "insufficient_points": 40})
    assert books.cached(wallet) == (0, 0)
    assert [remaining for _, remaining, _ in books.lots(wallet)] == [0, 0]


def test_fifty_holds_of_ten_against_a_hundred(books):
    wallet = books.wallet()
    books.credit(wallet, 100)
    outcome = race([lambda: books.hold(wallet, 10, expires_at=at(2100, 1, 1)) for _ in range(50)])
    assert outcome == Counter({"ok": 10, "insufficient_points": 40})
    balance = books.balance(wallet)
    assert (balance.points, balance.held, balance.available) == (100, 100, 0)


def test_captures_voids_and_debits_racing_on_one_wallet(books):
    wallet = books.wallet()
    books.credit(wallet, 100)
    holds = [books.hold(wallet, 10, expires_at=at(2100, 1, 1)) for _ in range(5)]
    calls = [lambda h=h: books.capture(h) for h in holds]
    calls += [lambda h=h: books.void(h) for h in holds]
    calls += [lambda: books.debit(wallet, 10) for _ in range(10)]
    results = outcomes(calls)
    ended = Counter(results[:10])
    assert ended == Counter({"ok": 5, "invalid_state": 5})  # every hold ends exactly once
    states = Counter(books.hold_state(h)[0] for h in holds)
    assert states["captured"] + states["voided"] == 5
    debited = results[10:].count("ok")
    assert books.cached(wallet) == (100 - 10 * (states["captured"] + debited), 0)
    assert debited >= 5  # the 50 points no hold reserved were always there


def test_transfers_both_ways_at_once_never_deadlock_the_caller(books):
    left, right = books.wallet(), books.wallet()
    books.credit(left, 500)
    books.credit(right, 500)
    calls = [lambda: books.transfer(left, right, 7) for _ in range(20)]
    calls += [lambda: books.transfer(right, left, 5) for _ in range(20)]
    outcome = race(calls)
    assert outcome == Counter({"ok": 40})
    assert books.cached(left) == (500 - 140 + 100, 0)
    assert books.cached(right) == (500 + 140 - 100, 0)


def test_credits_on_many_wallets_do_not_serialize_on_the_issuance_account(books):
    wallets = [books.wallet() for _ in range(20)]
    outcome = race([lambda w=w: books.credit(w, 3) for w in wallets for _ in range(2)])
    assert outcome == Counter({"ok": 40})
    assert {books.cached(w) for w in wallets} == {(6, 0)}


def test_concurrent_reversals_of_one_transaction_reverse_it_once(books):
    wallet = books.wallet()
    earned = books.credit(wallet, 100)
    outcome = race([lambda: books.reverse(earned) for _ in range(10)])
    assert outcome == Counter({"ok": 1, "invalid_state": 9})
    assert books.cached(wallet) == (0, 0)
