"""The members' periodic jobs, by the program's rules (``platform.jobs`` registry;
``POST /v1/platform/jobs`` runs them now):

* ``tiers`` at 00:30 Asia/Shanghai: evaluate every member's tier over the program's
  window; upgrades at once, downgrades only when a review period has ended
  (``tenants.members.tiering``);
* ``reminders`` at 09:00 Asia/Shanghai: ``points.expiring`` for lots about to expire,
  once per lot and threshold (``tenants.members.expiring``).

Both are idempotent: a second run at the same moment changes nothing.
"""

from __future__ import annotations

from jifen.platform.jobs import periodic

from .expiring import send_all_reminders
from .tiering import review_all_tenants


@periodic("tiers", cron="30 16 * * *")
def tiers() -> dict:
    """Evaluate every member's tier; downgrade only at a review period's end."""
    return review_all_tenants()


@periodic("reminders", cron="0 1 * * *")
def reminders() -> dict:
    """Send points.expiring reminders (default 30, 7 and 1 days before), once each."""
    return send_all_reminders()
