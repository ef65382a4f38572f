"""Request and response shapes of ``/v1/alliance``."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from jifen.platform.clearing import format_spu
from jifen.platform.http import ObjectSchema, Points, StrictSchema, Timestamp
from jifen.tenants.members.schemas import EarnInput

CODE = validate.Length(min=1, max=16)


class InviteInput(StrictSchema):
    tenant_slug = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))


class AllianceMemberSchema(ObjectSchema):
    """A membership; ``issued_*`` and ``redeemed_*`` come from its clearing records and
    ``net_spu`` is what the merchant owes the alliance (negative: is owed)."""

    OBJECT = "alliance_member"
    status = ma.fields.String()
    accepted_at = Timestamp(allow_none=True)
    alliance = ma.fields.String(attribute="alliance_id")
    alliance_slug = ma.fields.String()
    currency = ma.fields.String()
    merchant = ma.fields.String(attribute="merchant_id")
    merchant_slug = ma.fields.String()
    merchant_name = ma.fields.String()
    issued_points = ma.fields.Integer()
    issued_spu = ma.fields.Function(lambda v: format_spu(v.issued_spu))
    redeemed_points = ma.fields.Integer()
    redeemed_spu = ma.fields.Function(lambda v: format_spu(v.redeemed_spu))
    net_spu = ma.fields.Function(lambda v: format_spu(v.net_spu))


class AllianceMemberListSchema(ma.Schema):
    object = ma.fields.Constant("list")
    data = ma.fields.List(ma.fields.Nested(AllianceMemberSchema))
    has_more = ma.fields.Constant(False)


class AllianceEarnInput(EarnInput):
    """``/v1/earn``'s order, for alliance points: ``alliance`` (the alliance currency
    code) and ``card_number`` in place of ``member_id``."""

    class Meta(StrictSchema.Meta):
        exclude = ("member_id",)

    alliance = ma.fields.String(required=True, validate=CODE)
    card_number = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    order_id = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))


class AllianceRedeemInput(StrictSchema):
    alliance = ma.fields.String(required=True, validate=CODE)
    card_number = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    holder_code = ma.fields.String(validate=validate.Length(min=1, max=64))
    points = Points(required=True)
    reference = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))


class AllianceTransactionSchema(ObjectSchema):
    OBJECT = "alliance_transaction"
    kind = ma.fields.String()
    alliance = ma.fields.String(attribute="alliance_id")
    currency = ma.fields.String()
    card_number = ma.fields.String()
    member = ma.fields.String(attribute="member_id")
    points = ma.fields.Integer()
    balance_after = ma.fields.Integer(allow_none=True)
    reference = ma.fields.String()
    clearing_record = ma.fields.String(attribute="clearing_record_id")
    amount_spu = ma.fields.Function(lambda v: format_spu(v.amount_spu))
    metadata = ma.fields.Dict()
