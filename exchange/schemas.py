"""Request and response shapes of the exchange and acceptance endpoints (API.md, Exchange;
Acceptance; Consumer).

Rates and SPU amounts travel as decimal strings with at most six places (``"0.8"``,
``"16.000001"``), never as JSON numbers: ``SpuDecimal`` turns them into integer µSPU on
the way in and back into the shortest exact string on the way out. Points are JSON
integers (``platform.http.Points``).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from jifen.platform.http import ListArgs, ObjectSchema, Points, StrictSchema, Timestamp

from . import pricing

CURRENCY = {"required": True, "validate": validate.Length(min=1, max=16)}


class SpuDecimal(ma.fields.Field):
    """An SPU amount or rate: a decimal string in JSON, integer µSPU in Python."""

    def __init__(self, *, rate: bool = False, **kwargs: Any):
        self.rate = rate
        kwargs.setdefault("metadata", {"type": "string", "example": "0.8"})
        super().__init__(**kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else pricing.format_spu(value)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str):
            raise ma.ValidationError('Must be a decimal string such as "0.8".')
        try:
            return pricing.parse_rate(value) if self.rate else pricing.parse_spu(value)
        except pricing.PricingError as error:
            raise ma.ValidationError(f"Must be a decimal string that {error}.") from None


# --- settings, rates and fees ---------------------------------------------------------


def _switch() -> ma.fields.Boolean:
    """A JSON true or false; "yes", 1 and friends are refused."""
    return ma.fields.Boolean(truthy={True}, falsy={False})


class SettingsInput(StrictSchema):
    spu_rate = SpuDecimal(rate=True)
    inbound = _switch()
    outbound = _switch()
    acceptance = _switch()
    minimum = Points()
    increment = Points()
    daily_inbound_cap = Points(allow_none=True)


class SettingsSchema(ObjectSchema):
    OBJECT = "exchange_settings"
    currency = ma.fields.String()
    spu_rate = SpuDecimal()
    inbound = ma.fields.Boolean()
    outbound = ma.fields.Boolean()
    acceptance = ma.fields.Boolean()
    minimum = ma.fields.Integer()
    increment = ma.fields.Integer()
    daily_inbound_cap = ma.fields.Integer(allow_none=True)
    updated = Timestamp()


class RateSchema(ma.Schema):
    object = ma.fields.Constant("exchange_rate")
    currency = ma.fields.String()
    spu_rate = SpuDecimal()
    inbound = ma.fields.Boolean()
    outbound = ma.fields.Boolean()
    acceptance = ma.fields.Boolean()
    minimum = ma.fields.Integer()
    increment = ma.fields.Integer()

    class Meta:
        ordered = True


class RateListSchema(ma.Schema):
    object = ma.fields.Constant("list")
    data = ma.fields.List(ma.fields.Nested(RateSchema))
    has_more = ma.fields.Constant(False)

    class Meta:
        ordered = True


class FeeInput(StrictSchema):
    bps = ma.fields.Integer(strict=True, validate=validate.Range(min=0, max=pricing.BPS))
    fixed = SpuDecimal()
    cap = SpuDecimal(allow_none=True)


class FeeScheduleInput(StrictSchema):
    swap = ma.fields.Nested(FeeInput)
    acceptance = ma.fields.Nested(FeeInput)
    card_daily_limit = SpuDecimal(allow_none=True)


class FeeSchema(ma.Schema):
    bps = ma.fields.Integer()
    fixed = SpuDecimal()
    cap = SpuDecimal(allow_none=True)

    class Meta:
        ordered = True


class FeeScheduleSchema(ma.Schema):
    object = ma.fields.Constant("exchange_fee_schedule")
    id = ma.fields.String(allow_none=True)
    version = ma.fields.Integer()
    swap = ma.fields.Nested(FeeSchema, attribute="schedule.swap")
    acceptance = ma.fields.Nested(FeeSchema, attribute="schedule.acceptance")
    card_daily_limit = SpuDecimal(attribute="schedule.card_daily_limit", allow_none=True)
    created = Timestamp(allow_none=True)
    created_by = ma.fields.String(allow_none=True)

    class Meta:
        ordered = True


# --- quotes and swaps -----------------------------------------------------------------


HOLDER_CODE = {"validate": validate.Length(min=1, max=64)}


class QuoteInput(StrictSchema):
    card_number = ma.fields.String(validate=validate.Length(min=1, max=32))
    holder_code = ma.fields.String(**HOLDER_CODE)
    from_currency = ma.fields.String(**CURRENCY)
    to_currency = ma.fields.String(**CURRENCY)
    points = Points(required=True)


class MeSwapInput(StrictSchema):
    from_currency = ma.fields.String(**CURRENCY)
    to_currency = ma.fields.String(**CURRENCY)
    points = Points(required=True)


class SwapInput(StrictSchema):
    quote_id = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))


class _Amounts(ObjectSchema):
    from_currency = ma.fields.String()
    to_currency = ma.fields.String()
    from_points = ma.fields.Integer()
    to_points = ma.fields.Integer()
    rate_from = SpuDecimal()
    rate_to = SpuDecimal()
    spu_out = SpuDecimal()
    spu_in = SpuDecimal()
    fee_spu = SpuDecimal()
    rounding_spu = SpuDecimal()


class QuoteSchema(_Amounts):
    OBJECT = "quote"
    card = ma.fields.String(attribute="card_id")
    status = ma.fields.String()
    expires_at = Timestamp()


class SwapSchema(_Amounts):
    OBJECT = "swap"
    quote = ma.fields.String(attribute="quote_id")
    status = ma.fields.String()
    card = ma.fields.String(attribute="card_id")
    from_member = ma.fields.String(attribute="from_member_id")
    to_member = ma.fields.String(attribute="to_member_id")
    source_transaction = ma.fields.String(attribute="source_transaction_id")
    destination_transaction = ma.fields.String(attribute="destination_transaction_id")


# --- acceptance -----------------------------------------------------------------------


class AuthorizationInput(StrictSchema):
    holder_code = ma.fields.String(**HOLDER_CODE)
    card_number = ma.fields.String(validate=validate.Length(min=1, max=32))
    currency = ma.fields.String(**CURRENCY)
    points = Points(required=True)
    reference = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))
    expires_in = ma.fields.Integer(strict=True, validate=validate.Range(min=60, max=30 * 86400))


class AuthorizationCaptureInput(StrictSchema):
    points = Points()


class AuthorizationReverseInput(StrictSchema):
    points = Points(required=True)


class AuthorizationListArgs(ListArgs):
    pass


class AuthorizationSchema(ObjectSchema):
    OBJECT = "authorization"
    status = ma.fields.String()
    currency = ma.fields.String()
    points = ma.fields.Integer()
    captured_points = ma.fields.Integer()
    reversed_points = ma.fields.Integer()
    spu_rate = SpuDecimal()
    reference = ma.fields.String()
    expires_at = Timestamp()
    closed_at = Timestamp(allow_none=True)
