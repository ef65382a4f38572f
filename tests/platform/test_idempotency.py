"""``Idempotency-Key`` (API.md, Conventions): replay, conflicts, release on failure,
scoping per caller, concurrent duplicates, abandoned claims and retention."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from factories import assert_error, signup_body, unique
from flask import g
from sqlalchemy import func, select

from jifen.platform import clock, idempotency
from jifen.platform.auth.callers import caller_key
from jifen.platform.db import unit_of_work
from jifen.platform.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from jifen.platform.idempotency import IdempotencyRecord
from jifen.tenants.model import Tenant

TTL = timedelta(hours=24)


def tenant_count() -> int:
    with unit_of_work(platform=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Tenant))


ANONYMOUS = "anon:"  # an anonymous caller's keys: scoped to its address and the body


def key_count(caller: str, key: str) -> int:
    who = (
        IdempotencyRecord.caller.startswith(ANONYMOUS)
        if caller == ANONYMOUS
        else IdempotencyRecord.caller == caller
    )
    with unit_of_work(platform=True) as uow:
        return uow.session.scalar(
            select(func.count())
            .select_from(IdempotencyRecord)
            .where(who, IdempotencyRecord.key == key)
        )


def post_signup(client, body, key, headers=None):
    return client.post("/v1/signup", json=body, headers={"Idempotency-Key": key, **(headers or {})})


def test_same_key_and_body_replays_the_first_response_without_a_second_effect(client):
    key, body = unique("key-"), signup_body()
    first = post_signup(client, body, key)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    before = tenant_count()
    second = post_signup(client, body, key)
    assert second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json() == first.get_json()
    assert tenant_count() == before


def test_key_order_in_the_body_does_not_matter(client):
    key, body = unique("key-"), signup_body()
    assert post_signup(client, body, key).status_code == 201
    reordered = {name: body[name] for name in reversed(list(body))}
    response = post_signup(client, reordered, key)
    assert response.headers.get("Idempotent-Replayed") == "true"


def test_same_key_with_another_body_is_409_reused(api, client):
    tenant = api.signup()
    key = unique("key-")

    def enrol(external_id: str):
        return client.post(
            "/v1/members",
            json={"external_id": external_id},
            headers={**tenant.auth, "Idempotency-Key": key},
        )

    first = enrol(unique("c-"))
    assert first.status_code == 201
    assert_error(enrol(unique("c-")), 409, "idempotency_key_reused")
    listed = client.get("/v1/members", headers=tenant.auth).get_json()["data"]
    assert [member["id"] for member in listed] == [first.get_json()["id"]]


def test_an_anonymous_callers_key_replays_only_for_the_same_address_and_body(client):
    """No credentials, no identity: a key alone must never hand one person's answer
    (a signup's client secret, a holder session's token) to another."""
    key, body = unique("key-"), signup_body()
    first = post_signup(client, body, key)
    assert first.status_code == 201
    elsewhere = client.post(
        "/v1/signup",
        json=body,
        headers={"Idempotency-Key": key},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert "Idempotent-Replayed" not in elsewhere.headers
    assert elsewhere.get_json() != first.get_json()
    other_body = post_signup(client, signup_body(), key)  # a different request, not a 409
    assert other_body.status_code == 201 and "Idempotent-Replayed" not in other_body.headers


def test_a_request_that_failed_releases_the_key_for_a_corrected_retry(api, client):
    taken = api.signup()
    key, body = unique("key-"), signup_body()
    body["tenant"]["slug"] = taken.slug
    assert_error(post_signup(client, body, key), 409, "slug_taken")
    assert key_count(ANONYMOUS, key) == 0
    body["tenant"]["slug"] = unique("t-")
    # Another body under the same key is fine now: the failed attempt left nothing.
    response = post_signup(client, body, key)
    assert response.status_code == 201, response.get_json()
    assert "Idempotent-Replayed" not in response.headers


def test_a_422_releases_the_key(client):
    key, body = unique("key-"), signup_body()
    body["owner"]["password"] = "short"
    assert_error(post_signup(client, body, key), 422)
    body["owner"]["password"] = "long enough now"
    assert post_signup(client, body, key).status_code == 201


def test_keys_are_scoped_to_the_caller(api, client):
    key = unique("key-")
    first = api.signup()
    as_public = post_signup(client, signup_body(), key)
    as_tenant = post_signup(client, signup_body(), key, headers=first.auth)
    assert as_public.status_code == 201 and as_tenant.status_code == 201
    assert "Idempotent-Replayed" not in as_tenant.headers

    # Two platform operators, same key and same body: each runs the job once.
    ops = [{"Authorization": f"Bearer {api.platform_token()}"} for _ in range(2)]
    job = {"job": "housekeeping"}
    responses = [
        client.post("/v1/platform/jobs", json=job, headers={**h, "Idempotency-Key": key})
        for h in ops
    ]
    assert [r.status_code for r in responses] == [200, 200]
    assert all("Idempotent-Replayed" not in r.headers for r in responses)
    again = client.post("/v1/platform/jobs", json=job, headers={**ops[0], "Idempotency-Key": key})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == responses[0].get_json()


def test_a_concurrent_duplicate_is_409_in_use(app):
    caller, key = unique("caller-"), unique("key-")
    with app.test_request_context():
        claim = idempotency.begin(caller, key, "hash-a", ttl=TTL)
        assert isinstance(claim, idempotency.Claim)
        with pytest.raises(IdempotencyKeyInUse):
            idempotency.begin(caller, key, "hash-a", ttl=TTL)
        with pytest.raises(IdempotencyKeyReused):
            idempotency.begin(caller, key, "hash-b", ttl=TTL)
        idempotency.finish(claim)
        assert key_count(caller, key) == 0


def test_a_concurrent_duplicate_over_http_is_409_in_use(app, client):
    key, body = unique("key-"), signup_body()
    fingerprint = idempotency.request_hash("POST", "/v1/signup", _json_bytes(body))
    as_the_test_client = {"REMOTE_ADDR": "127.0.0.1"}
    with app.test_request_context("/v1/signup", method="POST", environ_base=as_the_test_client):
        g.caller = None  # anonymous, as the signup below (g outlives requests in tests)
        claim = idempotency.begin(caller_key(fingerprint), key, fingerprint, ttl=TTL)
    before = tenant_count()
    assert_error(post_signup(client, body, key), 409, "idempotency_key_in_use")
    assert tenant_count() == before
    with app.test_request_context():
        idempotency.finish(claim)


def _json_bytes(body) -> bytes:
    import json

    return json.dumps(body).encode()


def test_an_abandoned_claim_is_taken_over_after_the_timeout(app):
    caller, key = unique("caller-"), unique("key-")
    start = clock.now()
    with app.test_request_context():
        with clock.frozen_at(start):
            abandoned = idempotency.begin(caller, key, "hash", ttl=TTL)
        with clock.frozen_at(start + idempotency.CLAIM_TIMEOUT - timedelta(seconds=1)):
            with pytest.raises(IdempotencyKeyInUse):
                idempotency.begin(caller, key, "hash", ttl=TTL)
        with clock.frozen_at(start + idempotency.CLAIM_TIMEOUT + timedelta(seconds=1)):
            taken = idempotency.begin(caller, key, "hash", ttl=TTL)
        assert isinstance(taken, idempotency.Claim) and taken.token != abandoned.token
        # The old process wakes up and releases "its" claim: the new one must survive.
        idempotency.finish(abandoned)
        assert key_count(caller, key) == 1
        idempotency.finish(taken)
        assert key_count(caller, key) == 0


def test_a_key_past_its_retention_starts_afresh(client):
    key, body = unique("key-"), signup_body()
    assert post_signup(client, body, key).status_code == 201
    with clock.frozen_at(clock.now() + TTL + timedelta(minutes=1)):
        response = post_signup(client, signup_body(), key)
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers


def test_housekeeping_purges_expired_keys(api, client):
    key = unique("key-")
    assert post_signup(client, signup_body(), key).status_code == 201
    assert key_count(ANONYMOUS, key) == 1

    def run_housekeeping():
        headers = {"Authorization": f"Bearer {api.platform_token()}"}
        response = client.post("/v1/platform/jobs", json={"job": "housekeeping"}, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response

    with clock.frozen_at(clock.now() + TTL - timedelta(minutes=1)):
        run_housekeeping()
    assert key_count(ANONYMOUS, key) == 1
    with clock.frozen_at(clock.now() + TTL + timedelta(minutes=1)):
        response = run_housekeeping()
    assert response.get_json()["result"]["idempotency_keys_deleted"] >= 1
    assert key_count(ANONYMOUS, key) == 0


def test_an_overlong_key_is_refused(client):
    response = post_signup(client, signup_body(), "k" * 256)
    assert_error(response, 409, "idempotency_key_invalid")


def test_concurrent_signups_with_one_key_create_one_tenant(app):
    import requests
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/v1/signup"
    key, body = unique("key-"), signup_body()
    barrier = threading.Barrier(8)
    results: list = []

    def call() -> None:
        barrier.wait()
        response = requests.post(url, json=body, headers={"Idempotency-Key": key}, timeout=30)
        results.append((response.status_code, response.headers, response.json()))

    try:
        before = tenant_count()
        workers = [threading.Thread(target=call) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        server.shutdown()
        thread.join()
    assert tenant_count() == before + 1
    created = [r for r in results if r[0] == 201 and "Idempotent-Replayed" not in r[1]]
    assert len(created) == 1
    for status, _headers, payload in results:
        if status == 201:
            assert payload == created[0][2]
        else:
            assert status == 409 and payload["error"]["code"] == "idempotency_key_in_use"
    with unit_of_work(platform=True) as uow:
        slugs = uow.session.scalars(
            select(Tenant.slug).where(Tenant.slug == body["tenant"]["slug"])
        ).all()
    assert slugs == [body["tenant"]["slug"]]
