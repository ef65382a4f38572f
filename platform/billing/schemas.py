"""Request and response shapes for billing."""

import marshmallow as ma
from marshmallow import validate

from jifen.platform.http import StrictSchema, Timestamp

from .plans import PLANS


class PlanChangeInput(StrictSchema):
    plan = ma.fields.String(required=True, validate=validate.OneOf(list(PLANS)))


class BillingSchema(ma.Schema):
    object = ma.fields.Constant("billing")
    plan = ma.fields.Function(lambda billing: billing.plan.code)
    status = ma.fields.String(metadata={"enum": ["active", "past_due", "read_only", "cancelled"]})
    grace_until = Timestamp(allow_none=True)
    mode = ma.fields.String(metadata={"enum": ["stripe", "manual"]})
    limits = ma.fields.Function(lambda billing: billing.plan.limits())
    usage = ma.fields.Function(
        lambda billing: {
            "month": billing.month,
            "active_members": billing.active_members,
            "members": billing.members,
        }
    )

    class Meta:
        ordered = True


class StripeReceiptSchema(ma.Schema):
    object = ma.fields.Constant("stripe_webhook_receipt")
    received = ma.fields.Boolean()
    event = ma.fields.String()
    outcome = ma.fields.String(
        metadata={
            "description": "applied, unchanged, duplicate, ignored, unknown_customer, "
            "other_subscription or plan_downgraded"
        }
    )

    class Meta:
        ordered = True
