"""Expiry reminders at 30, 7 and 1 days before, each once per lot and threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jifen.tenants.program.reminders import ReminderDue, reminder_due
from jifen.tenants.program.rules import default_program

PROGRAM = default_program()  # reminders 30, 7, 1 days before
EXPIRES = datetime(2027, 10, 31, 16, 0, tzinfo=UTC)


def before(days: float) -> datetime:
    return EXPIRES - timedelta(days=days)


@pytest.mark.parametrize(
    ("now", "sent", "remaining", "expected"),
    [
        (before(31), set(), 100, None),  # more than 30 days out: nothing yet
        (before(30), set(), 100, ReminderDue(30)),  # exactly 30 days before
        (before(29), {30}, 100, None),  # the 30-day one went out already
        (before(7), {30}, 100, ReminderDue(7)),
        (before(0.5), {30, 7}, 100, ReminderDue(1)),
        (before(0.5), {30, 7, 1}, 100, None),  # every threshold sent
        (before(6), set(), 100, ReminderDue(7, skipped=(30,))),  # late job: nearest only
        (before(0.5), set(), 100, ReminderDue(1, skipped=(30, 7))),
        (before(5), set(), 0, None),  # nothing left in the lot
        (EXPIRES, set(), 100, None),  # already expired
    ],
)
def test_reminder_due(now, sent, remaining, expected):
    assert reminder_due(PROGRAM, EXPIRES, remaining, sent, now) == expected


def test_points_that_never_expire_get_no_reminder():
    assert reminder_due(PROGRAM, None, 100, set(), before(1)) is None
