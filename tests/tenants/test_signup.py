"""Onboarding (API.md): ``POST /v1/signup`` and ``GET /v1/tenant``."""

from __future__ import annotations

import re

import pytest
from factories import assert_error, signup_body, unique
from sqlalchemy import func, select

from jifen.platform.auth.model import ApiClient, StaffRole, StaffUser
from jifen.platform.db import unit_of_work
from jifen.tenants.model import Currency, Tenant

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
ID = re.compile(r"^(?P<prefix>[a-z]+)_[A-Za-z0-9]{20}$")


def counts() -> dict[str, int]:
    with unit_of_work(platform=True) as uow:
        return {
            model.__tablename__: uow.session.scalar(select(func.count()).select_from(model))
            for model in (Tenant, Currency, StaffUser, StaffRole, ApiClient)
        }


def test_signup_returns_tenant_currency_client_and_publishable_key(client):
    body = signup_body(kind="alliance")
    response = client.post("/v1/signup", json=body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert {"tenant", "currency", "api_client", "publishable_key"} <= set(created)

    tenant = created["tenant"]
    assert tenant["object"] == "tenant"
    assert ID.match(tenant["id"])["prefix"] == "ten"
    assert ISO_Z.match(tenant["created"])
    assert (tenant["name"], tenant["slug"], tenant["kind"]) == (
        body["tenant"]["name"],
        body["tenant"]["slug"],
        "alliance",
    )

    currency = created["currency"]
    assert currency["object"] == "currency"
    assert ID.match(currency["id"])["prefix"] == "cur"
    assert ISO_Z.match(currency["created"])
    assert (currency["code"], currency["name"]) == (body["currency"]["code"], "Points")

    credentials = created["api_client"]
    assert credentials["client_id"].startswith("cli_")
    assert credentials["client_secret"].startswith("sk_") and len(credentials["client_secret"]) > 40
    assert created["publishable_key"].startswith("pk_")
    assert created["publishable_key"] == tenant["publishable_key"]


def test_the_signup_client_works_at_once(api, client):
    tenant = api.signup()
    body = client.get("/v1/tenant", headers=tenant.auth).get_json()
    assert body["id"] == tenant.id and body["slug"] == tenant.slug


def test_get_tenant_shows_the_callers_tenant(api, client):
    tenant = api.signup()
    response = client.get("/v1/tenant", headers=tenant.auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["object"] == "tenant"
    assert body["id"] == tenant.id
    assert body["currency"]["code"] == tenant.currency_code
    assert body["publishable_key"] == tenant.publishable_key
    assert ISO_Z.match(body["created"])


def test_get_tenant_needs_a_token(client):
    assert_error(client.get("/v1/tenant"), 401, "unauthenticated")


def test_a_duplicate_slug_is_409_and_writes_nothing(api, client):
    taken = api.signup()
    before = counts()
    response = client.post("/v1/signup", json=signup_body(tenant={"slug": taken.slug}))
    error = assert_error(response, 409, "slug_taken")
    assert error["param"] == "tenant.slug"
    assert counts() == before


def test_a_duplicate_currency_code_is_409_and_writes_nothing(api, client):
    taken = api.signup()
    before = counts()
    response = client.post("/v1/signup", json=signup_body(currency={"code": taken.currency_code}))
    error = assert_error(response, 409, "currency_code_taken")
    assert error["param"] == "currency.code"
    assert counts() == before


def test_a_duplicate_owner_email_is_409_and_writes_nothing(client):
    email = f"{unique('twice-')}@example.com"
    assert client.post("/v1/signup", json=signup_body(owner={"email": email})).status_code == 201
    before = counts()
    response = client.post("/v1/signup", json=signup_body(owner={"email": email.upper()}))
    assert assert_error(response, 409, "email_taken")["param"] == "owner.email"
    assert counts() == before


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("tenant", "slug", "Bad Slug!"),
        ("tenant", "slug", "-leading-dash"),
        ("tenant", "slug", "x"),
        ("tenant", "kind", "bank"),
        ("tenant", "name", ""),
        ("currency", "code", "lower"),
        ("currency", "code", "1ABC"),
        ("currency", "code", "A" * 17),
        ("currency", "name", ""),
        ("owner", "email", "not-an-email"),
        ("owner", "password", "short"),
    ],
)
def test_invalid_values_are_422_naming_the_field_and_write_nothing(client, section, field, value):
    before = counts()
    body = signup_body()
    body[section][field] = value
    error = assert_error(client.post("/v1/signup", json=body), 422, "invalid_value")
    assert error["param"] == f"{section}.{field}"
    assert counts() == before


def test_a_missing_field_is_422_naming_it(client):
    body = signup_body()
    del body["currency"]["code"]
    error = assert_error(client.post("/v1/signup", json=body), 422, "invalid_value")
    assert error["param"] == "currency.code"
