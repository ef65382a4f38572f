"""The PDF report fits its columns: every table is laid out within the margins with each
text no wider than its cell (measured with fpdf's own ``get_string_width``), and the
rendered pages (poppler's ``pdftoppm``) have nothing drawn past the page's margins. The
pages are kept in ``test-artifacts/settlement/`` to look at."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from browser_support import ARTIFACTS
from settlement_support import BATCHES

from jifen.settlement.reports import FONT, LINE_HEADER, STATEMENT_HEADER, fit_table

PAGES = ARTIFACTS / "settlement"
LONG_NAME = "杭州西湖区文三路积分联盟旗舰店" * 6  # 90 characters of CJK
LONG_SLUG = "a-very-long-slug-" * 3 + "x"


def new_pdf():
    from fpdf import FPDF

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.add_font("cjk", "", str(FONT))
    pdf.add_page()
    pdf.set_font("cjk", size=7)
    return pdf


def statement_row(name: str, slug: str) -> list:
    return [
        "ten_0123456789abcdefghij",
        name,
        slug,
        "-123456789.01",
        "123456789.01",
        "1234567.89",
        "-123456789012.34",
        "CNY",
        "12345678901.123456",
        "12345678901.123456",
        "123456789.123456",
        "-12345678901.123456",
        123456789,
    ]


def assert_fits(pdf, table, header, rows, kept: set[str]) -> None:
    assert sum(table.widths) <= pdf.epw + 1e-6
    pdf.set_font("cjk", size=table.size)
    for drawn_row, row in zip([table.header, *table.rows], [header, *rows], strict=True):
        for i, (drawn, width) in enumerate(zip(drawn_row, table.widths, strict=True)):
            assert pdf.get_string_width(drawn) <= width - 2 * pdf.c_margin + 1e-6, drawn
            if header[i] in kept:
                assert drawn == str(row[i])  # ids, times and amounts are never cut


def test_the_statements_table_fits_and_only_free_text_is_shortened():
    pdf = new_pdf()
    rows = [statement_row(LONG_NAME, LONG_SLUG), statement_row("短名", "s")]
    table = fit_table(pdf, STATEMENT_HEADER, rows, size=7, shorten=("name", "slug"))
    kept = set(STATEMENT_HEADER) - {"name", "slug"}
    assert_fits(pdf, table, STATEMENT_HEADER, rows, kept)
    assert table.rows[0][1].endswith("…") and table.rows[1][1] == "短名"
    assert table.header[-1] == "records"


def test_the_lines_table_fits_at_a_smaller_size_when_it_must():
    pdf = new_pdf()
    row = [
        "clr_0123456789abcdefghij",
        "2026-12-03T21:59:00.123456Z",
        "acceptance_reversal",
        "ten_0123456789abcdefghij",
        LONG_NAME,
        "ten_abcdefghij0123456789",
        LONG_NAME,
        "CURRENCY-WITH-A-LONG-CODE",
        -1234567890,
        "-12345678901.123456",
        "-1234567.123456",
        "0.123456",
    ]
    shorten = ("payer_name", "payee_name", "kind", "points_currency")
    table = fit_table(pdf, LINE_HEADER, [row], size=6, shorten=shorten)
    assert_fits(pdf, table, LINE_HEADER, [row], set(LINE_HEADER) - set(shorten))
    assert table.size <= 6


def test_a_table_too_wide_even_at_the_smallest_size_is_cut_rather_than_clipped():
    pdf = new_pdf()
    header = [f"column {i}" for i in range(30)]
    rows = [["x" * 40] * 30]
    table = fit_table(pdf, header, rows, size=7)
    assert sum(table.widths) <= pdf.epw + 1e-6
    pdf.set_font("cjk", size=table.size)
    for drawn, width in zip(table.rows[0], table.widths, strict=True):
        assert pdf.get_string_width(drawn) <= width - 2 * pdf.c_margin + 1e-6


@pytest.fixture
def pdf_report(settlement, tmp_path) -> Path:
    a = settlement.tenant("0.8", name=LONG_NAME)
    b = settlement.tenant("1.5", name="积分联盟 杭州店 " + "B" * 60)
    c = settlement.tenant("1", name="C")
    card = settlement.card(a)
    settlement.swap(card, a, b, 1000)
    settlement.capture(card, a, c, 60)
    settlement.swap(settlement.card(c), c, b, 333)
    batch = settlement.closed()
    response = settlement.client.get(
        f"{BATCHES}/{batch['id']}/report",
        query_string={"format": "pdf"},
        headers=settlement.closer.auth,
    )
    assert response.status_code == 200
    path = tmp_path / "report.pdf"
    path.write_bytes(response.get_data())
    return path


def test_the_rendered_pdf_draws_nothing_past_its_margins(pdf_report):
    from PIL import Image

    if not shutil.which("pdftoppm"):
        pytest.skip("needs poppler-utils (pdftoppm): apt-get install poppler-utils")
    PAGES.mkdir(parents=True, exist_ok=True)
    for old in PAGES.glob("report-*.png"):
        old.unlink()
    dpi = 100
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), str(pdf_report), str(PAGES / "report")],
        check=True,
        timeout=60,
    )
    pages = sorted(PAGES.glob("report-*.png"))
    assert len(pages) >= 3
    margin = round(9.5 / 25.4 * dpi)  # the page's 10 mm margins, less half a millimetre
    for page in pages:
        image = Image.open(page).convert("L")
        width, height = image.size
        for box in ((0, 0, margin, height), (width - margin, 0, width, height)):
            darkest, _ = image.crop(box).getextrema()
            assert darkest > 200, f"{page.name}: something drawn in the margin {box}"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf_report), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    # text past the page's edge is not extracted: the last columns are there in full
    [statements_header] = [line for line in text.splitlines() if "receivable_spu" in line]
    assert statements_header.split()[-2:] == ["net_spu", "records"]
    [lines_header] = [line for line in text.splitlines() if "payer_name" in line]
    assert lines_header.split()[-1] == "rounding_spu"
