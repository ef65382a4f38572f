"""Settlement's calls to Stripe: Connect transfers to net receivers, PaymentIntents on a
saved payment method for net payers, and the reads reconciliation needs.

The client comes from ``platform.billing.stripe_gateway.client_for`` (the configured key
and ``JIFEN_STRIPE_API_BASE``; it retries network errors and 5xx answers itself, with the
same idempotency key). Every call that moves money carries the instruction's
deterministic key ``jifen-settlement-<batch>-<tenant>``, so a retried job, a rerun after
a crash, or the client's own retry can never move the money twice. Callers hold no
database transaction open across these calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from .model import Direction, InstructionStatus, PaymentInstruction, PayoutAccount


@dataclass(frozen=True)
class Outcome:
    status: str  # an InstructionStatus value
    stripe_object_id: str | None = None
    error: str | None = None


def idempotency_key(batch_id: str, tenant_id: str) -> str:
    return f"jifen-settlement-{batch_id}-{tenant_id}"


def _metadata(instruction: PaymentInstruction) -> dict[str, str]:
    return {
        "jifen_batch": instruction.batch_id,
        "jifen_tenant": instruction.tenant_id,
        "jifen_instruction": instruction.id,
    }


def send(
    client: stripe.StripeClient, instruction: PaymentInstruction, account: PayoutAccount | None
) -> Outcome:
    """Move one instruction's money. Never raises for Stripe's answers: a refusal or an
    outage comes back as a ``failed`` outcome with the reason, to be retried later."""
    options = {"idempotency_key": instruction.idempotency_key}
    try:
        if instruction.direction == Direction.PAYOUT.value:
            if account is None or not account.stripe_account_id:
                return Outcome(InstructionStatus.FAILED.value, error="no Stripe Connect account")
            transfer = client.v1.transfers.create(
                params={
                    "amount": instruction.amount,
                    "currency": instruction.currency.lower(),
                    "destination": account.stripe_account_id,
                    "transfer_group": instruction.batch_id,
                    "metadata": _metadata(instruction),
                },
                options=options,
            )
            return Outcome(InstructionStatus.PAID.value, transfer.id)
        if account is None or not (account.stripe_customer_id and account.stripe_payment_method_id):
            return Outcome(InstructionStatus.FAILED.value, error="no saved payment method")
        intent = client.v1.payment_intents.create(
            params={
                "amount": instruction.amount,
                "currency": instruction.currency.lower(),
                "customer": account.stripe_customer_id,
                "payment_method": account.stripe_payment_method_id,
                "confirm": True,
                "off_session": True,
                "description": f"Jifen settlement {instruction.batch_id}",
                "metadata": _metadata(instruction),
            },
            options=options,
        )
        return Outcome(_intent_status(intent.status), intent.id)
    except stripe.StripeError as error:
        message = f"{type(error).__name__}: {error.user_message or error}"[:500]
        return Outcome(InstructionStatus.FAILED.value, error=message)


def _intent_status(status: str) -> str:
    if status == "succeeded":
        return InstructionStatus.PAID.value
    if status in ("processing", "requires_capture"):
        return InstructionStatus.PROCESSING.value
    return InstructionStatus.FAILED.value


@dataclass(frozen=True)
class Seen:
    """What Stripe holds for one instruction."""

    id: str
    amount: int
    currency: str
    status: str
    metadata: dict


def retrieve(client: stripe.StripeClient, instruction: PaymentInstruction) -> Seen | None:
    """The Stripe object behind ``instruction``, or None if Stripe does not know it."""
    if not instruction.stripe_object_id:
        return None
    try:
        if instruction.direction == Direction.PAYOUT.value:
            found = client.v1.transfers.retrieve(instruction.stripe_object_id)
            status = "paid" if not getattr(found, "reversed", False) else "reversed"
        else:
            found = client.v1.payment_intents.retrieve(instruction.stripe_object_id)
            status = _intent_status(found.status)
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            return None
        raise
    metadata = found.metadata.to_dict() if found.metadata is not None else {}
    return Seen(found.id, found.amount, found.currency.upper(), status, metadata)


def transfers_in_group(client: stripe.StripeClient, batch_id: str) -> list[Seen]:
    """Every transfer Stripe holds for the batch (its ``transfer_group``)."""
    found = client.v1.transfers.list(params={"transfer_group": batch_id, "limit": 100})
    return [
        Seen(
            t.id,
            t.amount,
            t.currency.upper(),
            "paid",
            t.metadata.to_dict() if t.metadata is not None else {},
        )
        for t in found.auto_paging_iter()
    ]


def account_exists(client: stripe.StripeClient, account_id: str) -> bool:
    try:
        client.v1.accounts.retrieve(account_id)
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            return False
        raise
    return True
