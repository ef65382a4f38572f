"""Stripe's webhooks about settlement's own objects (``POST /v1/stripe/webhooks``, which
billing verifies and deduplicates by event id; ``platform.shell`` registers
``take`` with ``platform.billing.stripe_webhooks``).

What each event changes on the batch line (payment instruction) it is about:

* ``payment_intent.succeeded``, ``invoice.paid`` (localstripe:
  ``invoice.payment_succeeded``), ``transfer.created``: the line is ``paid`` (a line in
  ``processing`` or ``failed``, or one whose answer was lost: the object is adopted); the
  batch becomes ``paid`` when it was the last open line.
* ``payment_intent.payment_failed``, ``invoice.payment_failed``: the line is ``failed``
  with Stripe's reason, unless it is already paid; ``/pay`` again retries it under the
  next key (a new PaymentIntent, or a new attempt to pay the same invoice).
* ``invoice.voided``, ``invoice.marked_uncollectible``: the line is ``failed`` with that
  ``stripe_status``, unless it is already paid; ``/pay`` again makes a new invoice under
  the next key (voiding an uncollectible one first, as it could still be paid).
* ``transfer.reversed`` (fully): the line is ``failed`` ("reversed"), a ``paid`` or
  ``reconciled`` batch goes back to ``paying`` (its reconciliation cleared), and ``/pay``
  again sends a new transfer. A partial reversal changes no status; it is noted on the
  batch.
* ``payout.paid``, ``payout.failed`` on a tenant's connected account (the event's
  ``account``): ``connect.settle_payout`` is enqueued; it reads the payout and its
  balance transactions from Stripe and gives exactly the paid lines whose transfers the
  payout carries ``payout_status`` and ``stripe_payout_id`` (a failed payout also sets
  ``last_error``). Other lines of the tenant stay as they are.
* ``account.updated``, ``account.application.deauthorized`` about a tenant's connected
  account: ``connect.refresh_account`` is enqueued to read its status from Stripe.

A line is found by the ``jifen_instruction`` metadata every settlement object carries,
else by the object id stored on it (a PaymentIntent an invoice made is left to
the invoice's events). An event about another object of a line (an older attempt) changes
nothing, and so does one about an object the line recorded as finished for good
(reversed, cancelled, void), such as a ``transfer.created`` delivered after the
transfer's ``transfer.reversed``: ``settlement_stale``. An object that names a batch
(metadata or ``transfer_group``) but matches no line, and any transfer we cannot place,
is recorded as a reconciliation mismatch: on the batch's ``stripe_notices`` when the
batch is known (reconciliation lists them again when it finds the objects on Stripe).
Events about a connected account that is no tenant's are logged
(``settlement_unknown_account``). Events about objects that are not settlement's are
left to billing. The jobs read Stripe's current state, not the event's, so a late or
repeated delivery changes nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from jifen.platform import clock, jobs
from jifen.platform.billing.stripe_webhooks import Handled
from jifen.platform.db import UnitOfWork

from . import connect
from .model import (
    BatchStatus,
    InstructionStatus,
    PaymentInstruction,
    PayoutAccount,
    SettlementBatch,
)
from .payments import finish_if_paid
from .services import load_batch

log = logging.getLogger(__name__)

SUCCEEDED = {"payment_intent.succeeded", "invoice.paid", "invoice.payment_succeeded"}
FAILED = {"payment_intent.payment_failed", "invoice.payment_failed"}
DEAD = {"invoice.voided", "invoice.marked_uncollectible"}
TRANSFERS = {"transfer.created", "transfer.reversed"}
PAYOUTS = {"payout.paid", "payout.failed"}
ACCOUNTS = {"account.updated", "account.application.deauthorized"}
TYPES = SUCCEEDED | FAILED | DEAD | TRANSFERS | PAYOUTS | ACCOUNTS
# what a line's stripe_status says once its object can move no money any more
FINISHED = {"reversed", "canceled", "void"}


def take(uow: UnitOfWork, event: dict) -> Handled | None:
    """Apply one verified, first-seen Stripe event to settlement; None: not ours."""
    kind = event.get("type")
    obj = (event.get("data") or {}).get("object")
    if kind not in TYPES or not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        return None
    if kind in PAYOUTS or kind in ACCOUNTS:
        return _connected_account(uow, event, obj)
    session = uow.session
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    line = _line_for(session, obj, metadata)
    if line is None:
        return _unmatched(uow, event, obj, metadata)
    invoice = obj.get("invoice")
    if kind.startswith("payment_intent.") and invoice and invoice == line.stripe_object_id:
        return Handled("settlement_invoice_payment", line.tenant_id)
    batch = load_batch(session, line.batch_id, lock=True)
    line = session.get(PaymentInstruction, line.id, with_for_update=True, populate_existing=True)
    if kind in SUCCEEDED or kind == "transfer.created":
        outcome = _succeeded(uow, batch, line, obj)
    elif kind in FAILED:
        outcome = _failed(line, obj)
    elif kind in DEAD:
        outcome = _dead_invoice(line, obj)
    else:
        outcome = _reversed(uow, event, batch, line, obj)
    return Handled(outcome, line.tenant_id)


def _line_for(session, obj: dict, metadata: dict) -> PaymentInstruction | None:
    """The line named by the object's metadata, else the one that stores its id (or, for
    an invoice's PaymentIntent, its invoice's id)."""
    named = metadata.get("jifen_instruction")
    if isinstance(named, str):
        line = session.get(PaymentInstruction, named)
        if (
            line is not None
            and line.batch_id == metadata.get("jifen_batch")
            and line.tenant_id == metadata.get("jifen_tenant")
        ):
            return line
    for object_id in (obj["id"], obj.get("invoice")):
        if isinstance(object_id, str):
            line = session.scalar(
                select(PaymentInstruction)
                .where(PaymentInstruction.stripe_object_id == object_id)
                .order_by(PaymentInstruction.created.desc())
            )
            if line is not None:
                return line
    return None


def _stripe_status(obj: dict) -> str | None:
    if obj.get("object") == "transfer":
        return "reversed" if obj.get("reversed") else "paid"
    status = obj.get("status")
    return status[:32] if isinstance(status, str) else None


def _succeeded(uow, batch: SettlementBatch, line: PaymentInstruction, obj: dict) -> str:
    if line.status == InstructionStatus.PAID.value:
        if line.stripe_object_id not in (None, obj["id"]):
            _note(
                batch,
                "second_object",
                obj,
                line.tenant_id,
                f"Stripe {obj.get('object')} {obj['id']} moved money for a line already paid "
                f"by {line.stripe_object_id}",
            )
            return "settlement_second_object"
        return "settlement_unchanged"
    if line.stripe_object_id == obj["id"] and line.stripe_status in FINISHED:
        return "settlement_stale"  # e.g. transfer.created delivered after transfer.reversed
    line.status = InstructionStatus.PAID.value
    line.stripe_object_id = obj["id"]
    line.stripe_status = _stripe_status(obj)
    line.last_error = None
    line.paid_at = clock.now()
    uow.session.flush()
    finish_if_paid(uow, batch)
    return "settlement_paid"


def _failed(line: PaymentInstruction, obj: dict) -> str:
    if line.stripe_object_id not in (None, obj["id"]):
        return "settlement_stale"  # an earlier attempt's object
    if line.status == InstructionStatus.PAID.value:
        return "settlement_unchanged"
    if line.stripe_object_id == obj["id"] and line.stripe_status in FINISHED:
        return "settlement_stale"
    error = obj.get("last_payment_error") or {}
    reason = error.get("message") if isinstance(error, dict) else None
    line.stripe_object_id = obj["id"]
    line.stripe_status = _stripe_status(obj)
    if line.status != InstructionStatus.FAILED.value:
        line.status = InstructionStatus.FAILED.value
        line.refusals += 1  # this object failed for good: the retry asks under a new key
    line.last_error = f"Stripe {obj.get('object')} {obj['id']} failed: {reason or 'declined'}"[:500]
    return "settlement_failed"


def _dead_invoice(line: PaymentInstruction, obj: dict) -> str:
    """The line's invoice can collect nothing more: the next attempt invoices anew."""
    if line.stripe_object_id not in (None, obj["id"]):
        return "settlement_stale"
    if line.status == InstructionStatus.PAID.value:
        return "settlement_unchanged"
    status = "void" if obj.get("status") == "void" else "uncollectible"
    if line.stripe_object_id == obj["id"] and line.stripe_status in ("void", "uncollectible"):
        if status == "void":
            line.stripe_status = status  # uncollectible, then voided: counted already
        return "settlement_unchanged"
    line.stripe_object_id = obj["id"]
    line.stripe_status = status
    line.status = InstructionStatus.FAILED.value
    line.refusals += 1  # the next invoice is made under a new key
    line.last_error = f"Stripe invoice {obj['id']} is {status}"
    return "settlement_invoice_dead"


def _reversed(uow, event, batch: SettlementBatch, line: PaymentInstruction, obj: dict) -> str:
    if line.stripe_object_id not in (None, obj["id"]):
        return "settlement_stale"
    amount = obj.get("amount") or 0
    if not obj.get("reversed") and (obj.get("amount_reversed") or 0) < amount:
        _note(
            batch,
            "partly_reversed",
            obj,
            line.tenant_id,
            f"Stripe transfer {obj['id']} was partly reversed "
            f"({obj.get('amount_reversed')} of {amount})",
            event,
        )
        return "settlement_partly_reversed"
    if line.stripe_status == "reversed":
        return "settlement_unchanged"
    line.status = InstructionStatus.FAILED.value
    line.stripe_status = "reversed"
    line.refusals += 1  # paying again sends a new transfer
    line.last_error = f"Stripe transfer {obj['id']} was reversed"
    line.paid_at = None
    if batch.status in (BatchStatus.PAID.value, BatchStatus.RECONCILED.value):
        batch.status = BatchStatus.PAYING.value
        batch.paid_at = None
        batch.reconciled_at = None
        batch.reconciliation = None  # it tied a transfer that no longer stands
    return "settlement_reversed"


def _connected_account(uow, event: dict, obj: dict) -> Handled | None:
    """Enqueue the job that reads what changed from Stripe (after commit)."""
    account_id = event.get("account")
    if account_id is None and obj.get("object") == "account":
        account_id = obj["id"]
    if not isinstance(account_id, str):
        return None  # the platform's own payout: not a settlement line
    tenant_id = uow.session.scalar(
        select(PayoutAccount.tenant_id).where(PayoutAccount.stripe_account_id == account_id)
    )
    if tenant_id is None:
        log.warning("Stripe %s on unknown connected account %s", event["type"], account_id)
        return Handled("settlement_unknown_account")
    if event["type"] in PAYOUTS:
        job, args, outcome = (
            connect.settle_payout,
            (account_id, obj["id"]),
            "settlement_payout_queued",
        )
    else:
        job, args, outcome = connect.refresh_account, (account_id,), "settlement_account_queued"
    jobs.enqueue_after_commit(uow, job, *args, queue_name="settlement")
    return Handled(outcome, tenant_id)


def _unmatched(uow, event: dict, obj: dict, metadata: dict) -> Handled | None:
    batch_id = metadata.get("jifen_batch")
    if obj.get("object") == "transfer":
        batch_id = batch_id or obj.get("transfer_group")
    elif not isinstance(batch_id, str):
        return None  # a PaymentIntent or invoice of someone else (billing's)
    batch = None
    if isinstance(batch_id, str):
        batch = uow.session.scalar(
            select(SettlementBatch).where(SettlementBatch.id == batch_id).with_for_update()
        )
    tenant = metadata.get("jifen_tenant") if isinstance(metadata.get("jifen_tenant"), str) else None
    if batch is None:
        log.warning("Stripe %s %s matches no settlement line", obj.get("object"), obj["id"])
        return Handled("settlement_unknown_object")
    _note(
        batch,
        "unknown",
        obj,
        tenant,
        f"Stripe {obj.get('object')} {obj['id']} ({obj.get('amount')} "
        f"{str(obj.get('currency', '')).upper()}) matches no instruction",
        event,
    )
    return Handled("settlement_unknown_object")


def _note(
    batch: SettlementBatch,
    kind: str,
    obj: dict,
    tenant: str | None,
    text: str,
    event: dict | None = None,
) -> None:
    """Record a mismatch a webhook found on the batch (``stripe_notices``)."""
    notices = list(batch.stripe_notices or [])
    notices.append(
        {
            "kind": kind,
            "instruction": None,
            "tenant": tenant,
            "stripe_object": obj["id"],
            "event": (event or {}).get("id"),
            "problem": text,
            "at": clock.iso(clock.now()),
        }
    )
    batch.stripe_notices = notices
