"""Request and response shapes of the settlement endpoints (API.md, Settlement).

Money is integer minor units with its currency; SPU amounts (``*_spu``) are decimal
strings of SPU, exact to six places; ``spu_value`` (minor units per SPU) is a decimal
string too.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from jifen.platform.clearing import format_spu
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
    tenant_name = ma.fields.String(allow_none=True)
    tenant_slug = ma.fields.String(allow_none=True)
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
    tenant = ma.fields.String()
    tenant_name = ma.fields.String(allow_none=True)
    tenant_slug = ma.fields.String(allow_none=True)
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
            tenant=position.tenant_id,
            status=batch.status,
            window_start=batch.window_start,
            cutoff=batch.cutoff,
        )
        return fields


class _Period(ma.Schema):
    from_ = Timestamp(
        data_key="from",
        load_default=None,
        metadata={"description": "records created at or after (ISO 8601)"},
    )
    to = Timestamp(load_default=None, metadata={"description": "records created before"})
    batch = ma.fields.String(load_default=None, metadata={"description": "one batch's records"})


class SettlementStatementLineArgs(ListArgs, _Period):
    pass


class SettlementStatementReportArgs(StrictSchema, _Period):
    format = ma.fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))

    class Meta:
        unknown = ma.EXCLUDE


class SettlementStatementLineSchema(ObjectSchema):
    """One clearing record from the tenant's side (``id`` and ``created`` are the
    record's): as ``payee`` it receives the amount, as ``payer`` it owes the amount and
    the platform's fees. Money by the batch's rounding rule, priced on its own."""

    OBJECT = "settlement_statement_line"
    batch = ma.fields.String(allow_none=True)
    kind = ma.fields.String()
    role = ma.fields.String(metadata={"description": "payee or payer"})
    counterparty = ma.fields.String()
    counterparty_name = ma.fields.String(allow_none=True)
    counterparty_slug = ma.fields.String(allow_none=True)
    points_currency = ma.fields.String()
    points = ma.fields.Integer()
    receivable_spu = Spu()
    payable_spu = Spu()
    fees_spu = Spu()
    net_spu = Spu()
    receivable = ma.fields.Integer()
    payable = ma.fields.Integer()
    fees = ma.fields.Integer()
    net = ma.fields.Integer()
    currency = ma.fields.String()
    spu_value = ma.fields.Function(lambda line: spu_value_text(line.spu_value_micro))


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
    stripe_account_id = ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=255),
        metadata={"description": "only the account the platform created may be sent back"},
    )
    stripe_customer_id = ma.fields.String(allow_none=True, validate=validate.Length(max=255))
    stripe_payment_method_id = ma.fields.String(allow_none=True, validate=validate.Length(max=255))
    collection = ma.fields.String(
        allow_none=True,
        validate=validate.OneOf(["payment_intent", "invoice"]),
        metadata={"description": "how this tenant pays as a net payer; null: the platform's"},
    )


class SettlementAccountSchema(ObjectSchema):
    OBJECT = "settlement_account"
    stripe_account_id = ma.fields.String(
        allow_none=True,
        metadata={"description": "the Connect account the platform created for the tenant"},
    )
    connect_status = ma.fields.String(
        allow_none=True,
        metadata={"description": "onboarding, enabled (takes transfers) or restricted"},
    )
    stripe_customer_id = ma.fields.String(allow_none=True)
    stripe_payment_method_id = ma.fields.String(allow_none=True)
    collection = ma.fields.String(allow_none=True)


class ConnectOnboardingSchema(ma.Schema):
    """A Stripe-hosted onboarding link for the tenant's Connect account: single use,
    valid for minutes; its ``url`` is a secret of the tenant's."""

    object = ma.fields.Constant("account_link", dump_only=True)
    url = ma.fields.String()
    expires_at = Timestamp()
    account = ma.fields.Nested(SettlementAccountSchema)

    class Meta:
        ordered = True


class SettlementReportArgs(StrictSchema):
    format = ma.fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx", "pdf"]))

    class Meta:
        unknown = ma.EXCLUDE


class ManualPaymentSchema(ObjectSchema):
    """A payment line marked paid by hand above the platform's threshold: it waits for a
    second person (``settlement.manual``)."""

    OBJECT = "manual_payment"
    batch = ma.fields.String(attribute="batch_id")
    tenant = ma.fields.String(attribute="tenant_id")
    instruction = ma.fields.String(attribute="instruction_id")
    amount = ma.fields.Integer()
    currency = ma.fields.String()
    reference = ma.fields.String()
    status = ma.fields.String(
        metadata={"description": "pending_confirmation | confirmed | rejected"}
    )
    approval_threshold = ma.fields.Integer(
        metadata={"description": "The platform's threshold (minor units) when it was marked."}
    )
    requested_by = ma.fields.String()
    confirmed_by = ma.fields.String(allow_none=True)
    rejected_by = ma.fields.String(allow_none=True)
    decided_at = Timestamp(allow_none=True)
