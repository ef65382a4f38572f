"""Settlement endpoints (API.md, Settlement). Each view checks the caller, calls one
service and returns.

Where API.md is silent:

* Batches, approval, payment, reconciliation, instructions and reports belong to the
  platform operator (a platform client with ``settlement:write``, or ``settlement:read``
  to read). A tenant's client gets 403 there.
* ``POST /v1/settlement/batches`` with the cut-off of the newest batch answers 200 with
  that batch (a rerun), not a second batch; an earlier cut-off is 422
  ``cutoff_before_last``, a future one 422 ``cutoff_in_future``.
* Approving one's own batch is 403 ``self_approval``; paying a batch nobody approved is
  409 ``batch_not_approved``.
* ``POST .../pay`` answers with the batch: ``paid`` when every line went through,
  ``paying`` while lines are queued, failed (see ``GET .../instructions``) or waiting for
  finance in manual mode.
* ``POST .../instructions/{tenant_id}/mark_paid`` ``{"reference"}`` settles one manual
  line; ``POST .../reconcile`` checks the lines against Stripe.
* ``GET``/``PUT /v1/platform/settlement/settings``: the settlement currency,
  ``spu_value`` (minor units per SPU) and ``collection`` (``payment_intent`` or
  ``invoice``: how Stripe collects from net payers; omitted, it is unchanged).
  ``GET``/``PUT /v1/settlement/account``: a tenant's Stripe Connect account, customer,
  payment method and its own ``collection`` (null: the platform's).
* Stripe's webhooks about settlement's objects arrive at billing's
  ``POST /v1/stripe/webhooks`` (``stripe_events.py``).
"""

from __future__ import annotations

from flask import Response

from jifen.platform.auth.callers import current_caller, require_scope
from jifen.platform.http import JifenBlueprint, list_of

from . import payments, reports, services
from .schemas import (
    MarkPaidInput,
    PaymentInstructionSchema,
    SettlementAccountInput,
    SettlementAccountSchema,
    SettlementBatchInput,
    SettlementBatchListArgs,
    SettlementBatchSchema,
    SettlementReportArgs,
    SettlementSettingsInput,
    SettlementSettingsSchema,
    SettlementStatementListArgs,
    SettlementStatementSchema,
)

blp = JifenBlueprint("settlement", __name__, url_prefix="/v1/settlement", description="Settlement")
platform = JifenBlueprint(
    "platform_settlement",
    __name__,
    url_prefix="/v1/platform/settlement",
    description="Settlement",
)
READ = {"security": [{"oauth2": ["settlement:read"]}]}
WRITE = {"security": [{"oauth2": ["settlement:write"]}]}


def _caller_id() -> str:
    return current_caller().id


@blp.post("/batches")
@blp.arguments(SettlementBatchInput)
@blp.response(201, SettlementBatchSchema)
@blp.doc(**WRITE)
@require_scope("settlement:write", platform=True)
def close_batch(body: dict):
    """Close the batch up to ``cutoff`` (default: the latest 00:00 Asia/Shanghai)."""
    closed = services.close_batch(_caller_id(), body.get("cutoff"))
    view = services.BatchView(closed.batch, closed.positions)
    return view if closed.created else (view, 200)


@blp.get("/batches")
@blp.arguments(SettlementBatchListArgs, location="query")
@blp.response(200, list_of(SettlementBatchSchema))
@blp.doc(**READ)
@require_scope("settlement:read", platform=True)
def list_batches(args: dict):
    """Settlement batches, newest first."""
    return services.list_batches(args)


@blp.get("/batches/<batch_id>")
@blp.response(200, SettlementBatchSchema)
@blp.doc(**READ)
@require_scope("settlement:read", platform=True)
def get_batch(batch_id: str):
    return services.get_batch(batch_id)


@blp.post("/batches/<batch_id>/approve")
@blp.response(200, SettlementBatchSchema)
@blp.doc(**WRITE)
@require_scope("settlement:write", platform=True)
def approve_batch(batch_id: str):
    """Approve a closed batch: anyone but who closed it."""
    return services.approve_batch(batch_id, _caller_id())


@blp.post("/batches/<batch_id>/pay")
@blp.response(200, SettlementBatchSchema)
@blp.doc(**WRITE)
@require_scope("settlement:write", platform=True)
def pay_batch(batch_id: str):
    """Pay an approved batch (again: retry what failed)."""
    return payments.pay_batch(batch_id)


@blp.post("/batches/<batch_id>/reconcile")
@blp.response(200, SettlementBatchSchema)
@blp.doc(**WRITE)
@require_scope("settlement:write", platform=True)
def reconcile_batch(batch_id: str):
    """Match a paid batch's instructions to Stripe; list mismatches."""
    return payments.reconcile_batch(batch_id)


@blp.get("/batches/<batch_id>/instructions")
@blp.response(200, list_of(PaymentInstructionSchema))
@blp.doc(**READ)
@require_scope("settlement:read", platform=True)
def list_instructions(batch_id: str):
    rows = payments.list_instructions(batch_id)
    return {"object": "list", "data": rows, "has_more": False}


@blp.post("/batches/<batch_id>/instructions/<tenant_id>/mark_paid")
@blp.arguments(MarkPaidInput)
@blp.response(200, PaymentInstructionSchema)
@blp.doc(**WRITE)
@require_scope("settlement:write", platform=True)
def mark_paid(body: dict, batch_id: str, tenant_id: str):
    """Finance confirms a manual instruction was paid."""
    return payments.mark_paid(batch_id, tenant_id, _caller_id(), body["reference"])


@blp.get("/batches/<batch_id>/report")
@blp.arguments(SettlementReportArgs, location="query")
@blp.response(200)
@blp.doc(**READ)
@require_scope("settlement:read", platform=True)
def report(args: dict, batch_id: str) -> Response:
    """The batch's report: summary, statements, line detail (csv, xlsx or pdf)."""
    built = reports.build(batch_id, args["format"])
    return Response(
        built.body,
        mimetype=built.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{built.filename}"'},
    )


@blp.get("/statements")
@blp.arguments(SettlementStatementListArgs, location="query")
@blp.response(200, list_of(SettlementStatementSchema))
@blp.doc(**READ)
@require_scope("settlement:read", platform=False)
def statements(args: dict):
    """The caller's own lines, one per batch, newest first."""
    return services.list_statements(current_caller().tenant_id, args)


@blp.get("/account")
@blp.response(200, SettlementAccountSchema)
@blp.doc(**READ)
@require_scope("settlement:read", platform=False)
def get_account():
    return payments.get_account(current_caller().tenant_id)


@blp.put("/account")
@blp.arguments(SettlementAccountInput)
@blp.response(200, SettlementAccountSchema)
@blp.doc(**WRITE)
@require_scope("settlement:write", platform=False)
def put_account(body: dict):
    """Where settlement money goes to and comes from on Stripe. The customer must be the
    tenant's own (the one billing made for it) and the payment method attached to it."""
    return payments.put_account(current_caller().tenant_id, body)


@platform.get("/settings")
@platform.response(200, SettlementSettingsSchema)
@platform.doc(**READ)
@require_scope("settlement:read", platform=True)
def get_settings():
    return services.get_settings()


@platform.put("/settings")
@platform.arguments(SettlementSettingsInput)
@platform.response(200, SettlementSettingsSchema)
@platform.doc(**WRITE)
@require_scope("settlement:write", platform=True)
def put_settings(body: dict):
    """Settlement currency, the money value of one SPU (for batches closed from now) and
    how net payers are collected from (for lines written from now)."""
    return services.put_settings(_caller_id(), **body)


BLUEPRINTS = [blp, platform]
