"""Schemas of the widgets' endpoints; the consumer reads reuse the members' and the
catalog's output schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from jifen.platform.http import StrictSchema, Timestamp


class WidgetSettingsInput(StrictSchema):
    allowed_origins = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=300)),
        required=True,
        metadata={"description": "Origins (https://host[:port]) that may use the key."},
    )


class WidgetSettingsSchema(ma.Schema):
    object = ma.fields.Constant("widget_settings")
    publishable_key = ma.fields.String()
    allowed_origins = ma.fields.List(ma.fields.String())
    updated = Timestamp(allow_none=True)

    class Meta:
        ordered = True


class MyRedeemInput(StrictSchema):
    quantity = ma.fields.Integer(strict=True, load_default=1, validate=validate.Range(1, 100))
