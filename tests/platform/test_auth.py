"""OAuth2 client credentials, scopes, revocation, expiry, platform clients, hashed
secrets and staff users."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from factories import assert_error, unique
from sqlalchemy import inspect, select, text

from jifen.platform import clock
from jifen.platform.auth import services as auth
from jifen.platform.auth.model import TENANT_SCOPES, Role, StaffUser
from jifen.platform.db import get_database, unit_of_work


def token_response(client, client_id, secret, *, scope=None, basic=True):
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    if basic:
        return client.post("/oauth/token", data=form, auth=(client_id, secret))
    return client.post(
        "/oauth/token", data={**form, "client_id": client_id, "client_secret": secret}
    )


@pytest.mark.parametrize("basic", [True, False], ids=["http-basic", "form-fields"])
def test_client_credentials_issue_a_bearer_token(api, client, basic):
    tenant = api.signup()
    response = token_response(client, tenant.client_id, tenant.client_secret, basic=basic)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    auth_header = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/v1/tenant", headers=auth_header).get_json()["id"] == tenant.id


def test_a_token_request_without_scope_gets_every_scope_of_the_client(api, client):
    tenant = api.signup()
    body = token_response(client, tenant.client_id, tenant.client_secret).get_json()
    assert set(body["scope"].split()) == set(TENANT_SCOPES)


def test_a_narrower_scope_is_honoured(api, client):
    tenant = api.signup()
    body = token_response(
        client, tenant.client_id, tenant.client_secret, scope="points:read"
    ).get_json()
    assert body["scope"] == "points:read"
    operator = api.platform_token()
    narrow = auth.create_platform_client(unique("ops-"), ["platform:admin", "exchange"])
    narrow_token = api.token(narrow.client_id, narrow.client_secret, scope="exchange")
    response = client.post(
        "/v1/platform/jobs",
        json={"job": "housekeeping"},
        headers={"Authorization": f"Bearer {narrow_token}"},
    )
    assert_error(response, 403, "missing_scope")
    response = client.post(
        "/v1/platform/jobs",
        json={"job": "housekeeping"},
        headers={"Authorization": f"Bearer {operator}"},
    )
    assert response.status_code == 200


def test_a_scope_the_client_lacks_is_invalid_scope(api, client):
    tenant = api.signup()
    response = token_response(
        client, tenant.client_id, tenant.client_secret, scope="points:read platform:admin"
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_scope"


@pytest.mark.parametrize("basic", [True, False], ids=["http-basic", "form-fields"])
def test_a_wrong_secret_is_invalid_client(api, client, basic):
    tenant = api.signup()
    response = token_response(client, tenant.client_id, tenant.client_secret + "x", basic=basic)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert "access_token" not in response.get_json()


def test_an_unknown_client_is_invalid_client(client):
    response = token_response(client, "cli_doesnotexist", "sk_nothing")
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_a_revoked_token_is_refused(api, client):
    tenant = api.signup()
    assert client.get("/v1/tenant", headers=tenant.auth).status_code == 200
    response = client.post(
        "/oauth/revoke",
        data={"token": tenant.token},
        auth=(tenant.client_id, tenant.client_secret),
    )
    assert response.status_code == 200
    assert_error(client.get("/v1/tenant", headers=tenant.auth), 401, "unauthenticated")


def test_a_client_cannot_revoke_another_clients_token(api, client):
    victim, other = api.signup(), api.signup()
    response = client.post(
        "/oauth/revoke", data={"token": victim.token}, auth=(other.client_id, other.client_secret)
    )
    assert response.status_code == 200  # RFC 7009: no hint that the token exists
    assert client.get("/v1/tenant", headers=victim.auth).status_code == 200


def test_revoking_a_client_kills_its_tokens(api, client):
    tenant = api.signup()
    auth.revoke_client(tenant.id, tenant.client_id)
    assert_error(client.get("/v1/tenant", headers=tenant.auth), 401, "unauthenticated")
    response = token_response(client, tenant.client_id, tenant.client_secret)
    assert response.get_json()["error"] == "invalid_client"


def test_an_expired_token_is_refused(api, client, app):
    tenant = api.signup()
    ttl = app.extensions["jifen.config"].access_token_ttl_seconds
    with clock.frozen_at(clock.now() + timedelta(seconds=ttl - 5)):
        assert client.get("/v1/tenant", headers=tenant.auth).status_code == 200
    with clock.frozen_at(clock.now() + timedelta(seconds=ttl + 1)):
        assert_error(client.get("/v1/tenant", headers=tenant.auth), 401, "unauthenticated")


def test_cli_creates_a_platform_client_whose_credentials_work(database_url, client, run_cli):
    result = run_cli(
        "platform",
        "create-client",
        "--name",
        unique("ops-"),
        "--scopes",
        "platform:admin",
        env={"JIFEN_DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.output
    credentials = json.loads(result.output.strip().splitlines()[-1])
    assert set(credentials) == {"client_id", "client_secret"}
    response = token_response(client, credentials["client_id"], credentials["client_secret"])
    assert response.status_code == 200
    assert response.get_json()["scope"] == "platform:admin"


def test_cli_refuses_a_tenant_scope_for_a_platform_client(database_url, run_cli):
    result = run_cli(
        "platform",
        "create-client",
        "--name",
        "x",
        "--scopes",
        "points:write",
        env={"JIFEN_DATABASE_URL": database_url},
    )
    assert result.exit_code != 0
    assert "points:write" in result.output


def _every_text_value(database) -> list[str]:
    """Every string stored in every table of the database."""
    values = []
    with database.engine.connect() as connection:
        if database.is_postgres:
            connection.execute(text("SELECT set_config('app.platform', 'on', false)"))
        for table in inspect(connection).get_table_names():
            if table == "alembic_version":
                continue
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                values.extend(str(v) for v in row if v is not None)
        connection.rollback()
    return values


def test_secrets_and_tokens_are_stored_only_as_digests(api, client):
    tenant = api.signup()
    signup_key = unique("k-")
    response = client.post(
        "/v1/signup",
        json={
            "tenant": {"name": "Keyed", "slug": unique("k-"), "kind": "merchant"},
            "currency": {"code": unique("K").upper(), "name": "Points"},
            "owner": {"email": f"{unique('o')}@x.example", "password": "long enough pw"},
        },
        headers={"Idempotency-Key": signup_key},
    )
    keyed_secret = response.get_json()["api_client"]["client_secret"]
    stored = "\n".join(_every_text_value(get_database()))
    for secret in (tenant.client_secret, tenant.token, keyed_secret):
        assert secret not in stored
    with unit_of_work(platform=True) as uow:
        digests = uow.session.execute(
            text("SELECT secret_hash FROM api_clients WHERE id = :id"), {"id": tenant.client_id}
        ).scalar_one()
    assert len(digests) == 64


def test_staff_passwords_are_argon2_hashed_and_checked(api):
    password = "correct horse battery"
    email = f"owner@{unique('s-')}.example"
    body_owner = {"email": email, "password": password}
    tenant = api.signup(owner=body_owner)
    with unit_of_work(platform=True) as uow:
        user = uow.session.scalar(select(StaffUser).where(StaffUser.email == email))
    assert user.password_hash.startswith("$argon2")
    assert password not in user.password_hash
    assert auth.authenticate_staff(email, "wrong password") is None
    assert auth.authenticate_staff("nobody@nowhere.example", password) is None
    found = auth.authenticate_staff(email.upper(), password)
    assert found is not None and found.id == user.id
    assert auth.roles_of(user.id) == {tenant.id: Role.OWNER}


def test_a_tenant_client_cannot_run_platform_jobs(api, client):
    tenant = api.signup()
    response = client.post("/v1/platform/jobs", json={"job": "housekeeping"}, headers=tenant.auth)
    assert_error(response, 403)


def test_the_platform_operator_runs_a_job_and_gets_its_result(api, client):
    headers = {"Authorization": f"Bearer {api.platform_token()}"}
    response = client.post("/v1/platform/jobs", json={"job": "housekeeping"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["object"] == "job_run" and body["job"] == "housekeeping"
    assert "idempotency_keys_deleted" in body["result"]
    error = assert_error(
        client.post("/v1/platform/jobs", json={"job": "nope"}, headers=headers), 422
    )
    assert error["param"] == "job"


def test_a_platform_client_has_no_tenant(api, client):
    headers = {"Authorization": f"Bearer {api.platform_token()}"}
    assert_error(client.get("/v1/tenant", headers=headers), 403)
