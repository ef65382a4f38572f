"""Use cases for cards and members: join, look up, list, freeze, and the card holder's
wallet across tenants.

Every function opens one unit of work bound to the caller's tenant, so members of other
tenants are invisible (an unknown and a foreign member id are the same 404). The wallet
is the one exception; see ``card_wallet``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from jifen.platform.db import unit_of_work
from jifen.platform.errors import Conflict, MemberFrozen, NotFound, Unprocessable
from jifen.platform.paging import cursor_page
from jifen.tenants.holders import services as holders
from jifen.tenants.model import Currency, Tenant

from . import cards, enrolment, wallets
from .model import Card, Enrolment, Member, MemberStatus

CARD_ISSUE_ATTEMPTS = 5
_ID = re.compile(r"[A-Za-z0-9_]{1,64}")


def looks_like_id(value: object) -> bool:
    """Could ``value`` be one of our ids? Anything else is unknown without a query (and
    text a database cannot store, such as lone surrogates, never reaches one)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def create_member(
    tenant_id: str,
    *,
    external_id: str,
    card_number: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    name: str | None = None,
    birthday: date | None = None,
    holder_code: str | None = None,
) -> Member:
    """Enrol a customer: issue a new card, or give an existing card this membership.

    An existing card is linked only with its holder's authority: ``holder_code``, a
    counter code the holder handed over, spent by this call whatever it answers
    (``card_number`` may then be left out). Without it, any ``card_number`` but one of
    this tenant's own members is 403, whether or not the card exists (a card number
    never proves who holds it, and the answer must not tell which numbers were issued).

    Raises Unprocessable (``invalid_card_number``) when the number fails the Luhn check,
    HolderAuthorizationRequired (403 ``holder_authorization_required``), Conflict
    (``external_id_taken``) when the tenant already has a member with this external id,
    Conflict (``card_already_member``) when the card already holds a membership here, and
    PlanLimit (403 ``plan_limit``) when the tenant's plan allows no more members.
    """
    if card_number is not None:
        valid_card_number(card_number)  # a typo costs the holder no code
    code_card = holders.spend_holder_code(holder_code, used_by=tenant_id) if holder_code else None
    with unit_of_work(tenant_id=tenant_id) as uow:
        session = uow.session
        if session.scalar(select(Member.id).where(Member.external_id == external_id)):
            raise Conflict(
                f"A member with external_id {external_id!r} already exists.",
                code="external_id_taken",
                param="external_id",
            )
        if card_number is None and holder_code is None:
            card, enrolled = _issue_card(session), Enrolment.ISSUED
        else:
            card = _card_to_link(session, tenant_id, card_number, code_card)
            enrolled = Enrolment.LINKED
        if session.scalar(select(Member.id).where(Member.card_id == card.id)):
            raise Conflict(
                "This card already holds a membership in this tenant.",
                code="card_already_member",
                param="card_number",
            )
        member_id = enrolment.enrol(
            uow,
            tenant_id=tenant_id,
            card_id=card.id,
            external_id=external_id,
            enrolled=enrolled,
            email=email,
            phone=phone,
            name=name,
            birthday=birthday,
        )
        if member_id is None:
            raise Conflict(
                "The external_id or card was enrolled meanwhile.", code="member_conflict"
            )
        member = session.get(Member, member_id)
        wallets.member_wallet(session, member)
        uow.commit(member)
        return member


def _card_to_link(
    session: Session, tenant_id: str, card_number: str | None, code_card: str | None
) -> Card:
    """The existing card to enrol, with the holder's authority (see ``create_member``):
    ``code_card`` is the card of the holder code spent for this call, if any."""
    card = None
    if card_number is not None:
        card = session.scalar(select(Card).where(Card.number == valid_card_number(card_number)))
        if card is None:  # the same answer as for a card without its holder's code
            raise holders.authorization_required(code_card)
        if code_card is None and session.scalar(select(Member.id).where(Member.card_id == card.id)):
            return card  # already this tenant's member: create_member says so (409)
    card_id = holders.check_code_card(code_card, card.id if card else None)
    return card or session.get(Card, card_id)


def valid_card_number(card_number: str) -> str:
    """The normalised number. Raises Unprocessable (``invalid_card_number``)."""
    number = cards.normalise_card_number(card_number)
    if not cards.is_valid_card_number(number):
        raise Unprocessable(
            "card_number must be 16 digits with a valid check digit.",
            code="invalid_card_number",
            param="card_number",
        )
    return number


def find_card(session: Session, card_number: str) -> Card:
    """The card with this number (spaces and dashes allowed).

    Raises Unprocessable (``invalid_card_number``) for a malformed number or a wrong
    check digit, NotFound for a card nobody issued.
    """
    number = valid_card_number(card_number)
    card = session.scalar(select(Card).where(Card.number == number))
    if card is None:
        raise NotFound(f"No such card: {number}", param="card_number")
    return card


def _issue_card(session: Session) -> Card:
    for _ in range(CARD_ISSUE_ATTEMPTS):
        number = cards.new_card_number()
        if session.scalar(select(Card.id).where(Card.number == number)) is None:
            card = Card(number=number)
            session.add(card)
            session.flush()
            return card
    raise Conflict("Could not issue a unique card number; retry.", code="card_number_exhausted")


def get_member(tenant_id: str, member_id: str) -> Member:
    """Raises NotFound for an unknown member or another tenant's."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        return load_member(uow.session, member_id)


def load_member(session: Session, member_id: str, *, param: str | None = None) -> Member:
    """The member in the session's tenant. Raises NotFound otherwise (also for another
    tenant's member: the unit of work's tenant filter makes them invisible)."""
    member = session.get(Member, member_id) if looks_like_id(member_id) else None
    if member is None:
        raise NotFound(f"No such member: {member_id}", param=param)
    return member


def load_active_member(session: Session, member_id: str, param: str) -> Member:
    """The member in the session's tenant, not frozen. Raises NotFound (as
    ``load_member``) and MemberFrozen, naming ``param``."""
    member = load_member(session, member_id, param=param)
    ensure_active(member, param)
    return member


def ensure_active(member: Member, param: str) -> None:
    """Raises MemberFrozen, naming ``param``, if the member is frozen."""
    if member.is_frozen:
        raise MemberFrozen(f"Member {member.id} is frozen.", param=param)


def list_members(tenant_id: str, args: dict) -> dict:
    """Newest first; ``external_id`` and ``card_number`` filter. Raises NotFound for an
    unknown ``starting_after``."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        statement = select(Member)
        if args.get("external_id") is not None:
            statement = statement.where(Member.external_id == args["external_id"])
        if args.get("card_number") is not None:
            number = cards.normalise_card_number(args["card_number"])
            card_ids = select(Card.id).where(Card.number == number).scalar_subquery()
            statement = statement.where(Member.card_id == card_ids)
        return cursor_page(uow.session, statement, Member, args)


def freeze_member(tenant_id: str, member_id: str) -> Member:
    """A frozen member can neither earn nor spend. Freezing twice is harmless.
    Raises NotFound."""
    return _set_status(tenant_id, member_id, MemberStatus.FROZEN)


def unfreeze_member(tenant_id: str, member_id: str) -> Member:
    """Raises NotFound."""
    return _set_status(tenant_id, member_id, MemberStatus.ACTIVE)


def _set_status(tenant_id: str, member_id: str, status: MemberStatus) -> Member:
    with unit_of_work(tenant_id=tenant_id) as uow:
        member = load_member(uow.session, member_id)
        member.status = status.value
        uow.commit(member)
        return member


# --- the consumer's wallet -----------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    member: Member
    tenant: Tenant
    currency: Currency
    balance: wallets.WalletBalance
    spu_value: str | None = None


@dataclass(frozen=True)
class Wallet:
    card_number: str
    memberships: list[Membership]


def card_wallet(card_id: str, *, member_id: str | None = None) -> Wallet:
    """Every membership of one card, in every tenant, with its balance; with
    ``member_id`` (a member token's), that one membership only.

    The wallet is the one read in this package that crosses tenants, so it runs in a
    platform unit of work (no tenant filter, PostgreSQL's ``app.platform`` on) and
    filters by ``card_id`` itself. The card id comes only from a verified holder session
    or member token, never from the request, so a caller can see no card but their own.
    Raises NotFound if the card is gone.
    """
    with unit_of_work(platform=True) as uow:
        card = uow.session.get(Card, card_id)
        if card is None:
            raise NotFound(f"No such card: {card_id}")
        rows = uow.session.execute(
            select(Member, Tenant, Currency)
            .join(Tenant, Tenant.id == Member.tenant_id)
            .join(Currency, Currency.tenant_id == Member.tenant_id)
            .where(Member.card_id == card_id)
            .where(Member.id == member_id if member_id is not None else true())
            .order_by(Member.created, Member.id)
        ).all()
        memberships = []
        for member, tenant, currency in rows:
            balance = wallets.balance_of(uow.session, member, currency.code)
            value = wallets.spu_value(uow.session, currency.code, balance.points)
            memberships.append(Membership(member, tenant, currency, balance, value))
        return Wallet(card.number, memberships)
