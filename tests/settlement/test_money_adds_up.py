"""Money adds up to the minor unit (API.md, Settlement): over random record sets, Σ net
positions + platform fees + the stated rounding line = 0 — in netting itself, in every
closed batch, in each report format (CSV, XLSX, PDF) and in every tenant's statement
export (Σ lines' net + its stated rounding = the statement's net). Hypothesis, with fixed
seeds (printed with any failure, and by ``--hypothesis-show-statistics``)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from decimal import Decimal

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from settlement_support import BATCHES
from sqlalchemy import select

from jifen.platform import clearing
from jifen.platform.clearing import ClearingKind
from jifen.platform.db import unit_of_work
from jifen.platform.ledger.model import Transaction
from jifen.settlement import services
from jifen.settlement.netting import PairTotal, net
from jifen.settlement.reports import parse_csv_sections

SPU_VALUES = ["1", "0.3", "0.000001", "7", "1.234567", "100", "0.999999"]


@st.composite
def pair_totals(draw) -> list[PairTotal]:
    tenants = [f"ten_{n}" for n in range(draw(st.integers(2, 6)))]
    pairs = []
    for _ in range(draw(st.integers(0, 12))):
        payer, payee = draw(st.permutations(tenants))[:2]
        amount = draw(st.integers(-(10**12), 10**13))
        fees = draw(st.integers(0, 10**10)) * (1 if amount >= 0 else -1)
        pairs.append(PairTotal(payer, payee, amount, fees, draw(st.integers(1, 50))))
    return pairs


@seed(20261203)
@settings(max_examples=400, deadline=None, database=None)
@given(pairs=pair_totals(), value=st.integers(1, 10**9) | st.sampled_from([1, 300_000, 10**6]))
def test_netting_adds_up_to_the_minor_unit(pairs, value):
    result = net(pairs, value)  # raises NettingError if it did not
    assert result.net_spu_total + result.platform_fees_spu == 0
    assert result.net_total + result.platform_fees + result.rounding == 0
    # each position rounds its receivable down and its payable up: less than a unit each
    assert 0 <= result.rounding < 2 * max(len(result.positions), 1)
    for position in result.positions:
        assert position.net == position.receivable - position.payable - position.fees


# --- closed batches and their reports -------------------------------------------------------


@st.composite
def record_sets(draw) -> list[tuple]:
    """(payer, payee, amount µSPU, fee µSPU, rounding µSPU, reversal) among 4 tenants."""
    records = []
    for _ in range(draw(st.integers(0, 10))):
        payer, payee = draw(st.permutations(range(4)))[:2]
        reversal = draw(st.booleans())
        amount = draw(st.integers(0, 5 * 10**9))
        fee = draw(st.integers(0, 10**8))
        rounding = 0 if reversal else draw(st.integers(0, 10**6))
        records.append((payer, payee, amount, fee, rounding, reversal))
    return records


def insert(records: list[tuple], tenants: list, source_transaction: str) -> None:
    """The records as clearing records of kinds no exchange invariant ties to a source."""
    with unit_of_work(platform=True) as uow:
        for payer, payee, amount, fee, rounding, reversal in records:
            sign = -1 if reversal else 1
            clearing.record(
                uow.session,
                kind=ClearingKind.ACCEPTANCE_REVERSAL
                if reversal
                else ClearingKind.ALLIANCE_ISSUANCE,
                payer_tenant_id=tenants[payer].id,
                payee_tenant_id=tenants[payee].id,
                currency=tenants[payer].currency_code,
                points=sign * (1 + amount // 10**6),
                amount_spu=sign * amount,
                fee_spu=sign * fee,
                rounding_spu=rounding,
                source_transaction_id=source_transaction,
            )
        uow.commit(None)


def assert_batch_adds_up(batch: dict) -> None:
    positions = batch["positions"]
    assert sum(p["net"] for p in positions) + batch["platform_fees"] + batch["rounding"] == 0
    assert sum(Decimal(p["net_spu"]) for p in positions) + Decimal(batch["platform_fees_spu"]) == 0
    assert batch["rounding"] >= 0


def assert_csv_adds_up(body: bytes, batch: dict) -> None:
    sections = parse_csv_sections(body)
    summary = dict(sections["summary"][1:])
    header, *rows = sections["statements"]
    nets = sum(Decimal(row[header.index("net")]) for row in rows)
    assert nets == Decimal(summary["total_net"])
    assert nets + Decimal(summary["platform_fees"]) + Decimal(summary["rounding"]) == 0
    assert Decimal(summary["net_plus_fees_plus_rounding"]) == 0
    assert Decimal(summary["rounding"]) * 100 == batch["rounding"]
    assert all(row[-1] == "yes" for row in sections["control totals"][1:])


def assert_xlsx_adds_up(body: bytes) -> None:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(body))
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row}
    header, *rows = list(book["Statements"].iter_rows(values_only=True))
    tenants = [row for row in rows if row[0] and str(row[0]).startswith("ten_")]
    nets = sum(Decimal(str(row[header.index("net")])) for row in tenants)
    totals = {row[0]: row[header.index("net")] for row in rows if row[0] and row not in tenants}
    fees, rounding = Decimal(str(summary["platform_fees"])), Decimal(str(summary["rounding"]))
    assert nets + fees + rounding == 0
    assert Decimal(str(totals["total_net"])) == nets
    assert Decimal(str(totals["rounding"])) == rounding
    assert Decimal(str(totals["net_plus_fees_plus_rounding"])) == 0


def assert_pdf_adds_up(body: bytes) -> None:
    if not shutil.which("pdftotext"):
        return  # CI installs poppler-utils; the other formats are still checked
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=body, capture_output=True, check=True
    ).stdout.decode()
    printed: dict[str, set[Decimal]] = {}
    for name, value in re.findall(
        r"^\s*(total_net|platform_fees|rounding|net_plus_fees_plus_rounding)\s+(-?\d+\.\d+)\s*$",
        text,
        flags=re.MULTILINE,
    ):
        printed.setdefault(name, set()).add(Decimal(value))
    # the summary page and the totals under the statements print the same figures
    assert all(len(values) == 1 for values in printed.values()), printed
    [total], [fees], [rounding], [zero] = (
        printed[k]
        for k in ("total_net", "platform_fees", "rounding", "net_plus_fees_plus_rounding")
    )
    assert total + fees + rounding == 0 and zero == 0


def assert_statements_add_up(settlement, tenants: list, batch: dict) -> None:
    held = {p["tenant"]: p for p in batch["positions"]}
    for tenant in tenants:
        if tenant.id not in held:
            continue
        response = settlement.client.get(
            "/v1/settlement/statements/report",
            query_string={"batch": batch["id"]},
            headers=tenant.auth,
        )
        sections = parse_csv_sections(response.get_data())
        header, *rows = sections["batches"]
        [part] = [dict(zip(header, row, strict=True)) for row in rows]
        assert part["complete"] == "yes"
        lines_net, rounding = Decimal(part["lines_net"]), Decimal(part["rounding"])
        assert lines_net + rounding == Decimal(part["statement_net"])
        assert Decimal(part["statement_net"]) * 100 == held[tenant.id]["net"]
        assert Decimal(part["lines_net_spu"]) == Decimal(held[tenant.id]["net_spu"])


def test_every_batch_and_every_report_adds_up_to_the_minor_unit(settlement):
    tenants = [settlement.tenant(rate) for rate in ("0.8", "1.5", "1", "0.3")]
    settlement.card(tenants[0], points=10)  # a ledger transaction for the records to name
    with unit_of_work(tenant_id=tenants[0].id) as uow:
        source = uow.session.scalar(select(Transaction.id).limit(1))

    @seed(20261204)
    @settings(
        max_examples=10,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(records=record_sets(), value=st.sampled_from(SPU_VALUES))
    def closes_and_reports(records, value):
        services.put_settings("test:money", currency="CNY", spu_value=value)
        insert(records, tenants, source)
        batch = settlement.closed()
        assert_batch_adds_up(batch)
        assert_batch_adds_up(settlement.get(batch["id"]))
        for fmt, check in (("csv", assert_csv_adds_up), ("xlsx", assert_xlsx_adds_up)):
            response = settlement.client.get(
                f"{BATCHES}/{batch['id']}/report",
                query_string={"format": fmt},
                headers=settlement.closer.auth,
            )
            assert response.status_code == 200
            check(response.get_data(), batch) if fmt == "csv" else check(response.get_data())
        pdf = settlement.client.get(
            f"{BATCHES}/{batch['id']}/report",
            query_string={"format": "pdf"},
            headers=settlement.closer.auth,
        )
        assert_pdf_adds_up(pdf.get_data())
        assert_statements_add_up(settlement, tenants, batch)

    try:
        closes_and_reports()
    finally:
        settlement.settings("1")
