"""The billing account's state machine, as pure functions of the state, the event and
the clock.

    active --payment failed--> past_due (grace period) --grace ends--> read_only
    past_due / read_only --invoice paid--> active
    any --subscription deleted--> cancelled

``read_only`` and ``cancelled`` both refuse writes; reads keep working. Stripe delivers
events at least once and in any order: an event created before the one that last changed
the status is stale and changes nothing, and a repeated payment failure never extends
the grace period it started.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta


class Status(enum.StrEnum):
    ACTIVE = "active"
    PAST_DUE = "past_due"
    READ_ONLY = "read_only"
    CANCELLED = "cancelled"


WRITES_REFUSED = frozenset({Status.READ_ONLY, Status.CANCELLED})


class Occurrence(enum.StrEnum):
    """What a Stripe event means for the account."""

    INVOICE_PAID = "invoice_paid"
    PAYMENT_FAILED = "payment_failed"
    SUBSCRIPTION_DELETED = "subscription_deleted"


@dataclass(frozen=True)
class BillingState:
    status: Status
    grace_until: datetime | None = None
    status_event_at: datetime | None = None  # when the last applied event was created

    @property
    def allows_writes(self) -> bool:
        return self.status not in WRITES_REFUSED


def apply_occurrence(
    state: BillingState, occurrence: Occurrence, *, event_at: datetime, grace: timedelta
) -> BillingState:
    """The state after a Stripe event created at ``event_at``; unchanged if it is stale."""
    if state.status_event_at is not None and event_at < state.status_event_at:
        return state
    if occurrence is Occurrence.SUBSCRIPTION_DELETED:
        return BillingState(Status.CANCELLED, None, event_at)
    if state.status is Status.CANCELLED:
        return state  # a dead subscription's invoices do not revive the account
    if occurrence is Occurrence.INVOICE_PAID:
        return BillingState(Status.ACTIVE, None, event_at)
    if occurrence is Occurrence.PAYMENT_FAILED:
        if state.status is Status.ACTIVE:
            return BillingState(Status.PAST_DUE, event_at + grace, event_at)
        return replace(state, status_event_at=event_at)  # grace already running, or over
    raise ValueError(f"unknown occurrence {occurrence!r}")


def end_grace(state: BillingState, *, now: datetime) -> BillingState:
    """A past-due account whose grace period is over becomes read-only."""
    if state.status is Status.PAST_DUE and state.grace_until is not None:
        if state.grace_until <= now:
            return replace(state, status=Status.READ_ONLY)
    return state


def after_plan_change(state: BillingState, *, to_paid_plan: bool) -> BillingState:
    """Choosing a plan again: the free plan owes nothing, so its account is active; a new
    subscription reopens a cancelled account. An unpaid paid plan stays where it is."""
    if not to_paid_plan or state.status is Status.CANCELLED:
        return BillingState(Status.ACTIVE, None, state.status_event_at)
    return state
