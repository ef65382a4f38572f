"""Console sessions kept server-side: the cookie holds only a secret, and the secret is
worth something only while its ``staff_sessions`` row is live — not after sign-out, a
password change, a role change, 30 minutes without a request or 8 hours in all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from console_helpers import PASSWORD, Console, html, make_staff
from sqlalchemy import select

from jifen.platform import clock
from jifen.platform.auth import secrets
from jifen.platform.auth.model import IDLE_MINUTES, SESSION_HOURS, Role, StaffSession
from jifen.platform.auth.services import end_staff_sessions, set_staff_role
from jifen.platform.db import unit_of_work
from jifen.platform.shell.console import activity

NEW_PASSWORD = "a longer new passphrase"


@pytest.fixture
def tenant(api):
    return api.signup()


@pytest.fixture
def admin(tenant) -> tuple[str, str]:
    """(user id, email) of an admin of ``tenant``, not signed in anywhere yet."""
    return make_staff({tenant.id: Role.ADMIN})


def browser_of(app, email: str, password: str = PASSWORD) -> Console:
    """A fresh browser (its own cookie jar) signed in as ``email``."""
    browser = Console(app.test_client())
    assert browser.login(email, password).status_code == 302
    return browser


def signed_in(browser: Console) -> bool:
    page = browser.get("/console/")
    if page.status_code == 200:
        return True
    assert page.status_code == 302 and page.headers["Location"].startswith("/console/login")
    return False


def cookie(browser: Console) -> str:
    return browser.client.get_cookie("session").value


def browser_with_cookie(app, value: str) -> Console:
    """Another browser, given a copy of someone's session cookie."""
    browser = Console(app.test_client())
    browser.client.set_cookie("session", value)
    return browser


def cookie_contents(app, value: str) -> dict:
    return dict(app.session_interface.get_signing_serializer(app).loads(value))


def sessions_of(user_id: str) -> list[StaffSession]:
    with unit_of_work(platform=True) as uow:
        query = select(StaffSession).where(StaffSession.user_id == user_id)
        return list(uow.session.scalars(query.order_by(StaffSession.created, StaffSession.id)))


def change_password(browser: Console, current: str, new: str, again: str | None = None):
    form = {"current_password": current, "new_password": new, "new_password_again": again or new}
    return browser.post("/console/password", form)


# --- sign-in and sign-out -------------------------------------------------------------------


def test_sign_in_opens_a_session_and_the_cookie_holds_only_its_secret(app, admin):
    user_id, email = admin
    browser = Console(app.test_client())
    browser.client.environ_base["HTTP_USER_AGENT"] = "sessions-test/1.0"
    assert browser.login(email).status_code == 302
    [row] = sessions_of(user_id)
    contents = cookie_contents(app, cookie(browser))
    assert set(contents) <= {"sid", "csrf", "tenant", "_permanent"}
    assert user_id not in str(contents)
    assert row.id.startswith("ses_") and row.token_hash == secrets.digest(contents["sid"])
    assert row.ended_at is None and row.end_reason is None
    assert row.last_seen_at == row.created
    assert row.expires_at == row.created + timedelta(hours=SESSION_HOURS)
    assert row.ip == "127.0.0.1" and row.user_agent == "sessions-test/1.0"


def test_a_cookie_saved_before_sign_out_is_refused_after_it(app, admin):
    user_id, email = admin
    browser = browser_of(app, email)
    saved = cookie(browser)
    assert signed_in(browser_with_cookie(app, saved))  # a copy works while the session lives
    assert browser.post("/console/logout").status_code == 302
    copy = browser_with_cookie(app, saved)
    assert not signed_in(copy)
    copy = browser_with_cookie(app, saved)  # a form posted with it: the cookie is cleared
    form = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert copy.post("/console/password", form).status_code == 400  # its CSRF token with it
    [row] = sessions_of(user_id)
    assert row.end_reason == "sign_out" and row.ended_at is not None


def test_signing_in_again_ends_the_session_the_browser_held(app, admin):
    user_id, email = admin
    browser = browser_of(app, email)
    saved = cookie(browser)
    assert browser.login(email).status_code == 302
    assert signed_in(browser) and not signed_in(browser_with_cookie(app, saved))
    assert [row.end_reason for row in sessions_of(user_id)] == ["sign_out", None]


def test_sign_in_and_sign_out_are_still_in_the_activity_log(app, tenant, admin):
    user_id, email = admin
    browser_of(app, email).post("/console/logout")
    with unit_of_work(platform=True) as uow:
        rows = uow.session.scalars(
            select(activity.StaffActivity)
            .where(activity.StaffActivity.actor_email == email)
            .order_by(activity.StaffActivity.created)
        )
        recorded = [(r.action, r.outcome, r.actor_id, r.tenant_id) for r in rows]
    assert recorded == [
        (activity.SIGN_IN, "ok", user_id, tenant.id),
        (activity.SIGN_OUT, "ok", user_id, tenant.id),
    ]


# --- forged secrets ---------------------------------------------------------------------------


def test_an_unknown_or_altered_secret_is_refused(app, admin):
    _, email = admin
    browser = browser_of(app, email)
    secret = cookie_contents(app, cookie(browser))["sid"]
    for forged in (secrets.new_secret("ss"), secret + "x", secret[:-1], ""):
        other = Console(app.test_client())
        with other.client.session_transaction() as session:
            session["sid"] = forged
        assert not signed_in(other)
    assert signed_in(browser)


def test_a_tampered_cookie_is_refused(app, admin):
    _, email = admin
    value = cookie(browser_of(app, email))
    signature = "A" * 10 if not value.endswith("A" * 10) else "B" * 10
    assert not signed_in(browser_with_cookie(app, value[:-10] + signature))
    assert signed_in(browser_with_cookie(app, value))


def test_a_signed_cookie_naming_only_a_user_no_longer_signs_anyone_in(app, admin):
    """What the cookie held before sessions were kept server-side (and what anyone who
    learnt the secret key could forge)."""
    user_id, _ = admin
    browser = Console(app.test_client())
    with browser.client.session_transaction() as session:
        session.update(uid=user_id, started=int(clock.now().timestamp()), csrf="t")
    assert not signed_in(browser)


# --- time ------------------------------------------------------------------------------------


def test_expiry_comes_before_idleness_and_both_are_inclusive():
    start = clock.now()
    row = StaffSession.open(user_id="usr_x", token_hash="0" * 64, now=start)
    assert row.timed_out(start + timedelta(minutes=IDLE_MINUTES, seconds=-1)) is None
    assert row.timed_out(start + timedelta(minutes=IDLE_MINUTES)) == "idle"
    row.last_seen_at = start + timedelta(hours=SESSION_HOURS, minutes=-1)
    assert row.timed_out(start + timedelta(hours=SESSION_HOURS, seconds=-1)) is None
    assert row.timed_out(start + timedelta(hours=SESSION_HOURS, minutes=IDLE_MINUTES)) == "expired"


def test_thirty_minutes_without_a_request_end_the_session(app, admin):
    user_id, email = admin
    start = clock.now()
    with clock.frozen_at(start):
        browser = browser_of(app, email)
    with clock.frozen_at(start + timedelta(minutes=IDLE_MINUTES - 1)):
        assert signed_in(browser)
    with clock.frozen_at(start + timedelta(minutes=2 * IDLE_MINUTES - 2)):
        assert signed_in(browser)  # each request restarts the 30 minutes
    with clock.frozen_at(start + timedelta(minutes=3 * IDLE_MINUTES - 2)):
        assert not signed_in(browser)  # 30 minutes after the last request
    [row] = sessions_of(user_id)
    assert row.end_reason == "idle"
    assert row.ended_at == start + timedelta(minutes=3 * IDLE_MINUTES - 2)


def test_last_seen_moves_at_most_once_a_minute(app, admin):
    user_id, email = admin
    start = clock.now()
    with clock.frozen_at(start):
        browser = browser_of(app, email)
    with clock.frozen_at(start + timedelta(seconds=59)):
        assert signed_in(browser) and signed_in(browser)
    assert sessions_of(user_id)[0].last_seen_at == start
    with clock.frozen_at(start + timedelta(seconds=61)):
        assert signed_in(browser)
    assert sessions_of(user_id)[0].last_seen_at == start + timedelta(seconds=61)


def test_a_session_ends_eight_hours_after_sign_in_however_busy(app, admin):
    user_id, email = admin
    start = clock.now()
    with clock.frozen_at(start):
        browser = browser_of(app, email)
    for minutes in range(20, SESSION_HOURS * 60, 20):
        with clock.frozen_at(start + timedelta(minutes=minutes)):
            assert signed_in(browser), minutes
    with clock.frozen_at(start + timedelta(hours=SESSION_HOURS)):
        assert not signed_in(browser)
    [row] = sessions_of(user_id)
    assert row.end_reason == "expired"


# --- password and role changes -------------------------------------------------------------


def test_changing_the_password_signs_out_every_other_browser(app, admin):
    user_id, email = admin
    first, second = browser_of(app, email), browser_of(app, email)
    first_cookie = cookie(first)
    changed = change_password(first, PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 303
    assert not signed_in(second)
    dashboard = first.get("/console/")  # signed in again, with a fresh session
    assert dashboard.status_code == 200 and "Your password is changed." in html(dashboard)
    assert not signed_in(browser_with_cookie(app, first_cookie))
    assert [row.end_reason for row in sessions_of(user_id)] == [
        "password_changed",
        "password_changed",
        None,
    ]
    assert Console(app.test_client()).login(email, PASSWORD).status_code == 401
    assert browser_of(app, email, NEW_PASSWORD)


def test_a_refused_password_change_changes_nothing(app, admin):
    user_id, email = admin
    browser, other = browser_of(app, email), browser_of(app, email)
    wrong = change_password(browser, "not my password", NEW_PASSWORD)
    assert wrong.status_code == 401 and "The current password is wrong." in html(wrong)
    short = change_password(browser, PASSWORD, "9 letters")
    assert short.status_code == 422 and "at least 10 characters" in html(short)
    differ = change_password(browser, PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert differ.status_code == 422 and "The two new passwords differ." in html(differ)
    assert signed_in(browser) and signed_in(other)
    assert [row.end_reason for row in sessions_of(user_id)] == [None, None]
    assert browser_of(app, email, PASSWORD)
    with unit_of_work(platform=True) as uow:
        outcomes = list(
            uow.session.scalars(
                select(activity.StaffActivity.outcome)
                .where(activity.StaffActivity.actor_id == user_id)
                .where(activity.StaffActivity.action == "auth.password_change")
                .order_by(activity.StaffActivity.created)
            )
        )
    assert outcomes == ["refused", "error", "error"]


def test_the_password_page_needs_only_a_signed_in_user(app, tenant):
    for role in Role:
        _, email = make_staff({tenant.id: role})
        page = browser_of(app, email).get("/console/password")
        assert page.status_code == 200 and 'name="current_password"' in html(page)
    anonymous = Console(app.test_client()).get("/console/password")
    assert anonymous.status_code == 302 and "/console/login" in anonymous.headers["Location"]


def test_a_password_change_without_the_csrf_token_is_refused(app, admin):
    _, email = admin
    browser = browser_of(app, email)
    form = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    forged = browser.client.post("/console/password", data={**form, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert browser_of(app, email, PASSWORD)


def test_a_role_change_ends_the_users_sessions(app, tenant, admin):
    user_id, email = admin
    _, bystander_email = make_staff({tenant.id: Role.ADMIN})
    first, second = browser_of(app, email), browser_of(app, email)
    bystander = browser_of(app, bystander_email)
    assert first.get("/console/clients").status_code == 200

    assert set_staff_role(tenant.id, user_id, Role.SUPPORT) is True
    assert not signed_in(first) and not signed_in(second)
    assert signed_in(bystander)
    assert [row.end_reason for row in sessions_of(user_id)] == ["role_changed"] * 2
    again = browser_of(app, email)
    assert again.get("/console/clients").status_code == 403  # support may not

    assert set_staff_role(tenant.id, user_id, Role.SUPPORT) is False  # no change
    assert signed_in(again)
    assert set_staff_role(tenant.id, user_id, None) is True  # role taken away
    assert not signed_in(again)


def test_end_staff_sessions_ends_every_session_of_that_user_only(app, tenant, admin):
    user_id, email = admin
    _, bystander_email = make_staff({tenant.id: Role.ADMIN})
    browsers = [browser_of(app, email) for _ in range(3)]
    bystander = browser_of(app, bystander_email)
    assert end_staff_sessions(user_id, "role_changed") == 3
    assert not any(signed_in(browser) for browser in browsers)
    assert signed_in(bystander)
    assert end_staff_sessions(user_id, "role_changed") == 0
