"""Request and response shapes of the settlement endpoints (API.md, Settlement).

Money is integer minor units with its currency; SPU amounts (``*_spu``) are decimal
strings of SPU, exact to six places; ``spu_value`` (minor units per SPU) is a decimal
string too.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from jifen.exchange.pricing import format_spu
from jifen.platform.http import ListArgs, ObjectSchema, StrictSchema, Timestamp


class Spu(ma.fields.Field):
    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format_spu(value)


def spu_value_text(micro: int) -> str:
    return format_spu(micro)  # the same six-place decimal layout as µSPU


class SettlementSettingsInput(StrictSchema):
    currency = ma.fields.String(load_default="CNY", validate=validate.Length(equal=3))
    spu_value = ma.fields.String(
        required=True, metadata={"example": "1", "description": "minor units per SPU"}
    )
    collection = ma.fields.String(
        load_default=None,
        validate=validate.OneOf(["payment_intent", "invoice"]),
        metadata={"description": "how Stripe collects from net payers; omitted: unchanged"},
    )


class SettlementSettingsSchema(ma.Schema):
    object = ma.fields.Constant("settlement_settings")
    currency = ma.fields.String()
    spu_value = ma.fields.Function(lambda s: spu_value_text(s.spu_value_micro))
    collection = ma.fields.String()
    version = ma.fields.Integer()

    class Meta:
        ordered = True


class SettlementBatchInput(StrictSchema):
    cutoff = Timestamp(load_default=None, metadata={"example": "2026-11-24T16:00:00Z"})


class SettlementPositionSchema(ma.Schema):
    tenant = ma.fields.String(attribute="tenant_id")
    receivable = ma.fields.Integer()
    payable = ma.fields.Integer()
    fees = ma.fields.Integer()
    net = ma.fields.Integer()
    currency = ma.fields.String()
    receivable_spu = Spu()
    payable_spu = Spu()
    fees_spu = Spu()
    net_spu = Spu()
    record_count = ma.fields.Integer()

    class Meta:
        ordered = True


class SettlementBatchSchema(ObjectSchema):
    OBJECT = "settlement_batch"
    status = ma.fields.String()
    sequence = ma.fields.Integer()
    window_start = Timestamp()
    cutoff = Timestamp()
    currency = ma.fields.String()
    spu_value = ma.fields.String()
    positions = ma.fields.List(ma.fields.Nested(SettlementPositionSchema))
    platform_fees = ma.fields.Integer()
    platform_fees_spu = Spu()
    rounding = ma.fields.Integer()
    record_count = ma.fields.Integer()
    closed_by = ma.fields.String()
    approved_by = ma.fields.String(allow_none=True)
    approved_at = Timestamp(allow_none=True)
    paid_at = Timestamp(allow_none=True)
    reconciled_at = Timestamp(allow_none=True)
    reconciliation = ma.fields.Dict(allow_none=True)
    stripe_notices = ma.fields.List(ma.fields.Dict(), allow_none=True)

    @ma.pre_dump
    def flatten(self, view: Any, **kwargs: Any) -> dict:
        batch = view.batch
        fields = {name: getattr(batch, name, None) for name in self.fields if name != "object"}
        fields.update(positions=view.positions, spu_value=spu_value_text(batch.spu_value_micro))
        return fields

    def _object_name(self, _obj: Any) -> str:
        return self.OBJECT


class SettlementBatchListArgs(ListArgs):
    pass


class SettlementStatementListArgs(ListArgs):
    batch = ma.fields.String(load_default=None)


class SettlementStatementSchema(ObjectSchema):
    """One tenant's line in one batch."""

    OBJECT = "settlement_statement"
    batch = ma.fields.String()
    status = ma.fields.String()
    window_start = Timestamp()
    cutoff = Timestamp()
    receivable = ma.fields.Integer()
    payable = ma.fields.Integer()
    fees = ma.fields.Integer()
    net = ma.fields.Integer()
    currency = ma.fields.String()
    receivable_spu = Spu()
    payable_spu = Spu()
    fees_spu = Spu()
    net_spu = Spu()
    record_count = ma.fields.Integer()

    @ma.pre_dump
    def flatten(self, pair: Any, **kwargs: Any) -> dict:
        position, batch = pair
        fields = {name: getattr(position, name, None) for name in self.fields}
        fields.update(
            batch=batch.id,
            status=batch.status,
            window_start=batch.window_start,
            cutoff=batch.cutoff,
        )
        return fields


class PaymentInstructionSchema(ObjectSchema):
    OBJECT = "payment_instruction"
    batch = ma.fields.String(attribute="batch_id")
    tenant = ma.fields.String(attribute="tenant_id")
    direction = ma.fields.String()
    amount = ma.fields.Integer()
    currency = ma.fields.String()
    method = ma.fields.String()
    collection = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    idempotency_key = ma.fields.String()
    stripe_object_id = ma.fields.String(allow_none=True)
    stripe_status = ma.fields.String(allow_none=True)
    payout_status = ma.fields.String(allow_none=True)
    stripe_payout_id = ma.fields.String(allow_none=True)
    attempts = ma.fields.Integer()
    refusals = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    reference = ma.fields.String(allow_none=True)
    paid_at = Timestamp(allow_none=True)


class MarkPaidInput(StrictSchema):
    reference = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))


class SettlementAccountInput(StrictSchema):
    stripe_account_id = ma.fields.String(allow_none=True, validate=validate.Length(max=255))
    stripe_customer_id = ma.fields.String(allow_none=True, validate=validate.Length(max=255))
    stripe_payment_method_id = ma.fields.String(allow_none=True, validate=validate.Length(max=255))
    collection = ma.fields.String(
        allow_none=True,
        validate=validate.OneOf(["payment_intent", "invoice"]),
        metadata={"description": "how this tenant pays as a net payer; null: the platform's"},
    )


class SettlementAccountSchema(ObjectSchema):
    OBJECT = "settlement_account"
    stripe_account_id = ma.fields.String(allow_none=True)
    stripe_customer_id = ma.fields.String(allow_none=True)
    stripe_payment_method_id = ma.fields.String(allow_none=True)
    collection = ma.fields.String(allow_none=True)


class SettlementReportArgs(StrictSchema):
    format = ma.fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx", "pdf"]))

    class Meta:
        unknown = ma.EXCLUDE
