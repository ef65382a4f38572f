"""Tenant statements: statements name their tenant; statement lines list every clearing
record a tenant is party to (time, counterparty by name, kind, points, SPU, money), only
its own, as a cursor list and as CSV and XLSX by period that tie to its statements."""

from __future__ import annotations

import io
import math
from datetime import timedelta
from decimal import Decimal

import pytest
from factories import assert_error
from settlement_support import position

from jifen.platform import clock
from jifen.settlement.reports import parse_csv_sections

LINES = "/v1/settlement/statements/lines"
REPORT = "/v1/settlement/statements/report"


@pytest.fixture
def trio(settlement):
    """A pays B twice (a swap and a capture), C pays A once; one batch, then one more
    swap A -> B that no batch holds yet."""
    a = settlement.tenant("0.8", name="甲商户 A")
    b = settlement.tenant("1.5", name='=HYPERLINK("http://evil","B")')
    c = settlement.tenant("1", name="丙商户 C")
    card_a, card_c = settlement.card(a), settlement.card(c)
    settlement.swap(card_a, a, b, 1000)
    settlement.capture(card_a, a, b, 60)
    settlement.swap(card_c, c, a, 333)
    batch = settlement.closed()
    settlement.swap(card_a, a, b, 100)
    return batch, a, b, c


def lines_of(settlement, tenant, **query) -> dict:
    response = settlement.client.get(LINES, query_string=query, headers=tenant.auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_statements_name_their_tenant(settlement, trio, client):
    batch, a, _b, _c = trio
    response = client.get("/v1/settlement/statements", headers=a.auth)
    [statement] = [s for s in response.get_json()["data"] if s["batch"] == batch["id"]]
    assert (statement["tenant"], statement["tenant_name"]) == (a.id, "甲商户 A")
    assert statement["tenant_slug"] == a.slug


def test_a_tenant_lists_the_lines_it_is_party_to_with_counterparties_named(settlement, trio):
    batch, a, b, c = trio
    body = lines_of(settlement, a, limit=100)
    assert body["object"] == "list" and body["has_more"] is False
    lines = body["data"]
    assert len(lines) == 4  # two swaps and a capture with B, one swap from C
    newest = lines[0]
    assert newest["object"] == "settlement_statement_line" and newest["id"].startswith("clr_")
    assert newest["batch"] is None  # no batch holds it yet: priced at the current value
    assert newest["kind"] == "swap" and newest["role"] == "payer"
    assert newest["counterparty"] == b.id and newest["counterparty_slug"] == b.slug
    assert newest["counterparty_name"].startswith("=HYPERLINK")  # data, shown as it is
    assert [line["created"] for line in lines] == sorted(
        (line["created"] for line in lines), reverse=True
    )
    settled = [line for line in lines if line["batch"] == batch["id"]]
    assert {(line["kind"], line["role"], line["counterparty"]) for line in settled} == {
        ("swap", "payer", b.id),
        ("acceptance_capture", "payer", b.id),
        ("swap", "payee", c.id),
    }
    [from_c] = [line for line in settled if line["counterparty"] == c.id]
    assert from_c["counterparty_name"] == "丙商户 C"
    assert from_c["points"] > 0 and from_c["points_currency"] == a.currency_code
    assert Decimal(from_c["receivable_spu"]) > 0 and from_c["payable_spu"] == "0"
    assert from_c["fees_spu"] == "0" and from_c["net_spu"] == from_c["receivable_spu"]
    # one SPU is worth one fen here: a receivable is its SPU in fen, rounded down
    assert from_c["receivable"] == math.floor(Decimal(from_c["receivable_spu"]))
    assert from_c["currency"] == "CNY" and from_c["spu_value"] == "1"
    for line in lines:
        assert line["net"] == line["receivable"] - line["payable"] - line["fees"]
        assert Decimal(line["net_spu"]) == Decimal(line["receivable_spu"]) - Decimal(
            line["payable_spu"]
        ) - Decimal(line["fees_spu"])
    # the batch's lines come to its statement, in SPU exactly
    mine = position(batch, a)
    assert sum(Decimal(line["net_spu"]) for line in settled) == Decimal(mine["net_spu"])
    assert mine["record_count"] == len(settled)


def test_a_tenant_sees_only_its_own_lines(settlement, trio, client):
    batch, a, b, c = trio
    seen_by_b = lines_of(settlement, b, limit=100)["data"]
    assert {line["counterparty"] for line in seen_by_b} == {a.id}  # nothing between A and C
    assert len(seen_by_b) == 3
    a_and_c = [line["id"] for line in lines_of(settlement, c)["data"]]
    assert_error(
        client.get(LINES, query_string={"starting_after": a_and_c[0]}, headers=b.auth), 404
    )
    assert_error(client.get(LINES, headers=settlement.closer.auth), 403)
    assert_error(client.get(REPORT, headers=settlement.closer.auth), 403)


def test_lines_page_by_cursor_and_filter_by_period_or_batch(settlement, trio):
    batch, a, _b, _c = trio
    everything = [line["id"] for line in lines_of(settlement, a, limit=100)["data"]]
    first = lines_of(settlement, a, limit=3)
    assert first["has_more"] is True
    rest = lines_of(settlement, a, limit=3, starting_after=first["data"][-1]["id"])
    assert [line["id"] for line in first["data"] + rest["data"]] == everything
    in_batch = lines_of(settlement, a, batch=batch["id"])["data"]
    assert len(in_batch) == 3 and {line["batch"] for line in in_batch} == {batch["id"]}
    cutoff = clock.iso(clock.now())
    after = lines_of(settlement, a, **{"from": batch["cutoff"]})["data"]
    assert [line["batch"] for line in after] == [None]
    assert lines_of(settlement, a, **{"from": cutoff})["data"] == []
    before = lines_of(settlement, a, to=batch["cutoff"], limit=100)["data"]
    assert {line["id"] for line in before} == {line["id"] for line in in_batch}
    assert_error(
        settlement.client.get(LINES, query_string={"batch": "stb_nosuchbatch"}, headers=a.auth),
        404,
    )


def report(settlement, tenant, **query):
    return settlement.client.get(REPORT, query_string=query, headers=tenant.auth)


def test_the_csv_export_is_safe_and_ties_each_batch_to_its_statement(settlement, trio):
    batch, a, b, _c = trio
    response = report(settlement, a, format="csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    sections = parse_csv_sections(raw)
    summary = dict(sections["statement"][1:])
    assert (summary["tenant"], summary["name"], summary["slug"]) == (a.id, "甲商户 A", a.slug)
    header, *lines = sections["lines"]
    assert len(lines) == int(summary["records"]) == 4
    rows = [dict(zip(header, line, strict=True)) for line in lines]
    assert [r["created"] for r in rows] == sorted(r["created"] for r in rows)  # in time order
    assert {r["counterparty_name"] for r in rows if r["counterparty"] == b.id} == {
        "'" + '=HYPERLINK("http://evil","B")'  # never a live formula
    }
    header, *parts = sections["batches"]
    parts = {row[0]: dict(zip(header, row, strict=True)) for row in parts}
    ours = parts[batch["id"]]
    mine = position(batch, a)
    assert ours["complete"] == "yes" and int(ours["records"]) == mine["record_count"]
    lines_net = sum(Decimal(r["net"]) for r in rows if r["batch"] == batch["id"])
    assert Decimal(ours["lines_net"]) == lines_net
    assert Decimal(ours["statement_net"]) == Decimal(mine["net"]) / 100
    assert lines_net + Decimal(ours["rounding"]) == Decimal(ours["statement_net"])
    assert Decimal(ours["lines_net_spu"]) == Decimal(mine["net_spu"])
    unsettled = parts["(not in a batch yet)"]
    assert unsettled["complete"] == "no" and unsettled["rounding"] == ""
    [total] = [dict(zip(sections["totals"][0], r, strict=True)) for r in sections["totals"][1:]]
    assert Decimal(total["net"]) == sum(Decimal(r["net"]) for r in rows)
    assert Decimal(total["net_with_rounding"]) == Decimal(total["net"]) + Decimal(total["rounding"])


def test_the_export_covers_a_period_or_a_batch(settlement, trio):
    batch, a, _b, _c = trio
    one = parse_csv_sections(report(settlement, a, batch=batch["id"]).get_data())
    assert len(one["lines"]) - 1 == 3 and dict(one["statement"][1:])["batch"] == batch["id"]
    later = clock.now() + timedelta(seconds=1)
    none = parse_csv_sections(report(settlement, a, **{"from": clock.iso(later)}).get_data())
    assert len(none["lines"]) == 1  # the header only
    assert dict(none["statement"][1:])["records"] == "0"
    assert_error(report(settlement, a, format="pdf"), 422)
    assert_error(report(settlement, a, batch="stb_nosuchbatch"), 404)


def test_the_xlsx_export_has_the_statement_batches_and_lines(settlement, trio):
    from openpyxl import load_workbook

    batch, a, _b, _c = trio
    response = report(settlement, a, format="xlsx", to=batch["cutoff"])
    assert response.status_code == 200 and response.data.startswith(b"PK")
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["Statement", "Batches", "Lines"]
    assert book["Lines"].max_row == 1 + 3
    header, *rows = list(book["Batches"].iter_rows(values_only=True))
    [ours] = [dict(zip(header, row, strict=True)) for row in rows]
    assert ours["batch"] == batch["id"] and ours["complete"] == "yes"
    assert Decimal(str(ours["lines_net"])) + Decimal(str(ours["rounding"])) == Decimal(
        str(ours["statement_net"])
    )
