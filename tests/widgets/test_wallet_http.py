"""The consumer wallet over HTTP: sign-in by a one-time code (read from the outbox), the
same answer for every card, throttling, a password only after sign-in, sign-out that ends
the session everywhere, sign-in links from the configured base URL, a swap quoted first
and carried out only on confirm, the counter code, CSRF and cookie flags.

Each test signs in from an address of its own (``WalletUser``): the app, and with it the
throttles' counters, lives for the whole session."""

from __future__ import annotations

import dataclasses
import re
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from factories import unique
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from widgets_support import (
    WalletUser,
    code_in,
    last_message_to,
    messages_to,
    new_address,
)

from jifen.platform import clock
from jifen.platform.db import unit_of_work
from jifen.tenants.holders import services as holders
from jifen.tenants.members import cards
from jifen.tenants.members.model import Card

PASSWORD = "a long wallet password"
WRONG = "The card number or the password is wrong."


def card_id_of(card_number: str) -> str:
    with unit_of_work(platform=True) as uow:
        return uow.session.scalar(select(Card.id).where(Card.number == card_number))


def unissued_card_number() -> str:
    """A well-formed card number that no tenant issued (outside Jifen's issuer prefix)."""
    body = "9" + "".join(str(secrets.randbelow(10)) for _ in range(14))
    return body + cards.luhn_check_digit(body)


def cookie_payload(app, user: WalletUser) -> dict:
    cookie = user.client.get_cookie("jifen_wallet", path="/wallet")
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="jifen-wallet")
    return serializer.loads(cookie.value)


def balances(world) -> tuple[int, int]:
    return world.balance(world.a, world.member_a), world.balance(world.b, world.member_b)


# --- signing in with a one-time code ---------------------------------------------------


def test_the_wallet_sends_a_stranger_to_sign_in(client):
    response = client.get("/wallet")
    assert response.status_code == 302 and response.headers["Location"].endswith("/wallet/sign-in")


def test_a_code_sent_to_the_cards_contact_signs_the_holder_in(world, app):
    user = WalletUser(app)
    asked = user.ask_code(world.card_number)
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "If this card has a contact on file, a code is on its way" in text
    assert f'name="card_number" value="{world.card_number}"' in text and 'name="code"' in text
    code = code_in(last_message_to(world.email))
    assert code is not None

    signed_in = user.enter_code(world.card_number, code)
    assert signed_in.status_code == 302
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/wallet" in cookie
    # the cookie keeps the holder session's token, never the card id
    payload = cookie_payload(app, user)
    assert set(payload) == {"csrf", "hs"} and payload["hs"].startswith("hs_")
    assert card_id_of(world.card_number) not in str(payload)

    home = user.get("/wallet")
    text = home.get_data(as_text=True)
    assert home.status_code == 200
    assert f'data-testid="points-{world.a.currency_code}">5000<' in text
    assert "Total value" in text and ">50<" in text  # 5000 points at 0.01 SPU
    csp = home.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert 'src="/widgets/v1/wallet.js"' in text and "<script>" not in text

    # a code works once
    assert WalletUser(app).enter_code(world.card_number, code).status_code == 401


def test_asking_for_a_code_answers_alike_for_every_card(world, app, api):
    """A card with a contact, a card without one and a number nobody issued: the same
    page; only the first gets a message."""
    lonely = world.client.post(
        "/v1/members", json={"external_id": unique("ext-")}, headers=world.b.auth
    ).get_json()["card_number"]
    nobody = unissued_card_number()
    before = messages_to(world.email)

    pages = []
    for number in (world.card_number, lonely, nobody):
        response = WalletUser(app).ask_code(number)
        text = re.sub(r'name="csrf" value="[^"]+"', "", response.get_data(as_text=True))
        pages.append((response.status_code, text.replace(number, "NUMBER")))
    assert pages[0] == pages[1] == pages[2]
    assert pages[0][0] == 200
    assert messages_to(world.email) == before + 1


def test_a_malformed_card_number_is_said_to_be_one(app):
    response = WalletUser(app).ask_code("1234")
    assert response.status_code == 422
    assert "16 digits" in response.get_data(as_text=True)


def test_too_many_codes_for_one_card_or_from_one_address_wait(world, app):
    for _ in range(holders.REQUESTS_PER_HOUR):
        assert WalletUser(app).ask_code(world.card_number).status_code == 200
    throttled = WalletUser(app).ask_code(world.card_number)
    assert throttled.status_code == 429
    assert re.search(r"try again in \d+ seconds", throttled.get_data(as_text=True))

    one_place = WalletUser(app)
    for _ in range(holders.REQUESTS_PER_HOUR):
        assert one_place.ask_code(unissued_card_number()).status_code == 200
    assert one_place.ask_code(unissued_card_number()).status_code == 429


def test_wrong_codes_are_refused_then_slowed_down(world, app):
    user = WalletUser(app)
    user.ask_code(world.card_number)
    code = code_in(last_message_to(world.email))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(3):
        refused = user.enter_code(world.card_number, wrong)
        assert refused.status_code == 401
        assert "The code is wrong or no longer valid" in refused.get_data(as_text=True)
    slowed = user.enter_code(world.card_number, code)  # even the right code must wait
    assert slowed.status_code == 429
    assert re.search(r"try again in \d+ seconds", slowed.get_data(as_text=True))
    with clock.frozen_at(clock.now() + timedelta(seconds=5)):
        assert user.enter_code(world.card_number, code).status_code == 302


# --- a password: a second way in, only once signed in -----------------------------------


def test_typing_a_card_number_sets_no_password(world, app):
    user = WalletUser(app)
    refused = user.sign_in_with_password(world.card_number, PASSWORD)
    unknown = WalletUser(app).sign_in_with_password(unissued_card_number(), PASSWORD)
    for response in (refused, unknown):
        assert response.status_code == 401
        assert WRONG in response.get_data(as_text=True)
    assert 'name="repeat"' not in refused.get_data(as_text=True)
    # without a holder session the password form only sends one to sign in
    attempt = user.post("/wallet/password", {"password": PASSWORD, "repeat": PASSWORD})
    assert attempt.status_code == 302 and attempt.headers["Location"].endswith("/wallet/sign-in")
    from jifen.widgets import wallet

    assert not wallet.has_password(card_id_of(world.card_number))


def test_a_signed_in_holder_sets_a_password_then_signs_in_with_it(world, app):
    user = WalletUser(app)
    home = user.sign_in(world).get_data(as_text=True)
    assert "Add a password" in home

    short = user.post("/wallet/password", {"password": "short", "repeat": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    differ = user.post("/wallet/password", {"password": PASSWORD, "repeat": PASSWORD + "!"})
    assert differ.status_code == 422 and "differ" in differ.get_data(as_text=True)
    done = user.post("/wallet/password", {"password": PASSWORD, "repeat": PASSWORD})
    assert done.status_code == 200
    assert "password is set" in done.get_data(as_text=True)
    assert "Change your password" in done.get_data(as_text=True)
    assert user.post("/wallet/sign-out").status_code == 302

    later = WalletUser(app)
    assert later.sign_in_with_password(world.card_number, PASSWORD).status_code == 302
    home = later.get("/wallet")
    assert home.status_code == 200
    assert f'data-testid="points-{world.a.currency_code}">5000<' in home.get_data(as_text=True)

    wrong = WalletUser(app).sign_in_with_password(world.card_number, "not the password")
    assert wrong.status_code == 401 and WRONG in wrong.get_data(as_text=True)


def test_wrong_passwords_are_slowed_down(world, app):
    user = WalletUser(app)
    user.sign_in(world)
    user.post("/wallet/password", {"password": PASSWORD, "repeat": PASSWORD})

    guesser = WalletUser(app)
    for _ in range(3):
        assert guesser.sign_in_with_password(world.card_number, "a wrong guess!").status_code == 401
    slowed = guesser.sign_in_with_password(world.card_number, PASSWORD)
    assert slowed.status_code == 429
    assert re.search(r"try again in \d+ seconds", slowed.get_data(as_text=True))


# --- sessions ---------------------------------------------------------------------------


def test_signing_out_ends_the_session_everywhere(world, app):
    user = WalletUser(app)
    user.sign_in(world)
    token = cookie_payload(app, user)["hs"]
    copy = app.test_client()  # the same cookie in another browser
    copy.set_cookie("jifen_wallet", user.client.get_cookie("jifen_wallet", path="/wallet").value,
                    path="/wallet")  # fmt: skip
    assert copy.get("/wallet").status_code == 200

    assert user.post("/wallet/sign-out").status_code == 302
    assert holders.session_card(token) is None
    for browser in (user.client, copy):
        response = browser.get("/wallet")
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/wallet/sign-in")


# --- sign-in links -----------------------------------------------------------------------


@pytest.fixture
def base_url(app):
    """The app configured with a public base URL for the test's length."""
    config = app.extensions["jifen.config"]
    app.extensions["jifen.config"] = dataclasses.replace(config, base_url="https://wallet.example")
    yield "https://wallet.example"
    app.extensions["jifen.config"] = config


def test_a_sign_in_link_is_built_from_the_base_url_and_works_once(world, app, base_url):
    user = WalletUser(app)
    forged = {"Host": "evil.example"}
    user.get("/wallet/sign-in", headers=forged)
    sent = user.post("/wallet/link", {"email": world.email.upper()}, headers=forged)
    assert sent.status_code == 200 and "on its way" in sent.get_data(as_text=True)
    body = last_message_to(world.email, "wallet_link")
    link = re.search(r"(\S+/wallet/link/\S+)", body).group(1)
    assert link.startswith(f"{base_url}/wallet/link/") and "evil" not in body

    path = urlsplit(link).path
    page = user.get(path)  # what a mail scanner fetches: it spends nothing
    assert page.status_code == 200 and 'data-testid="link-sign-in"' in page.get_data(as_text=True)
    assert user.post(path).status_code == 302
    assert user.get("/wallet").status_code == 200
    used = WalletUser(app).post(path)
    assert used.status_code == 401 and "expired or was used" in used.get_data(as_text=True)


def test_a_link_for_an_unknown_address_says_the_same_and_sends_nothing(app):
    address = f"{unique('nobody-')}@example.com"
    sent = WalletUser(app).post("/wallet/link", {"email": address})
    assert sent.status_code == 200 and "on its way" in sent.get_data(as_text=True)
    assert messages_to(address) == 0


# --- swap: a quote first -----------------------------------------------------------------


def ask_quote(user: WalletUser, world, points: str = "1000"):
    return user.post(
        "/wallet/quote",
        {
            "from_currency": world.a.currency_code,
            "to_currency": world.b.currency_code,
            "points": points,
        },
    )


def quote_id_in(response) -> str:
    return re.search(r'name="quote_id" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_a_swap_shows_its_quote_and_happens_only_on_confirm(world, app):
    user = WalletUser(app)
    user.sign_in(world)
    a, b = world.a.currency_code, world.b.currency_code

    quoted = ask_quote(user, world)
    text = quoted.get_data(as_text=True)
    assert quoted.status_code == 200, text
    assert f'data-testid="points-out">1000 {a}<' in text
    points_in = int(re.search(r'data-testid="points-in">(\d+) ', text).group(1))
    assert 0 < points_in <= 500  # 1000 × 0.01 / 0.02, less the fee
    assert re.search(r'data-testid="fee">[\d.]+ SPU<', text)
    assert re.search(r'data-testid="rounding">[\d.]+ SPU<', text)
    assert f"1 {a} = 0.01 SPU" in text and f"1 {b} = 0.02 SPU" in text
    seconds = int(re.search(r'data-expires-in="(\d+)"', text).group(1))
    assert 55 <= seconds <= 60
    assert 'data-testid="cancel"' in text
    assert balances(world) == (5000, 0)  # cancelled (not confirmed): nothing moves

    quoted = ask_quote(user, world)
    done = user.post("/wallet/swap", {"quote_id": quote_id_in(quoted)})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert f"Swapped 1000 {a} for {points_in} {b}" in done.get_data(as_text=True)
    assert balances(world) == (4000, points_in)

    again = user.post("/wallet/swap", {"quote_id": quote_id_in(quoted)})
    assert again.status_code == 422 and "used already" in again.get_data(as_text=True)
    assert balances(world) == (4000, points_in)


def test_an_expired_quote_says_so_and_moves_nothing(world, app):
    user = WalletUser(app)
    user.sign_in(world)
    quoted = ask_quote(user, world)
    assert "data-expired hidden" in quoted.get_data(as_text=True)  # shown by wallet.js
    with clock.frozen_at(clock.now() + timedelta(seconds=61)):
        late = user.post("/wallet/swap", {"quote_id": quote_id_in(quoted)})
    assert late.status_code == 422
    assert "This quote has expired" in late.get_data(as_text=True)
    assert balances(world) == (5000, 0)


def test_a_quote_above_the_balance_says_why_and_moves_nothing(world, app):
    user = WalletUser(app)
    user.sign_in(world)
    response = ask_quote(user, world, points="999999")
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert balances(world) == (5000, 0)


def test_a_form_without_the_csrf_token_is_refused(world, app):
    user = WalletUser(app)
    user.sign_in(world)
    quoted = ask_quote(user, world)
    response = user.client.post("/wallet/swap", data={"quote_id": quote_id_in(quoted)})
    assert response.status_code == 400
    assert balances(world) == (5000, 0)


def test_another_cards_quote_is_not_found(world, app, api):
    other = WalletUser(app)
    other.sign_in(_second_world(world, app, api))
    foreign = quote_id_in(ask_quote(other, world))

    user = WalletUser(app)
    user.sign_in(world)
    response = user.post("/wallet/swap", {"quote_id": foreign})
    assert response.status_code == 404
    assert balances(world) == (5000, 0)


def _second_world(world, app, api):
    """Another card in the same two programs, with points in ``a``."""
    email = f"{unique('holder-')}@example.com"
    member = world.client.post(
        "/v1/members", json={"external_id": unique("ext-"), "email": email}, headers=world.a.auth
    ).get_json()
    world.client.post(
        "/v1/awards",
        json={"member_id": member["id"], "event": "manual", "points": 2000, "reason": "welcome"},
        headers=world.a.auth,
    )
    return dataclasses.replace(world, card_number=member["card_number"], email=email)


# --- the counter code --------------------------------------------------------------------


def test_the_counter_code_shows_digits_a_qr_code_and_a_countdown(world, app, api):
    user = WalletUser(app)
    user.sign_in(world)
    page = user.post("/wallet/holder-code")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    grouped = re.search(r'data-testid="code"[^>]*>(\d{4} \d{4} \d{4} \d{4} \d{2})<', text).group(1)
    assert re.search(r'<div class="qr" data-testid="qr"><svg [^>]*class="qr"', text)
    assert "data:" not in text and "<script>" not in text
    assert 'data-expires-in="60"' in text or 'data-expires-in="59"' in text

    # it carries the holder's authority once: a merchant that never enrolled the card
    # links it with the code
    merchant = api.signup()
    body = {"external_id": unique("ext-"), "holder_code": grouped.replace(" ", "")}
    linked = world.client.post("/v1/members", json=body, headers=merchant.auth)
    assert linked.status_code == 201, linked.get_json()
    assert linked.get_json()["card_number"] == world.card_number
    body["external_id"] = unique("ext-")
    assert world.client.post("/v1/members", json=body, headers=merchant.auth).status_code == 403


# --- what merchants told the holder --------------------------------------------------------


def test_expiry_reminders_and_tier_changes_appear_in_the_wallet(world, app):
    """The events merchants' webhooks carry to members also show in the wallet."""
    from jifen.platform.webhooks.events import emit

    with unit_of_work(tenant_id=world.a.id) as uow:
        emit(
            uow,
            tenant_id=world.a.id,
            type="points.expiring",
            data={
                "member": world.member_a,
                "points": 120,
                "currency": world.a.currency_code,
                "expires_at": "2027-10-31T16:00:00Z",
                "days_before": 7,
            },
        )
        emit(
            uow,
            tenant_id=world.a.id,
            type="tier.changed",
            data={"member": world.member_a, "from_tier": None, "to_tier": "silver"},
        )
        emit(  # another member's news stays theirs
            uow,
            tenant_id=world.a.id,
            type="tier.changed",
            data={"member": "mem_someoneelse", "from_tier": None, "to_tier": "gold"},
        )
        uow.commit()

    text = WalletUser(app, new_address()).sign_in(world).get_data(as_text=True)

    assert "120 " + world.a.currency_code + " points expire on 2027-10-31" in text
    assert "→ silver" in text
    assert "gold" not in text
