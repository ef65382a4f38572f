"""Exchange pricing, exact to the µSPU, against hand-worked tables (exchange/pricing.py).

Rates 0.8 and 1.5 SPU per point, a 2% swap fee. Every row is worked by hand in its
comment; ``spu_out == spu_in + fee + rounding`` is asserted on every row.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from jifen.exchange.pricing import (
    MICRO,
    Fee,
    FeeSchedule,
    PricingError,
    acceptance_amounts,
    format_spu,
    parse_rate,
    parse_spu,
    pro_rata,
    quote_amounts,
)

A = 800_000  # 0.8 SPU per point
B = 1_500_000  # 1.5 SPU per point
TWO_PERCENT = Fee(bps=200)
BIG = 2**53 - 1  # 9007199254740991, the most points one call may move

SWAPS = [
    # points, rate_from, rate_to, fee -> to_points, spu_out, fee_spu, rounding_spu
    # 1000 × 0.8 = 800 SPU; fee 16; 784 / 1.5 = 522.67 -> 522 (783 SPU); rounding 1 SPU.
    (1000, A, B, TWO_PERCENT, 522, 800 * MICRO, 16 * MICRO, 1 * MICRO),
    # 1000 × 1.5 = 1500 SPU; fee 30; 1470 / 0.8 = 1837.5 -> 1837 (1469.6); rounding 0.4.
    (1000, B, A, TWO_PERCENT, 1837, 1500 * MICRO, 30 * MICRO, 400_000),
    # 1 × 0.8 = 0.8; fee 0.016; 0.784 / 1.5 = 0.52 -> 0 points; everything is rounding.
    (1, A, B, TWO_PERCENT, 0, 800_000, 16_000, 784_000),
    # 1 × 1.5 = 1.5; fee 0.03; 1.47 / 0.8 = 1.8375 -> 1 (0.8); rounding 0.67.
    (1, B, A, TWO_PERCENT, 1, 1_500_000, 30_000, 670_000),
    # 2 × 0.8 = 1.6; fee 0.032; 1.568 / 1.5 = 1.045 -> 1 (1.5); rounding 0.068.
    (2, A, B, TWO_PERCENT, 1, 1_600_000, 32_000, 68_000),
    # No fee: 15 × 0.8 = 12 SPU = exactly 8 × 1.5; nothing left over.
    (15, A, B, Fee(), 8, 12 * MICRO, 0, 0),
    # A fee with a fraction of a µSPU: 7 × 0.000001 = 7 µSPU; 2% = 0.14 µSPU; fee leg 0,
    # 6.86 µSPU / 1 µSPU -> 6 points; rounding 1 µSPU (the 0.14 and the 0.86).
    (7, 1, 1, TWO_PERCENT, 6, 7, 0, 1),
    # Fixed part and cap: 1000 × 0.8 = 800; 2% + 1 SPU = 17, capped at 10; 790 / 1.5 =
    # 526.67 -> 526 (789); rounding 1.
    (1000, A, B, Fee(bps=200, fixed=MICRO, cap=10 * MICRO), 526, 800 * MICRO, 10 * MICRO, MICRO),
    # Near 2**53 points: spu_out = 9007199254740991 × 0.8 = 7205759403792792.8 SPU;
    # fee 2% = 144115188075855.856 SPU; net 7061644215716936.944 / 1.5 =
    # 4707762810477957.962... -> 4707762810477957 (7061644215716935.5 SPU);
    # rounding 1.444 SPU.
    (
        BIG,
        A,
        B,
        TWO_PERCENT,
        4707762810477957,
        7205759403792792_800000,
        144115188075855_856000,
        1_444000,
    ),
    # The other way: 9007199254740991 × 1.5 = 13510798882111486.5; fee 270215977642229.73;
    # net 13240582904469256.77 / 0.8 = 16550728630586570.9625 -> 16550728630586570
    # (13240582904469256 SPU); rounding 0.77.
    (
        BIG,
        B,
        A,
        TWO_PERCENT,
        16550728630586570,
        13510798882111486_500000,
        270215977642229_730000,
        770000,
    ),
]


@pytest.mark.parametrize(("points", "rate_from", "rate_to", "fee", *"ABCD"), SWAPS)
def test_swap_amounts_match_the_hand_worked_table(points, rate_from, rate_to, fee, A, B, C, D):  # noqa: N803
    amounts = quote_amounts(points, rate_from, rate_to, fee)
    assert tuple(amounts) == (A, B, C, D)
    assert amounts.spu_out == amounts.spu_in + amounts.fee_spu + amounts.rounding_spu
    assert amounts.spu_in == amounts.to_points * rate_to


def test_without_fixed_fee_or_cap_to_points_is_the_api_formula():
    for points in (1, 2, 3, 99, 1000, 123_457, BIG):
        for rate_from, rate_to in ((A, B), (B, A), (A, A), (1, 999_999)):
            formula = Fraction(points * rate_from) * Fraction(98, 100) / rate_to
            assert quote_amounts(points, rate_from, rate_to, TWO_PERCENT).to_points == int(formula)


def test_a_fee_schedule_prices_with_its_swap_fee():
    schedule = FeeSchedule(swap=TWO_PERCENT, acceptance=Fee(bps=500))
    assert quote_amounts(1000, A, B, schedule).to_points == 522


def test_a_fee_never_exceeds_the_value():
    amounts = quote_amounts(3, A, B, Fee(fixed=10 * MICRO))
    assert (amounts.to_points, amounts.fee_spu, amounts.rounding_spu) == (0, 2_400_000, 0)


@pytest.mark.parametrize(
    ("text", "micro"),
    [
        ("0.8", 800_000),
        ("1.5", 1_500_000),
        ("1", MICRO),
        ("0.000001", 1),
        ("12.340000", 12_340_000),
    ],
)
def test_rates_parse_to_exact_micro_spu(text, micro):
    assert parse_rate(text) == micro


@pytest.mark.parametrize(
    "text", ["0", "-1", "0.0000001", "abc", "", "NaN", "Infinity", "1e400", "1000000.000001"]
)
def test_bad_rates_are_refused(text):
    with pytest.raises(PricingError):
        parse_rate(text)


def test_parse_spu_refuses_floats_and_negative_amounts():
    with pytest.raises(PricingError):
        parse_spu(0.8)  # type: ignore[arg-type]
    with pytest.raises(PricingError):
        parse_spu("-0.5")
    assert parse_spu("0") == 0


@pytest.mark.parametrize(
    ("micro", "text"),
    [(800_000, "0.8"), (16 * MICRO, "16"), (1, "0.000001"), (0, "0"), (-1_500_000, "-1.5")],
)
def test_spu_formats_as_the_shortest_exact_decimal(micro, text):
    assert format_spu(micro) == text
    assert parse_spu(text.lstrip("-")) == abs(micro)


def test_acceptance_fee_is_split_off_the_value():
    # 1000 points × 0.8 = 800 SPU; 1.5% = 12 SPU; the merchant is owed 788.
    amounts = acceptance_amounts(1000, A, Fee(bps=150))
    assert (amounts.value_spu, amounts.fee_spu, amounts.payable_spu) == (
        800 * MICRO,
        12 * MICRO,
        788 * MICRO,
    )


def test_pro_rata_shares_of_cumulative_parts_sum_to_the_total():
    total, whole = 12_345, 7
    shares = [
        pro_rata(total, part, whole) - pro_rata(total, part - 1, whole) for part in range(1, 8)
    ]
    assert sum(shares) == total


def test_bad_fees_are_refused():
    for kwargs in ({"bps": -1}, {"bps": 10_001}, {"fixed": -5}, {"cap": -1}, {"bps": 1.5}):
        with pytest.raises(PricingError):
            Fee(**kwargs)


rates = st.integers(min_value=1, max_value=10**12)
fees = st.builds(
    Fee,
    bps=st.integers(min_value=0, max_value=10_000),
    fixed=st.integers(min_value=0, max_value=10**9),
    cap=st.none() | st.integers(min_value=0, max_value=10**15),
)


@seed(20261123)
@settings(max_examples=400, deadline=None, derandomize=False)
@given(
    points=st.integers(min_value=1, max_value=BIG),
    rate_a=rates,
    rate_b=rates,
    there=fees,
    back=fees,
)
def test_a_round_trip_never_gains(points, rate_a, rate_b, there, back):
    out = quote_amounts(points, rate_a, rate_b, there)
    assert out.spu_out == out.spu_in + out.fee_spu + out.rounding_spu
    assert out.rounding_spu >= 0 and out.fee_spu >= 0
    if out.to_points == 0:
        return
    home = quote_amounts(out.to_points, rate_b, rate_a, back)
    assert home.spu_out == home.spu_in + home.fee_spu + home.rounding_spu
    assert home.to_points <= points
    assert home.spu_in <= out.spu_out
