"""Signing in and out of the console: sessions, CSRF, throttling, headers, error pages."""

from __future__ import annotations

from dataclasses import replace

import pytest
from console_helpers import Console, html, make_staff
from factories import Api
from flask import Flask

from jifen.platform.auth.model import Role
from jifen.platform.shell import console


@pytest.fixture
def tenant(client):
    return Api(client).signup()


def test_owner_signs_in_and_lands_on_the_dashboard(client, tenant):
    browser = Console(client)
    response = browser.login(f"owner@{tenant.slug}.example")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/")
    page = browser.get("/console/")
    assert page.status_code == 200
    assert "Dashboard" in html(page) and tenant.slug in html(page)


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, tenant):
    browser = Console(client)
    wrong_password = browser.login(f"owner@{tenant.slug}.example", "not the password")
    unknown_email = browser.login("nobody@example.test", "not the password")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert "The email or password is wrong." in html(wrong_password)
    assert browser.get("/console/").status_code == 302


def test_sign_in_cookie_is_http_only_and_same_site_lax(client, tenant):
    response = Console(client).login(f"owner@{tenant.slug}.example")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_is_secure_outside_tests(config):
    app = Flask("probe")
    app.extensions["jifen.config"] = replace(config, testing=False)
    console.init_app(app)
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_a_form_without_the_csrf_token_is_refused(client, tenant):
    browser = Console(client)
    browser.client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"email": f"owner@{tenant.slug}.example", "password": "correct horse battery"},
    )
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert browser.get("/console/").status_code == 302  # not signed in


def test_a_form_with_another_sessions_token_is_refused(client, app, tenant):
    browser = Console(client)
    browser.login(f"owner@{tenant.slug}.example")
    response = client.post("/console/logout", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert browser.get("/console/").status_code == 200  # still signed in


def test_five_failures_lock_the_email_and_address_out_with_a_429_page(client, tenant):
    browser = Console(client)
    email = f"owner@{tenant.slug}.example"
    statuses = [browser.login(email, f"wrong {n}").status_code for n in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    locked = browser.login(email)  # even the right password now waits
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "Too many attempts" in html(locked)
    other = make_staff({tenant.id: Role.SUPPORT})[1]
    assert browser.login(other).status_code == 302  # another email is not locked


def test_console_pages_carry_security_headers(client, tenant):
    browser = Console(client)
    for response in (browser.get("/console/login"), browser.get("/console/nowhere")):
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_console_errors_are_html_while_the_api_keeps_json(client):
    page = client.get("/console/nowhere", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "This page does not exist." in html(page)
    api = client.get("/v1/nowhere", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "resource_missing"


def test_sign_out_ends_the_session(client, tenant):
    browser = Console(client)
    browser.login(f"owner@{tenant.slug}.example")
    assert browser.post("/console/logout").status_code == 302
    assert browser.get("/console/").headers["Location"].startswith("/console/login")


def test_a_user_of_several_tenants_picks_one(client, api):
    first, second = api.signup(), api.signup()
    _, email = make_staff({first.id: Role.SUPPORT, second.id: Role.ADMIN})
    browser = Console(client)
    browser.login(email)
    picker = browser.get("/console/")
    assert picker.status_code == 302 and picker.headers["Location"].endswith("/console/tenant")
    choices = html(browser.get("/console/tenant"))
    assert first.slug in choices and second.slug in choices
    browser.post("/console/tenant", {"tenant": second.id})
    assert second.slug in html(browser.get("/console/"))
    assert browser.post("/console/tenant", {"tenant": api.signup().id}).status_code == 403


def test_after_sign_in_the_user_returns_to_the_page_they_asked_for(client, tenant):
    browser = Console(client)
    asked = browser.get("/console/members?q=x")
    assert asked.status_code == 302
    client.get(asked.headers["Location"])
    response = client.post(
        "/console/login",
        data={
            "email": f"owner@{tenant.slug}.example",
            "password": "correct horse battery",
            "csrf_token": browser.token(),
            "next": "/console/members?q=x",
        },
    )
    assert response.headers["Location"] == "/console/members?q=x"
    offsite = client.post(
        "/console/login",
        data={
            "email": f"owner@{tenant.slug}.example",
            "password": "correct horse battery",
            "csrf_token": browser.token(),
            "next": "https://evil.example/",
        },
    )
    assert offsite.headers["Location"] == "/console/"
