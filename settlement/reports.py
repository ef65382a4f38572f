"""Finance reports per batch: summary, per-tenant statements, line detail and control
totals, as CSV, XLSX or PDF (``GET /v1/settlement/batches/{id}/report?format=...``).

* CSV: UTF-8 with a BOM (Excel on Chinese Windows reads BOM-less UTF-8 as GBK); sections
  one after another, each a titled table. Text cells that start with ``= + - @`` (or a
  tab or carriage return) are prefixed with ``'`` so a spreadsheet never runs them as a
  formula; numbers are written as numbers.
* XLSX (openpyxl, write-only so memory stays flat): sheets Summary, Statements, Lines;
  a bar chart of net positions on Statements.
* PDF (fpdf2): the subset Noto Sans SC font shipped in ``fonts/`` is embedded so Chinese
  renders; a bar chart of net positions; the first ``PDF_LINES`` detail lines (the CSV
  and XLSX carry them all). Tables are laid out to fit the page (``fit_table``): each
  column as wide as its widest text, a smaller font while they do not fit, and only free
  text (names, slugs, kinds) shortened with an ellipsis; ids, times and amounts never.

Control totals: the lines' sums (records, payables, fees, in µSPU) are computed over the
frozen records with one aggregate query and printed beside the summary's totals; they
must tie (``receivable`` = ``payable`` = lines' amount, fees = platform fees). Wherever
totals are printed the platform's fees and its rounding line are printed with them, so
``Σ net + platform fees + rounding = 0`` can be read off every format. Tenants are named
(id, name and slug). Detail lines are streamed from the database, never collected in a
list.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jifen.platform import clock
from jifen.platform.clearing import ClearingRecord, format_spu
from jifen.platform.db import unit_of_work
from jifen.tenants.model import Tenant

from .model import Position, SettlementBatch
from .services import in_batch, load_batch

FONT = Path(__file__).parent / "fonts" / "NotoSansSC-Regular-GB2312.otf"
PDF_LINES = 200
XLSX_MAX_LINES = 1_000_000  # Excel's sheet holds 1,048,576 rows
ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"}
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
LINE_HEADER = [
    "record",
    "created",
    "kind",
    "payer",
    "payer_name",
    "payee",
    "payee_name",
    "points_currency",
    "points",
    "amount_spu",
    "fee_spu",
    "rounding_spu",
]
STATEMENT_HEADER = [
    "tenant",
    "name",
    "slug",
    "receivable",
    "payable",
    "fees",
    "net",
    "currency",
    "receivable_spu",
    "payable_spu",
    "fees_spu",
    "net_spu",
    "records",
]


@dataclass(frozen=True)
class Built:
    body: bytes
    content_type: str  # with its charset where it has one: send it as it is
    filename: str


@dataclass(frozen=True)
class Controls:
    """Totals computed two ways that must agree."""

    records: int
    lines_amount_spu: int
    lines_fees_spu: int
    receivable_spu: int
    payable_spu: int
    fees_spu: int
    net: int
    platform_fees: int
    rounding: int
    batch_records: int

    @property
    def ties(self) -> bool:
        return (
            self.records == self.batch_records
            and self.lines_amount_spu == self.receivable_spu == self.payable_spu
            and self.lines_fees_spu == self.fees_spu
            and self.net + self.platform_fees + self.rounding == 0
        )


def safe(value: Any) -> Any:
    """A cell a spreadsheet will show, never evaluate."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def money(amount: int, currency: str) -> Decimal:
    """Minor units as an exact decimal number: 35800 CNY -> 358.00."""
    return Decimal(amount).scaleb(0 if currency in ZERO_DECIMAL else -2)


def spu(micro: int) -> Decimal:
    """µSPU as an exact decimal number of SPU."""
    return Decimal(format_spu(micro))


def build(batch_id: str, fmt: str) -> Built:
    """Raises NotFound for an unknown batch."""
    with unit_of_work(platform=True) as uow:
        data = _Data(uow.session, batch_id)
        if fmt == "csv":
            body, content_type = _csv(data), "text/csv; charset=utf-8"
        elif fmt == "xlsx":
            body = _xlsx(data)
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            body, content_type = _pdf(data), "application/pdf"
    return Built(body, content_type, f"settlement-{batch_id}.{fmt}")


class _Data:
    """What every format prints, read in one transaction."""

    def __init__(self, session: Session, batch_id: str):
        self.session = session
        self.batch: SettlementBatch = load_batch(session, batch_id)
        self.statements = session.execute(
            select(Position, Tenant.name, Tenant.slug)
            .join(Tenant, Tenant.id == Position.tenant_id)
            .where(Position.batch_id == batch_id)
            .order_by(Position.net.desc(), Position.tenant_id)
        ).all()
        self.names = {p.tenant_id: name for p, name, _slug in self.statements}
        count, amount, fees = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(ClearingRecord.amount_spu), 0),
                func.coalesce(func.sum(ClearingRecord.fee_spu + ClearingRecord.rounding_spu), 0),
            )
            .select_from(ClearingRecord)
            .where(in_batch(self.batch))
        ).one()
        positions = [p for p, _name, _slug in self.statements]
        self.controls = Controls(
            records=int(count),
            lines_amount_spu=int(amount),
            lines_fees_spu=int(fees),
            receivable_spu=sum(p.receivable_spu for p in positions),
            payable_spu=sum(p.payable_spu for p in positions),
            fees_spu=sum(p.fees_spu for p in positions),
            net=sum(p.net for p in positions),
            platform_fees=self.batch.platform_fees,
            rounding=self.batch.rounding,
            batch_records=self.batch.record_count,
        )

    def money(self, amount: int) -> str:
        return money(amount, self.batch.currency)

    def summary(self) -> list[tuple[str, Any]]:
        b, c = self.batch, self.controls
        return [
            ("batch", b.id),
            ("sequence", b.sequence),
            ("status", b.status),
            ("window_start", clock.iso(b.window_start)),
            ("cutoff", clock.iso(b.cutoff)),
            ("currency", b.currency),
            ("spu_value_minor_units", spu(b.spu_value_micro)),
            ("records", b.record_count),
            ("tenants", len(self.statements)),
            ("total_receivable", self.money(sum(p.receivable for p, *_ in self.statements))),
            ("total_payable", self.money(sum(p.payable for p, *_ in self.statements))),
            ("total_fees", self.money(sum(p.fees for p, *_ in self.statements))),
            ("total_net", self.money(c.net)),
            ("platform_fees", self.money(b.platform_fees)),
            ("rounding", self.money(b.rounding)),
            ("net_plus_fees_plus_rounding", self.money(c.net + b.platform_fees + b.rounding)),
        ]

    def totals(self) -> list[tuple[str, Any]]:
        """The positions' net, the platform's lines and their sum (zero)."""
        c = self.controls
        return [
            ("total_net", self.money(c.net)),
            ("platform_fees", self.money(c.platform_fees)),
            ("rounding", self.money(c.rounding)),
            ("net_plus_fees_plus_rounding", self.money(c.net + c.platform_fees + c.rounding)),
        ]

    def statement_rows(self) -> Iterator[list[Any]]:
        for p, name, slug in self.statements:
            yield [
                p.tenant_id,
                name,
                slug,
                self.money(p.receivable),
                self.money(p.payable),
                self.money(p.fees),
                self.money(p.net),
                p.currency,
                spu(p.receivable_spu),
                spu(p.payable_spu),
                spu(p.fees_spu),
                spu(p.net_spu),
                p.record_count,
            ]

    def line_rows(self, limit: int | None = None) -> Iterator[list[Any]]:
        query = (
            select(
                ClearingRecord.id,
                ClearingRecord.created,
                ClearingRecord.kind,
                ClearingRecord.payer_tenant_id,
                ClearingRecord.payee_tenant_id,
                ClearingRecord.currency,
                ClearingRecord.points,
                ClearingRecord.amount_spu,
                ClearingRecord.fee_spu,
                ClearingRecord.rounding_spu,
            )
            .where(in_batch(self.batch))
            .order_by(ClearingRecord.created, ClearingRecord.id)
            .execution_options(yield_per=5000)
        )
        if limit is not None:
            query = query.limit(limit)
        for row in self.session.execute(query):
            yield [
                row[0],
                clock.iso(row[1]),
                row[2],
                row[3],
                self.names.get(row[3], ""),
                row[4],
                self.names.get(row[4], ""),
                row[5],
                row[6],
                spu(row[7]),
                spu(row[8]),
                spu(row[9]),
            ]

    def control_rows(self) -> list[tuple[str, Any, Any, bool]]:
        c = self.controls
        return [
            ("records", c.records, c.batch_records, c.records == c.batch_records),
            (
                "amount_spu (lines = receivable)",
                spu(c.lines_amount_spu),
                spu(c.receivable_spu),
                c.lines_amount_spu == c.receivable_spu,
            ),
            (
                "amount_spu (lines = payable)",
                spu(c.lines_amount_spu),
                spu(c.payable_spu),
                c.lines_amount_spu == c.payable_spu,
            ),
            (
                "fees_spu (lines = statements)",
                spu(c.lines_fees_spu),
                spu(c.fees_spu),
                c.lines_fees_spu == c.fees_spu,
            ),
            (
                "net + platform fees + rounding = 0",
                self.money(c.net + c.platform_fees + c.rounding),
                self.money(0),
                c.net + c.platform_fees + c.rounding == 0,
            ),
        ]


# --- CSV ----------------------------------------------------------------------------------


def _csv(data: _Data) -> bytes:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")

    def row(values) -> None:
        out.writerow([safe(v) for v in values])

    row(["# summary"])
    row(["field", "value"])
    for pair in data.summary():
        row(pair)
    row([])
    row(["# statements"])
    row(STATEMENT_HEADER)
    for values in data.statement_rows():
        row(values)
    row([])
    row(["# control totals"])
    row(["check", "detail", "summary", "ties"])
    for name, detail, summary, ties in data.control_rows():
        row([name, detail, summary, "yes" if ties else "NO"])
    row([])
    row(["# lines"])
    row(LINE_HEADER)
    for values in data.line_rows():
        row(values)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def parse_csv_sections(body: bytes) -> dict[str, list[list[str]]]:
    """Read a report CSV back into ``{section: rows}`` (header row first)."""
    text = body.decode("utf-8-sig")
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for values in csv.reader(io.StringIO(text)):
        if not values:
            current = None
        elif len(values) == 1 and values[0].startswith("# "):
            current = sections.setdefault(values[0][2:], [])
        elif current is not None:
            current.append(values)
    return sections


# --- XLSX ---------------------------------------------------------------------------------


def _xlsx(data: _Data) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    book = Workbook(write_only=True)
    summary = book.create_sheet("Summary")
    summary.append(["field", "value"])
    for pair in data.summary():
        summary.append([safe(v) for v in pair])
    summary.append([])
    summary.append(["check", "detail", "summary", "ties"])
    for name, detail, total, ties in data.control_rows():
        summary.append([name, detail, total, "yes" if ties else "NO"])

    statements = book.create_sheet("Statements")
    statements.append(STATEMENT_HEADER)
    count = 0
    for values in data.statement_rows():
        statements.append([safe(v) for v in values])
        count += 1
    statements.append([])
    totals = data.totals()
    for name, value in totals:
        statements.append([name, None, None, None, None, None, value])  # under "net"
    if count:
        chart = BarChart()
        chart.type = "col"
        chart.title = f"Net positions ({data.batch.currency})"
        chart.y_axis.title = data.batch.currency
        chart.x_axis.title = "tenant"
        net, name = STATEMENT_HEADER.index("net") + 1, STATEMENT_HEADER.index("name") + 1
        values = Reference(statements, min_col=net, min_row=1, max_row=count + 1)
        labels = Reference(statements, min_col=name, min_row=2, max_row=count + 1)
        chart.add_data(values, titles_from_data=True)
        chart.set_categories(labels)
        chart.width, chart.height = 24, 12
        statements.add_chart(chart, "A" + str(count + len(totals) + 5))

    lines = book.create_sheet("Lines")
    lines.append(LINE_HEADER)
    for values in data.line_rows(limit=XLSX_MAX_LINES):
        lines.append([safe(v) for v in values])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- PDF ----------------------------------------------------------------------------------

ELLIPSIS = "…"
PDF_MIN_FONT = 4.5  # pt: the smallest size a table is set in before text is shortened
SHORTENED_MIN = 18.0  # mm: a shortened column keeps at least this (or its own width)


@dataclass(frozen=True)
class Table:
    """A table laid out to fit: font size, column widths (mm) and the texts as drawn."""

    size: float
    widths: list[float]
    header: list[str]
    rows: list[list[str]]

    @property
    def row_height(self) -> float:
        return round(self.size * 0.3528 * 1.75, 2)  # pt -> mm, with leading


def fit_table(
    pdf,
    header: list[str],
    rows: Iterable[list[Any]],
    *,
    size: float,
    shorten: Iterable[str] = (),
    width: float | None = None,
) -> Table:
    """Lay out a table within ``width`` (default: between the margins) so no text is
    clipped: every column as wide as its widest text plus the cell margins, at ``size``
    pt or smaller; the columns named in ``shorten`` (free text) give up room first, their
    texts cut with an ellipsis. Other columns (ids, times, amounts) are never cut; if they
    cannot fit even at ``PDF_MIN_FONT``, the widest is cut too rather than drawn past the
    edge."""
    available = pdf.epw if width is None else width
    texts = [[str(v) for v in row] for row in rows]
    flexible = {header.index(name) for name in shorten}
    family = pdf.font_family
    current = size
    while True:
        pdf.set_font(family, size=current)
        pad = 2 * pdf.c_margin + 0.2
        natural = [
            max([pdf.get_string_width(title)] + [pdf.get_string_width(row[i]) for row in texts])
            + pad
            for i, title in enumerate(header)
        ]
        widths = _share(natural, flexible, available)
        if widths is not None or current <= PDF_MIN_FONT:
            break
        current = max(PDF_MIN_FONT, current - 0.5)
    if widths is None:  # still too wide at the smallest size: every column may shorten
        widths = _share(natural, set(range(len(header))), available, minimum=pad + 2)
        widths = widths or [available / len(header)] * len(header)
    room = [w - 2 * pdf.c_margin for w in widths]
    drawn_header = [_shorten(pdf, t, r) for t, r in zip(header, room, strict=True)]
    drawn = [[_shorten(pdf, t, r) for t, r in zip(row, room, strict=True)] for row in texts]
    return Table(current, widths, drawn_header, drawn)


def _share(
    natural: list[float], flexible: set[int], available: float, minimum: float = SHORTENED_MIN
) -> list[float] | None:
    """Widths within ``available``: the natural ones if they fit, else the flexible
    columns share what the others leave (the narrow ones keep their own width, the rest
    split evenly); None if the flexible columns would get less than ``minimum``."""
    if sum(natural) <= available:
        return natural
    left = available - sum(w for i, w in enumerate(natural) if i not in flexible)
    squeezed = sorted((natural[i], i) for i in flexible)
    widths = list(natural)
    for n, (want, i) in enumerate(squeezed):
        fair = left / (len(squeezed) - n)
        widths[i] = min(want, fair)
        left -= widths[i]
        if widths[i] < min(minimum, want):
            return None
    return widths if sum(widths) <= available + 1e-6 else None


def _shorten(pdf, text: str, room: float) -> str:
    """``text``, cut with an ellipsis if it is wider than ``room`` mm."""
    if pdf.get_string_width(text) <= room:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if pdf.get_string_width(text[:middle] + ELLIPSIS) <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low] + ELLIPSIS if low else ""


def _pdf_table(pdf, table: Table, align: dict[int, str] | None = None) -> None:
    pdf.set_font(pdf.font_family, size=table.size)
    height = table.row_height
    for width, title in zip(table.widths, table.header, strict=True):
        pdf.cell(width, height + 0.5, title, border=1)
    pdf.ln()
    for values in table.rows:
        if pdf.will_page_break(height):
            pdf.add_page()
        for i, (width, value) in enumerate(zip(table.widths, values, strict=True)):
            pdf.cell(width, height, value, border=1, align=(align or {}).get(i, "L"))
        pdf.ln()


def _numeric(header: list[str], *names: str) -> dict[int, str]:
    return {header.index(name): "R" for name in names if name in header}


MONEY_COLUMNS = ("receivable", "payable", "fees", "net")
SPU_COLUMNS = ("receivable_spu", "payable_spu", "fees_spu", "net_spu")


def _pdf(data: _Data) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("cjk", "", str(FONT))
    pdf.set_title(f"Settlement {data.batch.id}")
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(text=f"结算批次 Settlement batch {data.batch.id}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("cjk", size=9)
    for name, value in data.summary():
        pdf.cell(60, 5, name)
        pdf.cell(0, 5, str(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _pdf_chart(pdf, data)

    pdf.add_page()
    pdf.set_font("cjk", size=12)
    pdf.cell(text="对账单 Statements", new_x="LMARGIN", new_y="NEXT")
    statements = fit_table(
        pdf, STATEMENT_HEADER, data.statement_rows(), size=7, shorten=("name", "slug")
    )
    _pdf_table(
        pdf,
        statements,
        _numeric(STATEMENT_HEADER, *MONEY_COLUMNS, *SPU_COLUMNS, "records"),
    )
    pdf.ln(2)
    totals = fit_table(pdf, ["total", "amount"], data.totals(), size=8)
    _pdf_table(pdf, totals, {1: "R"})

    pdf.ln(4)
    pdf.set_font("cjk", size=12)
    pdf.cell(text="控制合计 Control totals", new_x="LMARGIN", new_y="NEXT")
    rows = (
        [name, str(d), str(s), "yes" if ties else "NO"] for name, d, s, ties in data.control_rows()
    )
    controls = fit_table(pdf, ["check", "detail", "summary", "ties"], rows, size=8)
    _pdf_table(pdf, controls, {1: "R", 2: "R"})

    pdf.add_page()
    pdf.set_font("cjk", size=12)
    shown = min(PDF_LINES, data.controls.records)
    pdf.cell(
        text=f"明细 Lines (first {shown} of {data.controls.records}; CSV/XLSX carry all)",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    lines = fit_table(
        pdf,
        LINE_HEADER,
        data.line_rows(limit=PDF_LINES),
        size=6,
        shorten=("payer_name", "payee_name", "kind", "points_currency"),
    )
    _pdf_table(pdf, lines, _numeric(LINE_HEADER, "points", "amount_spu", "fee_spu", "rounding_spu"))
    return bytes(pdf.output())


def _pdf_chart(pdf, data: _Data) -> None:
    """A horizontal bar per tenant: receivers to the right (blue), payers left (red)."""
    rows = [(name, position.net) for position, name, _slug in data.statements]
    pdf.set_font("cjk", size=11)
    pdf.cell(text=f"净头寸 Net positions ({data.batch.currency})", new_x="LMARGIN", new_y="NEXT")
    if not rows:
        pdf.set_font("cjk", size=9)
        pdf.cell(text="(no positions)", new_x="LMARGIN", new_y="NEXT")
        return
    rows = rows[:40]
    label_w, half = 60.0, 90.0
    x0 = pdf.l_margin + label_w + half
    largest = max(abs(net) for _, net in rows) or 1
    pdf.set_font("cjk", size=7)
    bar_h = 4.0
    for name, net in rows:
        if pdf.will_page_break(bar_h + 1):
            pdf.add_page()
        y = pdf.get_y()
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(label_w, bar_h, _shorten(pdf, str(name), label_w - 2 * pdf.c_margin))
        length = half * abs(net) / largest
        if net >= 0:
            pdf.set_fill_color(52, 101, 164)
            pdf.rect(x0, y + 0.5, max(length, 0.2), bar_h - 1, style="F")
        else:
            pdf.set_fill_color(204, 0, 0)
            pdf.rect(x0 - length, y + 0.5, max(length, 0.2), bar_h - 1, style="F")
        pdf.set_xy(x0 + half + 2, y)
        pdf.cell(30, bar_h, str(data.money(net)))
        pdf.set_y(y + bar_h + 1)
    pdf.set_draw_color(0, 0, 0)
    pdf.line(x0, pdf.get_y() - (bar_h + 1) * len(rows), x0, pdf.get_y())
