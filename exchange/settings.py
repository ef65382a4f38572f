"""Exchange settings per currency, the platform's fee schedule, and the published rates.

A tenant opts its currency into the exchange with ``PUT /v1/exchange/settings``: an SPU
rate, the inbound (swaps into it), outbound (swaps out of it) and acceptance (other
merchants may redeem it) switches, the smallest swap (``minimum``) and step
(``increment``) in its points, and ``daily_inbound_cap``: how many of its points swaps may
issue per local day, the liability it is willing to take on. A currency without settings
is not in the exchange at all.

The fee schedule belongs to the platform operator. Each change is a new version; the
newest is in force, and until the operator sets one ``DEFAULT_FEES`` applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jifen.platform import clock
from jifen.platform.billing.limits import check_feature
from jifen.platform.cache import ProcessCache
from jifen.platform.db import unit_of_work
from jifen.platform.errors import Conflict, NotFound, Unprocessable
from jifen.platform.ids import new_id
from jifen.tenants.model import Currency

from . import pricing
from .model import ExchangeSettings, FeeScheduleVersion

DEFAULT_FEES = pricing.FeeSchedule(
    swap=pricing.Fee(bps=100), acceptance=pricing.Fee(bps=150), card_daily_limit=None
)
SETTINGS_FIELDS = (
    "spu_rate",
    "inbound",
    "outbound",
    "acceptance",
    "minimum",
    "increment",
    "daily_inbound_cap",
)


# --- settings -------------------------------------------------------------------------


def get_settings(tenant_id: str) -> ExchangeSettings:
    """The caller's settings. Raises NotFound (``exchange_not_configured``) when never set."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        row = uow.session.scalar(select(ExchangeSettings))
        if row is None:
            raise NotFound(
                "This currency has not joined the exchange; PUT /v1/exchange/settings.",
                code="exchange_not_configured",
            )
        return row


def put_settings(tenant_id: str, changes: dict[str, Any]) -> ExchangeSettings:
    """Set the caller's currency's exchange settings; fields left out keep their value
    (on the first call: switches off, minimum and increment 1, no cap).

    Raises Unprocessable when the first call gives no ``spu_rate`` or a value is bad, and
    PlanLimit (403 ``plan_limit``) when switching anything on under a plan without the
    exchange.
    """
    with unit_of_work(tenant_id=tenant_id) as uow:
        session = uow.session
        row = session.scalar(select(ExchangeSettings))
        now = clock.now()
        if row is None:
            if "spu_rate" not in changes:
                raise Unprocessable("spu_rate is required to join the exchange.", param="spu_rate")
            code = session.scalar(select(Currency.code).where(Currency.tenant_id == tenant_id))
            row = ExchangeSettings(
                tenant_id=tenant_id,
                currency=code,
                inbound=False,
                outbound=False,
                acceptance=False,
                minimum=1,
                increment=1,
                daily_inbound_cap=None,
                created=now,
            )
            session.add(row)
        for name in SETTINGS_FIELDS:
            if name in changes:
                setattr(row, name, changes[name])
        row.updated = now
        if row.inbound or row.outbound or row.acceptance:
            check_feature(session, tenant_id, "exchange")
        try:
            uow.commit(row)
        except IntegrityError:
            raise Conflict("The settings were created meanwhile; retry.") from None
        return row


@dataclass(frozen=True)
class Rate:
    currency: str
    spu_rate: int
    inbound: bool
    outbound: bool
    acceptance: bool
    minimum: int
    increment: int


def list_rates() -> list[Rate]:
    """Every currency in the exchange with its rate and switches, by currency code.

    Rates are public to every exchange participant, so this reads across tenants (a
    platform unit of work) and returns only what ``GET /v1/exchange/rates`` shows.
    """
    with unit_of_work(platform=True) as uow:
        rows = uow.session.scalars(select(ExchangeSettings).order_by(ExchangeSettings.currency))
        return [
            Rate(
                r.currency, r.spu_rate, r.inbound, r.outbound, r.acceptance, r.minimum, r.increment
            )
            for r in rows
        ]


def settings_for(session: Session, code: str) -> ExchangeSettings | None:
    """The settings of currency ``code`` (any tenant's: call it in a platform unit of
    work), or None when it is not in the exchange."""
    return session.scalar(select(ExchangeSettings).where(ExchangeSettings.currency == code))


# --- the fee schedule -----------------------------------------------------------------


@dataclass(frozen=True)
class FeeScheduleView:
    id: str | None
    version: int
    schedule: pricing.FeeSchedule
    created: Any
    created_by: str | None


def fee_schedule(session: Session) -> FeeScheduleView:
    """The schedule in force (in a platform unit of work)."""
    session.flush()  # a version this transaction stored counts
    return fee_schedule_version(session, session.connection().scalar(select(latest_fee_schedule())))


def latest_fee_schedule() -> Any:
    """The id of the schedule in force, as a scalar subquery (None: ``DEFAULT_FEES``)."""
    return (
        select(FeeScheduleVersion.id)
        .order_by(FeeScheduleVersion.version.desc())
        .limit(1)
        .scalar_subquery()
    )


# A stored version never changes, so each process keeps the ones it has read, by id.
_fee_schedules: ProcessCache[str, FeeScheduleView] = ProcessCache(size=256)


def fee_schedule_version(session: Session, schedule_id: str | None) -> FeeScheduleView:
    """The schedule version ``schedule_id`` (None: the default, before any was set)."""
    if schedule_id is None:
        return FeeScheduleView(None, 0, DEFAULT_FEES, None, None)
    known = _fee_schedules.get(schedule_id)
    if known is not None:
        return known
    row = (
        session.connection()
        .execute(select(FeeScheduleVersion.__table__).where(FeeScheduleVersion.id == schedule_id))
        .one()
    )
    schedule = pricing.FeeSchedule(
        swap=pricing.Fee(row.swap_fee_bps, row.swap_fee_fixed, row.swap_fee_cap),
        acceptance=pricing.Fee(
            row.acceptance_fee_bps, row.acceptance_fee_fixed, row.acceptance_fee_cap
        ),
        card_daily_limit=row.card_daily_limit,
    )
    view = FeeScheduleView(row.id, row.version, schedule, row.created, row.created_by)
    _fee_schedules.put(schedule_id, view)
    return view


def get_fee_schedule() -> FeeScheduleView:
    with unit_of_work(platform=True) as uow:
        return fee_schedule(uow.session)


def put_fee_schedule(changed_by: str, changes: dict[str, Any]) -> FeeScheduleView:
    """A new schedule version: fields left out keep the current value.

    ``changes`` holds ``swap`` / ``acceptance`` (``{"bps", "fixed", "cap"}``, µSPU) and
    ``card_daily_limit`` (µSPU or None). Raises Unprocessable for a bad fee.
    """
    with unit_of_work(platform=True) as uow:
        in_force = fee_schedule(uow.session)
        current = in_force.schedule
        try:
            swap = _merged(current.swap, changes.get("swap"))
            acceptance = _merged(current.acceptance, changes.get("acceptance"))
        except pricing.PricingError as error:
            raise Unprocessable(f"Bad fee: {error}.", param="swap") from None
        limit = changes.get("card_daily_limit", current.card_daily_limit)
        row = FeeScheduleVersion(
            id=new_id("fee"),
            version=in_force.version + 1,
            swap_fee_bps=swap.bps,
            swap_fee_fixed=swap.fixed,
            swap_fee_cap=swap.cap,
            acceptance_fee_bps=acceptance.bps,
            acceptance_fee_fixed=acceptance.fixed,
            acceptance_fee_cap=acceptance.cap,
            card_daily_limit=limit,
            created_by=changed_by,
            created=clock.now(),
        )
        uow.session.add(row)
        view = FeeScheduleView(
            row.id,
            row.version,
            pricing.FeeSchedule(swap, acceptance, limit),
            row.created,
            changed_by,
        )
        try:
            uow.commit(view)
        except IntegrityError:
            raise Conflict("The fee schedule changed meanwhile; retry.") from None
        return view


def _merged(fee: pricing.Fee, changes: dict | None) -> pricing.Fee:
    if not changes:
        return fee
    return pricing.Fee(
        bps=changes.get("bps", fee.bps),
        fixed=changes.get("fixed", fee.fixed),
        cap=changes.get("cap", fee.cap),
    )


def spu_rate_of(session: Session, code: str) -> int | None:
    """The current SPU rate of ``code`` (µSPU per point); None if it is not in the
    exchange. The app's source of rates (``jifen.platform.clearing.install_spu_rates``)."""
    settings = settings_for(session, code)
    return settings.spu_rate if settings is not None else None
