"""Expiry reminders: which reminder is due for a lot, now (pure).

The program lists ``reminders.days_before`` (default 30, 7, 1). A reminder for a
threshold N is due once ``now`` is within N days of the lot's ``expires_at`` and the lot
still has points; each lot gets each threshold at most once (the job records what it
sent, keyed by lot and threshold). When a job runs late and several thresholds have
passed unsent, only the nearest one is sent (one message, the most urgent), and the
farther ones are reported as skipped so they are recorded and never sent afterwards.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from .rules import Program


@dataclass(frozen=True)
class ReminderDue:
    days_before: int  # the threshold to send now
    skipped: tuple[int, ...] = ()  # farther thresholds passed unsent: record, never send


def reminder_due(
    program: Program,
    expires_at: datetime | None,
    remaining: int,
    already_sent: Collection[int],
    now: datetime,
) -> ReminderDue | None:
    """The reminder to send for a lot expiring at ``expires_at`` (None: nothing due)."""
    if expires_at is None or remaining <= 0 or now >= expires_at:
        return None
    passed = [
        days
        for days in program.reminders  # largest first
        if now >= expires_at - timedelta(days=days) and days not in already_sent
    ]
    if not passed:
        return None
    nearest = min(passed)
    if any(days < nearest for days in already_sent):
        return None  # a nearer reminder already went out
    return ReminderDue(nearest, tuple(days for days in passed if days != nearest))
