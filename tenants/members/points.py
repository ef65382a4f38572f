"""Use cases that move a member's points: earn, award, redeem, hold and capture or void,
transfer; and the reads of a wallet: balance and transactions.

Each opens one unit of work bound to the caller's tenant, loads the members scoped to it
(another tenant's member is a 404 like an unknown one), asks the ledger to post, and
commits with the object the view returns (so an ``Idempotency-Key`` stores exactly that
response, in the same transaction). Use cases that can touch more than one locked row
run under ``run_in_transaction``, which retries a deadlock inside instead of showing it
to the client.

Earning follows the tenant's program (``tenants.program``): ``current_program`` gives
the rules in force and their version, ``compute_earn`` the points and the breakdown, and
``expires_at`` the lot's expiry, counted from ``occurred_at`` in the tenant's time zone.
Every earn transaction's metadata records ``program_version`` and ``breakdown``. The
member's wallet is locked before "points earned today" is read, so two earns of one
member cannot both slip under the per-day cap. Each earned order gets an
``OrderEarning`` row in the same transaction; its unique ``(tenant_id, order_id)`` makes
a second earn for the order a 409 ``order_already_earned``, even at the same instant.
Event awards live in ``awards``; refunds in ``refunds``; checkout quotes in ``checkout``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jifen.platform import clock, ledger
from jifen.platform.db import UnitOfWork, is_unique_violation, run_in_transaction, unit_of_work
from jifen.platform.errors import Conflict, LimitExceeded, NotFound, Unprocessable
from jifen.platform.ledger.expiry import ExpiryPolicy
from jifen.platform.ledger.model import Account, Hold, Kind, Posting, Transaction
from jifen.platform.webhooks.events import emit
from jifen.tenants.model import Tenant
from jifen.tenants.program.earning import (
    DEFAULT_TIME_ZONE,
    MemberContext,
    Order,
    compute_earn,
    local_day,
    local_day_bounds,
)
from jifen.tenants.program.expiry import expires_at as program_expires_at
from jifen.tenants.program.expiry import expiry_policy as program_expiry_policy
from jifen.tenants.program.redemption import max_share, points_plus_cash
from jifen.tenants.program.rules import Program
from jifen.tenants.program.services import current_program, program_version

from . import tiering, wallets
from .model import Member
from .orders import MemberAward, OrderEarning
from .services import ensure_active, load_active_member, load_member, looks_like_id
from .wallets import MemberEntry, TransferEntry, entry_event_data

HOLD_DEFAULT_TTL = timedelta(days=1)
HOLD_MIN_TTL = timedelta(minutes=1)
HOLD_MAX_TTL = timedelta(days=30)
MAX_EARN_BATCH = 100


@dataclass(frozen=True)
class ProgramContext:
    """The rules in force for one unit of work: the program, its version, the zone."""

    program: Program
    version: int
    time_zone: str
    asset: str


def program_context(session: Session, tenant_id: str) -> ProgramContext:
    program, version = current_program(session, tenant_id)
    tenant = session.get(Tenant, tenant_id)
    time_zone = tenant.time_zone if tenant is not None else DEFAULT_TIME_ZONE
    return ProgramContext(program, version, time_zone, wallets.currency_code(session, tenant_id))


def expiry_policy_of(
    session: Session, program_version_id: str | None, time_zone: str | None
) -> ExpiryPolicy:
    """The expiry policy of points credited now in a tenant's currency, from what the
    caller read already: the id of its program version in force
    (``program.services.latest_program_version``) and its time zone."""
    program, _version = program_version(session, program_version_id)
    return program_expiry_policy(program, time_zone or DEFAULT_TIME_ZONE)


def earned_on_day(session: Session, member_id: str, day_start: datetime, day_end: datetime) -> int:
    """Points the member earned with orders (by ``occurred_at``) and event awards in
    ``[day_start, day_end)``: what ``caps.per_day`` counts. Manual awards do not count."""
    orders = session.scalar(
        select(func.coalesce(func.sum(OrderEarning.points), 0)).where(
            OrderEarning.member_id == member_id,
            OrderEarning.occurred_at >= day_start,
            OrderEarning.occurred_at < day_end,
        )
    )
    awards = session.scalar(
        select(func.coalesce(func.sum(MemberAward.points), 0)).where(
            MemberAward.member_id == member_id,
            MemberAward.created >= day_start,
            MemberAward.created < day_end,
        )
    )
    return int(orders or 0) + int(awards or 0)


# --- earning -------------------------------------------------------------------------


def earn(tenant_id: str, order: dict) -> MemberEntry:
    """Credit a member for an ``order`` (``member_id``, ``order_id``, ``amount``,
    ``currency``, ``shipping``, ``category``, ``occurred_at``) under the program in force;
    the lot expires by the program's policy counted from ``occurred_at``.

    Raises NotFound (unknown or foreign member), MemberFrozen, Conflict
    (``order_already_earned``), and Unprocessable naming the bad field (``occurred_at``
    more than two years past or in the future, another currency than the program's), or
    ``no_points_earned`` when the order earns nothing.
    """

    def attempt() -> MemberEntry:
        with unit_of_work(tenant_id=tenant_id) as uow:
            context = program_context(uow.session, tenant_id)
            result = _post_earn(uow, tenant_id, context, order)
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


@dataclass(frozen=True)
class EarnBatch:
    transactions: list[MemberEntry]


def earn_batch(tenant_id: str, earns: list[dict]) -> EarnBatch:
    """Up to ``MAX_EARN_BATCH`` earns in one transaction: all post or none does.

    Wallets are locked in member id order, so concurrent batches cannot deadlock on each
    other. Raises what ``earn`` raises, with ``param`` naming the failing item
    (``earns.3.member_id``); one order id twice in a batch is ``order_already_earned``.
    """
    if not 1 <= len(earns) <= MAX_EARN_BATCH:
        raise Unprocessable(f"Send 1 to {MAX_EARN_BATCH} earns.", param="earns")
    order = sorted(range(len(earns)), key=lambda i: str(earns[i]["member_id"]))

    def attempt() -> EarnBatch:
        with unit_of_work(tenant_id=tenant_id) as uow:
            context = program_context(uow.session, tenant_id)
            results: dict[int, MemberEntry] = {}
            for index in order:
                try:
                    results[index] = _post_earn(uow, tenant_id, context, earns[index])
                except (NotFound, Unprocessable, Conflict) as error:
                    error.param = f"earns.{index}.{error.param or 'member_id'}"
                    raise
            batch = EarnBatch([results[i] for i in range(len(earns))])
            uow.commit(batch)
            return batch

    return run_in_transaction(attempt)


def post_earn(uow: UnitOfWork, tenant_id: str, order: dict) -> MemberEntry:
    """What ``earn`` does, inside the caller's unit of work bound to ``tenant_id``, for
    use cases that write more in the same transaction (an alliance member merchant's
    earn also writes a clearing record). Never commits; raises what ``earn`` raises."""
    return _post_earn(uow, tenant_id, program_context(uow.session, tenant_id), order)


def _post_earn(
    uow: UnitOfWork, tenant_id: str, context: ProgramContext, order: dict
) -> MemberEntry:
    session = uow.session
    member = load_active_member(session, order["member_id"], "member_id")
    # locked first: the per-day cap reads, then writes
    wallet = wallets.member_wallet(session, member, context.asset, lock=True)
    now = clock.now()
    occurred_at = order.get("occurred_at") or now
    shipping = order.get("shipping") or 0
    rules_order = Order(
        amount=order["amount"],
        currency=order["currency"],
        shipping=shipping,
        category=order.get("category"),
        occurred_at=occurred_at,
    )
    program, time_zone = context.program, context.time_zone
    day_start, day_end = local_day_bounds(local_day(occurred_at, time_zone), time_zone)
    result = compute_earn(
        program,
        rules_order,
        MemberContext(
            tier=member.tier,
            birthday=member.birthday,
            time_zone=time_zone,
            earned_today=earned_on_day(session, member.id, day_start, day_end),
        ),
        now,
    )
    _refuse_second_earn(session, order["order_id"])
    if result.points <= 0:
        raise Unprocessable(
            "This order earns no points under the program in force.",
            code="no_points_earned",
            param="amount",
        )
    metadata = {
        "order_id": order["order_id"],
        "amount": order["amount"],
        "currency": order["currency"],
        "shipping": shipping,
        "occurred_at": clock.iso(occurred_at),
        "program_version": context.version,
        "base_points": result.base_points,
        "factor": format(result.factor, "f"),
        "breakdown": [step.as_dict() for step in result.breakdown],
    }
    if order.get("category"):
        metadata["category"] = order["category"]
    transaction = ledger.credit(
        session,
        wallet,
        result.points,
        kind=Kind.EARN,
        reference=order["order_id"],
        expires_at=program_expires_at(program, occurred_at, time_zone),
        metadata=metadata,
    )
    _record_earning(session, tenant_id, member, transaction, order, result.points, context)
    entry = wallets.entry(transaction, wallet, member.id)
    emit(uow, tenant_id=tenant_id, type="points.earned", data=entry_event_data(entry))
    tiering.upgrade_on_earn(uow, context.program, context.version, member, context.time_zone)
    return entry


def _refuse_second_earn(session: Session, order_id: str) -> None:
    if session.scalar(select(OrderEarning.id).where(OrderEarning.order_id == order_id)):
        raise Conflict(
            f"Order {order_id!r} has earned points already.",
            code="order_already_earned",
            param="order_id",
        )


def _record_earning(
    session: Session,
    tenant_id: str,
    member: Member,
    transaction: Transaction,
    order: dict,
    points: int,
    context: ProgramContext,
) -> None:
    """Insert the order's ``OrderEarning``; a concurrent earn of the same order that
    committed first makes this a 409 (the unique index decides, not the check above)."""
    try:
        with session.begin_nested():
            session.add(
                OrderEarning(
                    tenant_id=tenant_id,
                    order_id=order["order_id"],
                    member_id=member.id,
                    transaction_id=transaction.id,
                    amount=order["amount"],
                    shipping=order.get("shipping") or 0,
                    currency=order["currency"],
                    points=points,
                    occurred_at=order.get("occurred_at") or transaction.created,
                    program_version=context.version,
                )
            )
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise Conflict(
            f"Order {order['order_id']!r} has earned points already.",
            code="order_already_earned",
            param="order_id",
        ) from None


# --- spending ------------------------------------------------------------------------


def redeem(
    tenant_id: str,
    *,
    member_id: str,
    points: int,
    order_id: str | None = None,
    reason: str | None = None,
    order_amount: int | None = None,
    currency: str | None = None,
) -> MemberEntry:
    """Spend ``points`` of the member's available balance, nearest expiry first.

    With ``order_amount`` (minor units; ``order_id`` required) the points pay towards an
    order under the program's redemption rules: whole steps of ``redemption.points``, at
    least ``min_points``, and all the points redeemed on this order together worth at
    most ``max_order_share_pct`` of it. The metadata then records the money value and the
    cash left to pay, and refunds of the order restore these points in proportion.

    Raises NotFound, MemberFrozen, InsufficientPoints (nothing changes), Unprocessable
    and LimitExceeded.
    """
    if order_amount is not None and not order_id:
        raise Unprocessable(
            "Redeeming against an order_amount needs its order_id.", param="order_id"
        )

    def attempt() -> MemberEntry:
        with unit_of_work(tenant_id=tenant_id) as uow:
            session = uow.session
            member = load_active_member(session, member_id, "member_id")
            wallet = wallets.member_wallet(session, member)
            metadata: dict = {"reason": reason} if reason else {}
            if order_amount is not None:
                metadata.update(_order_payment(session, tenant_id, wallet, points, order_id,
                                               order_amount, currency))  # fmt: skip
            transaction = ledger.debit(
                session, wallet, points, kind=Kind.REDEEM, reference=order_id, metadata=metadata
            )
            result = wallets.entry(transaction, wallet, member.id)
            emit(uow, tenant_id=tenant_id, type="points.redeemed", data=entry_event_data(result))
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


def _order_payment(
    session: Session,
    tenant_id: str,
    wallet: Account,
    points: int,
    order_id: str,
    order_amount: int,
    currency: str | None,
) -> dict:
    """Check a redemption towards an order against the program; the metadata it adds."""
    program, version = current_program(session, tenant_id)
    expected = program.earning.currency
    if currency is not None and expected is not None and currency != expected:
        raise Unprocessable(
            f"This program redeems on {expected} orders, not {currency}.",
            param="currency",
            code="currency_mismatch",
        )
    wallet = ledger.lock_wallets(session, [wallet])[wallet.id]
    available = ledger.wallet_balance(session, wallet, now=clock.now()).available
    quote = points_plus_cash(program, points, available, order_amount)
    earlier = redeemed_on_order(session, wallet, order_id)
    rules = program.redemption
    if (earlier + points) // rules.points * rules.per_amount > max_share(program, order_amount):
        raise LimitExceeded(
            f"Points may pay at most {rules.max_order_share_pct}% of an order; {earlier} "
            "points were redeemed on it already.",
            param="points",
        )
    return {
        "order_amount": order_amount,
        "currency": currency or expected,
        "money_value": quote.money_value,
        "cash_due": quote.cash_due,
        "program_version": version,
    }


def redeemed_on_order(session: Session, wallet: Account, order_id: str) -> int:
    """Points the wallet's redemptions with reference ``order_id`` took (a positive
    number; reversed redemptions excluded)."""
    reversal = select(Transaction.reverses_id).where(Transaction.reverses_id.is_not(None))
    taken = session.scalar(
        select(func.coalesce(func.sum(Posting.amount), 0))
        .join(Transaction, Transaction.id == Posting.transaction_id)
        .where(
            Posting.account_id == wallet.id,
            Transaction.kind == Kind.REDEEM.value,
            Transaction.reference == order_id,
            Transaction.id.not_in(reversal),
        )
    )
    return -int(taken or 0)


def transfer(
    tenant_id: str,
    *,
    from_member_id: str,
    to_member_id: str,
    points: int,
) -> TransferEntry:
    """Gift ``points`` from one member to another of the same tenant.

    Raises Unprocessable (``same_member``) when both are one member, NotFound for
    either, MemberFrozen when either is frozen, and InsufficientPoints.
    """
    if from_member_id == to_member_id:
        raise Unprocessable(
            "A member cannot transfer points to themselves.",
            code="same_member",
            param="to_member_id",
        )

    def attempt() -> TransferEntry:
        with unit_of_work(tenant_id=tenant_id) as uow:
            sender = load_active_member(uow.session, from_member_id, "from_member_id")
            receiver = load_active_member(uow.session, to_member_id, "to_member_id")
            asset = wallets.currency_code(uow.session, tenant_id)
            transaction = ledger.transfer(
                uow.session,
                wallets.member_wallet(uow.session, sender, asset),
                wallets.member_wallet(uow.session, receiver, asset),
                points,
            )
            result = wallets.transfer_entry(transaction, points, sender.id, receiver.id, asset)
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


# --- holds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldView:
    id: str
    created: datetime
    member_id: str
    points: int
    captured_points: int
    currency: str
    status: str
    expires_at: datetime
    transaction_id: str | None


def place_hold(
    tenant_id: str, *, member_id: str, points: int, expires_in: int | None = None
) -> HoldView:
    """Reserve ``points`` of the member's available balance until captured, voided or
    expired (``expires_in`` seconds, 60 s to 30 days, default one day).

    Raises NotFound, MemberFrozen, InsufficientPoints and Unprocessable.
    """
    ttl = HOLD_DEFAULT_TTL if expires_in is None else timedelta(seconds=expires_in)
    if not HOLD_MIN_TTL <= ttl <= HOLD_MAX_TTL:
        raise Unprocessable(
            f"expires_in must be {int(HOLD_MIN_TTL.total_seconds())} to "
            f"{int(HOLD_MAX_TTL.total_seconds())} seconds.",
            param="expires_in",
        )

    def attempt() -> HoldView:
        with unit_of_work(tenant_id=tenant_id) as uow:
            member = load_active_member(uow.session, member_id, "member_id")
            wallet = wallets.member_wallet(uow.session, member)
            hold = ledger.place_hold(uow.session, wallet, points, expires_at=clock.now() + ttl)
            result = _hold_view(hold, wallet)
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


def capture_hold(tenant_id: str, hold_id: str, *, points: int | None = None) -> HoldView:
    """Spend all of a pending hold, or ``points`` of it (the rest is released).

    Raises NotFound, MemberFrozen, and the ledger's refusals: capturing more than held,
    a hold no longer pending (captured, voided, expired).
    """

    def attempt() -> HoldView:
        with unit_of_work(tenant_id=tenant_id) as uow:
            hold, wallet = _load_hold(uow.session, hold_id)
            member = load_member(uow.session, wallet.owner_id)
            ensure_active(member, "hold")
            ledger.capture_hold(uow.session, hold, points)
            result = _hold_view(hold, wallet)
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


def void_hold(tenant_id: str, hold_id: str) -> HoldView:
    """Release a pending hold. Allowed for a frozen member: it gives points back.

    Raises NotFound, and the ledger's refusal of a hold no longer pending.
    """

    def attempt() -> HoldView:
        with unit_of_work(tenant_id=tenant_id) as uow:
            hold, wallet = _load_hold(uow.session, hold_id)
            ledger.void_hold(uow.session, hold)
            result = _hold_view(hold, wallet)
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


def _load_hold(session: Session, hold_id: str) -> tuple[Hold, Account]:
    hold = session.get(Hold, hold_id) if looks_like_id(hold_id) else None
    wallet = session.get(Account, hold.wallet_id) if hold is not None else None
    if hold is None or wallet is None or not wallet.is_wallet:
        raise NotFound(f"No such hold: {hold_id}")
    return hold, wallet


def _hold_view(hold: Hold, wallet: Account) -> HoldView:
    return HoldView(
        id=hold.id,
        created=hold.created,
        member_id=wallet.owner_id,
        points=hold.points,
        captured_points=hold.captured_points or 0,
        currency=wallet.asset,
        status=hold.status,
        expires_at=hold.expires_at,
        transaction_id=hold.capture_transaction_id,
    )


# --- reads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceView:
    member_id: str
    currency: str
    points: int
    available: int
    held: int
    expiring: list[dict]


def balance(tenant_id: str, member_id: str) -> BalanceView:
    """Raises NotFound."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        member = load_member(uow.session, member_id)
        asset = wallets.currency_code(uow.session, tenant_id)
        current = wallets.balance_of(uow.session, member, asset)
        return BalanceView(
            member.id, asset, current.points, current.available, current.held, current.expiring
        )


def member_transactions(tenant_id: str, member_id: str, args: dict) -> dict:
    """Raises NotFound for the member or an unknown ``starting_after``."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        member = load_member(uow.session, member_id)
        wallet = wallets.member_wallet(uow.session, member)
        return wallets.entries_page(uow.session, wallet, member.id, args)
