"""Which lots a debit or an expiry takes points from: pure rules over open lots.

* Spending order: nearest expiry first, then the oldest lot; lots that never expire come
  last. Ties (same expiry, same second) fall back to the lot id so the order is total.
* Expiry: a lot whose ``expires_at`` has come (``expires_at <= now``) loses what remains,
  except for the points pending holds reserve. The wallet must keep ``balance >= held``,
  so at most ``balance - held`` points expire; the rest stay in the expired lots, a later
  capture consumes them first (they are nearest to expiry), and the next sweep after the
  hold is released takes what is left.

These functions read ``expires_at``, ``created``, ``id`` and ``remaining`` and change
nothing; ``postings.py`` applies their plans.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar


class LotLike(Protocol):
    id: str
    remaining: int
    expires_at: datetime | None
    created: datetime


L = TypeVar("L", bound=LotLike)
FAR_FUTURE = datetime.max


def spending_order(lot: LotLike) -> tuple:
    never = lot.expires_at is None
    expiry = FAR_FUTURE if never else _utc_naive(lot.expires_at)
    return (never, expiry, _utc_naive(lot.created), lot.id)


def take(
    lots: Iterable[L],
    points: int,
    *,
    dead: Mapping[str, int] | None = None,
    first: Collection[str] = (),
) -> list[tuple[L, int]]:
    """Take ``points`` from ``lots`` in spending order: ``[(lot, points taken), ...]``.

    ``dead`` maps lot ids to expired points that may no longer be spent (an expiry plan
    not yet applied by the sweep); lots whose ids are in ``first`` are taken before all
    others (a reversal takes back the lots its original opened).

    Raises ValueError when the lots hold fewer live points: callers check the wallet's
    available points first.
    """
    dead = dead or {}
    plan: list[tuple[L, int]] = []
    needed = points
    for lot in sorted(lots, key=lambda lot: (lot.id not in first, *spending_order(lot))):
        live = lot.remaining - dead.get(lot.id, 0)
        if needed == 0:
            break
        if live <= 0:
            continue
        taken = min(live, needed)
        plan.append((lot, taken))
        needed -= taken
    if needed:
        raise ValueError(f"lots are {needed} points short")
    return plan


def due(lots: Iterable[L], *, now: datetime) -> list[L]:
    return [lot for lot in lots if lot.expires_at is not None and lot.expires_at <= now]


def expiry_plan(
    lots: Sequence[L], *, balance: int, held: int, now: datetime
) -> list[tuple[L, int]]:
    """What expires now in one wallet: due lots in spending order, up to ``balance - held``."""
    due_lots = [lot for lot in due(lots, now=now) if lot.remaining > 0]
    expirable = min(sum(lot.remaining for lot in due_lots), max(balance - held, 0))
    return take(due_lots, expirable) if expirable else []


def expiring(
    lots: Iterable[L], *, after: dict[str, int] | None = None
) -> list[tuple[int, datetime]]:
    """``[(points, expires_at)]`` per expiry date, soonest first, of lots that expire.

    ``after`` maps lot ids to points about to be taken from them (an expiry plan not yet
    applied), so a balance can be shown as it will be once the sweep has run.
    """
    taken = after or {}
    totals: dict[datetime, int] = {}
    for lot in lots:
        left = lot.remaining - taken.get(lot.id, 0)
        if lot.expires_at is not None and left > 0:
            totals[lot.expires_at] = totals.get(lot.expires_at, 0) + left
    return [(points, moment) for moment, points in sorted(totals.items())]


def _utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
