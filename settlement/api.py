"""Settlement endpoints (API.md, Settlement). Each view checks the caller, calls one
service and returns.

Where API.md is silent:

* Batches, approval, payment, reconciliation, instructions and reports belong to the
  platform operator (a platform client with ``settlement:write``, or ``settlement:read``
  to read). A tenant's client gets 403 there.
* ``POST /v1/settlement/batches`` with the cut-off of the newest batch answers 200 with
  that batch (a rerun), not a second batch; an earlier cut-off is 422
  ``cutoff_before_last``, a future one 422 ``cutoff_in_future``. Without a cut-off, when
  the newest batch already reaches the latest daily one: 200 with that batch.
* Positions name their tenant: ``tenant`` (the id), ``tenant_name``, ``tenant_slug``.
* A tenant reads its statements (``GET /v1/settlement/statements``), the clearing records
  behind them (``GET /v1/settlement/statements/lines``, a cursor list, ``from``/``to``
  on the record's time or ``batch``) and exports those lines by period (``GET
  /v1/settlement/statements/report?format=csv|xlsx``): ``statements.py``.
* Approving one's own batch is 403 ``self_approval``; paying a batch nobody approved is
  409 ``batch_not_approved``.
* ``POST .../pay`` answers with the batch: ``paid`` when every line went through,
  ``paying`` while lines are queued, failed (see ``GET .../instructions``) or waiting for
  finance in manual mode.
* ``POST .../instructions/{tenant_id}/mark_paid`` ``{"reference"}`` settles one manual
  line: 200 with the paid line up to ``JIFEN_MANUAL_PAYMENT_APPROVAL_THRESHOLD`` minor
  units; above it 202 with a ``manual_payment`` (``status: pending_confirmation``) and
  the line stays ``pending`` until a platform staff user other than who marked it
  confirms it in the console (then the line is paid). ``POST
  /v1/settlement/manual_payments/{id}/confirm`` is always 403
  ``approval_requires_staff`` for an API client (kept so the refusal is explicit);
  ``/reject`` withdraws a waiting one (the line can then be marked again); marking a
  line that waits for another reference is 409 ``confirmation_pending``. ``GET
  .../batches/{id}/manual_payments`` and ``GET /v1/settlement/manual_payments/{id}``
  read them. ``POST .../reconcile`` checks the lines against Stripe.
* ``GET``/``PUT /v1/platform/settlement/settings``: the settlement currency,
  ``spu_value`` (minor units per SPU) and ``collection`` (``payment_intent`` or
  ``invoice``: how Stripe collects from net payers; omitted, it is unchanged).
  ``GET``/``PUT /v1/settlement/account``: a tenant's Stripe Connect account (read
  only: ``PUT`` refuses any ``stripe_account_id`` but the one the platform created for
  it, 403 ``connect_account_not_created_by_platform``), customer, payment method and its
  own ``collection`` (null: the platform's). ``POST /v1/settlement/account/onboarding``
  creates the tenant's Connect account on first use and answers 201 with a Stripe
  onboarding link (``account_link``) and the account's ``connect_status``.
* Stripe's webhooks about settlement's objects arrive at billing's
  ``POST /v1/stripe/webhooks`` (``stripe_events.py``).
"""

from __future__ import annotations

from flask import Response

from jifen.platform.auth.callers import current_caller, operator, requires, tenant
from jifen.platform.http import JifenBlueprint, list_of

from . import connect, manual, payments, reports, services
from . import statements as lines
from .model import ManualPayment
from .schemas import (
    ConnectOnboardingSchema,
    ManualPaymentSchema,
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
    SettlementStatementLineArgs,
    SettlementStatementLineSchema,
    SettlementStatementListArgs,
    SettlementStatementReportArgs,
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


def _download(built: reports.Built) -> Response:
    return Response(
        built.body,
        content_type=built.content_type,
        headers={"Content-Disposition": f'attachment; filename="{built.filename}"'},
    )


@blp.post("/batches")
@blp.arguments(SettlementBatchInput)
@blp.response(201, SettlementBatchSchema)
@blp.doc(**WRITE)
@requires(operator("settlement:write"))
def close_batch(body: dict):
    """Close the batch up to ``cutoff`` (default: the latest 00:00 Asia/Shanghai)."""
    closed = services.close_batch(_caller_id(), body.get("cutoff"))
    view = services.BatchView(closed.batch, closed.positions)
    return view if closed.created else (view, 200)


@blp.get("/batches")
@blp.arguments(SettlementBatchListArgs, location="query")
@blp.response(200, list_of(SettlementBatchSchema))
@blp.doc(**READ)
@requires(operator("settlement:read"))
def list_batches(args: dict):
    """Settlement batches, newest first."""
    return services.list_batches(args)


@blp.get("/batches/<batch_id>")
@blp.response(200, SettlementBatchSchema)
@blp.doc(**READ)
@requires(operator("settlement:read"))
def get_batch(batch_id: str):
    return services.get_batch(batch_id)


@blp.post("/batches/<batch_id>/approve")
@blp.response(200, SettlementBatchSchema)
@blp.doc(**WRITE)
@requires(operator("settlement:write"))
def approve_batch(batch_id: str):
    """Approve a closed batch: anyone but who closed it."""
    return services.approve_batch(batch_id, _caller_id())


@blp.post("/batches/<batch_id>/pay")
@blp.response(200, SettlementBatchSchema)
@blp.doc(**WRITE)
@requires(operator("settlement:write"))
def pay_batch(batch_id: str):
    """Pay an approved batch (again: retry what failed)."""
    return payments.pay_batch(batch_id)


@blp.post("/batches/<batch_id>/reconcile")
@blp.response(200, SettlementBatchSchema)
@blp.doc(**WRITE)
@requires(operator("settlement:write"))
def reconcile_batch(batch_id: str):
    """Match a paid batch's instructions to Stripe; list mismatches."""
    return payments.reconcile_batch(batch_id)


@blp.get("/batches/<batch_id>/instructions")
@blp.response(200, list_of(PaymentInstructionSchema))
@blp.doc(**READ)
@requires(operator("settlement:read"))
def list_instructions(batch_id: str):
    rows = payments.list_instructions(batch_id)
    return {"object": "list", "data": rows, "has_more": False}


@blp.post("/batches/<batch_id>/instructions/<tenant_id>/mark_paid")
@blp.arguments(MarkPaidInput)
@blp.response(
    200, PaymentInstructionSchema, alternatives={ManualPayment: (202, ManualPaymentSchema)}
)
@blp.doc(**WRITE)
@requires(operator("settlement:write"))
def mark_paid(body: dict, batch_id: str, tenant_id: str):
    """Finance says a manual line was paid: 200 with the line, paid; above
    ``JIFEN_MANUAL_PAYMENT_APPROVAL_THRESHOLD`` 202 with a ``manual_payment`` waiting for
    a second platform staff user's confirmation in the console."""
    return manual.mark_paid(batch_id, tenant_id, _caller_id(), body["reference"])


@blp.get("/batches/<batch_id>/manual_payments")
@blp.response(200, list_of(ManualPaymentSchema))
@blp.doc(**READ)
@requires(operator("settlement:read"))
def list_manual_payments(batch_id: str):
    """The batch's lines marked paid above the threshold, newest first."""
    return {"object": "list", "data": manual.list_payments(batch_id), "has_more": False}


@blp.get("/manual_payments/<payment_id>")
@blp.response(200, ManualPaymentSchema)
@blp.doc(**READ)
@requires(operator("settlement:read"))
def get_manual_payment(payment_id: str):
    return manual.get_payment(payment_id)


@blp.post("/manual_payments/<payment_id>/confirm")
@blp.response(200, ManualPaymentSchema)
@blp.doc(**WRITE)
@requires(operator("settlement:write"))
def confirm_manual_payment(payment_id: str):
    """Refused for every API client (403 ``approval_requires_staff``): a platform staff
    user other than who marked it confirms in the console."""
    return manual.confirm_payment(payment_id, _caller_id())


@blp.post("/manual_payments/<payment_id>/reject")
@blp.response(200, ManualPaymentSchema)
@blp.doc(**WRITE)
@requires(operator("settlement:write"))
def reject_manual_payment(payment_id: str):
    """Withdraw or refuse a waiting manual payment; the line can be marked again."""
    return manual.reject_payment(payment_id, _caller_id())


@blp.get("/batches/<batch_id>/report")
@blp.arguments(SettlementReportArgs, location="query")
@blp.response(200)
@blp.doc(**READ)
@requires(operator("settlement:read"))
def report(args: dict, batch_id: str) -> Response:
    """The batch's report: summary, statements, line detail (csv, xlsx or pdf)."""
    return _download(reports.build(batch_id, args["format"]))


@blp.get("/statements")
@blp.arguments(SettlementStatementListArgs, location="query")
@blp.response(200, list_of(SettlementStatementSchema))
@blp.doc(**READ)
@requires(tenant("settlement:read"))
def statements(args: dict):
    """The caller's own lines, one per batch, newest first."""
    return services.list_statements(current_caller().tenant_id, args)


@blp.get("/statements/lines")
@blp.arguments(SettlementStatementLineArgs, location="query")
@blp.response(200, list_of(SettlementStatementLineSchema))
@blp.doc(**READ)
@requires(tenant("settlement:read"))
def statement_lines(args: dict):
    """The caller's statement lines (one per clearing record it is party to), newest
    first; ``from``/``to`` on the record's time, or ``batch``."""
    return lines.list_lines(current_caller().tenant_id, args)


@blp.get("/statements/report")
@blp.arguments(SettlementStatementReportArgs, location="query")
@blp.response(200)
@blp.doc(**READ)
@requires(tenant("settlement:read"))
def statement_report(args: dict) -> Response:
    """The caller's statement lines for a period as csv or xlsx, with the batches they
    belong to and totals."""
    period = lines.Period.from_args(args)
    return _download(lines.export(current_caller().tenant_id, args["format"], period))


@blp.get("/account")
@blp.response(200, SettlementAccountSchema)
@blp.doc(**READ)
@requires(tenant("settlement:read"))
def get_account():
    return payments.get_account(current_caller().tenant_id)


@blp.put("/account")
@blp.arguments(SettlementAccountInput)
@blp.response(200, SettlementAccountSchema)
@blp.doc(**WRITE)
@requires(tenant("settlement:write"))
def put_account(body: dict):
    """Where settlement money goes to and comes from on Stripe. The customer must be the
    tenant's own (the one billing made for it) and the payment method attached to it."""
    return payments.put_account(current_caller().tenant_id, body)


@blp.post("/account/onboarding")
@blp.response(201, ConnectOnboardingSchema)
@blp.doc(**WRITE)
@requires(tenant("settlement:write"))
def onboard_account():
    """A Stripe onboarding link for the tenant's Connect account (made on first use):
    payouts go there once Stripe enables it."""
    return connect.start_onboarding(current_caller().tenant_id)


@platform.get("/settings")
@platform.response(200, SettlementSettingsSchema)
@platform.doc(**READ)
@requires(operator("settlement:read"))
def get_settings():
    return services.get_settings()


@platform.put("/settings")
@platform.arguments(SettlementSettingsInput)
@platform.response(200, SettlementSettingsSchema)
@platform.doc(**WRITE)
@requires(operator("settlement:write"))
def put_settings(body: dict):
    """Settlement currency, the money value of one SPU (for batches closed from now) and
    how net payers are collected from (for lines written from now)."""
    return services.put_settings(_caller_id(), **body)


BLUEPRINTS = [blp, platform]
