"""Billing use cases: open an account at signup, read it, change plan, keep Stripe in
step, take Stripe's webhooks, end grace periods and report monthly usage.

Stripe is never called inside a database transaction: a use case commits first and
enqueues ``sync_with_stripe`` after the commit; the job reads, calls Stripe with
deterministic idempotency keys, then records what Stripe answered in a new unit of work.
Without ``STRIPE_API_KEY`` (manual mode) nothing is enqueued and nothing calls Stripe.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import column, select, table, update
from sqlalchemy.exc import IntegrityError

from jifen.platform import clock, jobs
from jifen.platform.config import Config
from jifen.platform.db import UnitOfWork, is_unique_violation, unit_of_work
from jifen.platform.errors import BadRequest, NotFound

from . import stripe_gateway, usage
from .limits import PlanLimit, account_of
from .model import BillingAccount, StripeEvent, UsageReport
from .plans import CURRENCY, DEFAULT_PLAN, Plan, get_plan
from .states import BillingState, Occurrence, Status, after_plan_change, apply_occurrence, end_grace
from .stripe_webhooks import event_handlers, parse_event, verify_signature

log = logging.getLogger(__name__)

_tenants = table("tenants", column("id"), column("name"))


def settings() -> Config:
    if has_app_context() and "jifen.config" in current_app.extensions:
        return current_app.extensions["jifen.config"]
    return Config()


def _state(account: BillingAccount) -> BillingState:
    return BillingState(Status(account.status), account.grace_until, account.status_event_at)


def _store_state(account: BillingAccount, state: BillingState) -> None:
    account.status = state.status.value
    account.grace_until = state.grace_until
    account.status_event_at = state.status_event_at


def _sync_after_commit(uow: UnitOfWork, account: BillingAccount) -> None:
    if settings().stripe_api_key:
        jobs.enqueue_after_commit(
            uow,
            sync_with_stripe,
            account.tenant_id,
            job_id=f"billing-sync-{account.tenant_id}-{account.plan_version}",
        )


# --- signup and reading -------------------------------------------------------------------


def open_account(uow: UnitOfWork, *, tenant_id: str, plan: str = DEFAULT_PLAN) -> BillingAccount:
    """Give a new tenant its billing account, inside the signup's unit of work; with
    Stripe configured, its customer (and subscription) are made after the commit."""
    account = BillingAccount(tenant_id=tenant_id, plan=get_plan(plan).code)
    uow.session.add(account)
    uow.session.flush()
    _sync_after_commit(uow, account)
    return account


@dataclass
class Billing:
    """What ``GET /v1/billing`` shows."""

    account: BillingAccount | None
    plan: Plan
    status: str
    mode: str
    month: str
    active_members: int
    members: int

    @property
    def grace_until(self) -> datetime | None:
        return self.account.grace_until if self.account else None


def standing(tenant_id: str) -> tuple[Plan, BillingState]:
    """The tenant's plan and state (the default plan, active, if it has no account)."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        account = account_of(uow.session, tenant_id)
        if account is None:
            return get_plan(DEFAULT_PLAN), BillingState(Status.ACTIVE)
        return get_plan(account.plan), _state(account)


def get_billing(tenant_id: str) -> Billing:
    month = usage.month_of(clock.now())
    with unit_of_work(tenant_id=tenant_id) as uow:
        session = uow.session
        account = account_of(session, tenant_id)
        plan = get_plan(account.plan if account else DEFAULT_PLAN)
        active = usage.count_active_members(
            session, usage.ledger_activity(session), month, tenant_id=tenant_id
        )
        return Billing(
            account=account,
            plan=plan,
            status=account.status if account else Status.ACTIVE.value,
            mode="stripe" if settings().stripe_api_key else "manual",
            month=month,
            active_members=active.get(tenant_id, 0),
            members=usage.count_members(session, tenant_id),
        )


def change_plan(tenant_id: str, plan_code: str) -> Billing:
    """Raises Unprocessable (``unknown_plan``) and PlanLimit when the tenant has more
    members than the new plan allows. With Stripe, the subscription follows after the
    commit (created, moved to the new plan, or cancelled for the free plan)."""
    plan = get_plan(plan_code)
    with unit_of_work(tenant_id=tenant_id) as uow:
        session = uow.session
        account = account_of(session, tenant_id, for_update=True)
        if account is None:
            account = BillingAccount(tenant_id=tenant_id, plan=DEFAULT_PLAN)
            session.add(account)
        members = usage.count_members(session, tenant_id)
        if plan.members is not None and members > plan.members:
            raise PlanLimit(
                f"The {plan.name} plan allows {plan.members} members and this tenant has "
                f"{members}.",
                param="plan",
            )
        if account.plan != plan.code:
            account.plan = plan.code
            account.plan_version = (account.plan_version or 1) + 1
            _store_state(account, after_plan_change(_state(account), to_paid_plan=plan.is_paid))
            session.flush()
            _sync_after_commit(uow, account)
        uow.commit()
    return get_billing(tenant_id)


# --- keeping Stripe in step ------------------------------------------------------------------


def sync_with_stripe(tenant_id: str, *, rounds: int = 3) -> dict:
    """Make Stripe match the account: a customer always, a subscription on the account's
    plan when it is paid, none when it is free. Safe to repeat."""
    config = settings()
    client = stripe_gateway.client_for(config)
    if client is None:
        return {"mode": "manual"}
    base = config.stripe_api_base or ""
    for _ in range(rounds):
        with unit_of_work(tenant_id=tenant_id) as uow:
            account = account_of(uow.session, tenant_id)
            if account is None:
                raise NotFound(f"No billing account for tenant {tenant_id}")
            name = uow.session.scalar(select(_tenants.c.name).where(_tenants.c.id == tenant_id))
        plan, version = get_plan(account.plan), account.plan_version
        customer = account.stripe_customer_id
        subscription = account.stripe_subscription_id
        if customer is None:
            customer = stripe_gateway.create_customer(client, tenant_id=tenant_id, name=name)
            _record(tenant_id, stripe_customer_id=customer, only_if_null="stripe_customer_id")
        if plan.is_paid and subscription is None:
            subscription = stripe_gateway.create_subscription(
                client,
                tenant_id=tenant_id,
                customer_id=customer,
                plan=plan,
                plan_version=version,
                trial_days=config.billing_trial_days,
                api_base=base,
            )
            _record(
                tenant_id,
                stripe_subscription_id=subscription,
                only_if_null="stripe_subscription_id",
            )
        elif plan.is_paid:
            stripe_gateway.change_subscription_plan(
                client,
                tenant_id=tenant_id,
                subscription_id=subscription,
                plan=plan,
                plan_version=version,
                api_base=base,
            )
        elif subscription is not None:
            stripe_gateway.cancel_subscription(client, subscription_id=subscription)
            _record(tenant_id, stripe_subscription_id=None, only_if=subscription)
            subscription = None
        with unit_of_work(tenant_id=tenant_id) as uow:
            if account_of(uow.session, tenant_id).plan_version == version:
                return {"customer": customer, "subscription": subscription, "plan": plan.code}
    log.warning("billing sync for %s gave up after %d rounds of plan changes", tenant_id, rounds)
    return {"customer": customer, "subscription": subscription, "plan": plan.code}


def _record(
    tenant_id: str, *, only_if_null: str | None = None, only_if: str | None = None, **values
):
    """Store what Stripe answered, unless another job got there first."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        statement = update(BillingAccount).where(BillingAccount.tenant_id == tenant_id)
        if only_if_null is not None:
            statement = statement.where(getattr(BillingAccount, only_if_null).is_(None))
        if only_if is not None:
            statement = statement.where(BillingAccount.stripe_subscription_id == only_if)
        uow.session.execute(statement.values(updated=clock.now(), **values))
        uow.commit()


# --- Stripe's webhooks ---------------------------------------------------------------------


def handle_stripe_webhook(payload: bytes, signature_header: str | None) -> dict:
    """Verify, deduplicate and apply one Stripe event (to another area's objects when a
    registered handler takes it, else to billing accounts). Raises BadRequest when
    webhooks are not configured, InvalidSignature for a forged, altered or stale
    delivery."""
    config = settings()
    if not config.stripe_webhook_secret:
        raise BadRequest(
            "Stripe webhooks are not configured (JIFEN_STRIPE_WEBHOOK_SECRET).",
            code="stripe_webhooks_not_configured",
        )
    verify_signature(payload, signature_header, config.stripe_webhook_secret, now=clock.now())
    notice = parse_event(payload)
    grace = timedelta(days=config.billing_grace_days)
    with unit_of_work(platform=True) as uow:
        session = uow.session
        if session.get(StripeEvent, notice.id) is not None:
            return {"received": True, "event": notice.id, "outcome": "duplicate"}
        handled = None
        for handler in event_handlers():
            handled = handler(uow, json.loads(payload))
            if handled is not None:
                break
        if handled is not None:
            outcome, tenant_id = handled.outcome, handled.tenant_id
        else:
            account = None
            if notice.occurrence is not None and notice.customer is not None:
                account = session.scalar(
                    select(BillingAccount)
                    .where(BillingAccount.stripe_customer_id == notice.customer)
                    .with_for_update()
                )
            outcome = _apply_notice(account, notice, grace)
            tenant_id = account.tenant_id if account else None
        session.add(
            StripeEvent(id=notice.id, type=notice.type, tenant_id=tenant_id, outcome=outcome)
        )
        try:
            uow.commit()
        except IntegrityError as error:
            if not is_unique_violation(error):
                raise
            return {"received": True, "event": notice.id, "outcome": "duplicate"}
    log.info("stripe event %s (%s): %s", notice.id, notice.type, outcome)
    return {"received": True, "event": notice.id, "outcome": outcome}


def _apply_notice(account: BillingAccount | None, notice, grace: timedelta) -> str:
    occurrence = notice.occurrence
    if occurrence is None:
        return "ignored"
    if account is None:
        return "unknown_customer"
    if notice.subscription is None or notice.subscription != account.stripe_subscription_id:
        # Another subscription's event: one cancelled by a move to the free plan, or
        # one replaced since. It says nothing about the account's current standing.
        return "other_subscription"
    if occurrence is Occurrence.SUBSCRIPTION_DELETED and not get_plan(account.plan).is_paid:
        account.stripe_subscription_id = None  # our own cancellation, for the free plan
        return "plan_downgraded"
    before = _state(account)
    after = apply_occurrence(before, occurrence, event_at=notice.created, grace=grace)
    if after == before:
        return "unchanged"
    _store_state(account, after)
    if occurrence is Occurrence.SUBSCRIPTION_DELETED:
        account.stripe_subscription_id = None
    return "applied"


# --- periodic work ----------------------------------------------------------------------------


def end_grace_periods() -> dict:
    """Past-due accounts whose grace period is over become read-only."""
    now = clock.now()
    with unit_of_work(platform=True) as uow:
        due = uow.session.scalars(
            select(BillingAccount)
            .where(BillingAccount.status == Status.PAST_DUE.value)
            .where(BillingAccount.grace_until <= now)
            .with_for_update()
        ).all()
        for account in due:
            _store_state(account, end_grace(_state(account), now=now))
        uow.commit()
    return {"read_only": len(due)}


def report_usage(month: str) -> dict:
    """Count ``month``'s active members per tenant, keep one report per tenant and month,
    and bill those of paid plans on Stripe (once: the report remembers its invoice item)."""
    with unit_of_work(platform=True) as uow:
        session = uow.session
        counts = usage.count_active_members(session, usage.ledger_activity(session), month)
        accounts = session.scalars(select(BillingAccount)).all()
        known = set(
            session.scalars(select(UsageReport.tenant_id).where(UsageReport.month == month))
        )
        created = 0
        for account in accounts:
            if account.tenant_id in known:
                continue
            plan = get_plan(account.plan)
            active = counts.get(account.tenant_id, 0)
            session.add(
                UsageReport(
                    tenant_id=account.tenant_id,
                    month=month,
                    plan=plan.code,
                    active_members=active,
                    billable_members=plan.billable_active_members(active),
                    amount=plan.usage_amount(active),
                    currency=CURRENCY,
                )
            )
            created += 1
        try:
            uow.commit()
        except IntegrityError as error:  # another run made them meanwhile
            if not is_unique_violation(error):
                raise
            created = 0
    billed = _bill_usage(month)
    return {"month": month, "reports_created": created, "billed_on_stripe": billed}


def _bill_usage(month: str) -> int:
    client = stripe_gateway.client_for(settings())
    if client is None:
        return 0
    with unit_of_work(platform=True) as uow:
        pending = uow.session.execute(
            select(UsageReport, BillingAccount)
            .join(BillingAccount, BillingAccount.tenant_id == UsageReport.tenant_id)
            .where(UsageReport.month == month, UsageReport.reported_at.is_(None))
            .where(BillingAccount.stripe_subscription_id.is_not(None))
            .where(BillingAccount.stripe_customer_id.is_not(None))
        ).all()
    billed = 0
    for report, account in pending:
        if not get_plan(report.plan).is_paid:
            continue
        item = stripe_gateway.add_usage_item(
            client,
            tenant_id=report.tenant_id,
            customer_id=account.stripe_customer_id,
            subscription_id=account.stripe_subscription_id,
            month=month,
            active_members=report.active_members,
            billable_members=report.billable_members,
            amount=report.amount,
        )
        with unit_of_work(tenant_id=report.tenant_id) as uow:
            uow.session.execute(
                update(UsageReport)
                .where(UsageReport.id == report.id, UsageReport.reported_at.is_(None))
                .values(stripe_invoice_item_id=item, reported_at=clock.now())
            )
            uow.commit()
        billed += 1
    return billed
