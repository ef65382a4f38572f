"""Clearing records: every cross-tenant value movement, written where it happens, for
settlement to aggregate later (DESIGN.md, Settlement).

This is the clearing port: the areas that move value between tenants (the exchange's
swaps and acceptance, alliances) write records here, and settlement reads them. It sits
in the base so that none of them imports another to do so.

A record says that ``payer`` owes ``payee`` ``amount_spu`` µSPU and owes the platform
``fee_spu + rounding_spu`` µSPU on top, for ``points`` of ``currency`` moved by one swap or
one capture or reversal of an authorization:

* ``swap``: A (the source currency's tenant) owes B the SPU value of the points B issued
  (``spu_in``); the platform keeps the fee and the rounding. ``amount + fee + rounding``
  equals the SPU that left A (``spu_out``).
* ``acceptance_capture``: the issuer A owes merchant B the value of the points B accepted
  less the acceptance fee, which the platform keeps.
* ``acceptance_reversal``: a reversal after capture undoes part of a capture. It keeps the
  capture's payer and payee and carries negative amounts (the payable and the fee, pro
  rata), so netting is a plain sum and no record is ever changed.
* ``alliance_issuance``: a member merchant issued alliance points; it owes the alliance
  their SPU value (no fee). ``alliance_redemption``: alliance points were redeemed at a
  member merchant; the alliance owes it their value (``tenants.alliances``, migration
  0011).

Records are immutable: the table refuses UPDATE and DELETE (migration 0007); a mistake is
corrected by a new record.

Every record carries ``sequence``, a unique number that grows with every insert
(migration 0013): on PostgreSQL the column's default draws it from a database sequence;
on SQLite, whose writers are serialized, ``record`` inserts ``max + 1`` and a trigger
refuses any number not above the current maximum. Settlement freezes a batch as a range
of these numbers (``settlement/services.py``).
"""

from __future__ import annotations

import enum

from sqlalchemy import CheckConstraint, FetchedValue, ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from jifen.platform import clock
from jifen.platform.db import Base, BigInt, Created, insert_rows
from jifen.platform.ids import new_id


class ClearingKind(enum.StrEnum):
    SWAP = "swap"
    ACCEPTANCE_CAPTURE = "acceptance_capture"
    ACCEPTANCE_REVERSAL = "acceptance_reversal"
    ALLIANCE_ISSUANCE = "alliance_issuance"
    ALLIANCE_REDEMPTION = "alliance_redemption"


class ClearingRecord(Created, Base):
    __tablename__ = "clearing_records"
    __table_args__ = (
        CheckConstraint("payer_tenant_id <> payee_tenant_id", name="clearing_two_tenants"),
        CheckConstraint(
            f"kind IN ({', '.join(repr(k.value) for k in ClearingKind)})", name="clearing_kind"
        ),
        CheckConstraint(
            "(kind = 'acceptance_reversal' AND amount_spu <= 0 AND fee_spu <= 0"
            "  AND rounding_spu = 0 AND points < 0)"
            " OR (kind <> 'acceptance_reversal' AND amount_spu >= 0 AND fee_spu >= 0"
            "  AND rounding_spu >= 0 AND points > 0)",
            name="clearing_signs",
        ),
        CheckConstraint(
            "(kind = 'swap') = (swap_id IS NOT NULL AND authorization_id IS NULL)",
            name="clearing_source",
        ),
        Index("ix_clearing_records_created", "created", "id"),
        Index("ix_clearing_records_payer", "payer_tenant_id", "created"),
        Index("ix_clearing_records_payee", "payee_tenant_id", "created"),
        Index("ix_clearing_records_swap", "swap_id"),
        Index("ix_clearing_records_authorization", "authorization_id"),
        Index("ix_clearing_records_sequence", "sequence", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("clr"))
    kind: Mapped[str] = mapped_column(String(32))
    payer_tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    payee_tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    currency: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigInt)
    amount_spu: Mapped[int] = mapped_column(BigInt)
    fee_spu: Mapped[int] = mapped_column(BigInt)
    rounding_spu: Mapped[int] = mapped_column(BigInt)
    swap_id: Mapped[str | None] = mapped_column(ForeignKey("exchange_swaps.id"))
    authorization_id: Mapped[str | None] = mapped_column(ForeignKey("acceptance_authorizations.id"))
    source_transaction_id: Mapped[str] = mapped_column(ForeignKey("ledger_transactions.id"))
    # PostgreSQL: DEFAULT nextval('clearing_records_sequence_seq'); SQLite: set by record()
    sequence: Mapped[int] = mapped_column(BigInt, server_default=FetchedValue())


def record(session: Session, **fields) -> ClearingRecord:
    """Write one clearing record (``new_record``'s fields) in the caller's unit of work,
    at once with a plain INSERT; never commits. The returned row is not in the session.

    Raises ValueError for a record that could not balance (the database refuses it too).
    """
    row = new_record(session, **fields)
    insert_rows(session, row)
    return row


def new_record(
    session: Session,
    *,
    kind: ClearingKind,
    payer_tenant_id: str,
    payee_tenant_id: str,
    currency: str,
    points: int,
    amount_spu: int,
    fee_spu: int,
    source_transaction_id: str,
    rounding_spu: int = 0,
    swap_id: str | None = None,
    authorization_id: str | None = None,
) -> ClearingRecord:
    """A clearing record, not yet written: ``db.insert_rows`` writes it, together with the
    rows it names if they are new too. Its ``sequence`` is drawn as it is written.

    Raises ValueError for a record that could not balance.
    """
    if payer_tenant_id == payee_tenant_id:
        raise ValueError("a clearing record moves value between two tenants")
    row = ClearingRecord(
        id=new_id("clr"),
        kind=ClearingKind(kind).value,
        payer_tenant_id=payer_tenant_id,
        payee_tenant_id=payee_tenant_id,
        currency=currency,
        points=points,
        amount_spu=amount_spu,
        fee_spu=fee_spu,
        rounding_spu=rounding_spu,
        swap_id=swap_id,
        authorization_id=authorization_id,
        source_transaction_id=source_transaction_id,
        created=clock.now(),
    )
    if session.get_bind().dialect.name != "postgresql":
        # On PostgreSQL the column's default draws the number. SQLite runs one writer at
        # a time: the INSERT itself takes the next one.
        next_number = select(func.coalesce(func.max(ClearingRecord.sequence), 0) + 1)
        row.sequence = next_number.scalar_subquery()
    return row
