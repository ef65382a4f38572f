"""Paying and reconciling an approved batch, and tenants' payout accounts.

``pay_batch`` (``POST /v1/settlement/batches/{id}/pay``) in one transaction moves the
batch from approved to paying and writes one payment instruction per tenant whose net is
not zero (unique per batch and tenant): a payout to a net receiver, a collection from a
net payer. After commit it enqueues ``send_payments``, which works through every
instruction not yet settled:

* with Stripe configured (``STRIPE_API_KEY``): a Connect transfer per net receiver; per
  net payer a PaymentIntent or an invoice (the tenant's ``collection``, else the
  platform's setting, fixed on the line when it is written); each call under the
  instruction's deterministic idempotency key, the outcome recorded in its own short
  transaction. A failure (Stripe refused, 5xx after the
  client's retries, a time-out) marks that line ``failed`` and leaves the others alone;
  the job then raises so RQ retries it, and ``/pay`` again retries the failed lines only.
* without Stripe (manual mode): instructions stay ``pending`` until finance marks each
  paid (``POST .../instructions/{tenant}/mark_paid`` with a bank reference; above the
  platform's threshold a second person confirms it: ``manual.py``).

When every instruction is paid the batch becomes ``paid``. A crash between a Stripe call
and its record is harmless: the rerun repeats the call with the same key and Stripe
answers with the object it already made.

``reconcile_batch`` matches instructions to Stripe's objects (amount, currency,
metadata, status), lists the batch's Stripe objects that match no instruction, and
stores the mismatches; a clean paid batch becomes ``reconciled``. Stripe's webhooks
(``stripe_events.py``) move lines between Stripe's answers.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe
from sqlalchemy import select

from jifen.platform import clock, jobs
from jifen.platform.db import run_in_transaction, unit_of_work
from jifen.platform.errors import Conflict, NotFound, Unprocessable
from jifen.platform.webhooks.events import emit

from . import stripe_money
from .connect import refuse_other_account
from .model import (
    BatchStatus,
    Direction,
    InstructionStatus,
    PaymentInstruction,
    PayoutAccount,
    Position,
)
from .services import (
    BatchView,
    batch_positions,
    batch_summary,
    current_settings,
    load_batch,
    position_data,
)
from .stripe_money import stripe_client

log = logging.getLogger(__name__)
UNSETTLED = (
    InstructionStatus.PENDING.value,
    InstructionStatus.FAILED.value,
    InstructionStatus.PROCESSING.value,
)


class PaymentsIncomplete(Exception):
    """Some instructions could not be paid this time; RQ retries the job."""


# --- paying -------------------------------------------------------------------------------


def pay_batch(batch_id: str) -> BatchView:
    """approved -> paying (instructions written), then send them. A paying batch is sent
    again (failed and unsent lines only); a paid one is returned as it is.

    Raises NotFound; Conflict (``batch_not_approved``) for a batch nobody approved yet.
    """
    method = "stripe" if stripe_client() is not None else "manual"

    def attempt() -> bool:
        with unit_of_work(platform=True) as uow:
            batch = load_batch(uow.session, batch_id, lock=True)
            if batch.status == BatchStatus.CLOSED.value:
                raise Conflict(
                    "The batch must be approved before it is paid.", code="batch_not_approved"
                )
            if batch.status in (BatchStatus.PAID.value, BatchStatus.RECONCILED.value):
                return False
            if batch.status == BatchStatus.APPROVED.value:
                _write_instructions(uow.session, batch, method)
                batch.status = BatchStatus.PAYING.value
                uow.session.flush()
                finish_if_paid(uow, batch)
            jobs.enqueue_after_commit(uow, send_payments, batch.id, queue_name="settlement")
            uow.commit()
            return True

    run_in_transaction(attempt)
    with unit_of_work(platform=True) as uow:
        batch = load_batch(uow.session, batch_id)
        return BatchView(batch, batch_positions(uow.session, batch.id))


def _write_instructions(session, batch, method: str) -> None:
    existing = set(
        session.scalars(
            select(PaymentInstruction.tenant_id).where(PaymentInstruction.batch_id == batch.id)
        )
    )
    platform_collection = current_settings(session).collection
    chosen = dict(
        session.execute(
            select(PayoutAccount.tenant_id, PayoutAccount.collection).where(
                PayoutAccount.collection.is_not(None)
            )
        ).all()
    )
    for position in batch_positions(session, batch.id):
        if position.net == 0 or position.tenant_id in existing:
            continue
        collection = None
        if position.net < 0 and method == "stripe":
            collection = chosen.get(position.tenant_id, platform_collection)
        session.add(
            PaymentInstruction(
                tenant_id=position.tenant_id,
                batch_id=batch.id,
                direction=(
                    Direction.PAYOUT.value if position.net > 0 else Direction.COLLECTION.value
                ),
                amount=abs(position.net),
                currency=position.currency,
                method=method,
                collection=collection,
                status=InstructionStatus.PENDING.value,
                idempotency_key=stripe_money.idempotency_key(batch.id, position.tenant_id),
            )
        )


def send_payments(batch_id: str) -> dict:
    """Job: send every unsettled Stripe instruction of ``batch_id`` once more.

    Raises PaymentsIncomplete when a line failed (so RQ retries later)."""
    client = stripe_client()
    with unit_of_work(platform=True) as uow:
        batch = load_batch(uow.session, batch_id)
        if batch.status != BatchStatus.PAYING.value:
            return {"batch": batch_id, "status": batch.status, "sent": 0}
        todo = list(
            uow.session.scalars(
                select(PaymentInstruction)
                .where(
                    PaymentInstruction.batch_id == batch_id,
                    PaymentInstruction.method == "stripe",
                    PaymentInstruction.status.in_(UNSETTLED),
                )
                .order_by(PaymentInstruction.tenant_id)
            )
        )
        accounts = {
            a.tenant_id: a
            for a in uow.session.scalars(
                select(PayoutAccount).where(
                    PayoutAccount.tenant_id.in_({i.tenant_id for i in todo})
                )
            )
        }
    failed = 0
    for instruction in todo:
        if client is None:
            failed += 1
            continue
        outcome = stripe_money.send(
            client,
            instruction,
            accounts.get(instruction.tenant_id),
            on_object=lambda object_id, status, line=instruction.id: _record_object(
                line, object_id, status
            ),
        )
        _record(instruction.id, outcome)
        failed += outcome.status == InstructionStatus.FAILED.value
    status = _settle_batch(batch_id)
    summary = {"batch": batch_id, "status": status, "sent": len(todo), "failed": failed}
    if failed:
        raise PaymentsIncomplete(summary)
    return summary


def _record(instruction_id: str, outcome: stripe_money.Outcome) -> None:
    def attempt() -> None:
        with unit_of_work(platform=True) as uow:
            instruction = uow.session.get(PaymentInstruction, instruction_id, with_for_update=True)
            instruction.attempts += 1
            if instruction.status == InstructionStatus.PAID.value:
                uow.commit()
                return
            instruction.status = outcome.status
            instruction.stripe_object_id = outcome.stripe_object_id or instruction.stripe_object_id
            instruction.stripe_status = outcome.stripe_status or instruction.stripe_status
            instruction.last_error = outcome.error
            if outcome.refused:
                instruction.refusals += 1
            if outcome.status == InstructionStatus.PAID.value:
                instruction.paid_at = clock.now()
            uow.commit()

    run_in_transaction(attempt)
    if outcome.error:
        log.warning("settlement instruction %s failed: %s", instruction_id, outcome.error)


def _record_object(instruction_id: str, object_id: str, stripe_status: str) -> None:
    """Remember an object made half-way (an invoice), so a rerun carries on with it."""

    def attempt() -> None:
        with unit_of_work(platform=True) as uow:
            instruction = uow.session.get(PaymentInstruction, instruction_id, with_for_update=True)
            if instruction.status != InstructionStatus.PAID.value:
                instruction.stripe_object_id = object_id
                instruction.stripe_status = stripe_status
            uow.commit()

    run_in_transaction(attempt)


def _settle_batch(batch_id: str) -> str:
    def attempt() -> str:
        with unit_of_work(platform=True) as uow:
            batch = load_batch(uow.session, batch_id, lock=True)
            finish_if_paid(uow, batch)
            uow.commit()
            return batch.status

    return run_in_transaction(attempt)


def finish_if_paid(uow, batch) -> None:
    """paying -> paid once no instruction is left unsettled."""
    if batch.status != BatchStatus.PAYING.value:
        return
    open_lines = uow.session.scalar(
        select(PaymentInstruction.id).where(
            PaymentInstruction.batch_id == batch.id,
            PaymentInstruction.status != InstructionStatus.PAID.value,
        )
    )
    if open_lines is not None:
        return
    batch.status = BatchStatus.PAID.value
    batch.paid_at = clock.now()
    for position in batch_positions(uow.session, batch.id):
        emit(
            uow,
            tenant_id=position.tenant_id,
            type="settlement.batch.paid",
            data={"batch": batch_summary(batch), "position": position_data(position)},
        )


def list_instructions(batch_id: str) -> list[PaymentInstruction]:
    with unit_of_work(platform=True) as uow:
        load_batch(uow.session, batch_id)
        return list(
            uow.session.scalars(
                select(PaymentInstruction)
                .where(PaymentInstruction.batch_id == batch_id)
                .order_by(PaymentInstruction.tenant_id)
            )
        )


# --- reconciling --------------------------------------------------------------------------


def reconcile_batch(batch_id: str) -> BatchView:
    """Match every instruction to what Stripe holds (manual lines: to their reference),
    list the batch's Stripe objects that match no instruction, store the result on the
    batch (``reconciliation``); paid with no mismatch -> reconciled. (What Stripe's
    webhooks noted is on the batch's ``stripe_notices``; the unknown objects among it are
    found again here, by listing what Stripe holds for the batch.)

    Raises NotFound; Conflict (``invalid_state``) unless the batch is paid or reconciled.
    """
    with unit_of_work(platform=True) as uow:
        batch = load_batch(uow.session, batch_id)
        if batch.status not in (BatchStatus.PAID.value, BatchStatus.RECONCILED.value):
            raise Conflict(f"The batch is {batch.status}, not paid.", code="invalid_state")
        instructions = list(
            uow.session.scalars(
                select(PaymentInstruction).where(PaymentInstruction.batch_id == batch_id)
            )
        )
        nets = {
            p.tenant_id: p.net
            for p in uow.session.scalars(select(Position).where(Position.batch_id == batch_id))
        }
        customers = {
            a.tenant_id: a.stripe_customer_id
            for a in uow.session.scalars(
                select(PayoutAccount).where(
                    PayoutAccount.tenant_id.in_({i.tenant_id for i in instructions})
                )
            )
            if a.stripe_customer_id
        }
    notes: list[str] = []
    mismatches = _mismatches(batch_id, instructions, nets, customers, notes)
    result = {
        "checked_at": clock.iso(clock.now()),
        "instructions": len(instructions),
        "matched": len(instructions)
        - len({m["instruction"] for m in mismatches if m["instruction"]}),
        "mismatches": mismatches,
        "notes": notes,
    }

    def attempt() -> BatchView:
        with unit_of_work(platform=True) as uow:
            batch = load_batch(uow.session, batch_id, lock=True)
            batch.reconciliation = result
            if not mismatches and batch.status == BatchStatus.PAID.value:
                batch.status = BatchStatus.RECONCILED.value
                batch.reconciled_at = clock.now()
            view = BatchView(batch, batch_positions(uow.session, batch.id))
            uow.commit(view)
            return view

    return run_in_transaction(attempt)


def _mismatches(
    batch_id: str,
    instructions: list,
    nets: dict[str, int],
    customers: dict[str, str],
    notes: list[str],
) -> list[dict[str, Any]]:
    """Each mismatch: ``kind`` (``net``, ``reference``, ``unchecked``, ``missing``,
    ``amount``, ``metadata``, ``status``, ``unknown``), the instruction and tenant (None
    for an unknown object), the Stripe object and a sentence."""
    problems: list[dict[str, Any]] = []

    def problem(kind: str, instruction, text: str, stripe_object: str | None = None, tenant=None):
        problems.append(
            {
                "kind": kind,
                "instruction": instruction.id if instruction else None,
                "tenant": instruction.tenant_id if instruction else tenant,
                "stripe_object": stripe_object,
                "problem": text,
            }
        )

    for instruction in instructions:
        expected = nets.get(instruction.tenant_id, 0)
        signed = instruction.amount if instruction.direction == "payout" else -instruction.amount
        if signed != expected:
            problem(
                "net", instruction, f"instruction {signed} differs from the net position {expected}"
            )
    for instruction in instructions:
        if instruction.method == "manual" and not instruction.reference:
            problem("reference", instruction, "marked paid without a reference")
    stripe_lines = [i for i in instructions if i.method == "stripe"]
    if not stripe_lines:
        return problems
    client = stripe_client()
    if client is None:
        for instruction in stripe_lines:
            problem("unchecked", instruction, "Stripe is not configured: cannot check this line")
        return problems
    known = set()
    for instruction in stripe_lines:
        seen = stripe_money.retrieve(client, instruction)
        if seen is None:
            problem(
                "missing",
                instruction,
                f"Stripe has no object {instruction.stripe_object_id}",
                instruction.stripe_object_id,
            )
            continue
        known.add(seen.id)
        if seen.amount != instruction.amount or seen.currency != instruction.currency:
            problem(
                "amount",
                instruction,
                f"Stripe {seen.id} moved {seen.amount} {seen.currency}, "
                f"instruction says {instruction.amount} {instruction.currency}",
                seen.id,
            )
        if seen.metadata.get("jifen_instruction") not in (None, instruction.id):
            problem(
                "metadata", instruction, f"Stripe {seen.id} belongs to another instruction", seen.id
            )
        if seen.status != InstructionStatus.PAID.value:
            problem("status", instruction, f"Stripe {seen.id} is {seen.status}", seen.id)
    found: list[stripe_money.Seen] = []
    if any(i.direction == Direction.PAYOUT.value for i in stripe_lines):
        found += stripe_money.transfers_in_group(client, batch_id)
    for customer in sorted(
        {customers[i.tenant_id] for i in stripe_lines if i.tenant_id in customers}
        if any(i.direction == Direction.COLLECTION.value for i in stripe_lines)
        else set()
    ):
        try:
            found += stripe_money.collections_of(client, batch_id, customer)
        except stripe.InvalidRequestError as error:
            notes.append(f"Stripe cannot list {customer}'s payments and invoices: {error}")
    lines = {i.id for i in instructions}
    for seen in found:
        if seen.id in known:
            continue
        if seen.status != InstructionStatus.PAID.value:
            # a declined, cancelled, voided or reversed attempt, superseded by the line's
            # current object
            if seen.metadata.get("jifen_instruction") in lines:
                continue
        problem(
            "unknown",
            None,
            f"Stripe {seen.kind} {seen.id} ({seen.amount} {seen.currency}, {seen.status}) "
            "matches no instruction",
            seen.id,
            tenant=seen.metadata.get("jifen_tenant"),
        )
    return problems


# --- payout accounts ----------------------------------------------------------------------


def put_account(tenant_id: str, changes: dict[str, str | None]) -> PayoutAccount:
    """Set the tenant's Stripe customer, payment method and collection (fields left out
    keep their value). The customer must be the tenant's (billing makes each tenant's
    customer with ``jifen_tenant_id`` in its metadata) and the payment method attached to
    it: settlement charges that customer's payment method, so no tenant can point
    collection at another tenant's customer or card. Without Stripe neither can be set, as
    nothing could check them. The Connect account is the one the platform created
    (``connect.py``): ``stripe_account_id`` may only repeat it. Raises Forbidden
    (``connect_account_not_created_by_platform``), Unprocessable
    (``stripe_customer_mismatch``, ``stripe_payment_method_mismatch``,
    ``stripe_not_configured``)."""
    if "stripe_account_id" in changes:
        refuse_other_account(tenant_id, changes["stripe_account_id"])
        changes = {name: value for name, value in changes.items() if name != "stripe_account_id"}
    client = stripe_client()
    changes = {**changes, **_checked_payer(tenant_id, changes, client)}

    def attempt() -> PayoutAccount:
        with unit_of_work(tenant_id=tenant_id) as uow:
            row = uow.session.scalar(select(PayoutAccount))
            if row is None:
                row = PayoutAccount(tenant_id=tenant_id)
                uow.session.add(row)
            for name, value in changes.items():
                setattr(row, name, value)
            uow.session.flush()
            uow.commit(row)
            return row

    return run_in_transaction(attempt)


PAYER_FIELDS = ("stripe_customer_id", "stripe_payment_method_id")


def _checked_payer(tenant_id: str, changes: dict, client) -> dict[str, str | None]:
    """The customer and payment method the account will hold once ``changes`` apply,
    checked against Stripe as one pair ({} when ``changes`` touch neither)."""
    if not any(name in changes for name in PAYER_FIELDS):
        return {}
    sent = [name for name in PAYER_FIELDS if changes.get(name)]
    if sent and client is None:
        raise Unprocessable(
            "Stripe is not configured: there is no customer or payment method to save.",
            code="stripe_not_configured",
            param=sent[0],
        )
    with unit_of_work(tenant_id=tenant_id) as uow:
        row = uow.session.scalar(select(PayoutAccount))
        pair = {name: changes.get(name, getattr(row, name, None)) for name in PAYER_FIELDS}
    customer, method = pair["stripe_customer_id"], pair["stripe_payment_method_id"]
    if client is None:
        return pair
    if customer and not stripe_money.customer_of_tenant(client, customer, tenant_id):
        raise Unprocessable(
            f"{customer} is not this tenant's Stripe customer; use the customer billing "
            "made for it.",
            code="stripe_customer_mismatch",
            param="stripe_customer_id",
        )
    if method and not (customer and stripe_money.attached_to(client, method, customer)):
        raise Unprocessable(
            f"{method} is not a payment method attached to the account's Stripe customer.",
            code="stripe_payment_method_mismatch",
            param="stripe_payment_method_id",
        )
    return pair


def get_account(tenant_id: str) -> PayoutAccount:
    """Raises NotFound when the tenant has set none."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        row = uow.session.scalar(select(PayoutAccount))
        if row is None:
            raise NotFound("No settlement account yet; PUT /v1/settlement/account.")
        return row
