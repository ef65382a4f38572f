"""Refunds: ``POST /v1/refunds {order_id, amount?}`` gives back what an order did to the
member's points, in proportion to the money refunded.

The rules, written down (API.md is silent on the details):

* **Proportion.** ``amount`` is money refunded on the order, in the same minor units
  and currency as the order's ``amount`` (shipping included). Omitted: the rest of the
  order. All refunds of an order together never exceed its amount (422 ``amount`` /
  ``order_fully_refunded``). Proportions are taken of the *cumulative* refunded amount,
  so partial refunds never round their way past the totals.
* **Claw-back of earned points, in the house's favour.** After refunds totalling ``R``
  of an order of amount ``A`` that earned ``E`` points, the member keeps
  ``floor(E × (A − R) / A)`` points; everything above that is clawed back. (Order of
  358.00 earning 3, refund 100.00: keep floor(3 × 258/358) = 2, claw back 1.) A full
  refund claws back all ``E``; repeated refunds never claw back more than ``E``.
* **Restoring redeemed points, in the house's favour.** Points ``P`` redeemed on the
  order (``POST /v1/redemptions`` with this ``order_id``) come back as
  ``floor(P × R / A)`` in total; a full refund restores all ``P``. They come back
  before the claw-back is taken, so one refund nets the two. Restored points get the
  nearest expiry of the lots they were spent from (a refund never extends their life;
  if that is already past, the next expiry sweep clears them).
* **A claw-back larger than the balance.** Wallets never go negative. A refund takes
  what the member has available (balance less holds and expired points) and records
  the rest as ``unrecovered`` on the refund: the merchant's loss, written off, never
  chased by a later refund (a staff adjustment can, deliberately). Frozen members are
  refunded too: a refund corrects the merchant's records.
* **Once.** Each refund is one row and at most two ledger transactions (kind
  ``refund``: a ``restore`` credit out of the redemption account and a ``clawback``
  debit back into issuance). The member's wallet is locked before the earlier refunds
  are read, so concurrent refunds of one order are serialized; an ``Idempotency-Key``
  replays the first response.

Raises NotFound when the tenant has no earned or redeemed order ``order_id``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jifen.platform import clock, ledger
from jifen.platform.db import UnitOfWork, run_in_transaction, unit_of_work
from jifen.platform.errors import NotFound, Unprocessable
from jifen.platform.ledger.model import Account, Kind, Lot, LotConsumption, Posting, Transaction
from jifen.platform.webhooks.events import emit

from . import wallets
from .orders import OrderEarning, OrderRefund
from .points import redeemed_on_order
from .services import load_member


@dataclass(frozen=True)
class RefundView:
    id: str
    created: datetime
    order_id: str
    member_id: str
    amount: int | None
    order_amount: int | None
    clawed_back: int
    restored: int
    unrecovered: int
    currency: str
    transactions: list[str] = field(default_factory=list)
    reason: str | None = None


@dataclass(frozen=True)
class RefundPlan:
    """What one refund does, computed from the order and the refunds before it (pure)."""

    clawback_due: int  # points to claw back now (recovered + unrecovered)
    restore: int  # redeemed points to give back now


def plan_refund(
    *,
    order_amount: int | None,
    refunded_before: int,
    amount: int | None,
    earned: int,
    settled_before: int,
    redeemed: int,
    restored_before: int,
) -> RefundPlan:
    """The module docstring's rules. ``order_amount`` None: unknown, refund in full only.
    ``settled_before`` is what earlier refunds clawed back or wrote off.

    Raises Unprocessable for an amount beyond what is left of the order.
    """
    if order_amount is None:
        if amount is not None:
            raise Unprocessable(
                "The order's amount is unknown (it earned nothing here): refund it in full "
                "by leaving out amount.",
                param="amount",
            )
        return RefundPlan(max(0, earned - settled_before), redeemed - restored_before)
    left = order_amount - refunded_before
    if left <= 0:
        raise Unprocessable(
            "The order was refunded in full already.", code="order_fully_refunded", param="order_id"
        )
    amount = left if amount is None else amount
    if amount > left:
        raise Unprocessable(
            f"Only {left} of the order's {order_amount} are left to refund.", param="amount"
        )
    refunded = refunded_before + amount
    keep = earned * (order_amount - refunded) // order_amount
    restore_total = redeemed * refunded // order_amount
    return RefundPlan(
        max(0, earned - keep - settled_before), max(0, restore_total - restored_before)
    )


def refund(
    tenant_id: str, *, order_id: str, amount: int | None = None, reason: str | None = None
) -> RefundView:
    """Refund ``amount`` of order ``order_id`` (all that is left when None)."""

    def attempt() -> RefundView:
        with unit_of_work(tenant_id=tenant_id) as uow:
            result = _refund(uow, tenant_id, order_id, amount, reason)
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


def _refund(
    uow: UnitOfWork, tenant_id: str, order_id: str, amount: int | None, reason: str | None
) -> RefundView:
    session = uow.session
    asset = wallets.currency_code(session, tenant_id)
    earning = session.scalar(select(OrderEarning).where(OrderEarning.order_id == order_id))
    redemptions = _redemptions(session, order_id)
    if earning is not None:
        member_id = earning.member_id
    elif redemptions:
        member_id = redemptions[0][1]
    else:
        raise NotFound(f"No earned or redeemed order {order_id!r}.", param="order_id")
    member = load_member(session, member_id)
    wallet = wallets.member_wallet(session, member, asset)
    wallet = ledger.lock_wallets(session, [wallet])[wallet.id]  # serializes this order's refunds

    before = session.execute(
        select(
            func.coalesce(func.sum(OrderRefund.amount), 0),
            func.coalesce(func.sum(OrderRefund.clawed_back + OrderRefund.unrecovered), 0),
            func.coalesce(func.sum(OrderRefund.restored), 0),
            func.count(OrderRefund.id),
        ).where(OrderRefund.order_id == order_id)
    ).one()
    refunded_before, settled_before, restored_before, count = (int(v or 0) for v in before)
    order_amount = earning.amount if earning is not None else _redeemed_order_amount(redemptions)
    if order_amount is None and count:
        raise Unprocessable(
            "The order was refunded in full already.", code="order_fully_refunded", param="order_id"
        )
    redeemed = redeemed_on_order(session, wallet, order_id)
    plan = plan_refund(
        order_amount=order_amount,
        refunded_before=refunded_before,
        amount=amount,
        earned=earning.points if earning is not None else 0,
        settled_before=settled_before,
        redeemed=redeemed,
        restored_before=restored_before,
    )
    refunded_now = None if order_amount is None else (amount or order_amount - refunded_before)
    row = OrderRefund(
        tenant_id=tenant_id,
        order_id=order_id,
        member_id=member.id,
        amount=refunded_now,
        clawed_back=0,
        restored=0,
        unrecovered=0,
        reason=reason,
    )
    session.add(row)
    session.flush()
    metadata = {"refund": row.id, "order_id": order_id}
    transactions = []
    if plan.restore:
        restore = ledger.credit(
            session,
            wallet,
            plan.restore,
            kind=Kind.REFUND,
            reference=order_id,
            expires_at=_restored_expiry(session, [txn_id for txn_id, _, _ in redemptions]),
            metadata={**metadata, "restore": plan.restore},
            source_type="redemption",
        )
        row.restored, row.restore_transaction_id = plan.restore, restore.id
        transactions.append(restore.id)
    if plan.clawback_due:
        available = ledger.wallet_balance(session, wallet, now=clock.now()).available
        recovered = min(plan.clawback_due, max(available, 0))
        row.unrecovered = plan.clawback_due - recovered
        if recovered:
            clawback = ledger.debit(
                session,
                wallet,
                recovered,
                kind=Kind.REFUND,
                reference=order_id,
                metadata={**metadata, "clawback": recovered, "unrecovered": row.unrecovered},
                sink_type="issuance",
            )
            row.clawed_back, row.clawback_transaction_id = recovered, clawback.id
            transactions.append(clawback.id)
    session.flush()
    view = RefundView(
        id=row.id,
        created=row.created,
        order_id=order_id,
        member_id=member.id,
        amount=row.amount,
        order_amount=order_amount,
        clawed_back=row.clawed_back,
        restored=row.restored,
        unrecovered=row.unrecovered,
        currency=asset,
        transactions=transactions,
        reason=reason,
    )
    if transactions:
        emit(
            uow,
            tenant_id=tenant_id,
            type="points.reversed",
            data={
                "refund": row.id,
                "member": member.id,
                "order_id": order_id,
                "clawed_back": row.clawed_back,
                "restored": row.restored,
                "unrecovered": row.unrecovered,
                "transactions": transactions,
            },
        )
    return view


def _redemptions(session: Session, order_id: str) -> list[tuple[str, str, dict]]:
    """``(transaction id, member id, metadata)`` of the order's redemptions, oldest
    first."""
    rows = session.execute(
        select(Transaction.id, Account.owner_id, Transaction.meta)
        .join(Posting, Posting.transaction_id == Transaction.id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            Transaction.kind == Kind.REDEEM.value,
            Transaction.reference == order_id,
            Account.owner_id.is_not(None),
        )
        .order_by(Transaction.created, Transaction.id)
    ).all()
    return [(txn_id, owner, dict(meta or {})) for txn_id, owner, meta in rows]


def _redeemed_order_amount(redemptions: list[tuple[str, str, dict]]) -> int | None:
    """The order amount a redemption against the order recorded, if any did."""
    for _, _, meta in redemptions:
        value = meta.get("order_amount")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _restored_expiry(session: Session, transaction_ids: list[str]) -> datetime | None:
    """The nearest expiry among the lots the order's redemptions consumed (None: they
    never expire)."""
    if not transaction_ids:
        return None
    return session.scalar(
        select(func.min(Lot.expires_at))
        .join(LotConsumption, LotConsumption.lot_id == Lot.id)
        .where(LotConsumption.transaction_id.in_(transaction_ids))
    )
