"""Tier evaluation: which tier a member holds, given what they spent (or earned) over the
program's window (pure).

The ladder is ``program.tiers``, lowest first, with strictly increasing thresholds
(``min_spend`` in minor units, or ``min_points``). A member qualifies for the highest tier
whose threshold their measure reaches (none below the first tier).

* Upgrades take effect at once: an order that lifts the measure over a threshold lifts
  the tier with it.
* Downgrades happen only at the end of a review period (``tier_evaluation.review_period``:
  month, quarter or year), when the periodic ``tiers`` job calls with
  ``at_period_end=True``. Retention: a member who still qualifies keeps the tier; one who
  does not drops to the tier they still qualify for, but by at most
  ``max_drop_levels`` levels when the program sets it (gold → silver, not gold → none).
* A tier code the program no longer has counts as no tier.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from jifen.platform.ledger.expiry import add_months

from .earning import zone
from .rules import Program, Tier


def qualifying_tier(program: Program, measure: int) -> Tier | None:
    """The highest tier whose threshold ``measure`` reaches."""
    reached = [tier for tier in program.tiers if measure >= tier.threshold]
    return reached[-1] if reached else None


def evaluate_tier(
    program: Program, measure: int, current_tier: str | None, at_period_end: bool
) -> str | None:
    """The tier code the member holds after this evaluation (None: no tier).

    ``measure`` is the spend (minor units) or points over the window, per
    ``program.tier_evaluation.basis``.
    """
    codes = [tier.code for tier in program.tiers]
    current_rank = codes.index(current_tier) if current_tier in codes else -1
    qualified = qualifying_tier(program, measure)
    qualified_rank = codes.index(qualified.code) if qualified is not None else -1
    if qualified_rank > current_rank:
        return codes[qualified_rank]
    if qualified_rank == current_rank or not at_period_end:
        return current_tier if current_rank >= 0 or not at_period_end else None
    drop = program.tier_evaluation.max_drop_levels
    new_rank = qualified_rank if drop is None else max(qualified_rank, current_rank - drop)
    return codes[new_rank] if new_rank >= 0 else None


def window_start(program: Program, now: datetime, time_zone: str) -> datetime:
    """The first instant counted towards the tier at ``now``: local midnight
    ``window_months`` ago (the measure covers ``[window_start, now)``)."""
    today = now.astimezone(zone(time_zone)).date()
    start = add_months(today, -program.tier_evaluation.window_months)
    return datetime.combine(start, time(), zone(time_zone)).astimezone(UTC)


def review_period_start(program: Program, now: datetime, time_zone: str) -> date:
    """The first local day of the review period containing ``now``; the period ends (and
    downgrades happen) when the next one starts."""
    today = now.astimezone(zone(time_zone)).date()
    length = {"month": 1, "quarter": 3, "year": 12}[program.tier_evaluation.review_period]
    return date(today.year, (today.month - 1) // length * length + 1, 1)
