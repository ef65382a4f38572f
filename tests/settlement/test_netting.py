"""Netting by hand: positions per tenant, the platform's fees and rounding, zero sums."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jifen.settlement.netting import NettingError, PairTotal, net
from jifen.settlement.services import default_cutoff

SPU = 1_000_000  # µSPU


def test_three_tenants_net_by_hand():
    # A owes B 100 SPU (+2 fee), B owes C 30 SPU (+0.5), C owes A 50 SPU (+1).
    pairs = [
        PairTotal("A", "B", 100 * SPU, 2 * SPU, 3),
        PairTotal("B", "C", 30 * SPU, SPU // 2, 1),
        PairTotal("C", "A", 50 * SPU, 1 * SPU, 2),
    ]
    result = net(pairs, spu_value_micro=1_000_000)  # 1 SPU = 1 minor unit
    by = {p.tenant: p for p in result.positions}
    # A: receives 50, pays 100 + 2 fee -> -52
    assert (by["A"].receivable_spu, by["A"].payable_spu, by["A"].fees_spu) == (
        50 * SPU,
        100 * SPU,
        2 * SPU,
    )
    assert by["A"].net_spu == -52 * SPU and by["A"].net == -52
    # B: receives 100, pays 30 + 0.5 -> 69.5 SPU; money: fees 0.5 rounds UP to 1 -> 69
    assert by["B"].net_spu == 69_500_000
    assert (by["B"].receivable, by["B"].payable, by["B"].fees, by["B"].net) == (100, 30, 1, 69)
    # C: receives 30, pays 50 + 1 -> -21
    assert by["C"].net == -21
    assert result.platform_fees_spu == 3_500_000
    assert result.platform_fees == 2 + 1 + 1
    assert result.record_count == 6 and by["A"].record_count == 5
    assert result.net_spu_total + result.platform_fees_spu == 0
    assert result.net_total + result.platform_fees + result.rounding == 0
    assert result.rounding == 0  # receivables and payables are whole here


def test_conversion_rounds_receivables_down_payables_up_and_keeps_the_rest():
    # 1 SPU = 0.3 fen. A owes B 783 SPU plus 17 SPU fees (the swap of 1000 A points at
    # 0.8 into B at 1.5 with a 2% fee: 800 out, 16 fee, 522 B points = 783 in, 1 rounding).
    result = net([PairTotal("A", "B", 783 * SPU, 17 * SPU, 1)], spu_value_micro=300_000)
    by = {p.tenant: p for p in result.positions}
    assert (by["A"].payable, by["A"].fees, by["A"].net) == (235, 6, -241)  # 234.9 up, 5.1 up
    assert (by["B"].receivable, by["B"].net) == (234, 234)  # 234.9 down
    assert result.platform_fees == 6
    assert result.rounding == 1  # 235 collected for B, 234 paid out
    assert -241 + 234 + 6 + 1 == 0


def test_reversals_are_negative_and_net_out():
    pairs = [
        PairTotal("A", "B", 47_280_000, 720_000, 1),  # capture of 60 points at 0.8
        PairTotal("A", "B", -15_760_000, -240_000, 1),  # reversal of 20 of them
    ]
    by = {p.tenant: p for p in net(pairs, 1_000_000).positions}
    assert by["B"].receivable_spu == 31_520_000 and by["A"].fees_spu == 480_000
    assert by["A"].net_spu == -32_000_000  # 40 points × 0.8 SPU


def test_nothing_to_net_is_an_empty_balanced_result():
    result = net([], 1_000_000)
    assert result.positions == [] and result.rounding == 0 and result.platform_fees == 0


def test_a_tenant_owing_itself_is_refused():
    with pytest.raises(NettingError):
        net([PairTotal("A", "A", 1, 0, 1)], 1_000_000)


@pytest.mark.parametrize(
    "now, cutoff",
    [
        # 00:00 Asia/Shanghai is 16:00 UTC the day before.
        (datetime(2026, 11, 24, 16, 0, tzinfo=UTC), datetime(2026, 11, 24, 16, 0, tzinfo=UTC)),
        (datetime(2026, 11, 24, 15, 59, tzinfo=UTC), datetime(2026, 11, 23, 16, 0, tzinfo=UTC)),
        (datetime(2026, 11, 25, 3, 0, tzinfo=UTC), datetime(2026, 11, 24, 16, 0, tzinfo=UTC)),
    ],
)
def test_the_default_cutoff_is_the_latest_midnight_in_shanghai(now, cutoff):
    assert default_cutoff(now) == cutoff
