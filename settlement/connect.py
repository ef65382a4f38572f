"""Tenants' Stripe Connect accounts, and their payouts from Stripe to their banks.

A tenant never names a Connect account: an id is known to whoever saw it, and a tenant
that could register one could have another tenant's money, or anyone's, transferred
there. The platform creates one account per tenant (Express, asking for the
``transfers`` capability, ``jifen_tenant_id`` in its metadata, under the key
``jifen-connect-<tenant>``), stores it on the tenant's settlement account and hands out
Stripe-hosted onboarding links. Transfers go to it only once Stripe says it takes them
(``connect_status`` ``enabled``, kept by ``refresh_status``); ``PUT
/v1/settlement/account`` refuses any other id (``payments.put_account``).

* ``start_onboarding`` (``POST /v1/settlement/account/onboarding``, the console's
  "Onboard with Stripe"): creates the account on first use, reads its status, returns a
  fresh account link whose refresh and return URLs lead to the console
  (``Config.public_url``).
* ``refresh_status``: Stripe's current word on the account (the console's return page).
* Jobs enqueued by ``stripe_events`` after Stripe's webhooks: ``refresh_account``
  (``account.updated``, ``account.application.deauthorized``) and ``settle_payout``
  (``payout.paid``, ``payout.failed``). Both read Stripe's current state rather than the
  event's, so repeated and out-of-order deliveries change nothing; no database
  transaction is open across a Stripe call.

A payout marks exactly the lines whose transfers it carries: its balance transactions on
the connected account name the platform's transfers (``stripe_money.payout_contents``);
lines of other transfers stay as they are. Money of a failed payout comes back and goes
out with a later one, which then carries those lines on (``stripe_payout_id`` moves to
it); a line already carried on by a later payout ignores the earlier one's news.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from jifen.platform import clock
from jifen.platform.db import is_unique_violation, run_in_transaction, unit_of_work
from jifen.platform.errors import Forbidden, JifenError, Unprocessable

from . import stripe_money
from .model import (
    ConnectStatus,
    Direction,
    InstructionStatus,
    PaymentInstruction,
    PayoutAccount,
)
from .stripe_money import current_config, stripe_client

log = logging.getLogger(__name__)

ONBOARD_PATH = "/console/payouts/onboard"  # the link's refresh_url: a new link
RETURN_PATH = "/console/payouts/return"  # the link's return_url: read the status
KEY_KEPT = timedelta(hours=23)  # Stripe keeps an idempotency key about 24 hours


class StripeUnavailable(JifenError):
    status = 502
    type = "api_error"
    code = "stripe_unavailable"


class NotPlatformAccount(Forbidden):
    code = "connect_account_not_created_by_platform"


@dataclass(frozen=True)
class Onboarding:
    account: PayoutAccount
    url: str
    expires_at: datetime


def _client() -> stripe.StripeClient:
    client = stripe_client()
    if client is None:
        raise Unprocessable(
            "Stripe is not configured: there is no Connect account to onboard.",
            code="stripe_not_configured",
        )
    return client


def _load(tenant_id: str) -> PayoutAccount | None:
    with unit_of_work(tenant_id=tenant_id) as uow:
        return uow.session.scalar(select(PayoutAccount))


def refuse_other_account(tenant_id: str, account_id: str | None) -> None:
    """A tenant may send back the id of its own account, nothing else. Raises
    NotPlatformAccount (403) for any other id, whether another tenant's, someone
    else's or made up: the answer says nothing about which."""
    row = _load(tenant_id)
    if account_id != (row.stripe_account_id if row else None):
        raise NotPlatformAccount(
            "Payouts go only to the Stripe Connect account the platform created for this "
            "tenant; start or continue onboarding with POST /v1/settlement/account/onboarding.",
            param="stripe_account_id",
        )


def start_onboarding(tenant_id: str) -> Onboarding:
    """The tenant's Connect account (created on first use) with a new onboarding link.

    Raises Unprocessable (``stripe_not_configured``), StripeUnavailable (502) when Stripe
    does not answer or refuses."""
    client = _client()
    try:
        account_id = _ensure_account(client, tenant_id)
        row = refresh_status(tenant_id, client=client)
        base = current_config().public_url
        link = stripe_money.onboarding_link(
            client, account_id, base + ONBOARD_PATH, base + RETURN_PATH
        )
    except stripe.StripeError as error:
        log.warning("Stripe Connect onboarding for %s failed: %s", tenant_id, error)
        raise StripeUnavailable(
            f"Stripe could not prepare onboarding: {error.user_message or error}"[:300]
        ) from error
    return Onboarding(row, link.url, datetime.fromtimestamp(link.expires_at, UTC))


def _ensure_account(client: stripe.StripeClient, tenant_id: str) -> str:
    """The id of the tenant's account, asking Stripe to create it the first time."""
    row = _load(tenant_id)
    if row is not None and row.stripe_account_id:
        return row.stripe_account_id
    asked = row.connect_requested_at if row is not None else None
    if asked is None:
        try:
            run_in_transaction(lambda: _mark_requested(tenant_id))
        except IntegrityError as error:  # a racing request made the row first
            if not is_unique_violation(error):
                raise
            run_in_transaction(lambda: _mark_requested(tenant_id))
    account = None
    if asked is not None and clock.now() - asked > KEY_KEPT:
        account = stripe_money.find_connect_account(client, tenant_id)  # key forgotten
    if account is None:
        account = stripe_money.create_connect_account(client, tenant_id)
    return run_in_transaction(lambda: _record_account(tenant_id, account.id))


def _mark_requested(tenant_id: str) -> None:
    with unit_of_work(tenant_id=tenant_id) as uow:
        row = uow.session.scalar(select(PayoutAccount).with_for_update())
        if row is None:
            row = PayoutAccount(tenant_id=tenant_id)
            uow.session.add(row)
        row.connect_requested_at = row.connect_requested_at or clock.now()
        uow.commit()


def _record_account(tenant_id: str, account_id: str) -> str:
    with unit_of_work(tenant_id=tenant_id) as uow:
        row = uow.session.scalar(select(PayoutAccount).with_for_update())
        if row.stripe_account_id is None:
            row.stripe_account_id = account_id
            row.connect_status = ConnectStatus.ONBOARDING.value
        elif row.stripe_account_id != account_id:
            log.error(
                "tenant %s has Connect account %s; Stripe made %s as well",
                tenant_id,
                row.stripe_account_id,
                account_id,
            )
        uow.commit()
        return row.stripe_account_id


def refresh_status(
    tenant_id: str, *, client: stripe.StripeClient | None = None
) -> PayoutAccount | None:
    """Ask Stripe about the tenant's Connect account and store what it says, unless a
    newer answer is stored already. Returns the settlement account (None: none yet).
    Raises stripe.StripeError when Stripe cannot be asked."""
    client = client or _client()
    row = _load(tenant_id)
    if row is None or not row.stripe_account_id:
        return row
    asked_at = clock.now()
    found = stripe_money.retrieve_connect_account(client, row.stripe_account_id)
    status = stripe_money.connect_status(found, tenant_id)

    def attempt() -> PayoutAccount:
        with unit_of_work(tenant_id=tenant_id) as uow:
            current = uow.session.scalar(select(PayoutAccount).with_for_update())
            newer = current.connect_checked_at is None or current.connect_checked_at <= asked_at
            if current.stripe_account_id == row.stripe_account_id and newer:
                current.connect_status = status
                current.connect_checked_at = asked_at
            uow.commit()
            return current

    return run_in_transaction(attempt)


def _tenant_of(account_id: str) -> str | None:
    with unit_of_work(platform=True) as uow:
        return uow.session.scalar(
            select(PayoutAccount.tenant_id).where(PayoutAccount.stripe_account_id == account_id)
        )


def refresh_account(account_id: str) -> dict:
    """Job: Stripe said something about connected account ``account_id``."""
    tenant_id = _tenant_of(account_id)
    client = stripe_client()
    if tenant_id is None or client is None:
        return {"account": account_id, "status": None}
    row = refresh_status(tenant_id, client=client)
    return {"account": account_id, "tenant": tenant_id, "status": row.connect_status}


def settle_payout(account_id: str, payout_id: str) -> dict:
    """Job: record on the tenant's paid payout lines whose transfers ``payout_id``
    carries that their money reached the bank (Stripe's payout ``paid``) or came back
    (``failed``). Raises stripe.StripeError when Stripe cannot be read (RQ retries)."""
    tenant_id = _tenant_of(account_id)
    client = stripe_client()
    if tenant_id is None or client is None:
        return {"payout": payout_id, "marked": 0}
    seen = stripe_money.payout_contents(client, account_id, payout_id)
    if seen is None or seen.status not in ("paid", "failed") or not seen.transfers:
        status = seen.status if seen is not None else None
        return {"payout": payout_id, "status": status, "marked": 0}

    def attempt() -> int:
        with unit_of_work(tenant_id=tenant_id) as uow:
            lines = uow.session.scalars(
                select(PaymentInstruction)
                .where(
                    PaymentInstruction.direction == Direction.PAYOUT.value,
                    PaymentInstruction.method == "stripe",
                    PaymentInstruction.status == InstructionStatus.PAID.value,
                    PaymentInstruction.stripe_object_id.in_(sorted(seen.transfers)),
                )
                .order_by(PaymentInstruction.id)
                .with_for_update()
            )
            marked = sum(_mark(line, seen) for line in lines)
            uow.commit()
            return marked

    marked = run_in_transaction(attempt)
    return {"payout": payout_id, "tenant": tenant_id, "status": seen.status, "marked": marked}


def _mark(line: PaymentInstruction, seen: stripe_money.PayoutSeen) -> bool:
    if line.stripe_payout_id not in (None, seen.id, *seen.carried):
        return False  # a later payout carried this money on
    status = "paid" if seen.status == "paid" else "failed"
    if (line.payout_status, line.stripe_payout_id) == (status, seen.id):
        return False
    line.payout_status = status
    line.stripe_payout_id = seen.id
    if status == "failed":
        reason = seen.failure or "failed"
        line.last_error = f"Stripe payout {seen.id} to the bank failed: {reason}"[:500]
    elif line.last_error and line.last_error.startswith("Stripe payout "):
        line.last_error = None
    return True
