"""Exchange pricing: SPU rates, the platform's fee schedule and the amounts of a swap (pure).

Every point currency that opts into the exchange is priced in one standard point unit
(标准积分, SPU). Values are exact: an SPU amount is an integer number of **micro-SPU**
(1 SPU = 1,000,000 µSPU), and a rate is the µSPU value of one point, i.e. an exact decimal
with six places ("0.8" is 800,000 µSPU per point). No float touches a value; parsing and
formatting go through ``Decimal`` and the arithmetic through ``int`` and ``Fraction``.

The rounding rule of a swap (API.md, Exchange; DESIGN.md, Units and numbers)::

    spu_out   = points × rate_from                                      (exact, µSPU)
    fee       = min(cap, spu_out × bps / 10,000 + fixed)                 (exact, a Fraction)
    to_points = floor((spu_out − fee) / rate_to)                         (rounded DOWN)
    fee_spu   = floor(fee)                                               (the fee leg)
    spu_in    = to_points × rate_to                                      (what B issued)
    rounding  = spu_out − spu_in − fee_spu                               (always ≥ 0)

With no fixed part and no cap, ``to_points`` is exactly ``floor(points × rate_from ×
(1 − bps/10,000) / rate_to)``. The destination amount is rounded down, the fee's
fraction of a µSPU and every other remainder stay with the platform in the rounding leg,
and ``spu_out == spu_in + fee_spu + rounding`` holds exactly. Because each leg rounds
down and fees are never negative, a round trip A→B→A never gives back more points than
it took.

The acceptance fee (a merchant redeems another tenant's points) is split off the value
the same way: ``fee = floor(min(cap, value × bps / 10,000 + fixed))``, at most the value;
the merchant is owed ``value − fee``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from math import floor

from jifen.platform.clearing.spu import MICRO, format_spu, value_of

MAX_RATE = 1_000_000 * MICRO
"""The most one point may be worth: one million SPU."""

MAX_SPU = 2**63 - 1
"""The largest µSPU amount one swap or authorization may carry (a signed 64-bit column)."""

BPS = 10_000


class PricingError(ValueError):
    """A rate, an SPU amount or a fee schedule that cannot be used."""


# --- decimals <-> micro-SPU -------------------------------------------------------------


def parse_spu(text: str, *, allow_zero: bool = True, maximum: int = MAX_SPU) -> int:
    """An SPU amount or rate written as a decimal string ("0.8", "12.5") in µSPU.

    Raises PricingError for anything but a plain decimal with at most six places, for a
    negative value, zero (unless ``allow_zero``) or a value above ``maximum`` µSPU.
    """
    if not isinstance(text, str) or not text.strip():
        raise PricingError('must be a decimal string such as "0.8"')
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise PricingError('must be a decimal string such as "0.8"') from None
    if not value.is_finite():
        raise PricingError("must be a finite decimal")
    micro = value * MICRO
    if micro != micro.to_integral_value():
        raise PricingError("may have at most 6 decimal places")
    micro_int = int(micro)
    if micro_int < 0 or (micro_int == 0 and not allow_zero):
        raise PricingError("must be positive" if not allow_zero else "must not be negative")
    if micro_int > maximum:
        raise PricingError(f"must be at most {format_spu(maximum)}")
    return micro_int


def parse_rate(text: str) -> int:
    """A rate (SPU per point) in µSPU per point; positive, at most ``MAX_RATE``."""
    return parse_spu(text, allow_zero=False, maximum=MAX_RATE)


# --- fees ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fee:
    """One fee: ``bps`` basis points of the value plus ``fixed`` µSPU, at most ``cap`` µSPU
    (None: no cap)."""

    bps: int = 0
    fixed: int = 0
    cap: int | None = None

    def __post_init__(self) -> None:
        for name in ("bps", "fixed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise PricingError(f"{name} must be a whole number, zero or more")
        if self.bps > BPS:
            raise PricingError("bps must be at most 10000 (100%)")
        if self.cap is not None and (
            isinstance(self.cap, bool) or not isinstance(self.cap, int) or self.cap < 0
        ):
            raise PricingError("cap must be a whole number of µSPU, zero or more")

    def exact(self, value: int) -> Fraction:
        """The fee on ``value`` µSPU, exactly (may hold a fraction of a µSPU), never more
        than ``value``."""
        fee = Fraction(value * self.bps, BPS) + self.fixed
        if self.cap is not None:
            fee = min(fee, Fraction(self.cap))
        return min(fee, Fraction(value))

    def on(self, value: int) -> int:
        """The fee on ``value`` µSPU in whole µSPU, rounded down."""
        return floor(self.exact(value))


NO_FEE = Fee()


@dataclass(frozen=True)
class FeeSchedule:
    """What the platform charges: on swaps and on acceptance, and how much SPU one card
    may swap per day (None: no limit)."""

    swap: Fee = NO_FEE
    acceptance: Fee = NO_FEE
    card_daily_limit: int | None = None


# --- swaps -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwapAmounts:
    from_points: int
    to_points: int
    spu_out: int  # µSPU leaving currency A: from_points × rate_from
    spu_in: int  # µSPU entering currency B: to_points × rate_to
    fee_spu: int  # the platform's fee, whole µSPU
    rounding_spu: int  # every remainder, kept by the platform

    def __iter__(self):
        return iter((self.to_points, self.spu_out, self.fee_spu, self.rounding_spu))


def quote_amounts(points: int, rate_from: int, rate_to: int, fee: Fee | FeeSchedule) -> SwapAmounts:
    """The amounts of swapping ``points`` of a currency worth ``rate_from`` µSPU each into
    one worth ``rate_to`` (see the module docstring for the rounding rule).

    Unpacks as ``(to_points, spu_out, fee_spu, rounding_spu)``; ``to_points`` may be 0
    when the points are worth less than one destination point after the fee.

    Raises PricingError for a non-positive amount or rate.
    """
    if isinstance(fee, FeeSchedule):
        fee = fee.swap
    for name, value in (("points", points), ("rate_from", rate_from), ("rate_to", rate_to)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise PricingError(f"{name} must be a positive whole number")
    spu_out = points * rate_from
    exact_fee = fee.exact(spu_out)
    to_points = floor((spu_out - exact_fee) / rate_to)
    fee_spu = floor(exact_fee)
    spu_in = to_points * rate_to
    rounding = spu_out - spu_in - fee_spu
    assert rounding >= 0 and spu_out == spu_in + fee_spu + rounding
    return SwapAmounts(points, to_points, spu_out, spu_in, fee_spu, rounding)


@dataclass(frozen=True)
class AcceptanceAmounts:
    points: int
    value_spu: int  # what the points are worth
    fee_spu: int  # the platform's acceptance fee
    payable_spu: int  # what the issuer owes the merchant: value − fee


def acceptance_amounts(points: int, rate: int, fee: Fee) -> AcceptanceAmounts:
    """Split the value of ``points`` redeemed at another merchant into fee and payable."""
    value = value_of(points, rate)
    fee_spu = fee.on(value)
    return AcceptanceAmounts(points, value, fee_spu, value - fee_spu)


def pro_rata(total: int, part: int, whole: int) -> int:
    """``floor(total × part / whole)``: the share of ``total`` that ``part`` of ``whole``
    carries (a reversal's share of the capture's fee). Shares of cumulative parts,
    differenced, sum to ``total`` exactly when ``part`` reaches ``whole``."""
    if whole <= 0:
        raise PricingError("whole must be positive")
    return total * part // whole
