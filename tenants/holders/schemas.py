"""Request and response shapes of the card holder endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from jifen.platform.http import StrictSchema, Timestamp

from .services import CHANNELS, LOCALES


class CodeRequestInput(StrictSchema):
    card_number = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    channel = ma.fields.String(load_default=None, validate=validate.OneOf(CHANNELS))
    locale = ma.fields.String(load_default="zh-CN", validate=validate.OneOf(LOCALES))


class CodeRequestSchema(ma.Schema):
    object = ma.fields.Constant("holder_code_request")


class SessionInput(StrictSchema):
    card_number = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))


class SessionSchema(ma.Schema):
    object = ma.fields.Constant("holder_session")
    id = ma.fields.String()
    token = ma.fields.String()
    expires_at = Timestamp()
    created = Timestamp()

    class Meta:
        ordered = True


class CounterCodeSchema(ma.Schema):
    object = ma.fields.Constant("holder_code")
    code = ma.fields.String()
    expires_at = Timestamp()
    created = Timestamp()

    class Meta:
        ordered = True
