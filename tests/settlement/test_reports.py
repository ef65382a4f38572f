"""Batch reports: CSV (BOM, formula-safe, parsed back), XLSX (opened with openpyxl, chart
found), PDF (CJK font embedded, chart drawn); control totals tie detail to summary."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from factories import assert_error
from settlement_support import BATCHES, position

from jifen.settlement.reports import parse_csv_sections, safe


@pytest.fixture
def batch(settlement):
    a = settlement.tenant("0.8", name='=HYPERLINK("http://evil")')
    b = settlement.tenant("1.5", name="积分联盟 杭州店")
    card = settlement.card(a)
    settlement.swap(card, a, b, 1000)
    settlement.swap(card, a, b, 333)
    settlement.capture(card, a, b, 60)
    return settlement.closed(), a, b


def report(settlement, batch_id: str, fmt: str):
    return settlement.client.get(
        f"{BATCHES}/{batch_id}/report", query_string={"format": fmt}, headers=settlement.closer.auth
    )


def test_the_csv_has_a_bom_is_formula_safe_and_ties(settlement, batch):
    body, a, b = batch
    response = report(settlement, body["id"], "csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # charset once
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    sections = parse_csv_sections(raw)
    summary = dict(sections["summary"][1:])
    assert summary["batch"] == body["id"] and summary["records"] == str(body["record_count"])
    assert Decimal(summary["net_plus_fees_plus_rounding"]) == 0
    header, *rows = sections["statements"]
    statements = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert statements[a.id]["name"].startswith("'=HYPERLINK")  # never a live formula
    assert statements[b.id]["name"] == "积分联盟 杭州店" and statements[b.id]["slug"] == b.slug
    assert Decimal(statements[a.id]["net"]) == Decimal(position(body, a)["net"]) / 100
    header, *lines = sections["lines"]
    assert len(lines) == body["record_count"]
    # control totals: the detail adds up to the summary
    amount = sum(Decimal(line[header.index("amount_spu")]) for line in lines)
    fees = sum(
        Decimal(line[header.index("fee_spu")]) + Decimal(line[header.index("rounding_spu")])
        for line in lines
    )
    assert amount == sum(Decimal(r["receivable_spu"]) for r in statements.values())
    assert amount == sum(Decimal(r["payable_spu"]) for r in statements.values())
    assert fees == sum(Decimal(r["fees_spu"]) for r in statements.values())
    mine = [line for line in lines if line[header.index("payer")] == a.id]
    assert len(mine) == 3
    assert {line[header.index("payee_name")] for line in mine} == {"积分联盟 杭州店"}
    summary_total = Decimal(summary["total_net"]) + Decimal(summary["platform_fees"])
    assert summary_total + Decimal(summary["rounding"]) == 0
    assert sum(Decimal(line[header.index("amount_spu")]) for line in mine) == Decimal(
        position(body, a)["payable_spu"]
    )
    controls = sections["control totals"][1:]
    assert controls and all(row[-1] == "yes" for row in controls)


def test_the_xlsx_has_the_sheets_and_a_chart_of_net_positions(settlement, batch):
    from openpyxl import load_workbook

    body, a, b = batch
    response = report(settlement, body["id"], "xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["Summary", "Statements", "Lines"]
    statements = book["Statements"]
    assert len(statements._charts) == 1
    chart = statements._charts[0]
    assert chart.tagname == "barChart"
    rows = list(statements.iter_rows(values_only=True))
    header = rows[0]
    by_tenant = {row[0]: row for row in rows[1:]}
    assert (
        Decimal(str(by_tenant[b.id][header.index("net")]))
        == Decimal(position(body, b)["net"]) / 100
    )
    assert book["Lines"].max_row == body["record_count"] + 1


def test_the_pdf_embeds_a_cjk_font_and_draws_the_chart(settlement, batch):
    body, a, b = batch
    response = report(settlement, body["id"], "pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.get_data()
    assert pdf.startswith(b"%PDF-")
    assert b"/FontFile3" in pdf or b"/FontFile2" in pdf  # the font program is inside
    assert b"NotoSansCJKsc" in pdf or b"Noto" in pdf


def test_an_unknown_format_or_batch_is_refused(settlement, batch):
    body, a, b = batch
    assert_error(report(settlement, body["id"], "docx"), 422)
    assert_error(report(settlement, "stb_doesnotexist0000000", "csv"), 404)


@pytest.mark.parametrize(
    "cell, shown",
    [("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("ok", "ok")],
)
def test_cells_that_could_run_as_formulas_are_defused(cell, shown):
    assert safe(cell) == shown
    assert safe(Decimal("-2.50")) == Decimal("-2.50")  # numbers stay numbers
