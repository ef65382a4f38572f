"""Billing's periodic work: ending grace periods and reporting last month's active
members. Each is idempotent. (Keeping Stripe in step with an account is enqueued by
``services`` itself, after the commit that changed the account.)"""

from __future__ import annotations

from jifen.platform import clock
from jifen.platform.jobs import periodic

from . import services, usage


@periodic("billing-grace", cron="*/15 * * * *")
def end_grace_periods() -> dict:
    """Make past-due accounts whose grace period is over read-only."""
    return services.end_grace_periods()


@periodic("billing-usage", cron="30 0 * * *")
def report_last_month() -> dict:
    """Report last month's active members per tenant (once per tenant and month)."""
    return services.report_usage(usage.previous_month(clock.now()))
