"""Schemas of the widgets' endpoints; the consumer reads reuse the members' and the
catalog's output schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from jifen.platform.http import ListArgs, StrictSchema, Timestamp
from jifen.tenants.catalog.schemas import RewardListArgs


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


CURRENCY = {
    "load_default": None,
    "validate": validate.Length(min=1, max=16),
    "metadata": {"description": "The program (a holder session must name it)."},
}


class MyRedeemInput(StrictSchema):
    quantity = ma.fields.Integer(strict=True, load_default=1, validate=validate.Range(1, 100))
    currency = ma.fields.String(**CURRENCY)


class MeArgs(StrictSchema):
    currency = ma.fields.String(**CURRENCY)


class MeListArgs(ListArgs):
    currency = ma.fields.String(**CURRENCY)


class MeRewardListArgs(RewardListArgs):
    currency = ma.fields.String(**CURRENCY)
