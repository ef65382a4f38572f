"""Request and response shapes of the catalog: rewards, code uploads, redemption orders."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from jifen.platform.http import ListArgs, ObjectSchema, Points, StrictSchema, Timestamp

MAX_EXACT = 2**53 - 1
CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="Use an ISO 4217 code.")


def _count(**kwargs) -> ma.fields.Integer:
    return ma.fields.Integer(
        strict=True, validate=validate.Range(min=kwargs.pop("min", 0), max=MAX_EXACT), **kwargs
    )


class CouponSchema(StrictSchema):
    amount_off = _count(required=True, min=1)
    currency = ma.fields.String(required=True, validate=CURRENCY)
    valid_days = ma.fields.Integer(strict=True, validate=validate.Range(min=1, max=3660))


class RewardInput(StrictSchema):
    kind = ma.fields.String(
        required=True, validate=validate.OneOf(["physical", "virtual", "coupon"])
    )
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = ma.fields.String(validate=validate.Length(max=2000))
    price_points = Points(required=True)
    cash_amount = _count()
    currency = ma.fields.String(validate=CURRENCY)
    stock = _count(allow_none=True)
    coupon = ma.fields.Nested(CouponSchema, allow_none=True)


class RewardUpdateInput(StrictSchema):
    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    description = ma.fields.String(validate=validate.Length(max=2000), allow_none=True)
    price_points = Points()
    cash_amount = _count()
    currency = ma.fields.String(validate=CURRENCY)
    stock = _count(allow_none=True)
    coupon = ma.fields.Nested(CouponSchema, allow_none=True)


class RewardListArgs(ListArgs):
    status = ma.fields.String(validate=validate.OneOf(["active", "archived"]))
    kind = ma.fields.String(validate=validate.OneOf(["physical", "virtual", "coupon"]))


class RewardSchema(ObjectSchema):
    OBJECT = "reward"
    kind = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    price_points = ma.fields.Integer()
    cash_amount = ma.fields.Integer()
    currency = ma.fields.String(allow_none=True)
    stock = ma.fields.Integer(allow_none=True)
    coupon = ma.fields.Dict(allow_none=True)
    status = ma.fields.String()


class CodeUploadInput(StrictSchema):
    codes = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=200)),
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "Required: 1 to 1000 codes."},
    )


class CodeUploadSchema(ma.Schema):
    object = ma.fields.Constant("code_upload")
    reward = ma.fields.String()
    added = ma.fields.Integer()
    stock = ma.fields.Integer()

    class Meta:
        ordered = True


class AddressSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = ma.fields.String(validate=validate.Length(min=1, max=32))
    line1 = ma.fields.String(required=True, validate=validate.Length(min=1, max=300))
    line2 = ma.fields.String(validate=validate.Length(max=300))
    city = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    state = ma.fields.String(validate=validate.Length(max=100))
    postal_code = ma.fields.String(validate=validate.Length(max=20))
    country = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2}$"))


class RewardRedeemInput(StrictSchema):
    member_id = ma.fields.String(
        validate=validate.Length(min=1, max=32), metadata={"description": "Required."}
    )
    quantity = ma.fields.Integer(
        strict=True, load_default=1, validate=validate.Range(min=1, max=100)
    )
    shipping_address = ma.fields.Nested(AddressSchema)


class RedemptionOrderListArgs(ListArgs):
    member_id = ma.fields.String()
    status = ma.fields.String()


class RedemptionOrderSchema(ObjectSchema):
    OBJECT = "redemption_order"
    reward = ma.fields.String(attribute="reward_id")
    member = ma.fields.String(attribute="member_id")
    kind = ma.fields.String()
    quantity = ma.fields.Integer()
    points = ma.fields.Integer()
    cash_amount = ma.fields.Integer()
    currency = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    codes = ma.fields.List(ma.fields.String())
    shipping_address = ma.fields.Dict(allow_none=True)
    tracking_number = ma.fields.String(allow_none=True)
    transaction = ma.fields.String(attribute="transaction_id")
    cancel_transaction = ma.fields.String(attribute="cancel_transaction_id", allow_none=True)
    updated = Timestamp(allow_none=True)


class FulfilmentInput(StrictSchema):
    status = ma.fields.String(
        validate=validate.OneOf(["shipped", "delivered"]), metadata={"description": "Required."}
    )
    tracking_number = ma.fields.String(validate=validate.Length(min=1, max=100))
