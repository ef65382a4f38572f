"""The program's expiry policy: when points earned at a given instant stop being valid
(pure).

``expiry_policy(program, time_zone)`` returns a ledger ``ExpiryPolicy``
(``jifen.platform.ledger.expiry``): whoever credits a wallet asks it for the lot's
``expires_at``. The ledger's policies do ``never``, ``rolling`` (N months per lot),
``fixed_date`` (a yearly clear date) and ``period_end`` (end of month/quarter/year plus
whole grace months). This module adds the one the ledger lacks, ``period_end_grace``:
points of calendar year Y stay usable through a grace day of Y+1 (``grace_month: 2,
grace_day: 15``: until the end of 15 February Y+1).

The instant, for every policy: ``expires_at`` is the first instant the points are no
longer valid, the local midnight that ends the last valid day in the tenant's time zone.
Fixed date 31 October in Asia/Shanghai: points earned 2026-11-01 are valid through
2027-10-31 and expire at 2027-11-01 00:00 +08:00, i.e. ``2027-10-31T16:00:00Z``. Points
earned on a clear date itself survive until the next one. 29 February means the 28th in
other years.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from jifen.platform.ledger.expiry import ExpiryPolicy, FixedDate, Never, PeriodEnd, Rolling

from .earning import DEFAULT_TIME_ZONE, local_day, zone
from .rules import Program


@dataclass(frozen=True)
class PeriodEndGrace:
    """Points of calendar year Y are valid through ``grace_month``/``grace_day`` of Y+1."""

    grace_month: int
    grace_day: int
    time_zone: str = DEFAULT_TIME_ZONE

    def expires_at(self, earned_at: datetime) -> datetime:
        year = local_day(earned_at, self.time_zone).year + 1
        last_day = calendar.monthrange(year, self.grace_month)[1]
        last_valid = date(year, self.grace_month, min(self.grace_day, last_day))
        midnight = datetime.combine(last_valid + timedelta(days=1), time(), zone(self.time_zone))
        return midnight.astimezone(UTC)


POLICIES: dict[str, type] = {
    "never": Never,
    "rolling": Rolling,
    "fixed_date": FixedDate,
    "period_end": PeriodEnd,
    "period_end_grace": PeriodEndGrace,
}


def expiry_policy(program: Program, time_zone: str = DEFAULT_TIME_ZONE) -> ExpiryPolicy:
    """The policy lots earned under ``program`` follow, read in ``time_zone``."""
    return POLICIES[program.expiry.policy](**program.expiry.params, time_zone=time_zone)


def expires_at(program: Program, earned_at: datetime, time_zone: str) -> datetime | None:
    """When points earned at ``earned_at`` expire (None: never)."""
    return expiry_policy(program, time_zone).expires_at(earned_at)
