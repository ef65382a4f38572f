"""Tenant statement lines: the clearing records behind a tenant's statements, as a cursor
list (``GET /v1/settlement/statements/lines``) and as CSV or XLSX by period (``GET
/v1/settlement/statements/report``, and the merchant console's Statements page). The
statements themselves (one position per batch) are ``services.list_statements``.

Scoped to the tenant by construction: records, batches and positions are read in the
tenant's own unit of work (on PostgreSQL, row security shows a tenant only the clearing
records it is party to and only its own positions) and every query names the tenant as
well. What a tenant cannot read itself — its counterparties' names and slugs, and the
platform's current SPU value for records no batch holds yet — is looked up in a platform
unit of work for exactly the ids that its own lines name (never inside the tenant's
transaction: SQLite has one writer, and both would be writers).

A line is one clearing record seen from the tenant's side. As payee the tenant receives
the amount (``receivable_spu``); as payer it owes the amount (``payable_spu``) and the
platform's fee and rounding (``fees_spu``). A line is priced on its own by the batch's
rule (``netting.priced``: receivable down, payable and fees up) with the SPU value the
batch froze; a record no batch holds yet (``batch`` null) with the current one. A
position is priced from its sums, so a batch's lines can add up to a few minor units
less than its statement: the export states that difference per batch as ``rounding``
(Σ lines' net + rounding = the statement's net), and only for a batch whose lines are
all in the file (``complete``).

A period is ``[from, to)`` on the record's time; ``batch`` keeps the records of one
batch. The list is newest first; the export is in time order.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from jifen.platform import clock
from jifen.platform.clearing import ClearingRecord
from jifen.platform.db import unit_of_work
from jifen.platform.paging import cursor_page

from . import netting
from .model import Position, SettlementBatch
from .reports import XLSX_MAX_LINES, Built, money, safe, spu
from .services import current_settings, in_batch, load_batch, tenant_labels

FORMATS = ("csv", "xlsx")
LINE_HEADER = [
    "record",
    "created",
    "batch",
    "kind",
    "role",
    "counterparty",
    "counterparty_name",
    "counterparty_slug",
    "points_currency",
    "points",
    "receivable_spu",
    "payable_spu",
    "fees_spu",
    "net_spu",
    "receivable",
    "payable",
    "fees",
    "net",
    "currency",
]
BATCH_HEADER = [
    "batch",
    "window_start",
    "cutoff",
    "status",
    "currency",
    "spu_value",
    "records",
    "records_in_statement",
    "complete",
    "lines_receivable",
    "lines_payable",
    "lines_fees",
    "lines_net",
    "lines_net_spu",
    "statement_net",
    "statement_net_spu",
    "rounding",
]
TOTAL_HEADER = [
    "currency",
    "records",
    "receivable_spu",
    "payable_spu",
    "fees_spu",
    "net_spu",
    "receivable",
    "payable",
    "fees",
    "net",
    "rounding",
    "net_with_rounding",
]
UNSETTLED = "(not in a batch yet)"


@dataclass(frozen=True)
class Period:
    """Which records: created in ``[start, end)`` (either open), or held by ``batch``."""

    start: datetime | None = None
    end: datetime | None = None
    batch: str | None = None

    @classmethod
    def from_args(cls, args: dict) -> Period:
        return cls(args.get("from_"), args.get("to"), args.get("batch"))

    def where(self, session: Session, tenant_id: str) -> list[ColumnElement[bool]]:
        """The tenant's records in this period. Raises NotFound for an unknown batch."""
        clauses = [
            or_(
                ClearingRecord.payer_tenant_id == tenant_id,
                ClearingRecord.payee_tenant_id == tenant_id,
            )
        ]
        if self.start is not None:
            clauses.append(ClearingRecord.created >= self.start)
        if self.end is not None:
            clauses.append(ClearingRecord.created < self.end)
        if self.batch is not None:
            clauses.append(in_batch(load_batch(session, self.batch)))
        return clauses


@dataclass(frozen=True)
class Pricing:
    batch: str | None
    currency: str
    spu_value_micro: int


@dataclass(frozen=True)
class StatementLine:
    """One clearing record from the tenant's side; money in minor units of ``currency``."""

    id: str
    created: datetime
    kind: str
    role: str  # "payee" (receives) or "payer" (owes)
    counterparty: str
    counterparty_name: str | None
    counterparty_slug: str | None
    points_currency: str
    points: int
    batch: str | None
    currency: str
    spu_value_micro: int
    receivable_spu: int
    payable_spu: int
    fees_spu: int
    receivable: int
    payable: int
    fees: int

    @property
    def net_spu(self) -> int:
        return self.receivable_spu - self.payable_spu - self.fees_spu

    @property
    def net(self) -> int:
        return self.receivable - self.payable - self.fees


def statement_line(
    record: ClearingRecord,
    tenant_id: str,
    pricing: Pricing,
    labels: dict[str, tuple[str, str]],
) -> StatementLine:
    payee = record.payee_tenant_id == tenant_id
    counterparty = _counterparty(record, tenant_id)
    name, slug = labels.get(counterparty, (None, None))
    priced = netting.priced(
        tenant_id,
        record.amount_spu if payee else 0,
        0 if payee else record.amount_spu,
        0 if payee else record.fee_spu + record.rounding_spu,
        1,
        pricing.spu_value_micro,
    )
    return StatementLine(
        id=record.id,
        created=record.created,
        kind=record.kind,
        role="payee" if payee else "payer",
        counterparty=counterparty,
        counterparty_name=name,
        counterparty_slug=slug,
        points_currency=record.currency,
        points=record.points,
        batch=pricing.batch,
        currency=pricing.currency,
        spu_value_micro=pricing.spu_value_micro,
        receivable_spu=priced.receivable_spu,
        payable_spu=priced.payable_spu,
        fees_spu=priced.fees_spu,
        receivable=priced.receivable,
        payable=priced.payable,
        fees=priced.fees,
    )


class _Batches:
    """Which batch holds a record (by its sequence number), with a few look-ups: the
    batches found so far are kept in order; a number past the newest batch's range is in
    no batch yet."""

    def __init__(self, session: Session):
        self.session = session
        self.through = session.scalar(select(func.max(SettlementBatch.records_through))) or 0
        self.starts: list[int] = []
        self.found: list[SettlementBatch] = []

    def holding(self, sequence: int) -> SettlementBatch | None:
        if sequence > self.through:
            return None
        at = bisect.bisect_left(self.starts, sequence) - 1
        if at >= 0 and sequence <= self.found[at].records_through:
            return self.found[at]
        batch = self.session.scalar(
            select(SettlementBatch).where(
                SettlementBatch.records_after < sequence,
                SettlementBatch.records_through >= sequence,
            )
        )
        if batch is not None:
            at = bisect.bisect_left(self.starts, batch.records_after)
            self.starts.insert(at, batch.records_after)
            self.found.insert(at, batch)
        return batch


def _pricing(batch: SettlementBatch | None, unsettled: Pricing) -> Pricing:
    if batch is None:
        return unsettled
    return Pricing(batch.id, batch.currency, batch.spu_value_micro)


def _platform_view(tenant_id: str, counterparties: set[str]) -> tuple[dict, Pricing]:
    """Names and slugs of the tenant and the counterparties its lines name, and how a
    record no batch holds yet is priced (the current settings)."""
    with unit_of_work(platform=True) as uow:
        labels = tenant_labels(uow.session, counterparties | {tenant_id})
        settings = current_settings(uow.session)
    return labels, Pricing(None, settings.currency, settings.spu_value_micro)


def _counterparty(record: ClearingRecord, tenant_id: str) -> str:
    return record.payer_tenant_id if record.payee_tenant_id == tenant_id else record.payee_tenant_id


# --- the list -------------------------------------------------------------------------------


def list_lines(tenant_id: str, args: dict) -> dict:
    """The tenant's statement lines in the period of ``args`` (``from_``, ``to``,
    ``batch``), newest first, a cursor page. Raises NotFound for an unknown batch or
    ``starting_after``."""
    period = Period.from_args(args)
    with unit_of_work(tenant_id=tenant_id) as uow:
        statement = select(ClearingRecord).where(*period.where(uow.session, tenant_id))
        page = cursor_page(uow.session, statement, ClearingRecord, args)
        batches = _Batches(uow.session)
        held = [(record, batches.holding(record.sequence)) for record in page["data"]]
    labels, unsettled = _platform_view(tenant_id, {_counterparty(r, tenant_id) for r, _ in held})
    page["data"] = [
        statement_line(record, tenant_id, _pricing(batch, unsettled), labels)
        for record, batch in held
    ]
    return page


# --- the export -----------------------------------------------------------------------------


@dataclass
class Sums:
    """Running totals of lines (µSPU and money) for one batch or one currency."""

    currency: str
    records: int = 0
    receivable_spu: int = 0
    payable_spu: int = 0
    fees_spu: int = 0
    receivable: int = 0
    payable: int = 0
    fees: int = 0

    def add(self, line: StatementLine | Sums) -> None:
        """One more line, or another total's lines."""
        self.records += line.records if isinstance(line, Sums) else 1
        self.receivable_spu += line.receivable_spu
        self.payable_spu += line.payable_spu
        self.fees_spu += line.fees_spu
        self.receivable += line.receivable
        self.payable += line.payable
        self.fees += line.fees

    @property
    def net_spu(self) -> int:
        return self.receivable_spu - self.payable_spu - self.fees_spu

    @property
    def net(self) -> int:
        return self.receivable - self.payable - self.fees


@dataclass
class BatchPart:
    """A batch the statement's lines belong to: their sums against its statement."""

    batch: SettlementBatch | None  # None: records no batch holds yet
    lines: Sums
    position: Position | None = None

    @property
    def complete(self) -> bool:
        """Every one of the batch's records for this tenant is in the file."""
        return self.position is not None and self.position.record_count == self.lines.records

    @property
    def rounding(self) -> int | None:
        """The statement's net less the lines' net (complete batches only)."""
        return self.position.net - self.lines.net if self.complete else None


@dataclass
class Statement:
    """What both formats print, gathered while the lines stream past once."""

    tenant_id: str
    label: tuple[str, str]
    period: Period
    parts: dict[str | None, BatchPart] = field(default_factory=dict)

    def add(self, line: StatementLine, batch: SettlementBatch | None) -> None:
        part = self.parts.get(line.batch)
        if part is None:
            part = self.parts[line.batch] = BatchPart(batch, Sums(line.currency))
        part.lines.add(line)

    @property
    def records(self) -> int:
        return sum(part.lines.records for part in self.parts.values())

    def summary(self) -> list[tuple[str, Any]]:
        return [
            ("tenant", self.tenant_id),
            ("name", self.label[0]),
            ("slug", self.label[1]),
            ("from", clock.iso(self.period.start) or ""),
            ("to", clock.iso(self.period.end) or ""),
            ("batch", self.period.batch or ""),
            ("records", self.records),
        ]

    def batch_rows(self) -> Iterator[list[Any]]:
        ordered = sorted(
            self.parts.values(), key=lambda p: (p.batch is None, p.batch and p.batch.sequence)
        )
        for part in ordered:
            b, s, position = part.batch, part.lines, part.position
            rounding = part.rounding
            yield [
                b.id if b else UNSETTLED,
                clock.iso(b.window_start) if b else "",
                clock.iso(b.cutoff) if b else "",
                b.status if b else "",
                s.currency,
                spu(b.spu_value_micro) if b else "",
                position.record_count if position else "",
                s.records,
                "yes" if part.complete else "no",
                money(s.receivable, s.currency),
                money(s.payable, s.currency),
                money(s.fees, s.currency),
                money(s.net, s.currency),
                spu(s.net_spu),
                money(position.net, s.currency) if position else "",
                spu(position.net_spu) if position else "",
                money(rounding, s.currency) if rounding is not None else "",
            ]

    def total_rows(self) -> Iterator[list[Any]]:
        """Per currency: the lines' sums, the rounding stated for complete batches and
        the net with it (for a period of complete batches: the statements' net)."""
        totals: dict[str, Sums] = {}
        roundings: dict[str, int] = {}
        for part in self.parts.values():
            currency = part.lines.currency
            totals.setdefault(currency, Sums(currency)).add(part.lines)
            roundings[currency] = roundings.get(currency, 0) + (part.rounding or 0)
        for currency, t in sorted(totals.items()):
            rounding = roundings[currency]
            yield [
                currency,
                t.records,
                spu(t.receivable_spu),
                spu(t.payable_spu),
                spu(t.fees_spu),
                spu(t.net_spu),
                money(t.receivable, currency),
                money(t.payable, currency),
                money(t.fees, currency),
                money(t.net, currency),
                money(rounding, currency),
                money(t.net + rounding, currency),
            ]


def line_row(line: StatementLine) -> list[Any]:
    c = line.currency
    return [
        line.id,
        clock.iso(line.created),
        line.batch or "",
        line.kind,
        line.role,
        line.counterparty,
        line.counterparty_name or "",
        line.counterparty_slug or "",
        line.points_currency,
        line.points,
        spu(line.receivable_spu),
        spu(line.payable_spu),
        spu(line.fees_spu),
        spu(line.net_spu),
        money(line.receivable, c),
        money(line.payable, c),
        money(line.fees, c),
        money(line.net, c),
        c,
    ]


def export(tenant_id: str, fmt: str, period: Period) -> Built:
    """The tenant's statement lines in ``period`` as ``fmt`` (csv or xlsx), with the
    batches they belong to and totals. Raises NotFound for an unknown batch."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        pairs = uow.session.execute(
            select(ClearingRecord.payer_tenant_id, ClearingRecord.payee_tenant_id)
            .where(*period.where(uow.session, tenant_id))
            .distinct()
        ).all()
    labels, unsettled = _platform_view(tenant_id, {t for pair in pairs for t in pair})
    statement = Statement(tenant_id, labels.get(tenant_id, ("", "")), period)
    with unit_of_work(tenant_id=tenant_id) as uow:
        lines = _stream(uow.session, tenant_id, period, statement, labels, unsettled)
        if fmt == "csv":
            body, content_type = _csv(statement, lines), "text/csv; charset=utf-8"
        else:
            body = _xlsx(statement, lines)
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Built(body, content_type, _filename(tenant_id, period, fmt))


def _stream(
    session: Session,
    tenant_id: str,
    period: Period,
    statement: Statement,
    labels: dict,
    unsettled: Pricing,
) -> Iterator[StatementLine]:
    """The lines in time order, added to ``statement`` as they pass; once they are all
    through, the statement gets each batch's position."""
    query = (
        select(ClearingRecord)
        .where(*period.where(session, tenant_id))
        .order_by(ClearingRecord.created, ClearingRecord.id)
        .execution_options(yield_per=2000)
    )
    batches = _Batches(session)
    for record in session.scalars(query):
        batch = batches.holding(record.sequence)
        line = statement_line(record, tenant_id, _pricing(batch, unsettled), labels)
        statement.add(line, batch)
        yield line
    held = [batch_id for batch_id in statement.parts if batch_id is not None]
    if held:
        positions = session.scalars(
            select(Position).where(Position.tenant_id == tenant_id, Position.batch_id.in_(held))
        )
        for position in positions:
            statement.parts[position.batch_id].position = position


def _filename(tenant_id: str, period: Period, fmt: str) -> str:
    parts = [tenant_id]
    if period.batch:
        parts.append(period.batch)
    for moment in (period.start, period.end):
        if moment is not None:
            parts.append(moment.astimezone(UTC).strftime("%Y%m%dT%H%MZ"))
    return f"statement-{'-'.join(parts)}.{fmt}"


def _csv(statement: Statement, lines: Iterator[StatementLine]) -> bytes:
    detail = io.StringIO()
    out = csv.writer(detail, lineterminator="\r\n")
    out.writerow(LINE_HEADER)
    for line in lines:
        out.writerow([safe(v) for v in line_row(line)])

    head = io.StringIO()
    out = csv.writer(head, lineterminator="\r\n")

    def rows(title: str, header: list[str] | None, values) -> None:
        out.writerow([f"# {title}"])
        if header:
            out.writerow(header)
        for row in values:
            out.writerow([safe(v) for v in row])
        out.writerow([])

    rows("statement", ["field", "value"], statement.summary())
    rows("batches", BATCH_HEADER, statement.batch_rows())
    rows("totals", TOTAL_HEADER, statement.total_rows())
    head.write("# lines\r\n")
    return ("\ufeff" + head.getvalue() + detail.getvalue()).encode("utf-8")


def _xlsx(statement: Statement, lines: Iterator[StatementLine]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    summary = book.create_sheet("Statement")
    batches = book.create_sheet("Batches")
    sheet = book.create_sheet("Lines")
    sheet.append(LINE_HEADER)
    for count, line in enumerate(lines):
        if count < XLSX_MAX_LINES:  # the rest still count in the totals
            sheet.append([safe(v) for v in line_row(line)])
    summary.append(["field", "value"])
    for pair in statement.summary():
        summary.append([safe(v) for v in pair])
    summary.append(["lines_in_this_file", min(statement.records, XLSX_MAX_LINES)])
    summary.append([])
    summary.append(TOTAL_HEADER)
    for row in statement.total_rows():
        summary.append([safe(v) for v in row])
    batches.append(BATCH_HEADER)
    for row in statement.batch_rows():
        batches.append([safe(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
