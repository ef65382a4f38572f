"""Use cases that move a member's points: earn, award, redeem, hold and capture or void,
transfer; and the reads of a wallet: balance and transactions.

Each opens one unit of work bound to the caller's tenant, loads the members scoped to it
(another tenant's member is a 404 like an unknown one), asks the ledger to post, and
commits with the object the view returns (so an ``Idempotency-Key`` stores exactly that
response, in the same transaction). Use cases that can touch more than one locked row
run under ``run_in_transaction``, which retries a deadlock inside instead of showing it
to the client.

Earning is the base rate only until program rules land (see ``base_rate_points``), and
every tenant's expiry policy is ``never`` until then (see ``expiry_policy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from jifen.platform import clock, ledger
from jifen.platform.db import run_in_transaction, unit_of_work
from jifen.platform.errors import MemberFrozen, NotFound, Unprocessable
from jifen.platform.ledger import expiry
from jifen.platform.ledger.model import Account, Hold, Kind

from . import wallets
from .model import Member
from .services import load_member, looks_like_id
from .wallets import MemberEntry, TransferEntry

BASE_RATE_POINTS = 1
BASE_RATE_PER_AMOUNT = 10000
EARN_LOOKBACK_YEARS = 2
EARN_CLOCK_SKEW = timedelta(minutes=5)
HOLD_DEFAULT_TTL = timedelta(days=1)
HOLD_MIN_TTL = timedelta(minutes=1)
HOLD_MAX_TTL = timedelta(days=30)
MAX_EARN_BATCH = 100


def base_rate_points(amount: int, shipping: int = 0) -> int:
    """Points for spending ``amount`` minor units, ``shipping`` of which earns nothing.

    ``BASE_RATE_POINTS`` per full ``BASE_RATE_PER_AMOUNT`` (1 point per 100.00); rounded
    down, the remainder earns nothing (DESIGN.md: earning rounds down).
    """
    return (amount - shipping) // BASE_RATE_PER_AMOUNT * BASE_RATE_POINTS


def expiry_policy(tenant_id: str) -> expiry.ExpiryPolicy:
    """The tenant's expiry policy: ``never`` for every tenant until program rules land."""
    return expiry.Never()


# --- earning -------------------------------------------------------------------------


def earn(tenant_id: str, order: dict) -> MemberEntry:
    """Credit a member for an ``order`` (``member_id``, ``order_id``, ``amount``,
    ``currency``, ``shipping``, ``category``, ``occurred_at``) at the base rate; the lot
    expires by the tenant's policy counted from ``occurred_at``.

    Raises NotFound (unknown or foreign member), MemberFrozen, and Unprocessable when
    ``occurred_at`` is more than two years past or in the future, or when the order
    earns no points.
    """

    def attempt() -> MemberEntry:
        with unit_of_work(tenant_id=tenant_id) as uow:
            asset = wallets.currency_code(uow.session, tenant_id)
            result = _post_earn(uow.session, tenant_id, asset, order)
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
    (``earns.3.member_id``).
    """
    if not 1 <= len(earns) <= MAX_EARN_BATCH:
        raise Unprocessable(f"Send 1 to {MAX_EARN_BATCH} earns.", param="earns")
    order = sorted(range(len(earns)), key=lambda i: str(earns[i]["member_id"]))

    def attempt() -> EarnBatch:
        with unit_of_work(tenant_id=tenant_id) as uow:
            asset = wallets.currency_code(uow.session, tenant_id)
            results: dict[int, MemberEntry] = {}
            for index in order:
                try:
                    results[index] = _post_earn(uow.session, tenant_id, asset, earns[index])
                except (NotFound, Unprocessable) as error:
                    error.param = f"earns.{index}.{error.param or 'member_id'}"
                    raise
            batch = EarnBatch([results[i] for i in range(len(earns))])
            uow.commit(batch)
            return batch

    return run_in_transaction(attempt)


def _post_earn(session: Session, tenant_id: str, asset: str, order: dict) -> MemberEntry:
    member = _active_member(session, order["member_id"], "member_id")
    now = clock.now()
    occurred_at = order.get("occurred_at") or now
    if occurred_at > now + EARN_CLOCK_SKEW:
        raise Unprocessable("occurred_at cannot be in the future.", param="occurred_at")
    if occurred_at < _years_before(now, EARN_LOOKBACK_YEARS):
        raise Unprocessable(
            f"occurred_at may be at most {EARN_LOOKBACK_YEARS} years in the past.",
            param="occurred_at",
        )
    shipping = order.get("shipping") or 0
    points = base_rate_points(order["amount"], shipping)
    if points <= 0:
        raise Unprocessable(
            f"This order earns no points: {BASE_RATE_POINTS} point per full "
            f"{BASE_RATE_PER_AMOUNT} minor units, shipping excluded.",
            code="no_points_earned",
            param="amount",
        )
    wallet = wallets.member_wallet(session, member, asset)
    metadata = {
        "order_id": order["order_id"],
        "amount": order["amount"],
        "currency": order["currency"],
        "shipping": shipping,
        "occurred_at": clock.iso(occurred_at),
    }
    if order.get("category"):
        metadata["category"] = order["category"]
    transaction = ledger.credit(
        session,
        wallet,
        points,
        kind=Kind.EARN,
        reference=order["order_id"],
        expires_at=expiry_policy(tenant_id).expires_at(occurred_at),
        metadata=metadata,
    )
    return wallets.entry(transaction, wallet, member.id)


def _years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def award(
    tenant_id: str,
    *,
    member_id: str,
    event: str,
    points: int | None = None,
    reason: str | None = None,
) -> MemberEntry:
    """A manual award of ``points`` with a ``reason``. Event awards (signup, checkin,
    ...) need program rules and are refused (422 ``event_not_configured``) until then.

    Raises NotFound, MemberFrozen and Unprocessable.
    """
    if event != "manual":
        raise Unprocessable(
            f"No points are configured for the event {event!r}; use event 'manual'.",
            code="event_not_configured",
            param="event",
        )
    if points is None or not reason:
        raise Unprocessable("A manual award needs points and a reason.", param="points")
    with unit_of_work(tenant_id=tenant_id) as uow:
        member = _active_member(uow.session, member_id, "member_id")
        wallet = wallets.member_wallet(uow.session, member)
        transaction = ledger.credit(
            uow.session,
            wallet,
            points,
            kind=Kind.AWARD,
            expires_at=expiry_policy(tenant_id).expires_at(clock.now()),
            metadata={"event": event, "reason": reason},
        )
        result = wallets.entry(transaction, wallet, member.id)
        uow.commit(result)
        return result


# --- spending ------------------------------------------------------------------------


def redeem(
    tenant_id: str,
    *,
    member_id: str,
    points: int,
    order_id: str | None = None,
    reason: str | None = None,
) -> MemberEntry:
    """Spend ``points`` of the member's available balance, nearest expiry first.

    Raises NotFound, MemberFrozen, and InsufficientPoints (nothing changes).
    """

    def attempt() -> MemberEntry:
        with unit_of_work(tenant_id=tenant_id) as uow:
            member = _active_member(uow.session, member_id, "member_id")
            wallet = wallets.member_wallet(uow.session, member)
            metadata = {"reason": reason} if reason else {}
            transaction = ledger.debit(
                uow.session, wallet, points, kind=Kind.REDEEM, reference=order_id, metadata=metadata
            )
            result = wallets.entry(transaction, wallet, member.id)
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


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
            sender = _active_member(uow.session, from_member_id, "from_member_id")
            receiver = _active_member(uow.session, to_member_id, "to_member_id")
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
            member = _active_member(uow.session, member_id, "member_id")
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
            _ensure_active(member, "hold")
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


def _active_member(session: Session, member_id: str, param: str) -> Member:
    member = load_member(session, member_id, param=param)
    _ensure_active(member, param)
    return member


def _ensure_active(member: Member, param: str) -> None:
    if member.is_frozen:
        raise MemberFrozen(f"Member {member.id} is frozen.", param=param)
