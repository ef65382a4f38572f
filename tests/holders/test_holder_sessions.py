"""Holder codes and sessions over HTTP (API.md, Card holders): a code goes only to the
contact on file, the answer never tells whether a card exists, codes are throttled, die
after five wrong tries and are used once, and a holder session covers the whole card."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import assert_error, unique
from holder_support import Holder, last_code_sent_to, messages_to, new_address

from jifen.platform import clock

CODES = "/v1/holder/codes"
SESSIONS = "/v1/holder/sessions"


@pytest.fixture
def shop(api):
    return api.signup()


def enrol(client, tenant, **fields) -> dict:
    body = {"external_id": unique("cust-"), **fields}
    response = client.post("/v1/members", json=body, headers=tenant.auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def an_unknown_card_number() -> str:
    from jifen.tenants.members.cards import new_card_number

    return new_card_number()


def test_a_code_goes_to_the_contact_on_file_and_opens_a_session(client, shop):
    email = f"{unique('h')}@example.com"
    member = enrol(client, shop, email=email)
    holder = Holder(client, member["card_number"])
    response = holder.ask_code(locale="en")
    assert response.status_code == 202
    assert response.get_json() == {"object": "holder_code_request"}
    code = last_code_sent_to(email)
    assert code is not None and len(code) == 6

    opened = holder.open_session(code)
    assert opened.status_code == 201, opened.get_json()
    body = opened.get_json()
    assert body["object"] == "holder_session" and body["token"].startswith("hs_")
    assert body["expires_at"] > body["created"]
    # The code is spent: a second session needs a new one.
    assert_error(holder.open_session(code), 401, "invalid_code")


def test_the_answer_is_the_same_for_a_card_that_does_not_exist_or_has_no_contact(client, shop):
    silent = enrol(client, shop)  # no email, no phone
    answers = []
    for number in (silent["card_number"], an_unknown_card_number()):
        response = Holder(client, number).ask_code()
        answers.append((response.status_code, response.get_json()))
    assert answers == [(202, {"object": "holder_code_request"})] * 2


def test_a_malformed_card_number_is_422_and_bad_input_never_5xx(client):
    holder = Holder(client, "1234")
    assert_error(holder.ask_code(), 422, "invalid_card_number")
    bodies = [
        {},
        {"card_number": 8800},
        {"card_number": "8" * 10_000},
        {"card_number": "88001234\u00005678"},
        {"card_number": "8800000000000000", "channel": "pigeon"},
        {"card_number": "8800000000000000", "extra": 1},
        [],
        "text",
    ]
    for body in bodies:
        for path in (CODES, SESSIONS):
            response = client.post(path, json=body, environ_base={"REMOTE_ADDR": new_address()})
            assert 400 <= response.status_code < 500, (path, body, response.status_code)
    nul = client.post(SESSIONS, json={"card_number": "8800", "code": "12\u00003456"})
    assert_error(nul, 400, "nul_character")
    sessions = [{"card_number": an_unknown_card_number(), "code": c} for c in ("", "x" * 40, 7)]
    for body in sessions:
        response = client.post(SESSIONS, json=body, environ_base={"REMOTE_ADDR": new_address()})
        assert response.status_code in (401, 422), response.get_json()


def test_codes_are_limited_per_card_and_per_address(client, shop):
    email = f"{unique('h')}@example.com"
    member = enrol(client, shop, email=email)
    for attempt in range(5):
        assert Holder(client, member["card_number"]).ask_code().status_code == 202, attempt
    assert_error(Holder(client, member["card_number"]).ask_code(), 429, "rate_limited")
    assert messages_to(email) == 5

    address = new_address()
    for _ in range(5):
        assert Holder(client, an_unknown_card_number(), address).ask_code().status_code == 202
    assert_error(Holder(client, an_unknown_card_number(), address).ask_code(), 429)


def test_five_wrong_codes_void_the_code(client, shop):
    email = f"{unique('h')}@example.com"
    member = enrol(client, shop, email=email)
    holder = Holder(client, member["card_number"])
    holder.ask_code()
    code = last_code_sent_to(email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    later = clock.now()
    for _attempt in range(5):
        # A fresh address each time, and time enough for the card's growing delay:
        # the code's own count is what stops the fifth.
        later += timedelta(seconds=60)
        with clock.frozen_at(later):
            guesser = Holder(client, member["card_number"])
            assert_error(guesser.open_session(wrong), 401, "invalid_code")
    with clock.frozen_at(later + timedelta(seconds=60)):
        refused = Holder(client, member["card_number"]).open_session(code)
    assert_error(refused, 401, "invalid_code")


def test_failed_sign_ins_slow_down_an_address(client, shop):
    email = f"{unique('h')}@example.com"
    member = enrol(client, shop, email=email)
    holder = Holder(client, member["card_number"])
    holder.ask_code()
    for _ in range(3):
        assert_error(holder.open_session("000000"), 401, "invalid_code")
    assert_error(holder.open_session(last_code_sent_to(email)), 429, "rate_limited")


def test_a_new_code_voids_the_old_and_codes_expire(client, shop):
    email = f"{unique('h')}@example.com"
    member = enrol(client, shop, email=email)
    holder = Holder(client, member["card_number"])
    holder.ask_code()
    first = last_code_sent_to(email)
    holder.ask_code()
    second = last_code_sent_to(email)
    if first != second:
        assert_error(Holder(client, member["card_number"]).open_session(first), 401)
    with clock.frozen_at(clock.now() + timedelta(minutes=10, seconds=1)):
        assert_error(Holder(client, member["card_number"]).open_session(second), 401)
    assert Holder(client, member["card_number"]).open_session(second).status_code == 201


def test_sms_goes_to_the_phone_and_the_oldest_contact_wins(client, api, shop):
    first_email = f"{unique('h')}@example.com"
    member = enrol(client, shop, email=first_email, phone="+8613800000001")
    other = api.signup()
    from factories import holder_code

    later_email = f"{unique('h')}@example.com"
    linked = client.post(
        "/v1/members",
        json={
            "external_id": unique("c-"),
            "card_number": member["card_number"],
            "holder_code": holder_code(member["card_number"]),
            "email": later_email,
        },
        headers=other.auth,
    )
    assert linked.status_code == 201, linked.get_json()
    Holder(client, member["card_number"]).ask_code()
    assert messages_to(first_email) == 1 and messages_to(later_email) == 0
    Holder(client, member["card_number"]).ask_code(channel="sms")
    assert messages_to("+8613800000001") == 1


def test_a_holder_session_covers_the_whole_card_until_signed_out(client, api, shop):
    from factories import holder_code

    email = f"{unique('h')}@example.com"
    member = enrol(client, shop, email=email)
    other = api.signup()
    client.post(
        "/v1/members",
        json={
            "external_id": unique("c-"),
            "card_number": member["card_number"],
            "holder_code": holder_code(member["card_number"]),
        },
        headers=other.auth,
    )
    holder = Holder(client, member["card_number"])
    token = holder.sign_in(email)
    wallet = holder.get("/v1/me/wallet")
    assert wallet.status_code == 200, wallet.get_json()
    assert {m["tenant"]["id"] for m in wallet.get_json()["memberships"]} == {shop.id, other.id}

    balance = holder.get("/v1/me/balance", currency=other.currency_code)
    assert balance.status_code == 200 and balance.get_json()["points"] == 0
    assert_error(holder.get("/v1/me/balance"), 422)
    assert_error(holder.get("/v1/me/balance", currency="NOPE"), 404)

    code = holder.counter_code()
    assert len(code) == 18 and code.isdigit()

    ended = client.delete("/v1/me/session", headers={"Authorization": f"Bearer {token}"})
    assert ended.status_code == 204
    assert_error(holder.get("/v1/me/wallet", token=token), 401)


def test_a_holder_session_expires(client, shop):
    email = f"{unique('h')}@example.com"
    member = enrol(client, shop, email=email)
    holder = Holder(client, member["card_number"])
    holder.sign_in(email)
    with clock.frozen_at(clock.now() + timedelta(hours=2, seconds=1)):
        assert_error(holder.get("/v1/me/wallet"), 401)


def test_only_a_holder_session_makes_counter_codes(client, shop):
    member = enrol(client, shop)
    token = client.post(f"/v1/members/{member['id']}/tokens", json={}, headers=shop.auth)
    mt = token.get_json()["token"]
    response = client.post("/v1/me/holder_codes", headers={"Authorization": f"Bearer {mt}"})
    assert_error(response, 403)
    assert_error(client.post("/v1/me/holder_codes", headers=shop.auth), 403)
    assert_error(client.post("/v1/me/holder_codes"), 401)
