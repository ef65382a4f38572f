"""db.insert_rows: new rows written at once with plain INSERTs (the hot paths' writer)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from jifen.platform import clock
from jifen.platform.db import insert_rows, unit_of_work
from jifen.platform.ids import new_id
from jifen.platform.webhooks.events import emit_each
from jifen.platform.webhooks.model import Delivery, Event, WebhookEndpoint


def _endpoint(tenant_id: str, events: list[str]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=new_id("whe"),
        tenant_id=tenant_id,
        url="https://hooks.example/in",
        description="",
        enabled_events=events,
        secret="whsec_test",
        status="enabled",
        created=clock.now(),
    )


def _event(tenant_id: str, data: dict) -> Event:
    return Event(
        id=new_id("evt"), tenant_id=tenant_id, type="webhook.test", data=data, created=clock.now()
    )


def test_rows_that_refer_to_each_other_are_written_together_in_order(app, api):
    tenant = api.signup()
    endpoint = _endpoint(tenant.id, ["*"])
    event = _event(tenant.id, {"n": 1})
    delivery = Delivery(
        id=new_id("whd"),
        tenant_id=tenant.id,
        event_id=event.id,
        endpoint_id=endpoint.id,
        status="pending",
        attempts=0,
        created=clock.now(),
    )
    with unit_of_work(tenant_id=tenant.id) as uow:
        insert_rows(uow.session, endpoint, event, delivery)  # the delivery names both
        assert endpoint not in uow.session  # written, but not tracked by the session
        uow.commit()
    with unit_of_work(tenant_id=tenant.id) as uow:
        stored = uow.session.get(Delivery, delivery.id)
        assert (stored.event_id, stored.endpoint_id, stored.status) == (
            event.id,
            endpoint.id,
            "pending",
        )
        assert uow.session.get(Event, event.id).data == {"n": 1}


def test_a_failing_row_writes_none_of_them(app, api):
    tenant = api.signup()
    event = _event(tenant.id, {})
    orphan = Delivery(
        id=new_id("whd"),
        tenant_id=tenant.id,
        event_id=event.id,
        endpoint_id="whe_doesnotexist",
        status="pending",
        attempts=0,
        created=clock.now(),
    )
    with unit_of_work(tenant_id=tenant.id) as uow, pytest.raises(IntegrityError):
        insert_rows(uow.session, event, orphan)
        uow.commit()
    with unit_of_work(tenant_id=tenant.id) as uow:
        assert uow.session.get(Event, event.id) is None


def test_emit_each_queues_an_event_per_tenant_for_its_own_subscribed_endpoints(app, api):
    first, second = api.signup(), api.signup()
    with unit_of_work(platform=True) as uow:
        uow.session.add_all(
            [
                _endpoint(first.id, ["swap.completed"]),
                _endpoint(first.id, ["points.earned"]),  # not subscribed to swaps
                _endpoint(second.id, ["*"]),
            ]
        )
        uow.commit()
    with unit_of_work(platform=True) as uow:
        events = emit_each(
            uow, tenant_ids=[first.id, second.id], type="swap.completed", data={"id": "swp_1"}
        )
        uow.commit()
    with unit_of_work(platform=True) as uow:
        queued = uow.session.execute(
            select(Delivery.tenant_id, Delivery.event_id).where(
                Delivery.event_id.in_([e.id for e in events])
            )
        ).all()
    assert sorted(queued) == sorted([(first.id, events[0].id), (second.id, events[1].id)])
    assert [e.tenant_id for e in events] == [first.id, second.id]
