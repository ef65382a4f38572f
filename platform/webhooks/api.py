"""Webhook endpoints (CRUD), their delivery log and replay, and the event list.

Managing endpoints needs ``program:write``; reading events needs ``points:read``.
"""

import marshmallow as ma
from marshmallow import validate

from jifen.platform.auth.callers import current_caller, requires, tenant
from jifen.platform.http import (
    JifenBlueprint,
    ListArgs,
    ObjectSchema,
    StrictSchema,
    Timestamp,
    list_of,
)

from . import services
from .events import CATALOGUE

blp = JifenBlueprint("webhooks", __name__, url_prefix="/v1", description="Webhooks")
EVENT_TYPES = validate.OneOf(["*", *CATALOGUE])


class EndpointInput(StrictSchema):
    url = ma.fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    enabled_events = ma.fields.List(
        ma.fields.String(validate=EVENT_TYPES), load_default=lambda: ["*"]
    )
    description = ma.fields.String(load_default="", validate=validate.Length(max=500))


class EndpointUpdate(StrictSchema):
    url = ma.fields.Url(schemes={"http", "https"}, require_tld=False)
    enabled_events = ma.fields.List(ma.fields.String(validate=EVENT_TYPES))
    description = ma.fields.String(validate=validate.Length(max=500))
    status = ma.fields.String(validate=validate.OneOf(["enabled", "disabled"]))
    rotate_secret = ma.fields.Boolean()


class EndpointSchema(ObjectSchema):
    OBJECT = "webhook_endpoint"
    url = ma.fields.String()
    description = ma.fields.String()
    enabled_events = ma.fields.List(ma.fields.String())
    status = ma.fields.String()
    secret = ma.fields.String(metadata={"description": "Signs deliveries (Standard Webhooks)."})


class EventSchema(ObjectSchema):
    OBJECT = "event"
    type = ma.fields.String()
    data = ma.fields.Dict()


class AttemptSchema(ma.Schema):
    number = ma.fields.Integer()
    status_code = ma.fields.Integer(allow_none=True)
    error = ma.fields.String(allow_none=True)
    duration_ms = ma.fields.Integer()
    succeeded = ma.fields.Boolean()
    created = Timestamp()


class DeliverySchema(ObjectSchema):
    OBJECT = "webhook_delivery"
    event = ma.fields.String(attribute="event_id")
    endpoint = ma.fields.String(attribute="endpoint_id")
    status = ma.fields.String()
    attempts = ma.fields.Method("_attempt_count")
    next_attempt_at = Timestamp(allow_none=True)
    delivered_at = Timestamp(allow_none=True)
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    log = ma.fields.List(ma.fields.Nested(AttemptSchema), attribute="attempts")

    def _attempt_count(self, view) -> int:
        return view.delivery.attempts


class EventListArgs(ListArgs):
    type = ma.fields.String(validate=EVENT_TYPES)


class DeliveryListArgs(ListArgs):
    status = ma.fields.String(validate=validate.OneOf(["pending", "succeeded", "failed"]))


def _tenant() -> str:
    return current_caller().tenant_id


@blp.post("/webhook_endpoints")
@blp.arguments(EndpointInput)
@blp.response(201, EndpointSchema)
@requires(tenant("program:write"))
def create_endpoint(body: dict):
    """Add an endpoint; events are sent to it signed with the returned ``secret``."""
    return services.create_endpoint(_tenant(), **body)


@blp.get("/webhook_endpoints")
@blp.arguments(ListArgs, location="query")
@blp.response(200, list_of(EndpointSchema))
@requires(tenant("program:write"))
def list_endpoints(args: dict):
    return services.list_endpoints(_tenant(), args)


@blp.get("/webhook_endpoints/<endpoint_id>")
@blp.response(200, EndpointSchema)
@requires(tenant("program:write"))
def get_endpoint(endpoint_id: str):
    return services.get_endpoint(_tenant(), endpoint_id)


@blp.post("/webhook_endpoints/<endpoint_id>")
@blp.arguments(EndpointUpdate)
@blp.response(200, EndpointSchema)
@requires(tenant("program:write"))
def update_endpoint(body: dict, endpoint_id: str):
    """Change the URL, events, description or status; ``rotate_secret`` issues a new secret."""
    return services.update_endpoint(_tenant(), endpoint_id, body)


@blp.delete("/webhook_endpoints/<endpoint_id>")
@blp.response(200, EndpointSchema)
@requires(tenant("program:write"))
def delete_endpoint(endpoint_id: str):
    """Disable the endpoint for good; its delivery log stays readable."""
    return services.delete_endpoint(_tenant(), endpoint_id)


@blp.post("/webhook_endpoints/<endpoint_id>/test")
@blp.response(201, EventSchema)
@requires(tenant("program:write"))
def send_test_event(endpoint_id: str):
    """Emit a ``webhook.test`` event to check an endpoint."""
    return services.send_test_event(_tenant(), endpoint_id)


@blp.get("/webhook_endpoints/<endpoint_id>/deliveries")
@blp.arguments(DeliveryListArgs, location="query")
@blp.response(200, list_of(DeliverySchema))
@requires(tenant("program:write"))
def list_deliveries(args: dict, endpoint_id: str):
    """The delivery log of an endpoint, each with its attempts."""
    return services.list_deliveries(_tenant(), endpoint_id, args)


@blp.post("/webhook_deliveries/<delivery_id>/replay")
@blp.response(200, DeliverySchema)
@requires(tenant("program:write"))
def replay_delivery(delivery_id: str):
    """Send a delivery again now (same event id), and return it with its log."""
    return services.replay_delivery(_tenant(), delivery_id)


@blp.get("/events")
@blp.arguments(EventListArgs, location="query")
@blp.response(200, list_of(EventSchema))
@requires(tenant("points:read"))
def list_events(args: dict):
    return services.list_events(_tenant(), args)


@blp.get("/events/<event_id>")
@blp.response(200, EventSchema)
@requires(tenant("points:read"))
def get_event(event_id: str):
    return services.get_event(_tenant(), event_id)
