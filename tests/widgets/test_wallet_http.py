"""The consumer wallet over HTTP: first-use password, sign-in, CSRF, cookie flags,
every membership with SPU value, swap through the same service as /v1/me/swaps."""

from __future__ import annotations

import re

PASSWORD = "a long wallet password"


def csrf_of(response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def sign_in(client, card_number, password=PASSWORD, confirm=PASSWORD):
    page = client.get("/wallet/sign-in")
    form = {"csrf": csrf_of(page), "card_number": card_number, "password": password}
    first = client.post("/wallet/sign-in", data=form)
    if first.status_code == 401 and "first_use" in first.get_data(as_text=True):
        form = {**form, "csrf": csrf_of(first), "first_use": "1", "confirm": confirm}
        return client.post("/wallet/sign-in", data=form)
    return first


def test_the_wallet_sends_a_stranger_to_sign_in(client):
    response = client.get("/wallet")
    assert response.status_code == 302 and response.headers["Location"].endswith("/wallet/sign-in")


def test_first_use_sets_a_password_then_only_it_signs_in(world, app):
    fresh = app.test_client()
    response = sign_in(fresh, world.card_number)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/wallet" in cookie
    home = fresh.get("/wallet")
    text = home.get_data(as_text=True)
    assert home.status_code == 200
    assert 'data-testid="points-' + world.a.currency_code + '">5000<' in text
    assert "50" in text  # SPU value of 5000 points at 0.01
    assert "frame-ancestors 'none'" in home.headers["Content-Security-Policy"]

    other = app.test_client()
    wrong = sign_in(other, world.card_number, password="not the password")
    assert wrong.status_code == 401
    assert "wrong" in wrong.get_data(as_text=True)


def test_a_first_password_must_be_typed_twice_alike(world, app):
    fresh = app.test_client()
    response = sign_in(fresh, world.card_number, confirm="something else entirely")
    assert response.status_code == 401
    assert "differ" in response.get_data(as_text=True)


def test_an_unknown_card_is_refused_like_a_wrong_password(app):
    response = sign_in(app.test_client(), "4000000000000002")
    assert response.status_code == 401
    assert "card number or the password is wrong" in response.get_data(as_text=True)


def test_a_form_without_the_csrf_token_is_refused(world, app):
    fresh = app.test_client()
    sign_in(fresh, world.card_number)
    response = fresh.post(
        "/wallet/swap",
        data={
            "from_currency": world.a.currency_code,
            "to_currency": world.b.currency_code,
            "points": "1000",
        },  # fmt: skip
    )
    assert response.status_code == 400
    assert world.balance(world.a, world.member_a) == 5000


def test_the_card_holder_swaps_in_the_wallet(world, app):
    fresh = app.test_client()
    sign_in(fresh, world.card_number)
    home = fresh.get("/wallet")
    response = fresh.post(
        "/wallet/swap",
        data={
            "csrf": csrf_of(home),
            "from_currency": world.a.currency_code,
            "to_currency": world.b.currency_code,
            "points": "1000",
        },  # fmt: skip
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Swapped 1000" in response.get_data(as_text=True)
    assert world.balance(world.a, world.member_a) == 4000
    assert world.balance(world.b, world.member_b) > 0


def test_a_wallet_swap_above_the_balance_says_why_and_posts_nothing(world, app):
    fresh = app.test_client()
    sign_in(fresh, world.card_number)
    home = fresh.get("/wallet")
    response = fresh.post(
        "/wallet/swap",
        data={
            "csrf": csrf_of(home),
            "from_currency": world.a.currency_code,
            "to_currency": world.b.currency_code,
            "points": "999999",
        },  # fmt: skip
    )
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert world.balance(world.a, world.member_a) == 5000
    assert world.balance(world.b, world.member_b) == 0


def test_a_sign_in_link_by_email_signs_the_card_holder_in(world, app, api, caplog):
    third = api.signup()
    email = f"holder-{third.slug}@example.com"
    response = world.client.post(
        "/v1/members",
        json={"external_id": "holder", "email": email, "card_number": world.card_number},
        headers=third.auth,
    )
    assert response.status_code == 201, response.get_json()
    fresh = app.test_client()
    page = fresh.get("/wallet/sign-in")
    with caplog.at_level("INFO", logger="jifen.wallet.mail"):
        sent = fresh.post("/wallet/link", data={"csrf": csrf_of(page), "email": email.upper()})
    assert sent.status_code == 200 and "on its way" in sent.get_data(as_text=True)
    link = re.search(r"(/wallet/link/\S+)", caplog.text).group(1)
    assert fresh.get(link).status_code == 302
    assert fresh.get("/wallet").status_code == 200
    assert app.test_client().get(link[:-3] + "xyz").status_code == 401


def test_a_link_for_an_unknown_address_says_the_same_and_sends_nothing(app, caplog):
    fresh = app.test_client()
    page = fresh.get("/wallet/sign-in")
    with caplog.at_level("INFO", logger="jifen.wallet.mail"):
        sent = fresh.post("/wallet/link", data={"csrf": csrf_of(page), "email": "no@one.example"})
    assert "on its way" in sent.get_data(as_text=True)
    assert "/wallet/link/" not in caplog.text


def test_expiry_reminders_and_tier_changes_appear_in_the_wallet(world, app):
    """The events merchants' webhooks carry to members also show in the wallet."""
    from jifen.platform.db import unit_of_work
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

    holder = app.test_client()
    assert sign_in(holder, world.card_number).status_code == 302
    text = holder.get("/wallet").get_data(as_text=True)

    assert "120 " + world.a.currency_code + " points expire on 2027-10-31" in text
    assert "→ silver" in text
    assert "gold" not in text
