"""Every error leaves in API.md's envelope, with the right status, and never a 5xx for
bad input."""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories import assert_error, signup_body

from jifen.platform.shell.app import create_app


def test_unknown_url_is_a_404_in_the_envelope(client):
    error = assert_error(client.get("/v1/no-such-thing"), 404, "resource_missing")
    assert "/v1/no-such-thing" in error["message"]


def test_unknown_url_is_json_even_for_a_browser(client):
    response = client.get("/v1/no-such-thing", headers={"Accept": "text/html"})
    assert_error(response, 404, "resource_missing")


def test_wrong_method_is_a_405_naming_the_allowed_ones(client):
    response = client.delete("/v1/signup")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_malformed_json_is_a_400_invalid_json(client):
    response = client.post(
        "/v1/signup", data=b'{"tenant": {', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_a_body_that_is_not_an_object_is_a_400(client, body):
    response = client.post("/v1/signup", data=body, headers={"Content-Type": "application/json"})
    assert_error(response, 400)


def test_an_unknown_field_is_a_400_naming_it(client):
    body = signup_body()
    body["tenant"]["colour"] = "red"
    error = assert_error(client.post("/v1/signup", json=body), 400, "unknown_field")
    assert error["param"] == "tenant.colour"


def test_an_unknown_top_level_field_is_a_400_naming_it(client):
    body = {**signup_body(), "extra": 1}
    error = assert_error(client.post("/v1/signup", json=body), 400, "unknown_field")
    assert error["param"] == "extra"


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("tenant", "name", 42),
        ("tenant", "kind", ["merchant"]),
        ("currency", "code", {"a": 1}),
        ("owner", "email", True),
        ("owner", "password", 12345678),
    ],
)
def test_a_wrong_type_is_a_422_naming_the_field(client, section, field, value):
    body = signup_body()
    body[section][field] = value
    error = assert_error(client.post("/v1/signup", json=body), 422, "invalid_value")
    assert error["param"] == f"{section}.{field}"


def test_a_missing_section_is_a_422_naming_it(client):
    body = signup_body()
    del body["owner"]
    error = assert_error(client.post("/v1/signup", json=body), 422, "invalid_value")
    assert error["param"] == "owner"


def test_a_body_over_the_size_limit_is_a_413(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    huge = b'{"tenant": "' + b"x" * (limit + 10) + b'"}'
    response = client.post("/v1/signup", data=huge, headers={"Content-Type": "application/json"})
    assert_error(response, 413, "request_too_large")


def test_a_body_over_the_size_limit_with_an_idempotency_key_is_a_413(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        "/v1/signup",
        data=b"x" * (limit + 10),
        headers={"Content-Type": "application/json", "Idempotency-Key": "huge-1"},
    )
    assert_error(response, 413, "request_too_large")


def test_a_bad_authorization_header_is_a_401(client):
    response = client.get("/v1/tenant", headers={"Authorization": "Basic abc"})
    assert_error(response, 401, "unauthenticated")
    response = client.get("/v1/tenant", headers={"Authorization": "Bearer nope"})
    assert_error(response, 401, "unauthenticated")


@pytest.fixture
def crashing_app(config, app):
    crashing = create_app(replace(config, testing=False))

    @crashing.get("/v1/crash")
    def crash():
        raise RuntimeError("secret internals: password=hunter2")

    yield crashing
    crashing.extensions["jifen.db"].dispose()


def test_an_unexpected_exception_is_a_500_that_reveals_nothing(crashing_app, caplog):
    response = crashing_app.test_client().get("/v1/crash")
    error = assert_error(response, 500, "internal_error")
    assert error["type"] == "api_error"
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert any("hunter2" in (r.exc_text or "") or r.exc_info for r in caplog.records), (
        "the 500 was not logged with its traceback"
    )
