"""Quotes and swaps over HTTP: the quoted amounts arrive, SPU is conserved, quotes expire
and are used once, and every bad request is a clear 4xx that posts nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from factories import assert_error
from sqlalchemy import select

from jifen.exchange.model import Swap
from jifen.platform.clearing import ClearingRecord
from jifen.platform.clock import frozen_at
from jifen.platform.db import unit_of_work
from jifen.platform.ledger.model import Lot
from jifen.tenants.members.cards import luhn_check_digit

T0 = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def swap_rows(swap_id: str) -> tuple[Swap, list[ClearingRecord]]:
    with unit_of_work(platform=True) as uow:
        swap = uow.session.get(Swap, swap_id)
        records = uow.session.scalars(
            select(ClearingRecord).where(ClearingRecord.swap_id == swap_id)
        ).all()
        return swap, list(records)


def test_a_swap_moves_exactly_the_quoted_points_and_conserves_spu(exchange):
    member = exchange.funded(10_000)
    card = member["card_number"]
    quote = exchange.quote(card, 1000)
    assert quote.status_code == 201, quote.get_json()
    body = quote.get_json()
    assert body["object"] == "quote" and body["id"].startswith("qt_")
    assert (body["from_points"], body["to_points"]) == (1000, 522)
    assert (body["rate_from"], body["rate_to"], body["fee_spu"]) == ("0.8", "1.5", "16")
    assert (body["spu_out"], body["spu_in"], body["rounding_spu"]) == ("800", "783", "1")

    swap = exchange.swap(body["id"])
    assert swap.status_code == 201, swap.get_json()
    done = swap.get_json()
    assert done["object"] == "swap" and done["id"].startswith("swp_")
    assert (done["status"], done["to_points"]) == ("completed", 522)

    assert exchange.balance(exchange.a, member["id"]) == 9000
    [joined] = exchange.members_of_card(exchange.b, card)
    assert joined["id"] == done["to_member"]
    assert exchange.balance(exchange.b, joined["id"]) == 522

    row, [record] = swap_rows(done["id"])
    assert row.spu_out == row.spu_in + row.fee_spu + row.rounding_spu
    assert (row.spu_out, row.spu_in, row.fee_spu, row.rounding_spu) == (
        800_000_000,
        783_000_000,
        16_000_000,
        1_000_000,
    )
    assert (record.payer_tenant_id, record.payee_tenant_id) == (exchange.a.id, exchange.b.id)
    assert (record.amount_spu, record.fee_spu, record.rounding_spu) == (
        row.spu_in,
        row.fee_spu,
        row.rounding_spu,
    )


def test_a_second_swap_credits_the_existing_destination_membership(exchange):
    member = exchange.funded(10_000)
    card = member["card_number"]
    existing = exchange.member(exchange.b, card)
    for _ in range(2):
        quote = exchange.quote(card, 1000, who=exchange.b).get_json()
        assert exchange.swap(quote["id"], who=exchange.b).status_code == 201
    assert exchange.members_of_card(exchange.b, card) == [
        exchange.get(f"/v1/members/{existing['id']}", exchange.b).get_json()
    ]
    assert exchange.balance(exchange.b, existing["id"]) == 1044


def test_a_membership_created_after_the_swap_read_the_card_is_used_not_duplicated(
    exchange,
):
    """The join into the destination gives way to a membership that appeared after the
    swap read the card (the merchant's, or another swap's): no duplicate, no error."""
    from jifen.exchange import swaps
    from jifen.platform import clock
    from jifen.platform.db import unit_of_work

    card = exchange.funded(10_000)["card_number"]
    with unit_of_work(platform=True) as uow:
        market, holder = swaps._read_market(
            uow.session, exchange.a.currency_code, exchange.b.currency_code, card_number=card
        )
    assert exchange.b.id not in holder.memberships
    theirs = exchange.member(exchange.b, card)  # the merchant adds the card meanwhile
    with unit_of_work(platform=True) as uow:
        joined = swaps._membership_or_join(uow, exchange.b.id, holder, clock.now())
        uow.commit()
    assert joined == (theirs["id"], False)
    assert [m["id"] for m in exchange.members_of_card(exchange.b, card)] == [theirs["id"]]


def test_swapping_back_never_gains(exchange):
    member = exchange.funded(1000)
    card = member["card_number"]
    there = exchange.swap(exchange.quote(card, 1000).get_json()["id"]).get_json()
    back_quote = exchange.quote(
        card,
        there["to_points"],
        from_currency=exchange.b.currency_code,
        to_currency=exchange.a.currency_code,
    )
    assert back_quote.status_code == 201, back_quote.get_json()
    assert exchange.swap(back_quote.get_json()["id"]).status_code == 201
    assert exchange.balance(exchange.a, member["id"]) < 1000


def test_an_expired_quote_is_refused_and_nothing_moves(exchange):
    member = exchange.funded(5000)
    with frozen_at(T0):
        quote = exchange.quote(member["card_number"], 1000).get_json()
        assert quote["expires_at"] == "2026-11-23T04:01:00Z"
    with frozen_at(T0 + timedelta(seconds=60)):
        assert_error(exchange.swap(quote["id"]), 422, "quote_expired")
    assert exchange.balance(exchange.a, member["id"]) == 5000
    assert exchange.members_of_card(exchange.b, member["card_number"]) == []


def test_a_quote_is_honoured_until_its_last_second(exchange):
    member = exchange.funded(5000)
    with frozen_at(T0):
        quote = exchange.quote(member["card_number"], 1000).get_json()
    with frozen_at(T0 + timedelta(seconds=59)):
        assert exchange.swap(quote["id"]).status_code == 201


def test_a_used_quote_is_refused(exchange):
    member = exchange.funded(5000)
    quote = exchange.quote(member["card_number"], 1000).get_json()
    assert exchange.swap(quote["id"]).status_code == 201
    assert_error(exchange.swap(quote["id"]), 422, "quote_expired")
    assert_error(exchange.swap(quote["id"], who=exchange.b), 422, "quote_expired")
    assert exchange.balance(exchange.a, member["id"]) == 4000


def test_an_idempotent_swap_replays_instead_of_failing(exchange):
    member = exchange.funded(5000)
    quote = exchange.quote(member["card_number"], 1000).get_json()
    first = exchange.swap(quote["id"], **{"Idempotency-Key": "swap-1"})
    again = exchange.swap(quote["id"], **{"Idempotency-Key": "swap-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()


def test_a_rate_change_after_quoting_does_not_change_the_quote(exchange):
    member = exchange.funded(5000)
    quote = exchange.quote(member["card_number"], 1000).get_json()
    exchange.settings(exchange.b, spu_rate="3")
    exchange.settings(exchange.a, spu_rate="0.1")
    swap = exchange.swap(quote["id"]).get_json()
    assert (swap["to_points"], swap["rate_from"], swap["rate_to"]) == (522, "0.8", "1.5")
    fresh = exchange.quote(member["card_number"], 1000).get_json()
    assert fresh["to_points"] == 32  # 1000 × 0.1 × 0.98 / 3 = 32.67


def test_rates_list_every_currency_in_the_exchange(exchange):
    response = exchange.get("/v1/exchange/rates")
    assert response.status_code == 200
    rates = {rate["currency"]: rate for rate in response.get_json()["data"]}
    assert rates[exchange.a.currency_code] | {"object": "exchange_rate"} == {
        "object": "exchange_rate",
        "currency": exchange.a.currency_code,
        "spu_rate": "0.8",
        "inbound": True,
        "outbound": True,
        "acceptance": True,
        "minimum": 1,
        "increment": 1,
    }
    assert rates[exchange.b.currency_code]["spu_rate"] == "1.5"


def test_settings_refuse_bad_rates(exchange):
    for rate in ("0", "-1", "0.0000001", "abc", 0.8, 1):
        response = exchange.client.put(
            "/v1/exchange/settings", json={"spu_rate": rate}, headers=exchange.a.auth
        )
        assert_error(response, 422, "invalid_value")


def test_the_fee_schedule_is_the_platforms(exchange, platform_token, set_fees):
    assert_error(
        exchange.client.put("/v1/platform/exchange/fees", json={}, headers=exchange.a.auth),
        403,
    )
    schedule = set_fees(swap={"bps": 0, "fixed": "1", "cap": "0.5"})
    assert schedule["swap"] == {"bps": 0, "fixed": "1", "cap": "0.5"}
    assert exchange.get("/v1/exchange/fees").get_json()["version"] == schedule["version"]
    member = exchange.funded(5000)
    quote = exchange.quote(member["card_number"], 1000).get_json()
    assert (quote["fee_spu"], quote["to_points"]) == ("0.5", 533)  # 799.5 / 1.5 = 533


def test_the_card_holder_swaps_their_own_card_in_one_call(exchange):
    member = exchange.funded(5000)
    token = exchange.post(f"/v1/members/{member['id']}/tokens", {}).get_json()["token"]
    holder = {"Authorization": f"Bearer {token}"}
    body = {
        "from_currency": exchange.a.currency_code,
        "to_currency": exchange.b.currency_code,
        "points": 1000,
    }
    response = exchange.post("/v1/me/swaps", body, holder)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["to_points"] == 522
    assert exchange.balance(exchange.a, member["id"]) == 4000
    other = exchange.funded(5000)
    assert_error(exchange.quote(other["card_number"], 100, who=holder), 403, "not_a_party")
    mine = exchange.quote(member["card_number"], 100, who=holder)
    assert mine.status_code == 201, mine.get_json()
    assert exchange.swap(mine.get_json()["id"], who=holder).status_code == 201


def test_quotes_and_swaps_are_visible_only_to_their_parties(exchange, api):
    member = exchange.funded(5000)
    quote = exchange.quote(member["card_number"], 1000).get_json()
    outsider = api.signup()
    assert_error(exchange.get(f"/v1/exchange/quotes/{quote['id']}", outsider), 404)
    assert_error(exchange.swap(quote["id"], who=outsider), 404)
    swap = exchange.swap(quote["id"]).get_json()
    assert exchange.get(f"/v1/exchange/swaps/{swap['id']}", exchange.b).status_code == 200
    assert_error(exchange.get(f"/v1/exchange/swaps/{swap['id']}", outsider), 404)


# --- bad input: a clear 4xx and nothing posted ---------------------------------------


def _bad_cases(exchange, api, set_fees):
    """(description, request maker, status, code) for every refusal of the issue."""
    off = api.signup()  # a tenant that never joined the exchange
    closed = api.signup()
    exchange.settings(closed, spu_rate="1", inbound=False, outbound=False)
    stranger = exchange.funded(5000, tenant=exchange.b)  # a card with no membership in A
    return [
        ("same currency", {"to_currency": exchange.a.currency_code}, 422, "same_currency"),
        ("unknown currency", {"to_currency": "NOPE"}, 422, "unknown_currency"),
        ("not opted in", {"to_currency": off.currency_code}, 422, "exchange_disabled"),
        ("inbound off", {"to_currency": closed.currency_code}, 422, "exchange_disabled"),
        ("zero points", {"points": 0}, 422, "invalid_value"),
        ("fractional points", {"points": 1.5}, 422, "invalid_value"),
        ("points as text", {"points": "100"}, 422, "invalid_value"),
        ("worth nothing", {"points": 1}, 422, "amount_too_small"),
        ("too many", {"points": 6000}, 422, "insufficient_points"),
        ("bad check digit", {"card_number": "8800000000000000"}, 422, "invalid_card_number"),
        ("no membership", {"card_number": stranger["card_number"]}, 422, "no_membership"),
        ("unknown field", {"rate": "2"}, 400, "unknown_field"),
    ]


def test_every_bad_quote_is_a_clear_4xx_and_posts_nothing(exchange, api, set_fees):
    member = exchange.funded(5000)
    for name, overrides, status, code in _bad_cases(exchange, api, set_fees):
        card = overrides.pop("card_number", member["card_number"])
        response = exchange.quote(card, overrides.pop("points", 1000), **overrides)
        assert response.status_code == status, (name, response.get_json())
        assert_error(response, status, code)
    assert exchange.balance(exchange.a, member["id"]) == 5000
    assert exchange.members_of_card(exchange.b, member["card_number"]) == []


def test_minimum_and_increment_are_the_source_currencys(exchange):
    exchange.settings(exchange.a, minimum=500, increment=100)
    member = exchange.funded(5000)
    assert_error(exchange.quote(member["card_number"], 400), 422, "below_minimum")
    assert_error(exchange.quote(member["card_number"], 550), 422, "invalid_increment")
    assert exchange.quote(member["card_number"], 600).status_code == 201


def test_outbound_off_refuses_quotes_and_swaps_of_open_quotes(exchange):
    member = exchange.funded(5000)
    quote = exchange.quote(member["card_number"], 1000).get_json()
    exchange.settings(exchange.a, outbound=False)
    assert_error(exchange.quote(member["card_number"], 1000), 422, "exchange_disabled")
    assert_error(exchange.swap(quote["id"]), 422, "exchange_disabled")
    assert exchange.balance(exchange.a, member["id"]) == 5000


def test_a_third_tenant_may_not_quote_for_a_card(exchange, api):
    member = exchange.funded(5000)
    assert_error(exchange.quote(member["card_number"], 1000, who=api.signup()), 403, "not_a_party")


def test_an_unknown_card_answers_like_a_card_without_a_membership(exchange):
    payload = "880000000000000"
    unknown = exchange.quote(payload + luhn_check_digit(payload), 1000)
    assert_error(unknown, 422, "no_membership")  # which numbers were issued stays unsaid


def test_the_inbound_cap_limits_what_the_destination_issues_per_day(exchange, api):
    exchange.settings(exchange.b, daily_inbound_cap=1000)
    member = exchange.funded(10_000)
    with frozen_at(T0):
        first = exchange.quote(member["card_number"], 1000).get_json()
        second = exchange.quote(member["card_number"], 1000).get_json()
        assert exchange.swap(first["id"]).status_code == 201  # 522 of 1000 used
        assert_error(exchange.swap(second["id"]), 422, "limit_exceeded")
        assert_error(exchange.quote(member["card_number"], 1000), 422, "limit_exceeded")
    with frozen_at(T0 + timedelta(days=1)):
        tomorrow = {
            "Authorization": f"Bearer {api.token(exchange.a.client_id, exchange.a.client_secret)}"
        }
        quote = exchange.quote(member["card_number"], 1000, who=tomorrow).get_json()
        assert exchange.swap(quote["id"], who=tomorrow).status_code == 201
    assert exchange.balance(exchange.a, member["id"]) == 8000


def test_the_card_daily_limit_counts_spu_across_currencies(exchange, set_fees):
    set_fees(card_daily_limit="1000")  # SPU per card per day
    member = exchange.funded(10_000)
    with frozen_at(T0):
        ok = exchange.quote(member["card_number"], 1000).get_json()  # 800 SPU
        assert exchange.swap(ok["id"]).status_code == 201
        assert_error(exchange.quote(member["card_number"], 300), 422, "limit_exceeded")
        assert exchange.quote(member["card_number"], 250).status_code == 201  # 200 SPU
    assert exchange.balance(exchange.a, member["id"]) == 9000


@pytest.mark.parametrize("quote_id", ["qt_doesnotexist0000000", "../etc", "x" * 64])
def test_an_unknown_quote_is_404(exchange, quote_id):
    assert_error(exchange.swap(quote_id), 404)


def test_swapped_in_points_expire_by_the_destination_programs_policy(exchange):
    """B's program keeps points 12 months (rolling, Shanghai): a swap into B at 12:00 on
    23 Nov 2026 opens a lot valid through 23 Nov 2027, i.e. until 16:00 UTC that day."""
    program = exchange.get("/v1/program", exchange.b).get_json()
    program["expiry"] = {"policy": "rolling", "months": 12}
    saved = exchange.client.put("/v1/program", json=program, headers=exchange.b.auth)
    assert saved.status_code == 200, saved.get_json()
    member = exchange.funded(10_000)
    with frozen_at(T0):
        quote = exchange.quote(member["card_number"], 1000).get_json()
        swap = exchange.swap(quote["id"]).get_json()
    row, _records = swap_rows(swap["id"])
    with unit_of_work(platform=True) as uow:
        [lot] = uow.session.scalars(
            select(Lot).where(Lot.transaction_id == row.destination_transaction_id)
        ).all()
    assert (lot.points, lot.expires_at) == (522, datetime(2027, 11, 23, 16, 0, tzinfo=UTC))
