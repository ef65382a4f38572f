"""Catalog use cases: rewards CRUD, code pools, redeeming and the redemption order's
life.

Where API.md is silent:

* Managing rewards needs ``program:write``; reading them ``points:read`` or
  ``program:write``; redeeming and order changes ``points:write``.
* A reward's price is ``price_points`` per unit plus an optional ``cash_amount`` per
  unit in ``currency``: Jifen records the cash owed on the order; the merchant collects
  it.
* ``physical`` rewards need ``stock`` and the redemption a ``shipping_address``; the
  order starts ``pending`` and moves to ``shipped`` and ``delivered``. ``virtual``
  rewards sell codes from a pool uploaded with ``POST /v1/rewards/{id}/codes`` (their
  stock is the number of unsold codes; it cannot be set by hand). ``coupon`` rewards
  issue a fresh random coupon code per unit; their stock is optional (None:
  unlimited). Virtual and coupon orders are ``fulfilled`` at once.
* Stock: a sale takes it with ``UPDATE rewards SET stock = stock - :q WHERE id = :id
  AND stock >= :q`` and checks the row count, so concurrent sales never oversell (422
  ``out_of_stock``); the CHECK ``stock >= 0`` is the database's second line.
* Cancellation (``POST /v1/redemption_orders/{id}/cancel``): only a ``pending`` order
  (a physical one not yet shipped). It reverses the points transaction (the points
  return to the very lots they left) and puts the quantity back in stock. Codes already
  shown to the member cannot be taken back, so fulfilled orders are final.
* ``DELETE /v1/rewards/{id}`` archives the reward: it can no longer be redeemed, and its
  orders stay readable.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from jifen.platform import clock, ledger
from jifen.platform.db import UnitOfWork, is_unique_violation, run_in_transaction, unit_of_work
from jifen.platform.errors import (
    Conflict,
    InvalidState,
    LimitExceeded,
    MemberFrozen,
    NotFound,
    Unprocessable,
)
from jifen.platform.ids import new_id
from jifen.platform.ledger.model import Kind, Transaction
from jifen.platform.paging import cursor_page
from jifen.platform.webhooks.events import emit
from jifen.tenants.members import wallets
from jifen.tenants.members.services import load_member, looks_like_id

from .model import RedemptionOrder, Reward, RewardCode

MAX_CODES_PER_UPLOAD = 1000
MAX_QUANTITY = 100
COUPON_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
FULFILMENT = {"pending": ("shipped", "delivered"), "shipped": ("delivered",)}


# --- rewards ---------------------------------------------------------------------------


def create_reward(tenant_id: str, body: dict[str, Any]) -> Reward:
    """Raises Unprocessable naming the field (stock for a virtual reward, no stock for
    a physical one, a coupon section on another kind, cash without a currency)."""
    kind = body["kind"]
    _check_reward_fields(kind, body, creating=True)
    with unit_of_work(tenant_id=tenant_id) as uow:
        reward = Reward(
            tenant_id=tenant_id,
            kind=kind,
            name=body["name"],
            description=body.get("description"),
            price_points=body["price_points"],
            cash_amount=body.get("cash_amount", 0),
            currency=body.get("currency"),
            stock=0 if kind == "virtual" else body.get("stock"),
            coupon=body.get("coupon"),
            status="active",
        )
        uow.session.add(reward)
        uow.session.flush()
        uow.commit(reward)
        return reward


def _check_reward_fields(kind: str, body: dict[str, Any], *, creating: bool) -> None:
    if kind == "virtual" and body.get("stock") is not None:
        raise Unprocessable(
            "A virtual reward's stock is its unsold codes: upload codes instead.", param="stock"
        )
    if kind == "physical" and creating and body.get("stock") is None:
        raise Unprocessable("A physical reward needs its stock.", param="stock")
    if kind == "physical" and not creating and "stock" in body and body["stock"] is None:
        raise Unprocessable("A physical reward needs its stock.", param="stock")
    if kind != "coupon" and body.get("coupon") is not None:
        raise Unprocessable("Only a coupon reward has a coupon section.", param="coupon")
    if body.get("cash_amount") and not body.get("currency") and creating:
        raise Unprocessable("A cash part needs its currency.", param="currency")


def list_rewards(tenant_id: str, args: dict) -> dict:
    with unit_of_work(tenant_id=tenant_id) as uow:
        statement = select(Reward)
        if args.get("status"):
            statement = statement.where(Reward.status == args["status"])
        if args.get("kind"):
            statement = statement.where(Reward.kind == args["kind"])
        return cursor_page(uow.session, statement, Reward, args)


def get_reward(tenant_id: str, reward_id: str) -> Reward:
    with unit_of_work(tenant_id=tenant_id) as uow:
        return _reward(uow, reward_id)


def _reward(uow: UnitOfWork, reward_id: str) -> Reward:
    reward = uow.session.get(Reward, reward_id) if looks_like_id(reward_id) else None
    if reward is None:
        raise NotFound(f"No such reward: {reward_id}")
    return reward


def update_reward(tenant_id: str, reward_id: str, changes: dict[str, Any]) -> Reward:
    """Change name, description, price, cash part or (not for virtual rewards) stock.
    Setting ``stock`` sets the number left to sell. Raises NotFound, Unprocessable,
    InvalidState (an archived reward)."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        reward = _reward(uow, reward_id)
        if reward.status != "active":
            raise InvalidState("An archived reward cannot be changed.", param="reward")
        _check_reward_fields(reward.kind, changes, creating=False)
        if changes.get("cash_amount") and not (changes.get("currency") or reward.currency):
            raise Unprocessable("A cash part needs its currency.", param="currency")
        if "stock" in changes:
            uow.session.execute(
                update(Reward)
                .where(Reward.id == reward.id)
                .values(stock=changes["stock"])
                .execution_options(synchronize_session=False)
            )
        for name in ("name", "description", "price_points", "cash_amount", "currency", "coupon"):
            if name in changes:
                setattr(reward, name, changes[name])
        uow.session.flush()
        uow.session.refresh(reward)
        uow.commit(reward)
        return reward


def archive_reward(tenant_id: str, reward_id: str) -> Reward:
    """Raises NotFound. Archiving twice is harmless."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        reward = _reward(uow, reward_id)
        reward.status = "archived"
        uow.commit(reward)
        return reward


def upload_codes(tenant_id: str, reward_id: str, codes: list[str] | None) -> dict:
    """Add codes to a virtual reward's pool; its stock grows by the number added.

    Raises NotFound, Unprocessable (not a virtual reward, a code twice in the upload),
    Conflict (``code_exists``: a code already in the pool; nothing is added)."""

    def attempt() -> dict:
        with unit_of_work(tenant_id=tenant_id) as uow:
            reward = _reward(uow, reward_id)  # an unknown reward is 404 before a bad body
            if not codes:
                raise Unprocessable("Upload 1 to 1000 codes.", param="codes")
            if len(set(codes)) != len(codes):
                raise Unprocessable("The upload lists a code twice.", param="codes")
            if reward.kind != "virtual":
                raise Unprocessable("Only a virtual reward has a code pool.", param="codes")
            if reward.status != "active":
                raise InvalidState("An archived reward cannot be changed.", param="reward")
            session = uow.session
            taken = session.scalars(
                select(RewardCode.code).where(
                    RewardCode.reward_id == reward.id, RewardCode.code.in_(codes)
                )
            ).first()
            if taken is not None:
                raise Conflict(f"Code {taken!r} is in the pool already.", code="code_exists",
                               param="codes")  # fmt: skip
            session.add_all(
                RewardCode(tenant_id=tenant_id, reward_id=reward.id, code=code, status="available")
                for code in codes
            )
            try:
                session.flush()
            except IntegrityError as exc:
                if not is_unique_violation(exc):
                    raise
                raise Conflict("A code was added meanwhile.", code="code_exists",
                               param="codes") from None  # fmt: skip
            session.execute(
                update(Reward)
                .where(Reward.id == reward.id)
                .values(stock=Reward.stock + len(codes))
                .execution_options(synchronize_session=False)
            )
            session.refresh(reward)
            result = {"reward": reward.id, "added": len(codes), "stock": reward.stock}
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


# --- redeeming ---------------------------------------------------------------------------


def redeem(
    tenant_id: str,
    reward_id: str,
    *,
    member_id: str | None,
    quantity: int,
    shipping_address: dict | None = None,
) -> RedemptionOrder:
    """Buy ``quantity`` of a reward with the member's points.

    One transaction: take the stock (conditional UPDATE), debit the points (kind
    ``reward``), take codes or issue coupons, write the order. Raises NotFound (reward,
    member), MemberFrozen, InvalidState (archived reward), Unprocessable (a physical
    reward without ``shipping_address``, an address for another kind), LimitExceeded
    ``out_of_stock`` and InsufficientPoints; nothing changes then.
    """

    def attempt() -> RedemptionOrder:
        with unit_of_work(tenant_id=tenant_id) as uow:
            order = _redeem(uow, tenant_id, reward_id, member_id, quantity, shipping_address)
            uow.commit(order)
            return order

    return run_in_transaction(attempt)


def _redeem(uow, tenant_id, reward_id, member_id, quantity, shipping_address) -> RedemptionOrder:
    session = uow.session
    reward = _reward(uow, reward_id)  # an unknown reward is 404 before a bad body
    if not member_id:
        raise Unprocessable("member_id is required.", param="member_id")
    if reward.status != "active":
        raise InvalidState("This reward is archived.", code="reward_archived", param="reward")
    member = load_member(session, member_id, param="member_id")
    if member.is_frozen:
        raise MemberFrozen(f"Member {member.id} is frozen.", param="member_id")
    if reward.kind == "physical" and not shipping_address:
        raise Unprocessable("A physical reward ships to a shipping_address.",
                            param="shipping_address")  # fmt: skip
    if reward.kind != "physical" and shipping_address:
        raise Unprocessable("Only physical rewards ship.", param="shipping_address")
    if reward.stock is not None:
        taken = session.execute(
            update(Reward)
            .where(Reward.id == reward.id, Reward.stock.is_not(None), Reward.stock >= quantity)
            .values(stock=Reward.stock - quantity)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            raise LimitExceeded("Not enough of this reward is left.", code="out_of_stock",
                                param="quantity")  # fmt: skip
    order = RedemptionOrder(
        id=new_id("rdo"),
        tenant_id=tenant_id,
        reward_id=reward.id,
        member_id=member.id,
        kind=reward.kind,
        quantity=quantity,
        points=reward.price_points * quantity,
        cash_amount=reward.cash_amount * quantity,
        currency=reward.currency,
        status="pending" if reward.kind == "physical" else "fulfilled",
        codes=[],
        shipping_address=shipping_address,
    )
    wallet = wallets.member_wallet(session, member)
    transaction = ledger.debit(
        session,
        wallet,
        order.points,
        kind=Kind.REWARD,
        reference=order.id,
        metadata={"reward": reward.id, "quantity": quantity, "redemption_order": order.id},
    )
    order.transaction_id = transaction.id
    if reward.kind == "virtual":
        order.codes = _take_codes(session, reward, order.id, quantity)
    elif reward.kind == "coupon":
        order.codes = [_coupon_code() for _ in range(quantity)]
    session.add(order)
    session.flush()
    emit(
        uow,
        tenant_id=tenant_id,
        type="points.redeemed",
        data={
            "transaction": transaction.id,
            "member": member.id,
            "kind": transaction.kind,
            "points": -order.points,
            "currency": wallet.asset,
            "reference": order.id,
            "reward": reward.id,
            "quantity": quantity,
        },
    )
    return order


def _take_codes(session, reward: Reward, order_id: str, quantity: int) -> list[str]:
    """Mark ``quantity`` available codes issued. The stock already taken guarantees
    there are enough; ``SKIP LOCKED`` lets concurrent sales take different ones, and the
    conditional UPDATE makes a code go to one order only."""
    taken: list[str] = []
    while len(taken) < quantity:
        candidates = session.execute(
            select(RewardCode.id, RewardCode.code)
            .where(RewardCode.reward_id == reward.id, RewardCode.status == "available")
            .order_by(RewardCode.created, RewardCode.id)
            .limit(quantity - len(taken))
            .with_for_update(skip_locked=True)
        ).all()
        if not candidates:
            raise RuntimeError(f"reward {reward.id}: stock says more codes than the pool has")
        for code_id, code in candidates:
            claimed = session.execute(
                update(RewardCode)
                .where(RewardCode.id == code_id, RewardCode.status == "available")
                .values(status="issued", order_id=order_id)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount == 1:
                taken.append(code)
    return taken


def _coupon_code() -> str:
    return "-".join("".join(secrets.choice(COUPON_ALPHABET) for _ in range(4)) for _ in range(4))


# --- redemption orders -------------------------------------------------------------------


def list_orders(tenant_id: str, args: dict) -> dict:
    with unit_of_work(tenant_id=tenant_id) as uow:
        statement = select(RedemptionOrder)
        if args.get("member_id"):
            statement = statement.where(RedemptionOrder.member_id == args["member_id"])
        if args.get("status"):
            statement = statement.where(RedemptionOrder.status == args["status"])
        return cursor_page(uow.session, statement, RedemptionOrder, args)


def get_order(tenant_id: str, order_id: str) -> RedemptionOrder:
    with unit_of_work(tenant_id=tenant_id) as uow:
        return _order(uow, order_id)


def _order(uow: UnitOfWork, order_id: str) -> RedemptionOrder:
    order = uow.session.get(RedemptionOrder, order_id) if looks_like_id(order_id) else None
    if order is None:
        raise NotFound(f"No such redemption order: {order_id}")
    return order


def fulfil_order(
    tenant_id: str, order_id: str, *, status: str | None = None, tracking_number: str | None = None
) -> RedemptionOrder:
    """Move a physical order to ``shipped`` or ``delivered``. Raises NotFound and
    InvalidState (any other move)."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        order = _order(uow, order_id)  # an unknown order is 404 before a bad body
        if status is None:
            raise Unprocessable("status is required: shipped or delivered.", param="status")
        if status not in FULFILMENT.get(order.status, ()):
            raise InvalidState(
                f"A {order.status} {order.kind} order cannot become {status}.", param="status"
            )
        order.status = status
        order.updated = clock.now()
        if tracking_number is not None:
            order.tracking_number = tracking_number
        uow.commit(order)
        return order


def cancel_order(tenant_id: str, order_id: str) -> RedemptionOrder:
    """Cancel a pending order: points back (the ledger reverses the debit), stock back.
    Raises NotFound, InvalidState (shipped, delivered, fulfilled or cancelled)."""

    def attempt() -> RedemptionOrder:
        with unit_of_work(tenant_id=tenant_id) as uow:
            session = uow.session
            claimed = session.execute(
                update(RedemptionOrder)
                .where(RedemptionOrder.id == order_id, RedemptionOrder.status == "pending")
                .values(status="cancelled", updated=clock.now())
                .execution_options(synchronize_session=False)
            )
            order = _order(uow, order_id)
            if claimed.rowcount != 1:
                raise InvalidState(f"A {order.status} order cannot be cancelled.", param="status")
            session.refresh(order)
            session.execute(
                update(Reward)
                .where(Reward.id == order.reward_id, Reward.stock.is_not(None))
                .values(stock=Reward.stock + order.quantity)
                .execution_options(synchronize_session=False)
            )
            debit = session.get(Transaction, order.transaction_id)
            reversal = ledger.reverse(
                session, debit, reason=f"redemption order {order.id} cancelled"
            )
            order.cancel_transaction_id = reversal.id
            session.flush()
            uow.commit(order)
            return order

    return run_in_transaction(attempt)
