"""Outbound webhooks end to end: outbox, signatures, retries, the delivery log, replay."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from factories import assert_error, drain_jobs
from sqlalchemy import func, select
from standardwebhooks import Webhook
from webhook_receiver import start_receiver

from jifen.platform import clock
from jifen.platform.db import unit_of_work
from jifen.platform.webhooks import delivery
from jifen.platform.webhooks.events import emit
from jifen.platform.webhooks.model import Event


@pytest.fixture
def receiver():
    receiver, stop = start_receiver()
    yield receiver
    stop()


@pytest.fixture
def tenant(api):
    return api.signup()


def create_endpoint(client, tenant, url, events=("*",)):
    response = client.post(
        "/v1/webhook_endpoints",
        json={"url": url, "enabled_events": list(events)},
        headers=tenant.auth,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def emit_event(tenant_id: str, type_: str = "points.earned", *, commit: bool = True) -> str:
    with unit_of_work(tenant_id=tenant_id) as uow:
        event = emit(uow, tenant_id=tenant_id, type=type_, data={"points": 10})
        if commit:
            uow.commit()
    drain_jobs()
    return event.id


def deliveries(client, tenant, endpoint_id):
    response = client.get(f"/v1/webhook_endpoints/{endpoint_id}/deliveries", headers=tenant.auth)
    assert response.status_code == 200
    return response.get_json()["data"]


def test_committed_event_arrives_signed_per_standard_webhooks(client, tenant, receiver):
    endpoint = create_endpoint(client, tenant, receiver.url)
    event_id = emit_event(tenant.id)

    [arrived] = receiver.received
    payload = Webhook(endpoint["secret"]).verify(arrived.body, arrived.headers)
    assert payload["id"] == event_id == arrived.headers["Webhook-Id"]
    assert payload["type"] == "points.earned" and payload["data"] == {"points": 10}
    [logged] = deliveries(client, tenant, endpoint["id"])
    assert logged["status"] == "succeeded" and logged["attempts"] == 1
    assert logged["log"][0]["status_code"] == 200


def test_a_tampered_body_fails_verification(client, tenant, receiver):
    endpoint = create_endpoint(client, tenant, receiver.url)
    emit_event(tenant.id)
    [arrived] = receiver.received
    with pytest.raises(Exception):  # noqa: B017 - the library raises its own verification error
        Webhook(endpoint["secret"]).verify(arrived.body.replace(b"10", b"99"), arrived.headers)


def test_rolled_back_event_is_never_sent_nor_stored(client, tenant, receiver):
    create_endpoint(client, tenant, receiver.url)
    event_id = emit_event(tenant.id, commit=False)
    assert receiver.received == []
    with unit_of_work(tenant_id=tenant.id) as uow:
        assert uow.session.get(Event, event_id) is None


def test_endpoint_receives_only_subscribed_types(client, tenant, receiver):
    create_endpoint(client, tenant, receiver.url, events=["points.redeemed"])
    emit_event(tenant.id, "points.earned")
    emit_event(tenant.id, "points.redeemed")
    assert [json.loads(r.body)["type"] for r in receiver.received] == ["points.redeemed"]


def test_a_receiver_that_is_down_is_retried_with_backoff_then_marked_failed(
    client, tenant, receiver
):
    receiver.status = 503
    endpoint = create_endpoint(client, tenant, receiver.url)
    start = clock.now()
    emit_event(tenant.id)
    [first] = deliveries(client, tenant, endpoint["id"])
    assert first["status"] == "pending" and first["attempts"] == 1

    # Attempts go through ``deliver`` (what the relay enqueues for each due delivery),
    # for this delivery only: other tests' deliveries are none of this test's business.
    moment = start
    with clock.frozen_at(moment):
        assert delivery.deliver(first["id"]) == "skipped"  # not due before its backoff
    for wait in delivery.BACKOFF:
        moment += wait + timedelta(seconds=1)
        with clock.frozen_at(moment):
            delivery.deliver(first["id"])

    [final] = deliveries(client, tenant, endpoint["id"])
    assert final["status"] == "failed"
    assert final["attempts"] == delivery.MAX_ATTEMPTS == len(receiver.received)
    assert all(not attempt["succeeded"] for attempt in final["log"])
    assert {r.headers["Webhook-Id"] for r in receiver.received} == {final["event"]}

    receiver.status = 200
    replayed = client.post(f"/v1/webhook_deliveries/{final['id']}/replay", headers=tenant.auth)
    assert replayed.status_code == 200
    assert replayed.get_json()["status"] == "succeeded"
    assert receiver.received[-1].headers["Webhook-Id"] == final["event"]


def test_relay_sends_a_delivery_whose_first_send_was_lost(client, tenant, receiver, monkeypatch):
    create_endpoint(client, tenant, receiver.url)
    monkeypatch.setattr(delivery, "send_after_commit", lambda uow, delivery_id: None)
    emit_event(tenant.id)
    assert receiver.received == []
    # Other tests' deliveries may be due too: the relay is platform-wide.
    assert delivery.relay_due_deliveries()["due"] >= 1
    drain_jobs()
    assert len(receiver.received) == 1


def test_a_leased_delivery_is_not_sent_twice(client, tenant, receiver, monkeypatch):
    create_endpoint(client, tenant, receiver.url)
    monkeypatch.setattr(delivery, "send_after_commit", lambda uow, delivery_id: None)
    emit_event(tenant.id)
    with unit_of_work(tenant_id=tenant.id) as uow:
        from jifen.platform.webhooks.model import Delivery

        delivery_id = uow.session.scalar(select(Delivery.id).where(Delivery.tenant_id == tenant.id))
        uow.session.get(Delivery, delivery_id).locked_until = clock.now() + timedelta(seconds=30)
        uow.commit()
    assert delivery.deliver(delivery_id) == "skipped"
    assert receiver.received == []


def test_private_addresses_are_refused_unless_allowed(client, tenant, receiver, monkeypatch):
    endpoint = create_endpoint(client, tenant, receiver.url)
    monkeypatch.setattr(delivery.settings(), "allow_private_addresses", False)
    emit_event(tenant.id)
    assert receiver.received == []
    [logged] = deliveries(client, tenant, endpoint["id"])
    assert "private address" in logged["last_error"]


def test_endpoint_crud_and_test_event(client, tenant, receiver):
    endpoint = create_endpoint(client, tenant, receiver.url)
    listed = client.get("/v1/webhook_endpoints", headers=tenant.auth).get_json()
    assert [item["id"] for item in listed["data"]] == [endpoint["id"]]
    updated = client.post(
        f"/v1/webhook_endpoints/{endpoint['id']}",
        json={"enabled_events": ["webhook.test"], "rotate_secret": True},
        headers=tenant.auth,
    ).get_json()
    assert updated["enabled_events"] == ["webhook.test"]
    assert updated["secret"] != endpoint["secret"]
    sent = client.post(f"/v1/webhook_endpoints/{endpoint['id']}/test", headers=tenant.auth)
    drain_jobs()
    assert sent.status_code == 201 and sent.get_json()["type"] == "webhook.test"
    Webhook(updated["secret"]).verify(receiver.received[-1].body, receiver.received[-1].headers)
    events = client.get("/v1/events?type=webhook.test", headers=tenant.auth).get_json()
    assert events["data"][0]["id"] == sent.get_json()["id"]
    deleted = client.delete(f"/v1/webhook_endpoints/{endpoint['id']}", headers=tenant.auth)
    assert deleted.get_json()["status"] == "disabled"
    assert_error(
        client.post(f"/v1/webhook_endpoints/{endpoint['id']}/test", headers=tenant.auth),
        422,
        "invalid_state",
    )


def test_bad_endpoint_input_is_refused_and_writes_nothing(client, tenant):
    def count() -> int:
        with unit_of_work(tenant_id=tenant.id) as uow:
            from jifen.platform.webhooks.model import WebhookEndpoint

            return uow.session.scalar(select(func.count()).select_from(WebhookEndpoint))

    before = count()
    for body, param in [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://example.com/x", "enabled_events": ["no.such.event"]}, "enabled_events.0"),
    ]:
        error = assert_error(
            client.post("/v1/webhook_endpoints", json=body, headers=tenant.auth), 422
        )
        assert error["param"] == param
    assert count() == before


def test_another_tenants_endpoints_and_events_are_404(client, api, tenant, receiver):
    other = api.signup()
    endpoint = create_endpoint(client, tenant, receiver.url)
    event_id = emit_event(tenant.id)
    for path in (
        f"/v1/webhook_endpoints/{endpoint['id']}",
        f"/v1/webhook_endpoints/{endpoint['id']}/deliveries",
        f"/v1/events/{event_id}",
    ):
        assert_error(client.get(path, headers=other.auth), 404)
    assert_error(
        client.post(f"/v1/webhook_endpoints/{endpoint['id']}/test", headers=other.auth), 404
    )


def test_events_emitted_along_reach_the_endpoints_subscribed_to_their_type(api, client, tenant):
    from jifen.platform.webhooks.events import PendingEvent, emit_each
    from jifen.platform.webhooks.model import Delivery

    other = api.signup()
    earned = create_endpoint(client, tenant, "https://example.com/earned", ["points.earned"])
    joined = create_endpoint(client, other, "https://example.com/joined", ["member.created"])
    with unit_of_work(platform=True) as uow:
        events = emit_each(
            uow,
            tenant_ids=[tenant.id],
            type="points.earned",
            data={"points": 10},
            along=[PendingEvent(other.id, "member.created", {"member": "mem_x"})],
        )
        uow.commit()

    assert [(e.tenant_id, e.type) for e in events] == [
        (tenant.id, "points.earned"),
        (other.id, "member.created"),
    ]
    with unit_of_work(platform=True) as uow:
        sent = uow.session.execute(
            select(Delivery.endpoint_id, Delivery.event_id).where(
                Delivery.event_id.in_([event.id for event in events])
            )
        ).all()
    assert sorted(sent) == sorted([(earned["id"], events[0].id), (joined["id"], events[1].id)])
