"""Parallel swaps from one card never overspend.

Threads released together by a barrier each carry out one quote over the services. On
SQLite writers take turns (``BEGIN IMMEDIATE``); on PostgreSQL they meet real row locks
(the card's daily usage row, then the wallets), and deadlocks are retried inside.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from factories import holder_code, in_app_context

from jifen.exchange import swaps
from jifen.platform.errors import JifenError


def race(calls: list) -> Counter:
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            call()
            return "ok"
        except JifenError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return Counter(pool.map(in_app_context(run), calls))


def _quotes(exchange, card_number: str, party, count: int, points: int) -> list:
    destination = party.tenant_id == exchange.b.id  # quoting A's points: the holder's code
    return [
        swaps.create_quote(
            party,
            card_number=card_number,
            holder_code=holder_code(card_number) if destination else None,
            from_currency=exchange.a.currency_code,
            to_currency=exchange.b.currency_code,
            points=points,
        )
        for _ in range(count)
    ]


def test_twenty_parallel_swaps_of_ten_against_a_hundred(exchange):
    member = exchange.funded(100)
    party = swaps.Party("test", tenant_id=exchange.a.id)
    quotes = _quotes(exchange, member["card_number"], party, 20, 10)
    outcome = race([lambda q=q: swaps.execute_swap(party, q.id) for q in quotes])
    assert outcome == Counter({"ok": 10, "insufficient_points": 10})
    assert exchange.balance(exchange.a, member["id"]) == 0
    [joined] = exchange.members_of_card(exchange.b, member["card_number"])
    assert exchange.balance(exchange.b, joined["id"]) == 10 * quotes[0].to_points


def test_one_quote_swapped_from_many_threads_is_used_once(exchange):
    member = exchange.funded(1000)
    party = swaps.Party("test", tenant_id=exchange.b.id)
    [quote] = _quotes(exchange, member["card_number"], party, 1, 500)
    outcome = race([lambda: swaps.execute_swap(party, quote.id) for _ in range(10)])
    assert outcome == Counter({"ok": 1, "quote_expired": 9})
    assert exchange.balance(exchange.a, member["id"]) == 500


@pytest.mark.postgres
def test_swaps_both_ways_and_spends_at_once_never_overspend(exchange):
    from jifen.tenants.members import points

    member = exchange.funded(1000)
    back = exchange.member(exchange.b, member["card_number"])
    exchange.award(exchange.b, back["id"], 1000)
    party = swaps.Party("test", tenant_id=exchange.a.id)
    there = _quotes(exchange, member["card_number"], party, 15, 100)
    home = [
        swaps.create_quote(
            party,
            card_number=member["card_number"],
            holder_code=holder_code(member["card_number"]),  # A spends B's points
            from_currency=exchange.b.currency_code,
            to_currency=exchange.a.currency_code,
            points=100,
        )
        for _ in range(15)
    ]
    calls = [lambda q=q: swaps.execute_swap(party, q.id) for q in there + home]
    calls += [
        lambda: points.redeem(exchange.a.id, member_id=member["id"], points=50) for _ in range(10)
    ]
    outcome = race(calls)
    assert set(outcome) <= {"ok", "insufficient_points"}
    assert exchange.balance(exchange.a, member["id"]) >= 0
    assert exchange.balance(exchange.b, back["id"]) >= 0
