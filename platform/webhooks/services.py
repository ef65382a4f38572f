"""Use cases for webhook endpoints, events and the delivery log (all tenant-bound)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from jifen.platform import clock
from jifen.platform.db import unit_of_work
from jifen.platform.errors import InvalidState, NotFound, Unprocessable
from jifen.platform.paging import cursor_page

from . import delivery, signing
from .events import emit, validate_event_types
from .model import Delivery, DeliveryAttempt, Event, WebhookEndpoint


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unprocessable("The URL must be an absolute http(s) URL.", param="url")
    return url


def create_endpoint(tenant_id: str, *, url: str, enabled_events: list[str], description: str = ""):
    with unit_of_work(tenant_id=tenant_id) as uow:
        endpoint = WebhookEndpoint(
            tenant_id=tenant_id,
            url=_check_url(url),
            enabled_events=validate_event_types(enabled_events),
            description=description,
            secret=signing.new_endpoint_secret(),
        )
        uow.session.add(endpoint)
        uow.session.flush()
        uow.commit(endpoint)
        return endpoint


def _endpoint(session, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.tenant_id != tenant_id:
        raise NotFound(f"No such webhook endpoint: {endpoint_id}")
    return endpoint


def get_endpoint(tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    with unit_of_work(tenant_id=tenant_id) as uow:
        return _endpoint(uow.session, tenant_id, endpoint_id)


def list_endpoints(tenant_id: str, args: dict) -> dict:
    with unit_of_work(tenant_id=tenant_id) as uow:
        return cursor_page(uow.session, select(WebhookEndpoint), WebhookEndpoint, args)


def update_endpoint(tenant_id: str, endpoint_id: str, changes: dict) -> WebhookEndpoint:
    with unit_of_work(tenant_id=tenant_id) as uow:
        endpoint = _endpoint(uow.session, tenant_id, endpoint_id)
        if "url" in changes:
            endpoint.url = _check_url(changes["url"])
        if "enabled_events" in changes:
            endpoint.enabled_events = validate_event_types(changes["enabled_events"])
        if "description" in changes:
            endpoint.description = changes["description"]
        if "status" in changes:
            endpoint.status = changes["status"]
        if changes.get("rotate_secret"):
            endpoint.secret = signing.new_endpoint_secret()
        uow.commit(endpoint)
        return endpoint


def delete_endpoint(tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    """Disable the endpoint for good; its delivery log is kept."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        endpoint = _endpoint(uow.session, tenant_id, endpoint_id)
        endpoint.status = "disabled"
        uow.commit(endpoint)
        return endpoint


def send_test_event(tenant_id: str, endpoint_id: str) -> Event:
    with unit_of_work(tenant_id=tenant_id) as uow:
        endpoint = _endpoint(uow.session, tenant_id, endpoint_id)
        if endpoint.status != "enabled":
            raise InvalidState("The endpoint is disabled.")
        event = emit(uow, tenant_id=tenant_id, type="webhook.test", data={"endpoint": endpoint.id})
        uow.commit(event)
        return event


def list_events(tenant_id: str, args: dict) -> dict:
    with unit_of_work(tenant_id=tenant_id) as uow:
        statement = select(Event)
        if args.get("type"):
            statement = statement.where(Event.type == args["type"])
        return cursor_page(uow.session, statement, Event, args)


def get_event(tenant_id: str, event_id: str) -> Event:
    with unit_of_work(tenant_id=tenant_id) as uow:
        event = uow.session.get(Event, event_id)
        if event is None or event.tenant_id != tenant_id:
            raise NotFound(f"No such event: {event_id}")
        return event


@dataclass
class DeliveryView:
    delivery: Delivery
    attempts: list[DeliveryAttempt]

    def __getattr__(self, name: str):
        return getattr(self.delivery, name)


def list_deliveries(tenant_id: str, endpoint_id: str, args: dict) -> dict:
    with unit_of_work(tenant_id=tenant_id) as uow:
        _endpoint(uow.session, tenant_id, endpoint_id)
        statement = select(Delivery).where(Delivery.endpoint_id == endpoint_id)
        if args.get("status"):
            statement = statement.where(Delivery.status == args["status"])
        page = cursor_page(uow.session, statement, Delivery, args)
        page["data"] = [_with_attempts(uow.session, item) for item in page["data"]]
        return page


def _with_attempts(session, item: Delivery) -> DeliveryView:
    attempts = session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == item.id)
        .order_by(DeliveryAttempt.number)
    ).all()
    return DeliveryView(item, list(attempts))


def replay_delivery(tenant_id: str, delivery_id: str) -> DeliveryView:
    """Send a delivery again now, whatever its status; the event keeps its id."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        item = uow.session.get(Delivery, delivery_id)
        if item is None or item.tenant_id != tenant_id:
            raise NotFound(f"No such webhook delivery: {delivery_id}")
        endpoint = _endpoint(uow.session, tenant_id, item.endpoint_id)
        if endpoint.status != "enabled":
            raise InvalidState("The endpoint is disabled.")
        item.status, item.next_attempt_at, item.locked_until = "pending", clock.now(), None
        uow.after_commit(lambda: delivery.deliver(delivery_id))
        uow.commit()
    return get_delivery(tenant_id, delivery_id)


def get_delivery(tenant_id: str, delivery_id: str) -> DeliveryView:
    with unit_of_work(tenant_id=tenant_id) as uow:
        item = uow.session.get(Delivery, delivery_id)
        if item is None or item.tenant_id != tenant_id:
            raise NotFound(f"No such webhook delivery: {delivery_id}")
        return _with_attempts(uow.session, item)
