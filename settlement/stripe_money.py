"""Settlement's calls to Stripe: Connect transfers to net receivers; for net payers a
PaymentIntent on the saved payment method or an invoice; the reads reconciliation
needs; and tenants' Connect accounts (creation, onboarding links, status) and what
their payouts carry (``connect.py`` decides what to do with them).

The client comes from ``platform.billing.stripe_gateway.client_for`` (the configured key
and ``JIFEN_STRIPE_API_BASE``; it retries network errors and 5xx answers itself, with the
same idempotency key). Every call that moves money carries a deterministic key derived
from the instruction's ``jifen-settlement-<batch>-<tenant>`` (``attempt_key``), so a
retried job, a rerun after a crash, or the client's own retry can never move the money
twice. Only when Stripe refused a line outright (a declined card, a missing account:
nothing moved, and Stripe keeps that refusal under the key) does the next attempt use the
next key, ``...-r<refusals>``; before it does, the refused object is closed so that it
can never move the money as well (a PaymentIntent is cancelled, an uncollectible invoice
voided), and if it did move it after all, it is the line's answer. Every object carries
``jifen_batch``, ``jifen_tenant`` and ``jifen_instruction`` metadata, which webhooks and
reconciliation match on. Callers hold no database transaction open across these calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import stripe
from flask import current_app, has_app_context

from jifen.platform.billing.stripe_gateway import client_for
from jifen.platform.config import Config

from .model import (
    Collection,
    ConnectStatus,
    Direction,
    InstructionStatus,
    PaymentInstruction,
    PayoutAccount,
)

INVOICE_DAYS_UNTIL_DUE = 7  # a sent invoice (no saved payment method) is due in a week
DEAD_INVOICE = ("void", "uncollectible")  # nothing more to collect on it: invoice anew
CANCELABLE = (
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "requires_capture",
)


def current_config() -> Config:
    """The app's configuration; outside an app, the environment's."""
    if has_app_context() and "jifen.config" in current_app.extensions:
        return current_app.extensions["jifen.config"]
    return Config.from_env()


def stripe_client():
    """The configured Stripe client; None without a key."""
    return client_for(current_config())


@dataclass(frozen=True)
class Outcome:
    status: str  # an InstructionStatus value
    stripe_object_id: str | None = None
    error: str | None = None
    stripe_status: str | None = None
    refused: bool = False  # Stripe said no and moved nothing: the next try uses a new key


def idempotency_key(batch_id: str, tenant_id: str) -> str:
    return f"jifen-settlement-{batch_id}-{tenant_id}"


def attempt_key(instruction: PaymentInstruction, step: str | None = None) -> str:
    """The key of this attempt's call (``step``: one of an invoice's several calls)."""
    key = instruction.idempotency_key
    if instruction.refusals:
        key += f"-r{instruction.refusals}"
    return f"{key}-{step}" if step else key


def metadata(instruction: PaymentInstruction) -> dict[str, str]:
    return {
        "jifen_batch": instruction.batch_id,
        "jifen_tenant": instruction.tenant_id,
        "jifen_instruction": instruction.id,
    }


def description(instruction: PaymentInstruction) -> str:
    return f"Jifen settlement {instruction.batch_id}: net amount owed by {instruction.tenant_id}"


def _options(key: str) -> dict:
    return {"idempotency_key": key}


def _refused(error: stripe.StripeError) -> bool:
    """Stripe answered and nothing moved: a declined card, a bad or missing account.
    Not an idempotency conflict (an earlier call under the key may have succeeded), not
    an authentication or rate-limit answer (given before the key is looked at)."""
    if isinstance(error, stripe.CardError):
        return True
    return isinstance(error, stripe.InvalidRequestError) and error.http_status in (400, 404)


def _failure(error: stripe.StripeError, object_id: str | None = None) -> Outcome:
    message = f"{type(error).__name__}: {error.user_message or error}"[:500]
    found = getattr(error, "error", None)
    intent = getattr(found, "payment_intent", None) if found is not None else None
    stripe_status = None
    if object_id is None and intent is not None:
        object_id = intent.get("id") if isinstance(intent, dict) else getattr(intent, "id", None)
        stripe_status = (
            intent.get("status") if isinstance(intent, dict) else getattr(intent, "status", None)
        )
    return Outcome(
        InstructionStatus.FAILED.value,
        object_id,
        error=message,
        stripe_status=stripe_status,
        refused=_refused(error),
    )


def send(
    client: stripe.StripeClient,
    instruction: PaymentInstruction,
    account: PayoutAccount | None,
    on_object: Callable[[str, str], None] | None = None,
) -> Outcome:
    """Move one instruction's money. Never raises for Stripe's answers: a refusal or an
    outage comes back as a ``failed`` outcome with the reason, to be retried later.
    ``on_object(id, status)`` is told about an object made half-way (an invoice before it
    is finalized and paid), so a rerun continues with it."""
    try:
        if instruction.direction == Direction.PAYOUT.value:
            return _transfer(client, instruction, account)
        if instruction.collection == Collection.INVOICE.value:
            return _invoice(client, instruction, account, on_object or (lambda *_: None))
        return _payment_intent(client, instruction, account)
    except stripe.StripeError as error:
        object_id = instruction.stripe_object_id
        keep = object_id if object_id and object_id.startswith("in_") else None
        return _failure(error, keep)


def _transfer(client, instruction, account) -> Outcome:
    """Only to the Connect account the platform created for the tenant, once Stripe said
    it takes transfers; otherwise nothing is sent (the key stays for the next try)."""
    if account is None or not account.stripe_account_id:
        return Outcome(InstructionStatus.FAILED.value, error="no Stripe Connect account")
    if account.connect_status != ConnectStatus.ENABLED.value:
        return Outcome(
            InstructionStatus.FAILED.value,
            error=f"Stripe Connect account {account.stripe_account_id} is "
            f"{account.connect_status}: it takes no transfers until onboarding is done",
        )
    transfer = client.v1.transfers.create(
        params={
            "amount": instruction.amount,
            "currency": instruction.currency.lower(),
            "destination": account.stripe_account_id,
            "transfer_group": instruction.batch_id,
            "metadata": metadata(instruction),
        },
        options=_options(attempt_key(instruction)),
    )
    reversed_ = bool(getattr(transfer, "reversed", False))
    if reversed_:
        return Outcome(
            InstructionStatus.FAILED.value,
            transfer.id,
            error=f"Stripe transfer {transfer.id} was reversed",
            stripe_status="reversed",
            refused=True,
        )
    return Outcome(InstructionStatus.PAID.value, transfer.id, stripe_status="paid")


def _payment_intent(client, instruction, account) -> Outcome:
    if account is None or not (account.stripe_customer_id and account.stripe_payment_method_id):
        return Outcome(InstructionStatus.FAILED.value, error="no saved payment method")
    earlier = _close_earlier_intent(client, instruction)
    if earlier is not None:
        return earlier
    intent = client.v1.payment_intents.create(
        params={
            "amount": instruction.amount,
            "currency": instruction.currency.lower(),
            "customer": account.stripe_customer_id,
            "payment_method": account.stripe_payment_method_id,
            "confirm": True,
            "off_session": True,
            "metadata": metadata(instruction),
        },
        options=_options(attempt_key(instruction)),
    )
    status = intent_status(intent.status)
    error = None
    if status == InstructionStatus.FAILED.value:
        error = f"Stripe PaymentIntent {intent.id} is {intent.status}"
    return Outcome(
        status,
        intent.id,
        error=error,
        stripe_status=intent.status,
        refused=status == InstructionStatus.FAILED.value,
    )


def _close_earlier_intent(client, instruction) -> Outcome | None:
    """Before a new key charges again, cancel the line's refused PaymentIntent, which
    could otherwise still be completed (another payment method, a finished 3-D Secure
    check) and collect the money twice. None: go on and charge; else the line's outcome
    (the earlier intent succeeded or is processing after all, or could not be cancelled).
    """
    earlier = instruction.stripe_object_id
    if not (instruction.refusals and earlier and earlier.startswith("pi_")):
        return None
    intent = _retrieve_or_none(client.v1.payment_intents.retrieve, earlier)
    if intent is None or intent.status == "canceled":
        return None
    if intent.status in CANCELABLE:
        try:
            intent = client.v1.payment_intents.cancel(
                earlier, options=_options(f"{instruction.idempotency_key}-cancel-{earlier}")
            )
        except stripe.InvalidRequestError:
            intent = client.v1.payment_intents.retrieve(earlier)  # it moved on meanwhile
        if intent.status == "canceled":
            return None
    status = intent_status(intent.status)
    error = None
    if status == InstructionStatus.FAILED.value:
        error = f"Stripe PaymentIntent {intent.id} is {intent.status} and could not be cancelled"
    return Outcome(status, intent.id, error=error, stripe_status=intent.status)


def _retire_invoice(client, instruction) -> Outcome | None:
    """The line's invoice was voided or marked uncollectible (and ``refusals`` counted it,
    so the next invoice is made under a new key). An uncollectible invoice can still be
    paid, so it is voided first. None: invoice anew; else the line's outcome (the payer
    paid the old invoice after all, or it could not be voided)."""
    old = _retrieve_or_none(client.v1.invoices.retrieve, instruction.stripe_object_id)
    if old is None or old.status == "void":
        return None
    if old.status == "uncollectible":
        try:
            old = client.v1.invoices.void_invoice(
                old.id, options=_options(f"{instruction.idempotency_key}-void-{old.id}")
            )
        except stripe.InvalidRequestError:
            old = client.v1.invoices.retrieve(old.id)  # paid meanwhile
        if old.status == "void":
            return None
    status = invoice_status(old.status)
    error = None
    if status == InstructionStatus.FAILED.value:
        error = f"Stripe invoice {old.id} is {old.status} and could not be voided"
    return Outcome(status, old.id, error=error, stripe_status=old.status)


def _invoice(client, instruction, account, on_object) -> Outcome:
    """Create (once per key) an invoice for the net amount, finalize it, then pay it from
    the default payment method, or send it to the payer when there is none. A voided or
    uncollectible invoice is refused: the next attempt invoices anew under the next key."""
    if account is None or not account.stripe_customer_id:
        return Outcome(InstructionStatus.FAILED.value, error="no Stripe customer")
    invoice = None
    if instruction.stripe_object_id and instruction.stripe_object_id.startswith("in_"):
        if instruction.stripe_status in DEAD_INVOICE:
            retired = _retire_invoice(client, instruction)
            if retired is not None:
                return retired
        else:
            invoice = _retrieve_or_none(client.v1.invoices.retrieve, instruction.stripe_object_id)
    if invoice is None:
        automatic = bool(account.stripe_payment_method_id)
        params = {
            "customer": account.stripe_customer_id,
            "currency": instruction.currency.lower(),
            "collection_method": "charge_automatically" if automatic else "send_invoice",
            "auto_advance": False,
            "pending_invoice_items_behavior": "exclude",
            "description": description(instruction),
            "metadata": metadata(instruction),
        }
        if automatic:
            params["default_payment_method"] = account.stripe_payment_method_id
        else:
            params["days_until_due"] = INVOICE_DAYS_UNTIL_DUE
        invoice = client.v1.invoices.create(
            params=params, options=_options(attempt_key(instruction, "invoice"))
        )
        on_object(invoice.id, invoice.status)
    if invoice.status == "draft":
        if (invoice.total or 0) < instruction.amount:
            client.v1.invoice_items.create(
                params={
                    "customer": account.stripe_customer_id,
                    "invoice": invoice.id,
                    "amount": instruction.amount,
                    "currency": instruction.currency.lower(),
                    "description": description(instruction),
                    "metadata": metadata(instruction),
                },
                options=_options(attempt_key(instruction, "item")),
            )
        invoice = client.v1.invoices.finalize_invoice(
            invoice.id,
            params={"auto_advance": False},
            options=_options(attempt_key(instruction, "finalize")),
        )
        on_object(invoice.id, invoice.status)
    if invoice.status == "open":
        try:
            if invoice.collection_method == "charge_automatically":
                invoice = client.v1.invoices.pay(
                    invoice.id, options=_options(attempt_key(instruction, "pay"))
                )
            else:
                invoice = client.v1.invoices.send_invoice(
                    invoice.id, options=_options(attempt_key(instruction, "send"))
                )
        except stripe.StripeError as error:
            failed = _failure(error, invoice.id)
            return Outcome(
                failed.status, invoice.id, failed.error, invoice.status, refused=failed.refused
            )
    status = invoice_status(invoice.status)
    error = None
    if status == InstructionStatus.FAILED.value:
        error = f"Stripe invoice {invoice.id} is {invoice.status}"
    return Outcome(
        status,
        invoice.id,
        error=error,
        stripe_status=invoice.status,
        refused=invoice.status in DEAD_INVOICE,
    )


def intent_status(status: str) -> str:
    if status == "succeeded":
        return InstructionStatus.PAID.value
    if status in ("processing", "requires_capture"):
        return InstructionStatus.PROCESSING.value
    return InstructionStatus.FAILED.value


def invoice_status(status: str) -> str:
    """An open invoice waits for its payer (or its next payment attempt)."""
    if status == "paid":
        return InstructionStatus.PAID.value
    if status in ("open", "draft"):
        return InstructionStatus.PROCESSING.value
    return InstructionStatus.FAILED.value  # void, uncollectible


def _retrieve_or_none(retrieve, object_id: str):
    try:
        return retrieve(object_id)
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:
            return None
        raise


@dataclass(frozen=True)
class Seen:
    """What Stripe holds for one instruction."""

    id: str
    amount: int
    currency: str
    status: str  # an InstructionStatus value, or "reversed" for a transfer
    metadata: dict
    kind: str = "transfer"


def _metadata_of(found) -> dict:
    return found.metadata.to_dict() if getattr(found, "metadata", None) is not None else {}


def retrieve(client: stripe.StripeClient, instruction: PaymentInstruction) -> Seen | None:
    """The Stripe object behind ``instruction``, or None if Stripe does not know it."""
    object_id = instruction.stripe_object_id
    if not object_id:
        return None
    if instruction.direction == Direction.PAYOUT.value:
        found = _retrieve_or_none(client.v1.transfers.retrieve, object_id)
        if found is None:
            return None
        status = "reversed" if getattr(found, "reversed", False) else InstructionStatus.PAID.value
        return Seen(found.id, found.amount, found.currency.upper(), status, _metadata_of(found))
    if object_id.startswith("in_"):
        found = _retrieve_or_none(client.v1.invoices.retrieve, object_id)
        if found is None:
            return None
        return Seen(
            found.id,
            found.total,
            found.currency.upper(),
            invoice_status(found.status),
            _metadata_of(found),
            "invoice",
        )
    found = _retrieve_or_none(client.v1.payment_intents.retrieve, object_id)
    if found is None:
        return None
    return Seen(
        found.id,
        found.amount,
        found.currency.upper(),
        intent_status(found.status),
        _metadata_of(found),
        "payment_intent",
    )


def transfers_in_group(client: stripe.StripeClient, batch_id: str) -> list[Seen]:
    """Every transfer Stripe holds for the batch (its ``transfer_group``)."""
    found = client.v1.transfers.list(params={"transfer_group": batch_id, "limit": 100})
    return [
        Seen(
            t.id,
            t.amount,
            t.currency.upper(),
            "reversed" if getattr(t, "reversed", False) else InstructionStatus.PAID.value,
            _metadata_of(t),
        )
        for t in found.auto_paging_iter()
    ]


def collections_of(client: stripe.StripeClient, batch_id: str, customer: str) -> list[Seen]:
    """The customer's PaymentIntents and invoices that name ``batch_id`` in their
    metadata. Raises stripe.InvalidRequestError where Stripe cannot list by customer."""
    seen: list[Seen] = []
    params = {"customer": customer, "limit": 100}
    for intent in client.v1.payment_intents.list(params=params).auto_paging_iter():
        if _metadata_of(intent).get("jifen_batch") == batch_id:
            seen.append(
                Seen(
                    intent.id,
                    intent.amount,
                    intent.currency.upper(),
                    intent_status(intent.status),
                    _metadata_of(intent),
                    "payment_intent",
                )
            )
    for invoice in client.v1.invoices.list(params=params).auto_paging_iter():
        if _metadata_of(invoice).get("jifen_batch") == batch_id:
            seen.append(
                Seen(
                    invoice.id,
                    invoice.total,
                    invoice.currency.upper(),
                    invoice_status(invoice.status),
                    _metadata_of(invoice),
                    "invoice",
                )
            )
    return seen


def customer_of_tenant(client: stripe.StripeClient, customer_id: str, tenant_id: str) -> bool:
    """Stripe has the customer and it is the tenant's: billing makes every tenant's
    customer with ``jifen_tenant_id`` in its metadata (``stripe_gateway.create_customer``),
    and tenants cannot make customers on the platform's account themselves."""
    found = _retrieve_or_none(client.v1.customers.retrieve, customer_id)
    if found is None or getattr(found, "deleted", False):
        return False
    return _metadata_of(found).get("jifen_tenant_id") == tenant_id


def attached_to(client: stripe.StripeClient, payment_method_id: str, customer_id: str) -> bool:
    """Stripe has the payment method and it is attached to the customer."""
    found = _retrieve_or_none(client.v1.payment_methods.retrieve, payment_method_id)
    if found is None:
        return False
    customer = getattr(found, "customer", None)
    return (customer if isinstance(customer, str) else getattr(customer, "id", None)) == (
        customer_id
    )


# --- Connect accounts and their payouts ---------------------------------------------------

CONNECT_TYPE = "express"  # Stripe hosts onboarding and the account's dashboard
PAYOUT_RETURNS = ("payout_failure", "payout_cancel")  # money of an earlier payout, back
CARRIED_DEPTH = 10  # how far back a payout's returned money is followed


def connect_key(tenant_id: str) -> str:
    return f"jifen-connect-{tenant_id}"


def create_connect_account(client: stripe.StripeClient, tenant_id: str):
    """A Connect account for the tenant that can take transfers once onboarded. The key
    names the tenant, so a retry or a racing request gets the same account while Stripe
    keeps the key (about 24 hours; ``find_connect_account`` covers the time after)."""
    return client.v1.accounts.create(
        params={
            "type": CONNECT_TYPE,
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"jifen_tenant_id": tenant_id},
        },
        options=_options(connect_key(tenant_id)),
    )


def find_connect_account(client: stripe.StripeClient, tenant_id: str):
    """The account made for ``tenant_id`` by an earlier request whose answer was lost,
    or None: Stripe cannot search accounts, so this pages through the platform's."""
    for account in client.v1.accounts.list(params={"limit": 100}).auto_paging_iter():
        if _metadata_of(account).get("jifen_tenant_id") == tenant_id:
            return account
    return None


def retrieve_connect_account(client: stripe.StripeClient, account_id: str):
    """The connected account, or None when Stripe gives the platform no access to it
    (never connected, rejected or disconnected: Stripe does not say which)."""
    try:
        return client.v1.accounts.retrieve(account_id)
    except stripe.PermissionError:
        return None
    except stripe.InvalidRequestError as error:
        if error.http_status in (403, 404):
            return None
        raise


def connect_status(account, tenant_id: str) -> str:
    """What ``account`` (None: no access) means for payouts to ``tenant_id``: enabled
    once its ``transfers`` capability is active (an account without capabilities: once
    charges and payouts are enabled); onboarding while details are missing; restricted
    when onboarded but not usable, not reachable, or not made for this tenant."""
    if account is None or _metadata_of(account).get("jifen_tenant_id") != tenant_id:
        return ConnectStatus.RESTRICTED.value
    capabilities = getattr(account, "capabilities", None)
    capabilities = capabilities.to_dict() if capabilities is not None else {}
    if "transfers" in capabilities:
        usable = capabilities["transfers"] == "active"
    else:
        usable = bool(getattr(account, "charges_enabled", False)) and bool(
            getattr(account, "payouts_enabled", False)
        )
    if usable:
        return ConnectStatus.ENABLED.value
    if getattr(account, "details_submitted", False):
        return ConnectStatus.RESTRICTED.value
    return ConnectStatus.ONBOARDING.value


def onboarding_link(
    client: stripe.StripeClient, account_id: str, refresh_url: str, return_url: str
):
    """A single-use Stripe-hosted onboarding link (``url``, ``expires_at``): a bearer
    secret for the account's onboarding, to be handed to the tenant and never logged."""
    return client.v1.account_links.create(
        params={
            "account": account_id,
            "type": "account_onboarding",
            "refresh_url": refresh_url,
            "return_url": return_url,
        }
    )


@dataclass(frozen=True)
class PayoutSeen:
    """A connected account's payout to its bank as Stripe holds it now."""

    id: str
    status: str  # Stripe's: paid, failed, pending, in_transit, canceled
    failure: str | None
    transfers: frozenset[str]  # the platform's transfers whose money it carries
    carried: frozenset[str]  # earlier payouts that failed and whose money it carries


def payout_contents(
    client: stripe.StripeClient, account_id: str, payout_id: str, depth: int = 0
) -> PayoutSeen | None:
    """Read the payout on the connected account (``Stripe-Account``) and list its
    balance transactions: a ``payment`` made by one of the platform's transfers names it
    in ``source_transfer``; a ``payout_failure`` (or ``payout_cancel``) brings back an
    earlier payout's money, whose transfers this payout then carries too. None when the
    account has no such payout. Stripe lists a payout's transactions for automatic
    payouts only; a manual payout carries nothing we can name."""
    options = {"stripe_account": account_id}
    payout = _retrieve_or_none(
        lambda found: client.v1.payouts.retrieve(found, options=options), payout_id
    )
    if payout is None:
        return None
    transfers: set[str] = set()
    carried: set[str] = set()
    if getattr(payout, "automatic", True):
        listing = client.v1.balance_transactions.list(
            params={"payout": payout_id, "limit": 100, "expand": ["data.source"]},
            options=options,
        )
        for item in listing.auto_paging_iter():
            source = getattr(item, "source", None)
            if item.type in ("payment", "charge") and source is not None:
                made_by = getattr(source, "source_transfer", None)
                made_by = made_by if isinstance(made_by, str) else getattr(made_by, "id", None)
                if made_by:
                    transfers.add(made_by)
            elif item.type in PAYOUT_RETURNS and source is not None and depth < CARRIED_DEPTH:
                earlier_id = source if isinstance(source, str) else source.id
                earlier = payout_contents(client, account_id, earlier_id, depth + 1)
                if earlier is not None and earlier_id != payout_id:
                    carried |= {earlier_id, *earlier.carried}
                    transfers |= earlier.transfers
    failure = getattr(payout, "failure_message", None) or getattr(payout, "failure_code", None)
    return PayoutSeen(payout.id, payout.status, failure, frozenset(transfers), frozenset(carried))
