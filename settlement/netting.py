"""Netting: from what tenants owe each other (summed per payer and payee by the database)
to one position per tenant, in SPU and in the settlement currency. Pure functions.

Inputs are ``PairTotal``s: for one (payer, payee) pair, the µSPU the payer owes the payee
(``amount_spu``) and the µSPU it owes the platform on top (``fees_spu``: fees plus the
exchange's rounding), over ``count`` clearing records. Reversals are negative records, so
they are already inside these sums.

Per tenant, in µSPU (exact):

* ``receivable`` = what other tenants owe it, ``payable`` = what it owes other tenants,
  ``fees`` = what it owes the platform, ``net = receivable - payable - fees``.
* Every pair adds its amount once to a receivable and once to a payable, so
  ``sum(net) + platform fees = 0`` exactly.

Money. One SPU is worth ``spu_value`` minor units of the settlement currency, held as an
integer ``spu_value_micro`` (millionths of a minor unit per SPU), so ``x`` µSPU are worth
``x * spu_value_micro / 10**12`` minor units. The rounding rule (written once, here):

* receivables round DOWN (a tenant is never paid a fraction it is not owed);
* payables and fees round UP (a tenant never pays less than it owes);
* each tenant's money net is ``receivable - payable - fees`` of the rounded columns, so a
  statement line always ties;
* what the rounding leaves over is the platform's ``rounding`` line:
  ``rounding = -(sum(net) + platform_fees)``, never negative, so
  ``sum(net) + platform_fees + rounding = 0`` in money too.

A statement line (one clearing record from one tenant's side, ``statements.py``) is
priced by the same rule on its own (``priced``), so a batch's lines may add up to a few
minor units away from the position priced from their sums; the statement export states
that difference.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SCALE = 10**12  # µSPU × (millionths of a minor unit per SPU) -> minor units


class NettingError(ValueError):
    """Totals that cannot come from balanced clearing records."""


@dataclass(frozen=True)
class PairTotal:
    payer: str
    payee: str
    amount_spu: int
    fees_spu: int
    count: int


@dataclass(frozen=True)
class Position:
    """One tenant's position: µSPU columns exact, money columns in minor units."""

    tenant: str
    receivable_spu: int
    payable_spu: int
    fees_spu: int
    record_count: int
    receivable: int = 0
    payable: int = 0
    fees: int = 0

    @property
    def net_spu(self) -> int:
        return self.receivable_spu - self.payable_spu - self.fees_spu

    @property
    def net(self) -> int:
        return self.receivable - self.payable - self.fees


@dataclass(frozen=True)
class Netting:
    positions: list[Position]  # ordered by tenant id
    platform_fees_spu: int
    platform_fees: int  # money
    rounding: int  # money the conversion left to the platform
    record_count: int

    @property
    def net_spu_total(self) -> int:
        return sum(p.net_spu for p in self.positions)

    @property
    def net_total(self) -> int:
        return sum(p.net for p in self.positions)


def floor_money(micro_spu: int, spu_value_micro: int) -> int:
    return (micro_spu * spu_value_micro) // SCALE


def ceil_money(micro_spu: int, spu_value_micro: int) -> int:
    return -((-micro_spu * spu_value_micro) // SCALE)


def priced(
    tenant: str,
    receivable_spu: int,
    payable_spu: int,
    fees_spu: int,
    record_count: int,
    spu_value_micro: int,
) -> Position:
    """µSPU columns with their money by the rounding rule: receivable down, payable and
    fees up. A position is priced from its sums; one statement line on its own."""
    return Position(
        tenant=tenant,
        receivable_spu=receivable_spu,
        payable_spu=payable_spu,
        fees_spu=fees_spu,
        record_count=record_count,
        receivable=floor_money(receivable_spu, spu_value_micro),
        payable=ceil_money(payable_spu, spu_value_micro),
        fees=ceil_money(fees_spu, spu_value_micro),
    )


def net(pairs: Iterable[PairTotal], spu_value_micro: int) -> Netting:
    """Positions per tenant and the platform's lines. Raises NettingError for a pair that
    names one tenant twice, or when the totals fail to sum to zero."""
    if spu_value_micro <= 0:
        raise NettingError("the value of one SPU must be positive")
    columns: dict[str, list[int]] = {}  # tenant -> [receivable, payable, fees, count]
    fees_total = records = 0
    for pair in pairs:
        if pair.payer == pair.payee:
            raise NettingError(f"tenant {pair.payer} cannot owe itself")
        payee = columns.setdefault(pair.payee, [0, 0, 0, 0])
        payer = columns.setdefault(pair.payer, [0, 0, 0, 0])
        payee[0] += pair.amount_spu
        payee[3] += pair.count
        payer[1] += pair.amount_spu
        payer[2] += pair.fees_spu
        payer[3] += pair.count
        fees_total += pair.fees_spu
        records += pair.count
    positions = [
        priced(tenant, receivable, payable, fees, count, spu_value_micro)
        for tenant, (receivable, payable, fees, count) in sorted(columns.items())
    ]
    platform_fees = sum(p.fees for p in positions)
    result = Netting(
        positions=positions,
        platform_fees_spu=fees_total,
        platform_fees=platform_fees,
        rounding=-(sum(p.net for p in positions) + platform_fees),
        record_count=records,
    )
    check_zero_sum(result)
    return result


def check_zero_sum(netting: Netting) -> None:
    """Raises NettingError unless net positions plus platform lines sum to zero, in SPU
    and in money, and the rounding line is not negative."""
    if netting.net_spu_total + netting.platform_fees_spu != 0:
        raise NettingError(
            f"SPU positions sum to {netting.net_spu_total} + fees {netting.platform_fees_spu}"
        )
    if netting.net_total + netting.platform_fees + netting.rounding != 0:
        raise NettingError("money positions, fees and rounding do not sum to zero")
    if netting.rounding < 0:
        raise NettingError(f"rounding line is negative: {netting.rounding}")
