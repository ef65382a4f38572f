"""Payment lines settled by hand (manual mode: no Stripe), with two people above the
platform's threshold.

``mark_paid`` records that finance paid (or received) a line's money, with the bank
reference. A line of at most ``JIFEN_MANUAL_PAYMENT_APPROVAL_THRESHOLD`` minor units
(``Config.manual_payment_approval_threshold``) is paid at once, as it always was. A
larger one is recorded as a ``ManualPayment`` waiting as ``pending_confirmation`` and the
line stays ``pending``; a platform staff user other than who marked it confirms it
(``confirm_payment``), and only then is the line paid (and the batch, once every line
is). Anyone may reject a waiting one instead (``reject_payment``: who marked it
withdraws it, or a confirmer refuses it); the line can then be marked again.

Who: marking takes the actor the caller is (a staff user ``usr_…`` in the console, a
platform API client ``cli_…`` over the API). Confirming needs a person: a live staff user
with a platform role (403 ``approval_requires_staff`` for an API client or anyone else),
never the one who marked it (403 ``self_approval``). Deciding one that is no longer
waiting is 409 ``invalid_state``; marking a line that waits for the confirmation of
another reference is 409 ``confirmation_pending`` (marking it again with the same
reference returns the waiting one).

Each use case is one unit of work that locks the batch row first, so two confirmations
at once pay the line once. In the database, a CHECK keeps the confirmer apart from the
requester and a partial unique index allows one waiting-or-confirmed manual payment per
line (migration 0023).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jifen.platform import clock
from jifen.platform.auth.model import StaffUser
from jifen.platform.db import UnitOfWork, run_in_transaction, unit_of_work
from jifen.platform.errors import Conflict, Forbidden, NotFound, Unprocessable

from .model import (
    InstructionStatus,
    ManualPayment,
    ManualPaymentStatus,
    PaymentInstruction,
    SettlementBatch,
)
from .payments import finish_if_paid
from .services import load_batch
from .stripe_money import current_config

PENDING = ManualPaymentStatus.PENDING_CONFIRMATION.value

# --- the rules -------------------------------------------------------------------------


def needs_confirmation(amount: int, threshold: int) -> bool:
    """Does marking a line of ``amount`` minor units paid wait for a second person?"""
    return amount > threshold


def check_decision(payment: ManualPayment, actor: str, *, confirm: bool) -> None:
    """May ``actor`` confirm (or reject) ``payment`` now? (Whether the actor is platform
    staff at all is the use case's question: it needs the database.)

    Raises Conflict (``invalid_state``) unless it waits, and Forbidden
    (``self_approval``) when who marked it confirms it.
    """
    if payment.status != PENDING:
        raise Conflict(
            f"The manual payment is {payment.status}; only a waiting one can be decided.",
            code="invalid_state",
        )
    if confirm and payment.requested_by == actor:
        raise Forbidden(
            "A payment must be confirmed by someone other than who marked it paid.",
            code="self_approval",
        )


# --- use cases -------------------------------------------------------------------------


def mark_paid(
    batch_id: str, tenant_id: str, marked_by: str, reference: str
) -> PaymentInstruction | ManualPayment:
    """Finance says a manual line was paid, with its bank reference: the line, paid, up to
    the threshold; above it the ``ManualPayment`` waiting for confirmation. Marking a paid
    line again returns it unchanged.

    Raises NotFound; Unprocessable (a blank ``reference``); Conflict (``invalid_state``
    for a Stripe line, ``confirmation_pending`` while another reference waits).
    """
    reference = (reference or "").strip()
    if not reference:
        raise Unprocessable("Give the bank reference of the payment.", param="reference")
    threshold = current_config().manual_payment_approval_threshold

    def attempt() -> PaymentInstruction | ManualPayment:
        with unit_of_work(platform=True) as uow:
            batch = load_batch(uow.session, batch_id, lock=True)
            instruction = _instruction(uow.session, batch_id, tenant_id)
            if instruction.status == InstructionStatus.PAID.value:
                return instruction
            if instruction.method != "manual":
                raise Conflict("Stripe pays this line; it cannot be marked.", code="invalid_state")
            waiting = _waiting(uow.session, instruction.id)
            if waiting is not None:
                if waiting.reference != reference:
                    raise Conflict(
                        f"This line waits for confirmation of the payment {waiting.reference!r};"
                        " reject that one first.",
                        code="confirmation_pending",
                        param="reference",
                    )
                return waiting
            result: PaymentInstruction | ManualPayment
            if needs_confirmation(instruction.amount, threshold):
                result = ManualPayment(
                    tenant_id=instruction.tenant_id,
                    batch_id=batch.id,
                    instruction_id=instruction.id,
                    amount=instruction.amount,
                    currency=instruction.currency,
                    reference=reference,
                    status=PENDING,
                    approval_threshold=threshold,
                    requested_by=marked_by,
                )
                uow.session.add(result)
                uow.session.flush()
            else:
                result = _pay(uow, batch, instruction, reference, marked_by)
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


def confirm_payment(payment_id: str, actor: str) -> ManualPayment:
    """Pay the line of a waiting manual payment, by a platform staff user other than who
    marked it.

    Raises NotFound; Forbidden (``approval_requires_staff``, ``self_approval``); Conflict
    (``invalid_state``: not waiting). A refusal changes nothing.
    """

    def attempt() -> ManualPayment:
        with unit_of_work(platform=True) as uow:
            session = uow.session
            batch, payment = _locked(session, payment_id)
            _refuse_unless_platform_staff(session, actor)
            check_decision(payment, actor, confirm=True)
            instruction = session.get(
                PaymentInstruction, payment.instruction_id, populate_existing=True
            )
            if instruction is None or instruction.status == InstructionStatus.PAID.value:
                raise Conflict("The payment line is paid already.", code="invalid_state")
            payment.status = ManualPaymentStatus.CONFIRMED.value
            payment.confirmed_by = actor
            payment.decided_at = clock.now()
            _pay(uow, batch, instruction, payment.reference, payment.requested_by)
            uow.commit(payment)
            return payment

    return run_in_transaction(attempt)


def reject_payment(payment_id: str, actor: str) -> ManualPayment:
    """Withdraw or refuse a waiting manual payment; the line stays unpaid and can be
    marked again. Raises NotFound and Conflict (``invalid_state``)."""

    def attempt() -> ManualPayment:
        with unit_of_work(platform=True) as uow:
            _batch, payment = _locked(uow.session, payment_id)
            check_decision(payment, actor, confirm=False)
            payment.status = ManualPaymentStatus.REJECTED.value
            payment.rejected_by = actor
            payment.decided_at = clock.now()
            uow.session.flush()
            uow.commit(payment)
            return payment

    return run_in_transaction(attempt)


def get_payment(payment_id: str) -> ManualPayment:
    """Raises NotFound."""
    with unit_of_work(platform=True) as uow:
        return _load(uow.session, payment_id)


def list_payments(batch_id: str) -> list[ManualPayment]:
    """The batch's manual payments above the threshold, newest first. Raises NotFound."""
    with unit_of_work(platform=True) as uow:
        load_batch(uow.session, batch_id)
        return list(
            uow.session.scalars(
                select(ManualPayment)
                .where(ManualPayment.batch_id == batch_id)
                .order_by(ManualPayment.created.desc(), ManualPayment.id.desc())
            )
        )


# --- inside a unit of work -------------------------------------------------------------


def _instruction(session: Session, batch_id: str, tenant_id: str) -> PaymentInstruction:
    instruction = session.scalar(
        select(PaymentInstruction).where(
            PaymentInstruction.batch_id == batch_id, PaymentInstruction.tenant_id == tenant_id
        )
    )
    if instruction is None:
        raise NotFound(f"Batch {batch_id} has no instruction for {tenant_id}.", param="tenant_id")
    return instruction


def _waiting(session: Session, instruction_id: str) -> ManualPayment | None:
    return session.scalar(
        select(ManualPayment).where(
            ManualPayment.instruction_id == instruction_id, ManualPayment.status == PENDING
        )
    )


def _load(session: Session, payment_id: str) -> ManualPayment:
    payment = session.get(ManualPayment, payment_id)
    if payment is None:
        raise NotFound(f"No such manual payment: {payment_id}", param="payment")
    return payment


def _locked(session: Session, payment_id: str) -> tuple[SettlementBatch, ManualPayment]:
    """The payment's batch, locked, and the payment as it stands once the lock is held."""
    batch = load_batch(session, _load(session, payment_id).batch_id, lock=True)
    return batch, session.get(ManualPayment, payment_id, populate_existing=True)


def _refuse_unless_platform_staff(session: Session, actor: str) -> None:
    """Raises Forbidden (``approval_requires_staff``) unless ``actor`` is a staff user, not
    disabled, with a platform role."""
    found = session.scalar(
        select(StaffUser.id).where(
            StaffUser.id == actor,
            StaffUser.platform_role.is_not(None),
            StaffUser.disabled_at.is_(None),
        )
    )
    if found is None:
        raise Forbidden(
            "A manual payment must be confirmed by a signed-in platform staff user, "
            "not an API client.",
            code="approval_requires_staff",
        )


def _pay(
    uow: UnitOfWork,
    batch: SettlementBatch,
    instruction: PaymentInstruction,
    reference: str,
    marked_by: str,
) -> PaymentInstruction:
    """Mark the line paid with ``reference``; the batch is paid once every line is."""
    instruction.status = InstructionStatus.PAID.value
    instruction.reference = reference
    instruction.marked_by = marked_by
    instruction.paid_at = clock.now()
    instruction.attempts += 1
    uow.session.flush()
    finish_if_paid(uow, batch)
    return instruction
