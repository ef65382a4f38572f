"""Closing is sound against clearing records being inserted at the same moment
(PostgreSQL, where a record's sequence number is drawn at insert, not at commit): the
close waits for the insert in flight, then freezes it; nothing is skipped, nothing is
settled twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from factories import in_app_context
from sqlalchemy import select
from test_batches_api import batch_of, records_of_swap

from jifen.platform import clearing, clock
from jifen.platform.clearing import ClearingRecord
from jifen.platform.db import unit_of_work
from jifen.settlement import services


@pytest.mark.postgres
def test_the_close_waits_for_a_record_in_flight_and_freezes_it(settlement):
    a, b = settlement.tenant("0.8"), settlement.tenant("1.5")
    swap = settlement.swap(settlement.card(a), a, b, 100)
    [model] = records_of_swap(swap["id"])
    inserted, release = threading.Event(), threading.Event()

    def insert_and_hold() -> str:
        with unit_of_work(platform=True) as uow:
            source = uow.session.scalar(select(ClearingRecord).where(ClearingRecord.id == model))
            row = clearing.record(  # a kind no exchange invariant ties to a source
                uow.session,
                kind=clearing.ClearingKind.ALLIANCE_ISSUANCE,
                payer_tenant_id=source.payer_tenant_id,
                payee_tenant_id=source.payee_tenant_id,
                currency=source.currency,
                points=1,
                amount_spu=1_000_000,
                fee_spu=0,
                source_transaction_id=source.source_transaction_id,
            )
            uow.session.flush()  # the row and its sequence number exist, uncommitted
            record_id = row.id
            inserted.set()
            assert release.wait(10)
            uow.commit(None)
        return record_id

    with ThreadPoolExecutor(max_workers=2) as pool:
        writer = pool.submit(in_app_context(insert_and_hold))
        assert inserted.wait(10)
        cutoff = clock.now()
        closing = pool.submit(in_app_context(services.close_batch), "test:closer", cutoff)
        with pytest.raises(TimeoutError):
            closing.result(timeout=1)  # waiting for the insert to commit
        release.set()
        record_id = writer.result(timeout=10)
        closed = closing.result(timeout=30)
    batch = closed.batch
    assert batch_of({model, record_id}) == {model: batch.id, record_id: batch.id}
    mine = {p.tenant_id: p for p in closed.positions}
    assert mine[a.id].record_count == 2 and mine[b.id].record_count == 2
    # the next close starts after this one: the records are not settled again
    later = services.close_batch("test:closer", clock.now())
    assert later.batch.records_after == batch.records_through
    assert a.id not in {p.tenant_id for p in later.positions}
