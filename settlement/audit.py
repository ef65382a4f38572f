"""Settlement's invariants for ``jifen audit``.

* every batch balances: its positions' nets plus its platform fees sum to zero in µSPU,
  and plus its rounding line to zero in money;
* every batch's positions are what its frozen clearing records add up to (recomputed with
  the same GROUP BY and netting);
* every payment instruction moves exactly its tenant's net, in the right direction.
"""

from __future__ import annotations

from sqlalchemy import func, select

from jifen.platform.audit import invariant
from jifen.platform.db import unit_of_work

from . import netting, services
from .model import PaymentInstruction, Position, SettlementBatch

LIMIT = 50


@invariant("settlement: net positions plus platform fees sum to zero in every batch")
def batches_sum_to_zero() -> list[str]:
    with unit_of_work(platform=True) as uow:
        rows = uow.session.execute(
            select(
                SettlementBatch.id,
                SettlementBatch.platform_fees_spu + func.coalesce(func.sum(Position.net_spu), 0),
                SettlementBatch.platform_fees
                + SettlementBatch.rounding
                + func.coalesce(func.sum(Position.net), 0),
            )
            .outerjoin(Position, Position.batch_id == SettlementBatch.id)
            .group_by(
                SettlementBatch.id,
                SettlementBatch.platform_fees_spu,
                SettlementBatch.platform_fees,
                SettlementBatch.rounding,
            )
        ).all()
    return [
        f"batch {batch}: positions and fees sum to {spu} µSPU, {money} in money"
        for batch, spu, money in rows
        if spu != 0 or money != 0
    ][:LIMIT]


@invariant("settlement: positions equal the sums of their frozen clearing records")
def positions_match_records() -> list[str]:
    problems = []
    with unit_of_work(platform=True) as uow:
        batches = uow.session.execute(
            select(SettlementBatch.id, SettlementBatch.spu_value_micro)
        ).all()
        for batch_id, value in batches:
            expected = netting.net(services.pair_totals(uow.session, batch_id), value)
            stored = {
                p.tenant_id: (p.receivable_spu, p.payable_spu, p.fees_spu, p.net, p.record_count)
                for p in uow.session.scalars(select(Position).where(Position.batch_id == batch_id))
            }
            computed = {
                p.tenant: (p.receivable_spu, p.payable_spu, p.fees_spu, p.net, p.record_count)
                for p in expected.positions
            }
            if stored != computed:
                problems.append(f"batch {batch_id}: positions differ from its clearing records")
    return problems[:LIMIT]


@invariant("settlement: every payment instruction moves its tenant's net position")
def instructions_match_positions() -> list[str]:
    with unit_of_work(platform=True) as uow:
        rows = uow.session.execute(
            select(
                PaymentInstruction.id,
                PaymentInstruction.amount,
                PaymentInstruction.direction,
                Position.net,
            ).outerjoin(
                Position,
                (Position.batch_id == PaymentInstruction.batch_id)
                & (Position.tenant_id == PaymentInstruction.tenant_id),
            )
        ).all()
    return [
        f"instruction {spi}: {direction} of {amount}, net position {net}"
        for spi, amount, direction, net in rows
        if net is None or (amount if direction == "payout" else -amount) != net
    ][:LIMIT]
