"""Settlement use cases: settings, closing a batch, reading batches and statements,
approving. Money movement (pay, mark paid, reconcile) is in ``payments.py``.

Closing a batch is one transaction:

1. take the close lock (PostgreSQL: an advisory lock; SQLite: ``BEGIN IMMEDIATE`` already
   serializes writers) and read the newest batch; the cut-off must not lie in the future
   nor before the newest batch's (the same cut-off again returns that batch: a rerun);
2. insert the batch, then freeze every clearing record created before the cut-off that no
   batch holds yet with one ``INSERT ... SELECT`` into ``settlement_batch_records`` (keyed
   by the record, so no record is settled twice). Records that commit late, with a time
   before an earlier cut-off, are picked up here too: they go to the next batch, never
   into a closed one;
3. sum the frozen records per (payer, payee) with one ``GROUP BY`` in the database, net
   them in Python (``netting.net``, at most tenants² rows), check the zero sum and store
   one position per tenant.

Nothing is loaded record by record, so the cost stays in the database however large the
window. A crash anywhere rolls the whole close back; running it again starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy import String, exists, func, insert, literal, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jifen.exchange.clearing import ClearingRecord
from jifen.platform import clock
from jifen.platform.db import UnitOfWork, run_in_transaction, unit_of_work
from jifen.platform.errors import Conflict, Forbidden, NotFound, Unprocessable
from jifen.platform.http import cursor_page
from jifen.platform.webhooks.events import emit

from . import netting
from .model import BatchRecord, BatchStatus, Position, SettlementBatch, SettlementSettings

CUTOFF_ZONE = ZoneInfo("Asia/Shanghai")
CUTOFF_TIME = time(0, 0)  # daily, local to CUTOFF_ZONE
FIRST_WINDOW_START = datetime(1970, 1, 1, tzinfo=UTC)  # the first batch takes all history
CLOSE_LOCK = 0x4A4946454E5354  # PostgreSQL advisory lock key for closing batches
JOB_CALLER = "job:settlement"


@dataclass(frozen=True)
class Settings:
    currency: str
    spu_value_micro: int  # millionths of a minor unit per SPU
    version: int = 0


DEFAULT_SETTINGS = Settings(currency="CNY", spu_value_micro=1_000_000)  # 1 SPU = 0.01 CNY


# --- settings ---------------------------------------------------------------------------


def current_settings(session: Session) -> Settings:
    row = session.scalar(select(SettlementSettings).order_by(SettlementSettings.version.desc()))
    if row is None:
        return DEFAULT_SETTINGS
    return Settings(row.currency, row.spu_value_micro, row.version)


def get_settings() -> Settings:
    with unit_of_work(platform=True) as uow:
        return current_settings(uow.session)


def parse_spu_value(value: str) -> int:
    """``"1.5"`` minor units per SPU -> 1_500_000. Raises Unprocessable for anything but
    a positive decimal string with at most six places."""
    try:
        micro = Decimal(value) * 1_000_000
    except (InvalidOperation, TypeError):
        micro = Decimal(-1)
    if not micro.is_finite() or micro <= 0 or micro != micro.to_integral_value():
        raise Unprocessable(
            "spu_value must be a positive decimal string with at most 6 places.",
            param="spu_value",
        )
    return int(micro)


def put_settings(caller_id: str, *, currency: str, spu_value: str) -> Settings:
    """A new version of the settings; batches already closed keep the values they froze.
    Raises Unprocessable for a bad currency or value."""
    if len(currency) != 3 or not currency.isalpha():
        raise Unprocessable("currency must be a three-letter ISO 4217 code.", param="currency")
    value = parse_spu_value(spu_value)

    def attempt() -> Settings:
        with unit_of_work(platform=True) as uow:
            version = current_settings(uow.session).version + 1
            uow.session.add(
                SettlementSettings(
                    version=version,
                    currency=currency.upper(),
                    spu_value_micro=value,
                    created_by=caller_id,
                )
            )
            settings = Settings(currency.upper(), value, version)
            uow.commit(settings)
            return settings

    return run_in_transaction(attempt)


# --- cut-offs -----------------------------------------------------------------------------


def default_cutoff(now: datetime) -> datetime:
    """The latest daily cut-off (00:00 Asia/Shanghai) at or before ``now``, in UTC."""
    local = now.astimezone(CUTOFF_ZONE)
    cutoff = datetime.combine(local.date(), CUTOFF_TIME, tzinfo=CUTOFF_ZONE)
    if cutoff > local:
        cutoff -= timedelta(days=1)
    return cutoff.astimezone(UTC)


# --- closing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Closed:
    batch: SettlementBatch
    positions: list[Position]
    created: bool  # False: this cut-off was closed before, and this is that batch


def close_batch(closed_by: str, cutoff: datetime | None = None) -> Closed:
    """Close the batch that ends at ``cutoff`` (default: the latest daily cut-off).

    Raises Unprocessable (``cutoff_in_future``, ``cutoff_before_last``) for a cut-off
    after now or before the newest batch's; Conflict if another close won a race.
    """
    now = clock.now()
    cutoff = (cutoff or default_cutoff(now)).astimezone(UTC)
    if cutoff > now:
        raise Unprocessable(
            "The cut-off lies in the future.", code="cutoff_in_future", param="cutoff"
        )

    def attempt() -> Closed:
        with unit_of_work(platform=True) as uow:
            _take_close_lock(uow)
            last = _newest_batch(uow.session)
            if last is not None and cutoff == last.cutoff:
                return Closed(last, _positions(uow.session, last.id), created=False)
            if last is not None and cutoff < last.cutoff:
                raise Unprocessable(
                    f"The cut-off lies before the last batch's ({clock.iso(last.cutoff)}).",
                    code="cutoff_before_last",
                    param="cutoff",
                )
            closed = _close(uow, last, cutoff, closed_by)
            try:
                uow.commit(closed)
            except IntegrityError:
                raise Conflict(
                    "Another close of this window won; read the batches again.",
                    code="batch_exists",
                ) from None
            return closed

    return run_in_transaction(attempt)


def close_due(closed_by: str) -> Closed:
    """Close up to the latest daily cut-off, unless a batch already reaches that far (then
    return the newest batch, unchanged): what the periodic job runs."""
    try:
        return close_batch(closed_by, default_cutoff(clock.now()))
    except Unprocessable as error:
        if error.code != "cutoff_before_last":
            raise
    with unit_of_work(platform=True) as uow:
        last = _newest_batch(uow.session)
        return Closed(last, _positions(uow.session, last.id), created=False)


def _take_close_lock(uow: UnitOfWork) -> None:
    if uow.session.get_bind().dialect.name == "postgresql":
        uow.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLOSE_LOCK})


def _newest_batch(session: Session) -> SettlementBatch | None:
    return session.scalar(select(SettlementBatch).order_by(SettlementBatch.sequence.desc()))


def _close(
    uow: UnitOfWork, last: SettlementBatch | None, cutoff: datetime, closed_by: str
) -> Closed:
    session = uow.session
    settings = current_settings(session)
    batch = SettlementBatch(
        sequence=(last.sequence + 1) if last else 1,
        window_start=last.cutoff if last else FIRST_WINDOW_START,
        cutoff=cutoff,
        status=BatchStatus.CLOSED.value,
        currency=settings.currency,
        spu_value_micro=settings.spu_value_micro,
        closed_by=closed_by,
    )
    session.add(batch)
    session.flush()
    freeze(session, batch.id, cutoff)
    result = netting.net(pair_totals(session, batch.id), settings.spu_value_micro)
    batch.record_count = result.record_count
    batch.platform_fees = result.platform_fees
    batch.platform_fees_spu = result.platform_fees_spu
    batch.rounding = result.rounding
    positions = [
        Position(
            tenant_id=p.tenant,
            batch_id=batch.id,
            currency=settings.currency,
            receivable=p.receivable,
            payable=p.payable,
            fees=p.fees,
            net=p.net,
            receivable_spu=p.receivable_spu,
            payable_spu=p.payable_spu,
            fees_spu=p.fees_spu,
            net_spu=p.net_spu,
            record_count=p.record_count,
        )
        for p in result.positions
    ]
    session.add_all(positions)
    session.flush()
    for position in positions:
        emit(
            uow,
            tenant_id=position.tenant_id,
            type="settlement.batch.closed",
            data={"batch": batch_summary(batch), "position": position_data(position)},
        )
    return Closed(batch, positions, created=True)


def freeze(session: Session, batch_id: str, cutoff: datetime) -> None:
    """Link every clearing record before ``cutoff`` that no batch holds to ``batch_id``."""
    held = exists().where(BatchRecord.clearing_record_id == ClearingRecord.id)
    session.execute(
        insert(BatchRecord).from_select(
            ["clearing_record_id", "batch_id"],
            select(ClearingRecord.id, literal(batch_id, String(32))).where(
                ClearingRecord.created < cutoff, ~held
            ),
        )
    )


def pair_totals(session: Session, batch_id: str) -> list[netting.PairTotal]:
    """What each payer owes each payee in ``batch_id``: one GROUP BY in the database."""
    rows = session.execute(
        select(
            ClearingRecord.payer_tenant_id,
            ClearingRecord.payee_tenant_id,
            func.sum(ClearingRecord.amount_spu),
            func.sum(ClearingRecord.fee_spu + ClearingRecord.rounding_spu),
            func.count(),
        )
        .join(BatchRecord, BatchRecord.clearing_record_id == ClearingRecord.id)
        .where(BatchRecord.batch_id == batch_id)
        .group_by(ClearingRecord.payer_tenant_id, ClearingRecord.payee_tenant_id)
    ).all()
    return [
        netting.PairTotal(payer, payee, int(amount), int(fees), int(count))
        for payer, payee, amount, fees, count in rows
    ]


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchView:
    batch: SettlementBatch
    positions: list[Position]


def list_batches(args: dict) -> dict:
    with unit_of_work(platform=True) as uow:
        page = cursor_page(uow.session, select(SettlementBatch), SettlementBatch, args)
        page["data"] = [BatchView(b, _positions(uow.session, b.id)) for b in page["data"]]
        return page


def get_batch(batch_id: str) -> BatchView:
    """Raises NotFound for an unknown id."""
    with unit_of_work(platform=True) as uow:
        batch = load_batch(uow.session, batch_id)
        return BatchView(batch, _positions(uow.session, batch.id))


def load_batch(session: Session, batch_id: str, *, lock: bool = False) -> SettlementBatch:
    query = select(SettlementBatch).where(SettlementBatch.id == batch_id)
    batch = session.scalar(query.with_for_update() if lock else query)
    if batch is None:
        raise NotFound(f"No such settlement batch: {batch_id}", param="batch_id")
    return batch


def _positions(session: Session, batch_id: str) -> list[Position]:
    return list(
        session.scalars(
            select(Position).where(Position.batch_id == batch_id).order_by(Position.tenant_id)
        )
    )


def list_statements(tenant_id: str, args: dict) -> dict:
    """The tenant's own positions, newest first, each with its batch's window."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        statement = select(Position)
        if args.get("batch"):
            statement = statement.where(Position.batch_id == args["batch"])
        page = cursor_page(uow.session, statement, Position, args)
        batches = {
            b.id: b
            for b in uow.session.scalars(
                select(SettlementBatch).where(
                    SettlementBatch.id.in_({p.batch_id for p in page["data"]})
                )
            )
        }
        page["data"] = [(p, batches[p.batch_id]) for p in page["data"]]
        return page


# --- approval -----------------------------------------------------------------------------


def approve_batch(batch_id: str, approver: str) -> BatchView:
    """closed -> approved, by someone other than who closed it.

    Raises NotFound; Forbidden (``self_approval``) for the closer; Conflict
    (``invalid_state``) unless the batch is closed (approving twice returns it as is).
    """

    def attempt() -> BatchView:
        with unit_of_work(platform=True) as uow:
            batch = load_batch(uow.session, batch_id, lock=True)
            if batch.closed_by == approver:
                raise Forbidden(
                    "A batch must be approved by someone other than who closed it.",
                    code="self_approval",
                )
            if batch.status != BatchStatus.CLOSED.value:
                if batch.approved_by is not None:
                    return BatchView(batch, _positions(uow.session, batch.id))
                raise Conflict(f"The batch is {batch.status}.", code="invalid_state")
            batch.status = BatchStatus.APPROVED.value
            batch.approved_by = approver
            batch.approved_at = clock.now()
            view = BatchView(batch, _positions(uow.session, batch.id))
            uow.commit(view)
            return view

    return run_in_transaction(attempt)


# --- event payloads -----------------------------------------------------------------------


def batch_summary(batch: SettlementBatch) -> dict:
    return {
        "id": batch.id,
        "status": batch.status,
        "window_start": clock.iso(batch.window_start),
        "cutoff": clock.iso(batch.cutoff),
        "currency": batch.currency,
    }


def position_data(position: Position) -> dict:
    return {
        "tenant": position.tenant_id,
        "receivable": position.receivable,
        "payable": position.payable,
        "fees": position.fees,
        "net": position.net,
        "currency": position.currency,
    }
