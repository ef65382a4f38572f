"""Settlement use cases: settings, closing a batch, reading batches and statements,
approving. Money movement (pay, mark paid, reconcile) is in ``payments.py``.

Closing a batch is one transaction:

1. take the close locks and read the newest batch; the cut-off must not lie in the future
   nor before the newest batch's (the same cut-off again returns that batch: a rerun).
   Without a cut-off (the latest daily one), a newest batch that already reaches that far
   is returned as it is: nothing new is due.
   PostgreSQL: ``LOCK TABLE clearing_records IN SHARE MODE`` first (it waits for every
   transaction that is inserting clearing records and holds new inserts back until the
   close commits, so every sequence number up to the maximum is committed and visible),
   then an advisory lock that serializes closes. SQLite: ``BEGIN IMMEDIATE`` already
   serializes writers;
2. freeze a range of clearing-record sequence numbers. The batch starts where the
   previous one ended (``records_after``) and ends (``records_through``) at the newest
   record created before the cut-off. It holds every record numbered
   ``(records_after, records_through]``: nothing is skipped, because the next range
   starts where this one ended. A record created before the cut-off but committed after
   the close gets a higher number and goes to the next batch (late items go to the next
   batch, never into a closed one). A record stamped at or after the cut-off but
   numbered below ``records_through`` (it raced the cut-off, or its server's clock ran
   ahead) goes into this batch rather than the next: a range has no holes, and stopping
   the range before such a record instead would let one record with a clock far ahead
   hold every later record back;
3. sum the records in the range per (payer, payee) with one ``GROUP BY`` in the database
   (an index range scan on ``sequence``), net them in Python (``netting.net``, at most
   tenants² rows), check the zero sum and store one position per tenant.

Freezing writes nothing per record: the cost is the aggregate, however large the window.
A crash anywhere rolls the whole close back; running it again starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jifen.platform import clock
from jifen.platform.clearing import ClearingRecord
from jifen.platform.db import UnitOfWork, run_in_transaction, unit_of_work
from jifen.platform.errors import Conflict, Forbidden, NotFound, Unprocessable
from jifen.platform.paging import cursor_page
from jifen.platform.webhooks.events import emit
from jifen.tenants.model import Tenant

from . import netting
from .model import BatchStatus, Collection, Position, SettlementBatch, SettlementSettings

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
    collection: str = Collection.PAYMENT_INTENT.value  # how Stripe collects from net payers


DEFAULT_SETTINGS = Settings(currency="CNY", spu_value_micro=1_000_000)  # 1 SPU = 0.01 CNY


# --- settings ---------------------------------------------------------------------------


def current_settings(session: Session) -> Settings:
    row = session.scalar(select(SettlementSettings).order_by(SettlementSettings.version.desc()))
    if row is None:
        return DEFAULT_SETTINGS
    return Settings(row.currency, row.spu_value_micro, row.version, row.collection)


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


def put_settings(
    caller_id: str, *, currency: str, spu_value: str, collection: str | None = None
) -> Settings:
    """A new version of the settings; batches already closed keep the values they froze,
    instructions already written keep their collection. ``collection`` None keeps the
    current one. Raises Unprocessable for a bad currency, value or collection."""
    if len(currency) != 3 or not currency.isalpha():
        raise Unprocessable("currency must be a three-letter ISO 4217 code.", param="currency")
    value = parse_spu_value(spu_value)
    if collection is not None and collection not in set(Collection):
        raise Unprocessable("collection must be payment_intent or invoice.", param="collection")

    def attempt() -> Settings:
        with unit_of_work(platform=True) as uow:
            current = current_settings(uow.session)
            version = current.version + 1
            chosen = collection or current.collection
            uow.session.add(
                SettlementSettings(
                    version=version,
                    currency=currency.upper(),
                    spu_value_micro=value,
                    collection=chosen,
                    created_by=caller_id,
                )
            )
            settings = Settings(currency.upper(), value, version, chosen)
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


def next_cutoff(after: datetime) -> datetime:
    """The first daily cut-off (00:00 Asia/Shanghai) strictly after ``after``, in UTC."""
    local = default_cutoff(after).astimezone(CUTOFF_ZONE)
    following = datetime.combine(local.date() + timedelta(days=1), CUTOFF_TIME, CUTOFF_ZONE)
    return following.astimezone(UTC)


# --- closing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Closed:
    batch: SettlementBatch
    positions: list[Position]
    created: bool  # False: this cut-off was closed before, and this is that batch


def close_batch(closed_by: str, cutoff: datetime | None = None) -> Closed:
    """Close the batch that ends at ``cutoff``.

    Without ``cutoff``: up to the latest daily cut-off, unless the newest batch already
    reaches that far; then that batch, unchanged (``created`` False: nothing new is due,
    see ``next_cutoff``). What the periodic job, the console and ``POST
    /v1/settlement/batches {}`` run.

    Raises Unprocessable (``cutoff_in_future``, ``cutoff_before_last``) for a given
    cut-off after now or before the newest batch's; Conflict if another close won a race.
    """
    now = clock.now()
    due = cutoff is None
    cutoff = (cutoff or default_cutoff(now)).astimezone(UTC)
    if cutoff > now:
        raise Unprocessable(
            "The cut-off lies in the future.", code="cutoff_in_future", param="cutoff"
        )

    def attempt() -> Closed:
        with unit_of_work(platform=True) as uow:
            _take_close_lock(uow)
            last = _newest_batch(uow.session)
            if last is not None and (cutoff == last.cutoff or (due and cutoff < last.cutoff)):
                return Closed(last, batch_positions(uow.session, last.id), created=False)
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
    return close_batch(closed_by)


def _take_close_lock(uow: UnitOfWork) -> None:
    if uow.session.get_bind().dialect.name == "postgresql":
        # Conflicts with the ROW EXCLUSIVE lock every INSERT takes: waits for inserts in
        # flight to commit, holds new ones back until this transaction ends. Read
        # Committed: the statements after it see every record numbered so far.
        uow.session.execute(text("LOCK TABLE clearing_records IN SHARE MODE"))
        uow.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLOSE_LOCK})


def _newest_batch(session: Session) -> SettlementBatch | None:
    return session.scalar(select(SettlementBatch).order_by(SettlementBatch.sequence.desc()))


def _close(
    uow: UnitOfWork, last: SettlementBatch | None, cutoff: datetime, closed_by: str
) -> Closed:
    session = uow.session
    settings = current_settings(session)
    after = last.records_through if last else 0
    batch = SettlementBatch(
        sequence=(last.sequence + 1) if last else 1,
        records_after=after,
        records_through=freeze(session, after, cutoff),
        window_start=last.cutoff if last else FIRST_WINDOW_START,
        cutoff=cutoff,
        status=BatchStatus.CLOSED.value,
        currency=settings.currency,
        spu_value_micro=settings.spu_value_micro,
        closed_by=closed_by,
    )
    session.add(batch)
    session.flush()
    result = netting.net(
        range_totals(session, batch.records_after, batch.records_through),
        settings.spu_value_micro,
    )
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
    _name_tenants(session, positions)
    for position in positions:
        emit(
            uow,
            tenant_id=position.tenant_id,
            type="settlement.batch.closed",
            data={"batch": batch_summary(batch), "position": position_data(position)},
        )
    return Closed(batch, positions, created=True)


def freeze(session: Session, after: int, cutoff: datetime) -> int:
    """Where the batch that starts after record ``after`` ends: at the newest record
    numbered after it that was created before ``cutoff`` (``after`` itself if none)."""
    through = session.scalar(
        select(func.max(ClearingRecord.sequence)).where(
            ClearingRecord.sequence > after, ClearingRecord.created < cutoff
        )
    )
    return after if through is None else through


def in_batch(batch: SettlementBatch) -> ColumnElement[bool]:
    """The WHERE clause that picks ``batch``'s clearing records."""
    return and_(
        ClearingRecord.sequence > batch.records_after,
        ClearingRecord.sequence <= batch.records_through,
    )


def pair_totals(session: Session, batch_id: str) -> list[netting.PairTotal]:
    """What each payer owes each payee in ``batch_id``."""
    batch = load_batch(session, batch_id)
    return range_totals(session, batch.records_after, batch.records_through)


def range_totals(session: Session, after: int, through: int) -> list[netting.PairTotal]:
    """What each payer owes each payee in the records numbered ``(after, through]``: one
    GROUP BY in the database."""
    if through <= after:
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # The row-level security predicate makes the planner guess a few hundred rows
        # where there are millions, so it sorts (and spills to disk) to group them. There
        # are at most tenants² groups: hashing is always right.
        session.execute(text("SET LOCAL enable_sort = off"))
    rows = session.execute(
        select(
            ClearingRecord.payer_tenant_id,
            ClearingRecord.payee_tenant_id,
            func.sum(ClearingRecord.amount_spu),
            func.sum(ClearingRecord.fee_spu + ClearingRecord.rounding_spu),
            func.count(),
        )
        .where(ClearingRecord.sequence > after, ClearingRecord.sequence <= through)
        .group_by(ClearingRecord.payer_tenant_id, ClearingRecord.payee_tenant_id)
    ).all()
    if postgres:
        session.execute(text("RESET enable_sort"))
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
        page["data"] = [BatchView(b, batch_positions(uow.session, b.id)) for b in page["data"]]
        return page


def get_batch(batch_id: str) -> BatchView:
    """Raises NotFound for an unknown id."""
    with unit_of_work(platform=True) as uow:
        batch = load_batch(uow.session, batch_id)
        return BatchView(batch, batch_positions(uow.session, batch.id))


def load_batch(session: Session, batch_id: str, *, lock: bool = False) -> SettlementBatch:
    query = select(SettlementBatch).where(SettlementBatch.id == batch_id)
    batch = session.scalar(query.with_for_update() if lock else query)
    if batch is None:
        raise NotFound(f"No such settlement batch: {batch_id}", param="batch_id")
    return batch


def batch_positions(session: Session, batch_id: str) -> list[Position]:
    """The batch's positions, each with its tenant's name and slug (platform units of
    work: they read every tenant)."""
    positions = list(
        session.scalars(
            select(Position).where(Position.batch_id == batch_id).order_by(Position.tenant_id)
        )
    )
    return _name_tenants(session, positions)


def tenant_labels(session: Session, tenant_ids: set[str]) -> dict[str, tuple[str, str]]:
    """tenant id -> (name, slug), for the ids the session may read."""
    if not tenant_ids:
        return {}
    rows = session.execute(
        select(Tenant.id, Tenant.name, Tenant.slug).where(Tenant.id.in_(tenant_ids))
    ).all()
    return {tenant_id: (name, slug) for tenant_id, name, slug in rows}


def _name_tenants(session: Session, positions: list[Position]) -> list[Position]:
    labels = tenant_labels(session, {p.tenant_id for p in positions})
    for position in positions:
        position.tenant_name, position.tenant_slug = labels.get(position.tenant_id, (None, None))
    return positions


def list_statements(tenant_id: str, args: dict) -> dict:
    """The tenant's own positions, newest first, each with its batch's window (and its
    own name and slug; its statement lines are ``statements.list_lines``)."""
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
        _name_tenants(uow.session, page["data"])
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
                    return BatchView(batch, batch_positions(uow.session, batch.id))
                raise Conflict(f"The batch is {batch.status}.", code="invalid_state")
            batch.status = BatchStatus.APPROVED.value
            batch.approved_by = approver
            batch.approved_at = clock.now()
            view = BatchView(batch, batch_positions(uow.session, batch.id))
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
