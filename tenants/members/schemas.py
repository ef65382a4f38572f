"""Request and response shapes for members, points and the consumer wallet (API.md,
Members and points; Consumer).

Points are ``platform.http.Points``: JSON integers 1..2**53-1; fractions, strings and
booleans are refused with a 422 naming the field. Money is an integer of minor units
plus an ISO 4217 code.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from jifen.platform.http import ListArgs, ObjectSchema, Points, StrictSchema, Timestamp

from .model import AdjustmentStatus

MAX_EXACT = 2**53 - 1
MEMBER_ID = {"required": True, "validate": validate.Length(min=1, max=32)}
REFERENCE = validate.Length(min=1, max=128)
REASON = validate.Length(min=1, max=500)


def _minor_units(**kwargs) -> ma.fields.Integer:
    return ma.fields.Integer(
        strict=True, validate=validate.Range(min=kwargs.pop("min", 0), max=MAX_EXACT), **kwargs
    )


# --- members -------------------------------------------------------------------------


# Memberships that a swap or an alliance earn opens are named ``card:<number>``; a
# merchant's own ids may not take that form, so the two never collide.
NOT_A_CARD_NAME = validate.Regexp(r"^(?!card:)", error="external_id may not start with 'card:'.")


class MemberInput(StrictSchema):
    external_id = ma.fields.String(required=True, validate=[REFERENCE, NOT_A_CARD_NAME])
    card_number = ma.fields.String(validate=validate.Length(min=1, max=32))
    holder_code = ma.fields.String(validate=validate.Length(min=1, max=64))
    email = ma.fields.Email(validate=validate.Length(max=254))
    phone = ma.fields.String(validate=validate.Regexp(r"^\+?[0-9][0-9 -]{2,30}$"))
    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    birthday = ma.fields.Date()


class MemberListArgs(ListArgs):
    external_id = ma.fields.String()
    card_number = ma.fields.String()


class MemberSchema(ObjectSchema):
    OBJECT = "member"
    external_id = ma.fields.String()
    card_number = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    name = ma.fields.String(allow_none=True)
    birthday = ma.fields.Date(allow_none=True)
    tier = ma.fields.String(allow_none=True)
    status = ma.fields.String()


class MemberTokenInput(StrictSchema):
    expires_in = ma.fields.Integer(
        strict=True,
        validate=validate.Range(min=60, max=86400),
        metadata={"description": "Seconds, 60..86400; default 3600."},
    )


class MemberTokenSchema(ObjectSchema):
    OBJECT = "member_token"
    member = ma.fields.String(attribute="member_id")
    token = ma.fields.String()
    expires_at = Timestamp()


# --- points --------------------------------------------------------------------------


class EarnInput(StrictSchema):
    member_id = ma.fields.String(**MEMBER_ID)
    order_id = ma.fields.String(required=True, validate=REFERENCE)
    amount = _minor_units(required=True, min=1)
    currency = ma.fields.String(
        required=True, validate=validate.Regexp(r"^[A-Z]{3}$", error="Use an ISO 4217 code.")
    )
    shipping = _minor_units(load_default=0)
    category = ma.fields.String(validate=validate.Length(min=1, max=64))
    occurred_at = Timestamp()

    @ma.validates_schema
    def _shipping_within_amount(self, data: dict, **_kwargs) -> None:
        if data.get("shipping", 0) > data.get("amount", 0) > 0:
            raise ma.ValidationError("shipping cannot exceed amount.", "shipping")


class EarnBatchInput(StrictSchema):
    earns = ma.fields.List(
        ma.fields.Nested(EarnInput), required=True, validate=validate.Length(min=1, max=100)
    )


class AwardInput(StrictSchema):
    member_id = ma.fields.String(**MEMBER_ID)
    event = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "signup, checkin, review, referral, profile_completion, "
            "or manual (with points and reason)."
        },
    )
    points = Points()
    reason = ma.fields.String(validate=REASON)
    referee_id = ma.fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "For a referral: the member who was referred."},
    )

    @ma.validates_schema
    def _manual_needs_points_and_reason(self, data: dict, **_kwargs) -> None:
        if data.get("event") != "manual":
            return
        for field in ("points", "reason"):
            if field not in data:
                raise ma.ValidationError("Required for a manual award.", field)


CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="Use an ISO 4217 code.")


class RedemptionInput(StrictSchema):
    member_id = ma.fields.String(**MEMBER_ID)
    points = Points(required=True)
    order_id = ma.fields.String(validate=REFERENCE)
    reason = ma.fields.String(validate=REASON)
    order_amount = _minor_units(
        min=1,
        metadata={
            "description": "Pay towards an order of this amount: the program's "
            "min_points, steps and max_order_share_pct apply."
        },
    )
    currency = ma.fields.String(validate=CURRENCY)


class TierChangeSchema(ObjectSchema):
    OBJECT = "tier_change"
    member = ma.fields.String(attribute="member_id")
    from_tier = ma.fields.String(allow_none=True)
    to_tier = ma.fields.String(allow_none=True)
    reason = ma.fields.String(metadata={"description": "upgrade or period_end"})
    measure = ma.fields.Integer()
    program_version = ma.fields.Integer()


class CheckoutQuoteInput(StrictSchema):
    member_id = ma.fields.String(**MEMBER_ID)
    order_amount = _minor_units(required=True)
    currency = ma.fields.String(required=True, validate=CURRENCY)


class CheckoutQuoteSchema(ma.Schema):
    object = ma.fields.Constant("checkout_quote")
    member = ma.fields.String(attribute="member_id")
    order_amount = ma.fields.Integer()
    currency = ma.fields.String()
    points = ma.fields.Integer(metadata={"description": "The most points usable."})
    money_value = ma.fields.Integer(metadata={"description": "What they are worth."})
    cash_due = ma.fields.Integer(metadata={"description": "What the member still pays."})
    available = ma.fields.Integer()
    min_points = ma.fields.Integer()
    step_points = ma.fields.Integer()
    step_value = ma.fields.Integer()
    max_order_share_pct = ma.fields.Integer()
    program_version = ma.fields.Integer()

    class Meta:
        ordered = True


class RefundInput(StrictSchema):
    order_id = ma.fields.String(required=True, validate=REFERENCE)
    amount = _minor_units(
        min=1, metadata={"description": "Money refunded, minor units; omitted: the rest."}
    )
    reason = ma.fields.String(validate=REASON)


class RefundSchema(ObjectSchema):
    OBJECT = "refund"
    order_id = ma.fields.String()
    member = ma.fields.String(attribute="member_id")
    amount = ma.fields.Integer(allow_none=True)
    order_amount = ma.fields.Integer(allow_none=True)
    clawed_back = ma.fields.Integer()
    restored = ma.fields.Integer()
    unrecovered = ma.fields.Integer(
        metadata={"description": "Points the claw-back could not take: the balance was short."}
    )
    currency = ma.fields.String()
    transactions = ma.fields.List(ma.fields.String())
    reason = ma.fields.String(allow_none=True)


class HoldInput(StrictSchema):
    member_id = ma.fields.String(**MEMBER_ID)
    points = Points(required=True)
    expires_in = ma.fields.Integer(
        strict=True,
        validate=validate.Range(min=60, max=30 * 86400),
        metadata={"description": "Seconds, 60..2592000 (30 days); default 1 day."},
    )


class CaptureInput(StrictSchema):
    points = Points()


class TransferInput(StrictSchema):
    from_member_id = ma.fields.String(**MEMBER_ID)
    to_member_id = ma.fields.String(**MEMBER_ID)
    points = Points(required=True)


class TransactionSchema(ObjectSchema):
    """A ledger transaction as one member sees it: ``points`` signed from that member's
    side (a redemption is negative), ``balance_after`` their balance once it posted."""

    OBJECT = "transaction"
    kind = ma.fields.String()
    member = ma.fields.String(attribute="member_id", allow_none=True)
    points = ma.fields.Integer()
    balance_after = ma.fields.Integer(allow_none=True)
    currency = ma.fields.String()
    reference = ma.fields.String(allow_none=True)
    metadata = ma.fields.Dict()


ADJUSTMENT_STATUSES = tuple(status.value for status in AdjustmentStatus)


class AdjustmentSchema(ObjectSchema):
    """A manual adjustment (``tenants.members.adjustments``); also what ``POST
    /v1/awards`` answers (202) for a manual award that waits for a second person."""

    OBJECT = "adjustment"
    member = ma.fields.String(attribute="member_id")
    points = ma.fields.Integer()
    reason = ma.fields.String()
    status = ma.fields.String(metadata={"description": " | ".join(ADJUSTMENT_STATUSES)})
    approval_threshold = ma.fields.Integer(
        metadata={"description": "The program's threshold when it was asked for."}
    )
    requested_by = ma.fields.String()
    approved_by = ma.fields.String(allow_none=True)
    rejected_by = ma.fields.String(allow_none=True)
    rejection_reason = ma.fields.String(allow_none=True)
    decided_at = Timestamp(allow_none=True)
    transaction = ma.fields.String(attribute="transaction_id", allow_none=True)


class TransferSchema(TransactionSchema):
    """A transfer as its two members see it: ``points`` is the positive amount moved."""

    from_member = ma.fields.String(attribute="from_member_id")
    to_member = ma.fields.String(attribute="to_member_id")


class EarnBatchSchema(ma.Schema):
    object = ma.fields.Constant("earn_batch")
    transactions = ma.fields.List(ma.fields.Nested(TransactionSchema))

    class Meta:
        ordered = True


class ExpiringSchema(ma.Schema):
    points = ma.fields.Integer()
    expires_at = Timestamp()


class BalanceSchema(ma.Schema):
    object = ma.fields.Constant("balance")
    member = ma.fields.String(attribute="member_id")
    currency = ma.fields.String()
    points = ma.fields.Integer()
    available = ma.fields.Integer()
    held = ma.fields.Integer()
    expiring = ma.fields.List(ma.fields.Nested(ExpiringSchema))

    class Meta:
        ordered = True


class HoldSchema(ObjectSchema):
    OBJECT = "hold"
    member = ma.fields.String(attribute="member_id")
    points = ma.fields.Integer()
    captured_points = ma.fields.Integer(allow_none=True)
    currency = ma.fields.String()
    status = ma.fields.String()
    expires_at = Timestamp()
    transaction = ma.fields.String(attribute="transaction_id", allow_none=True)


# --- the consumer's wallet -----------------------------------------------------------


class WalletTenantSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()


class WalletCurrencySchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()


class WalletEntrySchema(ma.Schema):
    member = ma.fields.String(attribute="member.id")
    tenant = ma.fields.Nested(WalletTenantSchema)
    currency = ma.fields.Nested(WalletCurrencySchema)
    status = ma.fields.String(attribute="member.status")
    points = ma.fields.Integer(attribute="balance.points")
    available = ma.fields.Integer(attribute="balance.available")
    held = ma.fields.Integer(attribute="balance.held")
    spu_value = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The SPU value of the points (decimal string); null when "
            "the currency is not in the exchange."
        },
    )

    class Meta:
        ordered = True


class WalletSchema(ma.Schema):
    object = ma.fields.Constant("wallet")
    card_number = ma.fields.String()
    memberships = ma.fields.List(ma.fields.Nested(WalletEntrySchema))

    class Meta:
        ordered = True
