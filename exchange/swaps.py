"""Quotes and swaps: a card holder moves value from one program's points to another's.

A quote (``create_quote``) prices a swap with the rates and fee schedule of the moment and
locks them for ``QUOTE_TTL``. A swap (``execute_swap``) carries out an open quote exactly
as priced, in ONE database transaction of linked legs (DESIGN.md, Exchange):

1. ledger, tenant A: the member's lots in A are consumed into A's ``exchange_liquidity``
   account (``ledger.debit``, ``from_points``);
2. ledger, tenant B: ``to_points`` come out of B's ``exchange_liquidity`` account into the
   card's membership in B (``ledger.credit``), opening a lot with B's expiry policy; the
   membership is created if the card has none there;
3. the SPU legs: ``spu_out`` (A's points × rate_from) = ``spu_in`` (B's points × rate_to)
   + the platform's fee + rounding. The ledger keeps accounts for tenants only (every
   account has a tenant), so SPU is not posted there: the legs are recorded on the swap
   row and in its clearing record, and the database refuses a row whose legs do not add
   up (CHECK constraints, migration 0007);
4. one clearing record: A owes B ``spu_in``, and the platform the fee and the rounding.

Quotes and swaps touch two tenants' rows (and the platform's daily usage), so they run in
a platform unit of work: no tenant filter applies there, and every id is checked against
the tenant it must belong to by hand: the caller must be the source tenant, the
destination tenant, or the card holder; members are looked up by (tenant, card).

``POST /v1/me/swaps`` (``quote_and_swap``) prices and carries out a swap in one
transaction, and is the exchange's hot path: it reads what it needs before its first lock
in one query (both currencies' settings, the fee schedule, the card and its two
memberships), reads plain rows rather than ORM objects, and writes with plain INSERTs (the
ledger's credit and debit are plain SQL too). docs/benchmarks.md has the figures.

Limits, enforced when the swap runs (and previewed when quoting): the platform's daily
limit per card (µSPU out of the card per day, in the source tenant's time zone), and the
destination's ``daily_inbound_cap`` (its points issued by swaps per day, in its own time
zone). Each is a row of
``exchange_daily_usage`` raised by one conditional upsert, whose row lock also serializes
swaps of one card. Locks are always taken in one order (quote, card usage, inbound usage,
wallets), so concurrent swaps never deadlock on each other; the wallet lock in the ledger
keeps parallel swaps from one card from overspending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jifen.platform import clearing, clock, ledger
from jifen.platform.auth.callers import Caller
from jifen.platform.billing.model import BillingAccount
from jifen.platform.billing.plans import DEFAULT_PLAN, Plan, get_plan
from jifen.platform.db import (
    UnitOfWork,
    is_unique_violation,
    run_in_transaction,
    unit_of_work,
)
from jifen.platform.errors import (
    Forbidden,
    InsufficientPoints,
    LimitExceeded,
    MemberFrozen,
    NotFound,
    QuoteExpired,
    Unprocessable,
)
from jifen.platform.ids import new_id
from jifen.platform.ledger.model import Kind
from jifen.platform.webhooks.events import PendingEvent, emit_each
from jifen.tenants.holders import services as holders
from jifen.tenants.members import cards, enrolment
from jifen.tenants.members.model import Card, Member, MemberStatus
from jifen.tenants.members.points import expiry_policy_of
from jifen.tenants.members.services import looks_like_id
from jifen.tenants.model import Currency, Tenant
from jifen.tenants.program.earning import local_day
from jifen.tenants.program.services import latest_program_version

from . import pricing
from .model import DailyUsage, ExchangeSettings, Quote, Swap
from .settings import fee_schedule_version, latest_fee_schedule

QUOTE_TTL = timedelta(seconds=60)


@dataclass(frozen=True)
class Party:
    """Who asks for a quote or a swap: a tenant's API client, or a card holder (a holder
    session: the whole card; a member token: one membership, which it alone may spend)."""

    id: str
    tenant_id: str | None = None  # an API client's tenant
    card_id: str | None = None  # a holder session's or member token's card
    member_tenant_id: str | None = None  # a member token's tenant

    @classmethod
    def of(cls, caller: Caller) -> Party:
        if caller.kind == "member":
            return cls(caller.id, card_id=caller.card_id, member_tenant_id=caller.tenant_id)
        if caller.kind == "holder":
            return cls(caller.id, card_id=caller.card_id)
        return cls(caller.id, tenant_id=caller.tenant_id)

    def may_see(self, row: Quote | Swap) -> bool:
        tenants = (row.from_tenant_id, row.to_tenant_id)
        if self.card_id is not None:
            return row.card_id == self.card_id and (
                self.member_tenant_id is None or self.member_tenant_id in tenants
            )
        return self.tenant_id in tenants

    def may_spend(self, quote: Quote) -> bool:
        """May carry out ``quote``: the card's holder, a member token of the currency it
        spends, or a tenant party to a quote a tenant made (it was authorized when it was
        made). A quote the holder asked for is theirs alone to confirm."""
        if self.member_tenant_id is not None and quote.from_tenant_id != self.member_tenant_id:
            return False
        asked_by_holder = quote.created_by == quote.card_id or quote.created_by.startswith("mem_")
        if asked_by_holder and self.card_id is None:
            return False
        return self.may_see(quote)


# --- what a swap is priced from -------------------------------------------------------


@dataclass(frozen=True)
class Market:
    """What a swap is priced from: each currency's row of ``exchange_settings`` with its
    tenant's ``time_zone`` and ``program_version_id`` (for the expiry of points issued
    there) and ``plan`` (its member limit, should the card join), and the fee schedule in
    force."""

    source: Any
    destination: Any
    schedule: pricing.FeeSchedule


@dataclass(frozen=True)
class Holder:
    """A card and its memberships (``id`` and ``status``) in the swap's two programs, by
    tenant id."""

    card_id: str
    number: str
    memberships: dict[str, Any]


@dataclass(frozen=True)
class _Membership:
    id: str
    status: str


def _plan_of(tenant_id: Any) -> Any:
    return (
        select(BillingAccount.plan).where(BillingAccount.tenant_id == tenant_id).scalar_subquery()
    )


def _market_query(which_card: Any) -> Any:
    """Both currencies' settings, each with its tenant's time zone, program version and
    plan, the fee schedule's id, and the card with its membership in each currency's
    program: everything a swap reads before it takes a lock, in one query."""
    return (
        select(
            ExchangeSettings.__table__,
            Tenant.time_zone,
            latest_program_version(ExchangeSettings.tenant_id).label("program_version_id"),
            latest_fee_schedule().label("fee_schedule_id"),
            _plan_of(ExchangeSettings.tenant_id).label("plan"),
            Card.id.label("card_id"),
            Card.number.label("card_number"),
            Member.id.label("member_id"),
            Member.status.label("member_status"),
        )
        .join(Tenant, Tenant.id == ExchangeSettings.tenant_id)
        .outerjoin(Card, which_card)
        .outerjoin(
            Member,
            and_(Member.card_id == Card.id, Member.tenant_id == ExchangeSettings.tenant_id),
        )
        .where(ExchangeSettings.currency.in_([bindparam("from_code"), bindparam("to_code")]))
    )


_MARKET_BY_CARD_ID = _market_query(Card.id == bindparam("card"))
_MARKET_BY_CARD_NUMBER = _market_query(Card.number == bindparam("card"))


def _read_market(
    session: Session,
    from_currency: str,
    to_currency: str,
    *,
    card_id: str | None = None,
    card_number: str | None = None,
) -> tuple[Market, Holder | None]:
    """The market for a swap of the card given by id or (normalised) number, and the card
    (None: no such card). Raises Unprocessable: ``same_currency``, ``unknown_currency``,
    ``exchange_disabled``."""
    if from_currency == to_currency:
        raise Unprocessable(
            "Cannot swap a currency into itself.", code="same_currency", param="to_currency"
        )
    statement = _MARKET_BY_CARD_ID if card_number is None else _MARKET_BY_CARD_NUMBER
    codes = [code if isinstance(code, str) else None for code in (from_currency, to_currency)]
    rows = session.connection().execute(
        statement,
        {"from_code": codes[0], "to_code": codes[1], "card": card_number or card_id},
    )
    settings = {row.currency: row for row in rows}
    source = _in_exchange(session, settings, from_currency, "from_currency", "outbound")
    destination = _in_exchange(session, settings, to_currency, "to_currency", "inbound")
    market = Market(
        source, destination, fee_schedule_version(session, source.fee_schedule_id).schedule
    )
    if source.card_id is None:
        return market, None
    memberships = {
        row.tenant_id: _Membership(row.member_id, row.member_status)
        for row in (source, destination)
        if row.member_id is not None
    }
    return market, Holder(source.card_id, source.card_number, memberships)


def _in_exchange(session: Session, settings: dict, code: str, param: str, switch: str) -> Any:
    row = settings.get(code) if isinstance(code, str) else None
    if row is None:
        if session.scalar(select(Currency.id).where(Currency.code == code)) is None:
            raise Unprocessable(f"No such currency: {code}.", code="unknown_currency", param=param)
        raise Unprocessable(
            f"{code} is not in the exchange.", code="exchange_disabled", param=param
        )
    if not getattr(row, switch):
        direction = "out of" if switch == "outbound" else "into"
        raise Unprocessable(
            f"{code} does not allow swaps {direction} it.", code="exchange_disabled", param=param
        )
    return row


@dataclass(frozen=True)
class CardRequest:
    """The card a quote names: a card number, and the card of the holder's code spent for
    the quote (``code_card``), if one was given."""

    number: str | None = None
    code_card: str | None = None


def _card_asked_for(party: Party, card: CardRequest) -> dict[str, str | None]:
    """How to find the card: ``_read_market``'s keyword arguments (a card number that is
    malformed finds nothing; ``_check_holder`` says why)."""
    if card.number is None:
        return {"card_id": card.code_card or party.card_id}
    number = cards.normalise_card_number(card.number)
    return {"card_number": number if cards.is_valid_card_number(number) else None}


def _check_holder(
    party: Party, card: CardRequest, asked: dict[str, str | None], holder: Holder | None
) -> Holder:
    """The card found for ``asked`` (``_card_asked_for``), or why there is none."""
    # Not members.find_card: a card holder naming someone else's number gets 403 whether
    # or not that card exists, so holders cannot probe which numbers were issued.
    if card.number is None and party.card_id is None and card.code_card is None:
        raise Unprocessable("card_number (or holder_code) is required.", param="card_number")
    if card.number is not None and asked["card_number"] is None:
        raise Unprocessable(
            "card_number must be 16 digits with a valid check digit.",
            code="invalid_card_number",
            param="card_number",
        )
    if party.card_id is not None and (holder is None or holder.card_id != party.card_id):
        raise Forbidden("A card holder may swap only their own card.", code="not_a_party")
    return holder


def _check_authority(party: Party, card: CardRequest, source: Any, holder: Holder | None) -> Holder:
    """The holder's authority over the points the quote spends: a member token spends only
    its own tenant's; a tenant other than the source needs the card's ``holder_code``
    (spent before the quote's transaction: ``code_card``). Asked before the card's
    existence, so the answer tells nothing about it. Returns the card, now known."""
    if party.member_tenant_id is not None and source.tenant_id != party.member_tenant_id:
        raise Forbidden(
            "A member token spends only its own tenant's points; the card holder's other "
            "programs need a holder session.",
            code="not_a_party",
        )
    if party.tenant_id not in (None, source.tenant_id):
        if holder is None:
            raise holders.authorization_required(card.code_card)
        holders.check_code_card(card.code_card, holder.card_id)
    if holder is None:  # the same answer as a card without a membership here
        raise Unprocessable(
            "The card holds no membership in this currency.",
            code="no_membership",
            param="card_number",
        )
    return holder


def _active(member: Any) -> None:
    if member.status == MemberStatus.FROZEN:
        raise MemberFrozen("This membership is frozen.", param="card_number")


# --- quotes ---------------------------------------------------------------------------


def create_quote(
    party: Party,
    *,
    from_currency: str,
    to_currency: str,
    points: int,
    card_number: str | None = None,
    holder_code: str | None = None,
) -> Quote:
    """Price a swap and lock it for ``QUOTE_TTL``. A tenant quoting out of another
    tenant's currency needs the holder's ``holder_code`` (spent by this call, whatever it
    answers); with it, ``card_number`` may be left out.

    Raises Unprocessable (``same_currency``, ``unknown_currency``, ``exchange_disabled``,
    ``below_minimum``, ``invalid_increment``, ``no_membership``, ``amount_too_small``,
    ``amount_too_large``), Forbidden when the caller is no party to the swap,
    HolderAuthorizationRequired, MemberFrozen,
    InsufficientPoints and LimitExceeded.
    """
    code_card = None
    if holder_code is not None and party.tenant_id is not None:
        code_card = holders.spend_holder_code(holder_code, used_by=party.id)
    card = CardRequest(card_number, code_card)
    with unit_of_work(platform=True) as uow:
        session = uow.session
        market, holder, quote = _price(session, party, card, from_currency, to_currency, points)
        _preview(
            session,
            market,
            holder,
            quote,
            show_balance=party.tenant_id in (None, quote.from_tenant_id),
        )
        session.add(quote)
        uow.commit(quote)
        return quote


def get_quote(party: Party, quote_id: str) -> Quote:
    """Raises NotFound for an unknown quote or one the caller is no party to."""
    with unit_of_work(platform=True) as uow:
        return _visible(uow.session, Quote, party, quote_id)


def _price(
    session: Session,
    party: Party,
    card: CardRequest,
    from_currency: str,
    to_currency: str,
    points: int,
) -> tuple[Market, Holder, Quote]:
    """An open quote (not yet written) with what it was priced from."""
    ledger.check_points(points)
    asked = _card_asked_for(party, card)
    market, holder = _read_market(session, from_currency, to_currency, **asked)
    source, destination = market.source, market.destination
    if party.tenant_id is not None and party.tenant_id not in (
        source.tenant_id,
        destination.tenant_id,
    ):
        raise Forbidden(
            "Only the source tenant, the destination tenant or the card holder may quote.",
            code="not_a_party",
        )
    holder = _check_authority(party, card, source, _check_holder(party, card, asked, holder))
    _check_amount(source, points)
    member = holder.memberships.get(source.tenant_id)
    if member is None:
        raise Unprocessable(
            f"The card holds no membership in {from_currency}.",
            code="no_membership",
            param="card_number",
        )
    _active(member)
    target = holder.memberships.get(destination.tenant_id)
    if target is not None:
        _active(target)

    amounts = pricing.quote_amounts(points, source.spu_rate, destination.spu_rate, market.schedule)
    if amounts.spu_out > pricing.MAX_SPU:
        raise Unprocessable(
            "This swap is too large for one transaction.", code="amount_too_large", param="points"
        )
    if amounts.to_points == 0:
        raise Unprocessable(
            f"{points} {from_currency} are worth less than one {to_currency} after the fee.",
            code="amount_too_small",
            param="points",
        )
    now = clock.now()
    quote = Quote(
        id=new_id("qt"),
        card_id=holder.card_id,
        from_tenant_id=source.tenant_id,
        to_tenant_id=destination.tenant_id,
        from_currency=source.currency,
        to_currency=destination.currency,
        from_points=points,
        to_points=amounts.to_points,
        rate_from=source.spu_rate,
        rate_to=destination.spu_rate,
        spu_out=amounts.spu_out,
        spu_in=amounts.spu_in,
        fee_spu=amounts.fee_spu,
        rounding_spu=amounts.rounding_spu,
        status="open",
        expires_at=now + QUOTE_TTL,
        created_by=party.id,
        created=now,
    )
    return market, holder, quote


def _preview(
    session: Session, market: Market, holder: Holder, quote: Quote, *, show_balance: bool
) -> None:
    """Refuse a quote its swap would refuse as things stand: too few points available, or
    a daily limit passed (the swap checks again under its locks). ``show_balance``: the
    caller may learn the balance (the holder, or the tenant whose points they are)."""
    wallet = ledger.open_wallet(
        session,
        tenant_id=quote.from_tenant_id,
        asset=quote.from_currency,
        owner_id=holder.memberships[quote.from_tenant_id].id,
    )
    available = ledger.wallet_balance(session, wallet, now=quote.created).available
    if available < quote.from_points:
        shown = f", {available} available" if show_balance else ""
        raise InsufficientPoints(f"{quote.from_points} points needed{shown}.", param="points")
    _check_limits(session, quote, market, quote.created)


def _check_amount(source: Any, points: int) -> None:
    if points < source.minimum:
        raise Unprocessable(
            f"Swaps out of {source.currency} start at {source.minimum} points.",
            code="below_minimum",
            param="points",
        )
    if points % source.increment:
        raise Unprocessable(
            f"Swaps out of {source.currency} go in steps of {source.increment} points.",
            code="invalid_increment",
            param="points",
        )


# --- swaps ----------------------------------------------------------------------------


def execute_swap(party: Party, quote_id: str) -> Swap:
    """Carry out an open quote as priced (see the module docstring).

    Raises NotFound for an unknown quote or one the caller is no party to; QuoteExpired
    for an expired or already used quote; Unprocessable (``exchange_disabled``) when a
    side has since left the exchange; MemberFrozen, InsufficientPoints, LimitExceeded.
    Nothing is posted when it raises.
    """

    def attempt() -> Swap:
        with unit_of_work(platform=True) as uow:
            session = uow.session
            quote = _visible(session, Quote, party, quote_id, lock=True)
            if not party.may_spend(quote):
                raise Forbidden(
                    "A member token carries out only swaps out of its own tenant's points.",
                    code="not_a_party",
                )
            now = clock.now()
            if quote.status != "open":
                raise QuoteExpired("This quote was used already.", param="quote_id")
            if quote.expires_at <= now:
                raise QuoteExpired("This quote has expired; ask for a new one.", param="quote_id")
            quote.status = "used"
            market, holder = _read_market(
                session, quote.from_currency, quote.to_currency, card_id=quote.card_id
            )
            if (market.source.tenant_id, market.destination.tenant_id) != (
                quote.from_tenant_id,
                quote.to_tenant_id,
            ):
                raise QuoteExpired("The currencies of this quote changed hands.", param="quote_id")
            return _swap_once(uow, quote, market, holder, now)

    return run_in_transaction(attempt)


def quote_and_swap(
    party: Party, *, from_currency: str, to_currency: str, points: int, card_number=None
) -> Swap:
    """``POST /v1/me/swaps``: a quote and its swap in one transaction. Raises what
    ``create_quote`` and ``execute_swap`` raise."""

    def attempt() -> Swap:
        with unit_of_work(platform=True) as uow:
            session = uow.session
            market, holder, quote = _price(
                session, party, CardRequest(card_number), from_currency, to_currency, points
            )
            quote.status = "used"
            return _swap_once(uow, quote, market, holder, quote.created, write_quote=True)

    return run_in_transaction(attempt)


def get_swap(party: Party, swap_id: str) -> Swap:
    """Raises NotFound for an unknown swap or one the caller is no party to."""
    with unit_of_work(platform=True) as uow:
        return _visible(uow.session, Swap, party, swap_id)


def _swap_once(
    uow: UnitOfWork,
    quote: Quote,
    market: Market,
    holder: Holder | None,
    now: datetime,
    *,
    write_quote: bool = False,
) -> Swap:
    """``_carry_out`` and commit. The swap row is unique per quote: should two swaps of
    one quote get past its lock, the second fails on that row (written with the swap's
    other rows, or at commit) and is told the quote was used."""
    try:
        swap = _carry_out(uow, quote, market, holder, now, write_quote=write_quote)
        uow.commit(swap)
    except IntegrityError as exc:
        # PostgreSQL names the constraint (exchange_swaps_quote_once), SQLite the column
        if is_unique_violation(exc) and "exchange_swaps" in str(exc.orig):
            raise QuoteExpired("This quote was used already.", param="quote_id") from None
        raise
    return swap


def _carry_out(
    uow: UnitOfWork,
    quote: Quote,
    market: Market,
    holder: Holder | None,
    now: datetime,
    *,
    write_quote: bool = False,
) -> Swap:
    """Post the swap ``quote`` prices (the caller marks the quote used; ``write_quote``:
    it is new, write it with the swap)."""
    session = uow.session
    _consume_limits(session, quote, market, now)
    member = holder.memberships.get(quote.from_tenant_id) if holder else None
    if member is None:
        raise Unprocessable("The card left the source program.", code="no_membership")
    _active(member)
    enrolled: list[PendingEvent] = []
    plan = get_plan(market.destination.plan or DEFAULT_PLAN)
    target_id, joined = _membership_or_join(
        uow, quote.to_tenant_id, holder, now, plan=plan, announce=enrolled
    )

    swap_id = new_id("swp")
    metadata = {
        "swap": swap_id,
        "quote": quote.id,
        "from_currency": quote.from_currency,
        "to_currency": quote.to_currency,
        "from_points": quote.from_points,
        "to_points": quote.to_points,
    }
    source_wallet = ledger.open_wallet(
        session,
        tenant_id=quote.from_tenant_id,
        asset=quote.from_currency,
        owner_id=member.id,
        lock=True,
    )
    out = ledger.debit(
        session,
        source_wallet,
        quote.from_points,
        kind=Kind.SWAP,
        reference=swap_id,
        metadata=metadata,
        sink_type="exchange_liquidity",
    )
    destination = {"tenant_id": quote.to_tenant_id, "asset": quote.to_currency}
    if joined:
        target_wallet = ledger.create_wallet(session, **destination, owner_id=target_id)
    else:
        target_wallet = ledger.open_wallet(session, **destination, owner_id=target_id, lock=True)
    into = ledger.credit(
        session,
        target_wallet,
        quote.to_points,
        kind=Kind.SWAP,
        reference=swap_id,
        expires_at=destination_expiry(session, market.destination, now),
        metadata=metadata,
        source_type="exchange_liquidity",
    )
    swap = Swap(
        id=swap_id,
        quote_id=quote.id,
        status="completed",
        card_id=quote.card_id,
        from_tenant_id=quote.from_tenant_id,
        to_tenant_id=quote.to_tenant_id,
        from_currency=quote.from_currency,
        to_currency=quote.to_currency,
        from_member_id=member.id,
        to_member_id=target_id,
        from_points=quote.from_points,
        to_points=quote.to_points,
        rate_from=quote.rate_from,
        rate_to=quote.rate_to,
        spu_out=quote.spu_out,
        spu_in=quote.spu_in,
        fee_spu=quote.fee_spu,
        rounding_spu=quote.rounding_spu,
        source_transaction_id=out.id,
        destination_transaction_id=into.id,
        created=now,
    )
    record = clearing.new_record(
        session,
        kind=clearing.ClearingKind.SWAP,
        payer_tenant_id=quote.from_tenant_id,
        payee_tenant_id=quote.to_tenant_id,
        currency=quote.to_currency,
        points=quote.to_points,
        amount_spu=quote.spu_in,
        fee_spu=quote.fee_spu,
        rounding_spu=quote.rounding_spu,
        source_transaction_id=out.id,
        swap_id=swap_id,
    )
    emit_each(
        uow,
        tenant_ids=[quote.from_tenant_id, quote.to_tenant_id],
        type="swap.completed",
        data=swap_event(swap),
        with_rows=(quote, swap, record) if write_quote else (swap, record),
        along=enrolled,
    )
    return swap


def destination_expiry(session: Session, destination: Any, now: datetime) -> datetime | None:
    """When points a swap issues into the ``destination`` currency (a ``Market`` side)
    expire: its tenant's own expiry policy, as for points earned there (the members code
    owns that policy)."""
    policy = expiry_policy_of(session, destination.program_version_id, destination.time_zone)
    return policy.expires_at(now)


def _membership_or_join(
    uow: UnitOfWork,
    tenant_id: str,
    holder: Holder,
    now: datetime,
    *,
    plan: Plan | None = None,
    announce: list[PendingEvent] | None = None,
) -> tuple[str, bool]:
    """The card's active membership in ``tenant_id``: ``(member id, joined just now)``.

    A card swapping into a program it has not joined is enrolled there
    (``enrolment.join_card``: the plan's member limit, ``member.created``). ``plan``: the
    tenant's plan as the market read it (its limit is then checked by the enrolment's
    INSERT); ``announce`` takes the ``member.created`` event.
    """
    member = holder.memberships.get(tenant_id)
    if member is None:
        member_id, status, joined = enrolment.join_card(
            uow,
            tenant_id=tenant_id,
            card_id=holder.card_id,
            card_number=holder.number,
            param="to_currency",
            now=now,
            plan=plan,
            announce=announce,
        )
        member = _Membership(member_id, status)
    else:
        joined = False
    _active(member)
    return member.id, joined


def swap_event(swap: Swap) -> dict:
    return {
        "object": "swap",
        "id": swap.id,
        "quote": swap.quote_id,
        "status": swap.status,
        "from_currency": swap.from_currency,
        "to_currency": swap.to_currency,
        "from_points": swap.from_points,
        "to_points": swap.to_points,
        "rate_from": pricing.format_spu(swap.rate_from),
        "rate_to": pricing.format_spu(swap.rate_to),
        "fee_spu": pricing.format_spu(swap.fee_spu),
        "created": clock.iso(swap.created),
    }


def _visible(session: Session, model, party: Party, object_id: str, *, lock: bool = False):
    row = None
    if looks_like_id(object_id):
        statement = select(model).where(model.id == object_id)
        if lock:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        row = session.scalar(statement)
    if row is None or not party.may_see(row):
        raise NotFound(f"No such {model.__name__.lower()}: {object_id}", param="id")
    return row


# --- daily limits ---------------------------------------------------------------------


def _check_limits(session: Session, quote: Quote, market: Market, now: datetime) -> None:
    card_day, inbound_day = _limits_days(market, now)
    card_limit = market.schedule.card_daily_limit
    if card_limit is not None and (
        _usage(session, f"card:{quote.card_id}", card_day) + quote.spu_out > card_limit
    ):
        raise _card_limit_exceeded()
    cap = market.destination.daily_inbound_cap
    if (
        cap is not None
        and _usage(session, f"inbound:{quote.to_currency}", inbound_day) + (quote.to_points) > cap
    ):
        raise _inbound_cap_reached(quote.to_currency)


def _consume_limits(session: Session, quote: Quote, market: Market, now: datetime) -> None:
    card_day, inbound_day = _limits_days(market, now)
    card_limit = market.schedule.card_daily_limit
    if not _consume(session, f"card:{quote.card_id}", card_day, quote.spu_out, card_limit):
        raise _card_limit_exceeded()
    cap = market.destination.daily_inbound_cap
    if cap is not None and not _consume(
        session, f"inbound:{quote.to_currency}", inbound_day, quote.to_points, cap
    ):
        raise _inbound_cap_reached(quote.to_currency)


def _limits_days(market: Market, now: datetime) -> tuple[date, date]:
    """The local days the card's limit and the inbound cap count ``now`` in: the source
    tenant's (where the card's points leave) and the destination tenant's (whose points
    are issued)."""
    return local_day(now, market.source.time_zone), local_day(now, market.destination.time_zone)


def _card_limit_exceeded() -> LimitExceeded:
    return LimitExceeded("This card's daily exchange limit would be exceeded.", param="points")


def _inbound_cap_reached(currency: str) -> LimitExceeded:
    return LimitExceeded(f"{currency} takes no more swaps in today.", param="to_currency")


def _usage(session: Session, scope: str, day: date) -> int:
    used = session.connection().scalar(
        select(DailyUsage.used).where(DailyUsage.scope == scope, DailyUsage.day == day)
    )
    return used or 0


def _consume(session: Session, scope: str, day: date, amount: int, limit: int | None) -> bool:
    """Add ``amount`` to the day's usage unless that would pass ``limit``, in one upsert
    that locks the row either way."""
    if limit is not None and amount > limit:
        return False
    statement = _CONSUME[session.get_bind().dialect.name]
    params = {"scope": scope, "day": day, "amount": amount, "limit": limit}
    return session.connection().scalar(statement, params) is not None


def _consume_statement(dialect_insert: Any) -> Any:
    raised = DailyUsage.used + bindparam("amount", type_=BigInteger)
    limit = bindparam("limit", type_=BigInteger)
    return (
        dialect_insert(DailyUsage)
        .values(scope=bindparam("scope"), day=bindparam("day"), used=bindparam("amount"))
        .on_conflict_do_update(
            index_elements=["scope", "day"],
            set_={"used": raised},
            where=or_(limit.is_(None), raised <= limit),
        )
        .returning(DailyUsage.used)
    )


_CONSUME = {
    "postgresql": _consume_statement(postgresql.insert),
    "sqlite": _consume_statement(sqlite.insert),
}
