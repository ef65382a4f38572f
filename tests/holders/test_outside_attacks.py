"""What an outsider tried against the holder's authority over HTTP, each now a test:
replaying an anonymous sign-in by its idempotency key, more web processes for more
guesses, one counter code read against every currency, a holder's quote carried out by
the destination, and text no database can store."""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories import assert_error, holder_code, holder_token, unique
from holder_support import Holder, last_code_sent_to, new_address

from jifen.platform.shell.app import create_app


@pytest.fixture
def pair(client, api):
    a, b = api.signup(plan="growth"), api.signup(plan="growth")
    for tenant in (a, b):
        response = client.put(
            "/v1/exchange/settings",
            json={"spu_rate": "1", "inbound": True, "outbound": True, "acceptance": True},
            headers=tenant.auth,
        )
        assert response.status_code == 200, response.get_json()
    email = f"{unique('h')}@example.com"
    card = client.post(
        "/v1/members", json={"external_id": unique("c-"), "email": email}, headers=a.auth
    ).get_json()
    award = {"member_id": card["id"], "event": "manual", "points": 500, "reason": "t"}
    assert client.post("/v1/awards", json=award, headers=a.auth).status_code == 201
    return a, b, card, email


def test_a_sign_in_replayed_by_its_idempotency_key_from_elsewhere_gives_nothing(client, pair):
    _a, _b, card, email = pair
    holder = Holder(client, card["card_number"])
    holder.ask_code()
    body = {"card_number": card["card_number"], "code": last_code_sent_to(email)}
    key = {"Idempotency-Key": "wallet-signin-1"}
    first = client.post("/v1/holder/sessions", json=body, headers=key,
                        environ_base={"REMOTE_ADDR": holder.address})  # fmt: skip
    assert first.status_code == 201
    thief = new_address()
    replay = client.post("/v1/holder/sessions", json=body, headers=key,
                         environ_base={"REMOTE_ADDR": thief})  # fmt: skip
    assert_error(replay, 401, "invalid_code")  # the code is spent; no stored token for them
    guess = {**body, "code": "000000"}
    probe = client.post("/v1/holder/sessions", json=guess, headers=key,
                        environ_base={"REMOTE_ADDR": thief})  # fmt: skip
    assert_error(probe, 401, "invalid_code")  # not a 409 that would tell the code apart


def test_a_second_web_process_shares_the_counts(app, config, client, pair):
    """Without Redis the counts live in the database, so two processes (two apps here)
    allow five code requests per card between them, not five each."""
    _a, _b, card, _email = pair
    other = create_app(replace(config))
    other_client = other.test_client()
    try:
        for n in range(5):
            asker = (client if n % 2 else other_client).post(
                "/v1/holder/codes",
                json={"card_number": card["card_number"]},
                environ_base={"REMOTE_ADDR": new_address()},
            )
            assert asker.status_code == 202, n
        sixth = other_client.post(
            "/v1/holder/codes",
            json={"card_number": card["card_number"]},
            environ_base={"REMOTE_ADDR": new_address()},
        )
        assert_error(sixth, 429, "rate_limited")
        assert int(sixth.headers["Retry-After"]) > 0
    finally:
        other.extensions["jifen.db"].dispose()


def test_a_counter_code_is_good_for_one_attempt_and_hides_other_balances(client, pair):
    a, b, card, _email = pair
    code = holder_code(card["card_number"])
    too_much = {
        "card_number": card["card_number"],
        "holder_code": code,
        "from_currency": a.currency_code,
        "to_currency": b.currency_code,
        "points": 10_000,
    }
    refused = client.post("/v1/exchange/quotes", json=too_much, headers=b.auth)
    error = assert_error(refused, 422, "insufficient_points")
    assert "500" not in error["message"]  # the balance is not the destination's to read
    again = client.post("/v1/exchange/quotes", json={**too_much, "points": 10}, headers=b.auth)
    assert_error(again, 403, "holder_authorization_required")  # spent by the first try


def test_the_destination_cannot_carry_out_a_quote_the_holder_asked_for(client, pair):
    a, b, card, _email = pair
    bearer = {"Authorization": f"Bearer {holder_token(card['card_number'])}"}
    quote = client.post(
        "/v1/exchange/quotes",
        json={"from_currency": a.currency_code, "to_currency": b.currency_code, "points": 10},
        headers=bearer,
    )
    assert quote.status_code == 201, quote.get_json()
    quote_id = quote.get_json()["id"]
    assert_error(client.post("/v1/exchange/swaps", json={"quote_id": quote_id},
                             headers=b.auth), 403, "not_a_party")  # fmt: skip
    mine = client.post("/v1/exchange/swaps", json={"quote_id": quote_id}, headers=bearer)
    assert mine.status_code == 201, mine.get_json()


@pytest.mark.parametrize(
    "path,body",
    [
        ("/v1/holder/sessions", {"card_number": "\ud800", "code": "123456"}),
        ("/v1/holder/codes", {"card_number": "8800", "channel": "\ud800"}),
        ("/v1/members", {"external_id": "a\ud800b"}),
        ("/v1/exchange/quotes", {"from_currency": "\udfff", "to_currency": "X", "points": 1}),
        ("/v1/acceptance/authorizations", {"currency": "\ud800", "points": 1, "reference": "r"}),
    ],
)
def test_lone_surrogates_are_400_not_500(client, pair, path, body):
    a, *_ = pair
    response = client.post(path, json=body, headers=a.auth)
    assert_error(response, 400, "invalid_text")


def test_card_names_are_reserved_and_a_legacy_one_does_not_break_a_swap_in(client, pair):
    from jifen.platform.db import unit_of_work
    from jifen.tenants.members.model import Member

    a, b, card, _email = pair
    taken = {"external_id": f"card:{card['card_number']}"}
    assert_error(client.post("/v1/members", json=taken, headers=b.auth), 422)
    other = client.post(
        "/v1/members", json={"external_id": unique("c-")}, headers=b.auth
    ).get_json()
    with unit_of_work(tenant_id=b.id) as uow:  # as a member named so before it was reserved
        row = uow.session.get(Member, other["id"])
        row.external_id = f"card:{card['card_number']}"
        uow.commit()
    bearer = {"Authorization": f"Bearer {holder_token(card['card_number'])}"}
    swap = client.post(
        "/v1/me/swaps",
        json={"from_currency": a.currency_code, "to_currency": b.currency_code, "points": 10},
        headers=bearer,
    )
    assert swap.status_code == 201, swap.get_json()
