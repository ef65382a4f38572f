"""Alliance use cases: invite, accept, members with figures, earn and redeem at a member.

Joining. The alliance (a tenant of kind ``alliance`` whose plan includes alliances)
invites a merchant by slug: a ``pending`` membership. The merchant's own client accepts
it: ``active``. Both run in a platform unit of work, because the row and the two tenants
belong to two tenants; each query names the tenant the caller acts for, so another
tenant's invitation is as unknown as a made-up id.

Earning and accepting. Alliance points live where every card's points live: in the
card's membership of the alliance tenant (created on the card at its first alliance
earn, like a swap's destination membership). A member merchant calls
``POST /v1/alliance/earn`` and ``POST /v1/alliance/redeem`` with its own client, naming
the alliance currency and the card. Both run in a unit of work bound to the ALLIANCE
(the ledger, program rules and members touched are the alliance's), after the membership
has been checked active in that same transaction. Earning follows the alliance's program
(one earning rule for the whole alliance) through ``points.post_earn``; the order id is
kept as ``<merchant tenant id>:<order id>`` so two merchants' order numbers never collide.

The holder's authority. Earning gives points and needs nothing more. A redemption at a
merchant that did not enrol the card needs the holder's ``holder_code``
(``tenants.holders``): a card number alone spends nothing. "Enrolled" means the merchant
issued the card or linked it with the holder's code (``Member.enrolled``); a membership
that a swap or an alliance earn opened is no consent. A merchant without that consent
sees no ``balance_after`` of the card's alliance points.

Clearing. Each issuance writes ``alliance_issuance`` (the merchant owes the alliance the
SPU value of the points it issued); each redemption ``alliance_redemption`` (the alliance
owes the merchant the value of the points redeemed there). Value = points × the
alliance currency's SPU rate (exact µSPU, no rounding); no platform fee. The alliance's
currency must therefore be priced in the exchange (``PUT /v1/exchange/settings``), or
earning and redeeming are 422 ``alliance_not_priced``. Records and rates both come
through the clearing port (``jifen.platform.clearing``), so alliances need not know the
exchange.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from jifen.platform import clearing, clock, ledger
from jifen.platform.billing.limits import check_feature
from jifen.platform.clearing import ClearingKind, ClearingRecord
from jifen.platform.db import UnitOfWork, run_in_transaction, unit_of_work
from jifen.platform.errors import (
    Conflict,
    Forbidden,
    InvalidState,
    MemberFrozen,
    NotFound,
    Unprocessable,
)
from jifen.platform.ids import new_id
from jifen.platform.ledger.model import Kind
from jifen.platform.webhooks.events import emit
from jifen.tenants.holders import services as holders
from jifen.tenants.members import enrolment, points, wallets
from jifen.tenants.members.model import Card, Enrolment, Member
from jifen.tenants.members.services import find_card, looks_like_id, valid_card_number
from jifen.tenants.model import Currency, Tenant, TenantKind

from .model import AllianceMembership, MembershipStatus


class NotAnAlliance(Forbidden):
    code = "not_an_alliance"


# --- joining --------------------------------------------------------------------------


def invite(alliance_id: str, tenant_slug: str) -> MembershipView:
    """Invite the merchant ``tenant_slug`` into the calling alliance: a pending membership.

    Raises NotAnAlliance (403: the caller is a merchant), PlanLimit (403), NotFound
    (unknown slug), Unprocessable (``not_a_merchant``: an alliance cannot join one) and
    Conflict (``already_member`` / ``already_invited``).
    """
    with unit_of_work(platform=True) as uow:
        session = uow.session
        _alliance(session, alliance_id)
        check_feature(session, alliance_id, "alliances")
        merchant = session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
        if merchant is None:
            raise NotFound(f"No such tenant: {tenant_slug}", param="tenant_slug")
        if merchant.kind != TenantKind.MERCHANT:
            raise Unprocessable(
                "Only a merchant can join an alliance.", code="not_a_merchant", param="tenant_slug"
            )
        existing = _membership(session, alliance_id, merchant.id)
        if existing is not None:
            code = "already_member" if existing.is_active else "already_invited"
            raise Conflict(f"{tenant_slug} is {existing.status} in this alliance.", code=code)
        row = AllianceMembership(
            id=new_id("amb"),
            alliance_tenant_id=alliance_id,
            merchant_tenant_id=merchant.id,
            status=MembershipStatus.PENDING.value,
            created=clock.now(),
        )
        session.add(row)
        session.flush()
        view = _view(session, row)
        uow.commit(view)
        return view


def accept(merchant_id: str, invitation_id: str) -> MembershipView:
    """The invited merchant accepts: the membership becomes active.

    Raises NotFound (unknown, or another merchant's invitation), InvalidState (accepted
    already) and PlanLimit (the merchant's plan excludes alliances).
    """

    def attempt() -> MembershipView:
        with unit_of_work(platform=True) as uow:
            session = uow.session
            row = _pending_invitation(session, merchant_id, invitation_id)
            check_feature(session, merchant_id, "alliances")
            row.status = MembershipStatus.ACTIVE.value
            row.accepted_at = clock.now()
            session.flush()
            view = _view(session, row)
            uow.commit(view)
            return view

    return run_in_transaction(attempt)


def _pending_invitation(session: Session, merchant_id: str, invitation_id: str):
    """The merchant's invitation, locked. Raises NotFound (unknown, or another merchant's)
    and InvalidState (accepted already)."""
    row = None
    if looks_like_id(invitation_id):
        row = session.scalar(
            select(AllianceMembership)
            .where(
                AllianceMembership.id == invitation_id,
                AllianceMembership.merchant_tenant_id == merchant_id,
            )
            .with_for_update()
        )
    if row is None:
        raise NotFound(f"No such invitation: {invitation_id}", param="id")
    if row.is_active:
        raise InvalidState("This invitation was accepted already.", param="id")
    return row


def decline(merchant_id: str, invitation_id: str) -> None:
    """The invited merchant declines a pending invitation: it is deleted, so the alliance
    may invite again later. Raises NotFound (unknown, or another merchant's invitation)
    and InvalidState (accepted already: an active membership is not declined)."""
    with unit_of_work(platform=True) as uow:
        session = uow.session
        row = _pending_invitation(session, merchant_id, invitation_id)
        session.delete(row)
        uow.commit()


@dataclass(frozen=True)
class MembershipView:
    """A membership as either party sees it, with the clearing figures so far."""

    id: str
    created: datetime
    status: str
    accepted_at: datetime | None
    alliance_id: str
    alliance_slug: str
    currency: str
    merchant_id: str
    merchant_slug: str
    merchant_name: str
    issued_points: int = 0
    issued_spu: int = 0
    redeemed_points: int = 0
    redeemed_spu: int = 0

    @property
    def net_spu(self) -> int:
        """What the merchant owes the alliance (negative: the alliance owes it)."""
        return self.issued_spu - self.redeemed_spu


def list_members(alliance_id: str) -> list[MembershipView]:
    """Every merchant invited into the alliance, oldest first, with what each issued and
    what was redeemed there (points and µSPU, from the clearing records).

    Raises NotAnAlliance.
    """
    with unit_of_work(platform=True) as uow:
        session = uow.session
        _alliance(session, alliance_id)
        rows = session.scalars(
            select(AllianceMembership)
            .where(AllianceMembership.alliance_tenant_id == alliance_id)
            .order_by(AllianceMembership.created, AllianceMembership.id)
        ).all()
        figures = _figures(session, alliance_id)
        return [_view(session, row, figures.get(row.merchant_tenant_id)) for row in rows]


def list_invitations(merchant_id: str) -> list[MembershipView]:
    """The alliances that invited the calling merchant (pending or accepted)."""
    with unit_of_work(platform=True) as uow:
        rows = uow.session.scalars(
            select(AllianceMembership)
            .where(AllianceMembership.merchant_tenant_id == merchant_id)
            .order_by(AllianceMembership.created, AllianceMembership.id)
        ).all()
        return [_view(uow.session, row) for row in rows]


def _figures(session: Session, alliance_id: str) -> dict[str, tuple[int, int, int, int]]:
    issued, redeemed = ClearingKind.ALLIANCE_ISSUANCE.value, ClearingKind.ALLIANCE_REDEMPTION.value
    merchant = case(
        (ClearingRecord.kind == issued, ClearingRecord.payer_tenant_id),
        else_=ClearingRecord.payee_tenant_id,
    )

    def total(kind: str, column):
        return func.coalesce(func.sum(case((ClearingRecord.kind == kind, column), else_=0)), 0)

    rows = session.execute(
        select(
            merchant.label("merchant"),
            total(issued, ClearingRecord.points),
            total(issued, ClearingRecord.amount_spu),
            total(redeemed, ClearingRecord.points),
            total(redeemed, ClearingRecord.amount_spu),
        )
        .where(
            ClearingRecord.kind.in_([issued, redeemed]),
            (ClearingRecord.payer_tenant_id == alliance_id)
            | (ClearingRecord.payee_tenant_id == alliance_id),
        )
        .group_by(merchant)
    ).all()
    return {row[0]: tuple(int(v) for v in row[1:]) for row in rows}


def _view(
    session: Session, row: AllianceMembership, figures: tuple[int, int, int, int] | None = None
) -> MembershipView:
    alliance = session.get(Tenant, row.alliance_tenant_id)
    merchant = session.get(Tenant, row.merchant_tenant_id)
    issued_points, issued_spu, redeemed_points, redeemed_spu = figures or (0, 0, 0, 0)
    return MembershipView(
        id=row.id,
        created=row.created,
        status=row.status,
        accepted_at=row.accepted_at,
        alliance_id=alliance.id,
        alliance_slug=alliance.slug,
        currency=alliance.currency.code,
        merchant_id=merchant.id,
        merchant_slug=merchant.slug,
        merchant_name=merchant.name,
        issued_points=issued_points,
        issued_spu=issued_spu,
        redeemed_points=redeemed_points,
        redeemed_spu=redeemed_spu,
    )


def _alliance(session: Session, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or tenant.kind != TenantKind.ALLIANCE:
        raise NotAnAlliance("Only an alliance tenant has alliance members.")
    return tenant


def _membership(session: Session, alliance_id: str, merchant_id: str) -> AllianceMembership | None:
    return session.scalar(
        select(AllianceMembership).where(
            AllianceMembership.alliance_tenant_id == alliance_id,
            AllianceMembership.merchant_tenant_id == merchant_id,
        )
    )


# --- earning and redeeming at a member --------------------------------------------------


@dataclass(frozen=True)
class AllianceEntry:
    """One alliance earn or redemption, as the member merchant sees it."""

    id: str  # the ledger transaction
    created: datetime
    kind: str
    alliance_id: str
    currency: str
    card_number: str
    member_id: str  # the card's membership in the alliance
    points: int
    balance_after: int | None
    reference: str
    clearing_record_id: str
    amount_spu: int
    metadata: dict


def earn(merchant_id: str, order: dict) -> AllianceEntry:
    """The member merchant credits a card with alliance points for ``order`` (what
    ``/v1/earn`` takes, with ``alliance`` = the alliance currency code and
    ``card_number`` in place of ``member_id``), under the alliance's program; and owes
    the alliance their value.

    Raises Unprocessable (``unknown_currency``, ``not_an_alliance``,
    ``alliance_not_priced``, ``invalid_card_number``, and what ``points.earn`` raises),
    Forbidden (``not_alliance_member``: the caller has not joined), NotFound (card),
    MemberFrozen and Conflict (``order_already_earned``). Nothing is posted when it
    raises.
    """
    alliance_id = _alliance_of_currency(order["alliance"])
    number = valid_card_number(order["card_number"])
    enrolled_here = _enrolled_by(merchant_id, number)

    def attempt() -> AllianceEntry:
        with unit_of_work(tenant_id=alliance_id) as uow:
            session = uow.session
            rate = _member_and_rate(session, alliance_id, merchant_id, order["alliance"])
            member = _card_membership(uow, alliance_id, number, create=True)
            earn_order = {
                **{k: v for k, v in order.items() if k not in ("alliance", "card_number")},
                "member_id": member.id,
                "order_id": f"{merchant_id}:{order['order_id']}",
            }
            entry = points.post_earn(uow, alliance_id, earn_order)
            record = clearing.record(
                session,
                kind=ClearingKind.ALLIANCE_ISSUANCE,
                payer_tenant_id=merchant_id,
                payee_tenant_id=alliance_id,
                currency=entry.currency,
                points=entry.points,
                amount_spu=clearing.value_of(entry.points, rate),
                fee_spu=0,
                source_transaction_id=entry.id,
            )
            session.flush()
            result = _entry(entry, alliance_id, member, order["order_id"], record)
            if not enrolled_here:  # the card's alliance balance is not this merchant's to see
                result = dataclasses.replace(result, balance_after=None)
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


def redeem(
    merchant_id: str,
    *,
    alliance: str,
    card_number: str,
    points: int,
    reference: str,
    holder_code: str | None = None,
) -> AllianceEntry:
    """The member merchant redeems ``points`` of the card's alliance points at its till
    (nearest expiry first); the alliance owes it their value. A merchant that did not
    enrol the card (it holds no membership of its own on it) needs the holder's
    ``holder_code``, spent with the redemption.

    Raises what ``earn`` raises before posting, HolderAuthorizationRequired and
    InsufficientPoints.
    """
    ledger.check_points(points)
    alliance_id = _alliance_of_currency(alliance)
    number = valid_card_number(card_number)
    code_card = None
    if not _enrolled_by(merchant_id, number):
        code_card = holders.spend_holder_code(holder_code, used_by=merchant_id)

    def attempt() -> AllianceEntry:
        with unit_of_work(tenant_id=alliance_id) as uow:
            session = uow.session
            rate = _member_and_rate(session, alliance_id, merchant_id, alliance)
            if code_card is not None:  # the holder's code must be this card's
                card_id = session.scalar(select(Card.id).where(Card.number == number))
                holders.check_code_card(code_card, card_id or "unknown")
            member = _card_membership(uow, alliance_id, number, create=False)
            wallet = wallets.member_wallet(session, member)
            transaction = ledger.debit(
                session,
                wallet,
                points,
                kind=Kind.REDEEM,
                reference=f"{merchant_id}:{reference}",
                metadata={"merchant": merchant_id, "reference": reference, "alliance": True},
            )
            entry = wallets.entry(transaction, wallet, member.id)
            record = clearing.record(
                session,
                kind=ClearingKind.ALLIANCE_REDEMPTION,
                payer_tenant_id=alliance_id,
                payee_tenant_id=merchant_id,
                currency=entry.currency,
                points=points,
                amount_spu=clearing.value_of(points, rate),
                fee_spu=0,
                source_transaction_id=transaction.id,
            )
            emit(
                uow,
                tenant_id=alliance_id,
                type="points.redeemed",
                data=wallets.entry_event_data(entry),
            )
            session.flush()
            result = _entry(entry, alliance_id, member, reference, record)
            uow.commit(result)
            return result

    return run_in_transaction(attempt)


def _enrolled_by(merchant_id: str, card_number: str) -> bool:
    """Did the merchant enrol the card with its holder's consent: issue it, or link it
    with a holder code? (A membership a swap or an alliance earn opened is no consent.
    Memberships are never deleted or re-enrolled, so this read may come before the
    redemption's transaction.)"""
    with unit_of_work(platform=True) as uow:
        enrolled = uow.session.scalar(
            select(Member.enrolled)
            .join(Card, Card.id == Member.card_id)
            .where(Card.number == card_number, Member.tenant_id == merchant_id)
        )
    return enrolled in (Enrolment.ISSUED, Enrolment.LINKED)


def _alliance_of_currency(code: str) -> str:
    """The alliance tenant whose currency is ``code`` (a read before the real work)."""
    with unit_of_work(platform=True) as uow:
        row = uow.session.execute(
            select(Tenant.id, Tenant.kind)
            .join(Currency, Currency.tenant_id == Tenant.id)
            .where(Currency.code == code)
        ).one_or_none()
    if row is None:
        raise Unprocessable(f"No such currency: {code}.", code="unknown_currency", param="alliance")
    if row.kind != TenantKind.ALLIANCE:
        raise Unprocessable(
            f"{code} is not an alliance currency.", code="not_an_alliance", param="alliance"
        )
    return row.id


def _member_and_rate(session: Session, alliance_id: str, merchant_id: str, code: str) -> int:
    """Check the merchant is an active member (in this transaction); the SPU rate."""
    row = _membership(session, alliance_id, merchant_id)
    if row is None or not row.is_active:
        raise Forbidden(
            "This merchant is not an active member of the alliance.",
            code="not_alliance_member",
            param="alliance",
        )
    rate = clearing.spu_rate(session, code)
    if rate is None:
        raise Unprocessable(
            f"{code} has no SPU rate, so its clearing has no value; the alliance must "
            "PUT /v1/exchange/settings.",
            code="alliance_not_priced",
            param="alliance",
        )
    return rate


def _card_membership(
    uow: UnitOfWork, alliance_id: str, card_number: str, *, create: bool
) -> Member:
    """The card's membership of the alliance; with ``create``, the card is enrolled
    (``enrolment.join_card``) if it has none."""
    session = uow.session
    card = find_card(session, card_number)
    member = session.scalar(
        select(Member).where(Member.tenant_id == alliance_id, Member.card_id == card.id)
    )
    if member is None and not create:
        raise Unprocessable(
            "The card holds no alliance points.", code="no_membership", param="card_number"
        )
    if member is None:
        member_id, _, _ = enrolment.join_card(
            uow,
            tenant_id=alliance_id,
            card_id=card.id,
            card_number=card.number,
            param="card_number",
        )
        member = session.get(Member, member_id)
    if member.is_frozen:
        raise MemberFrozen("This membership is frozen.", param="card_number")
    return member


def _entry(
    entry: wallets.MemberEntry,
    alliance_id: str,
    member: Member,
    reference: str,
    record: ClearingRecord,
) -> AllianceEntry:
    return AllianceEntry(
        id=entry.id,
        created=entry.created,
        kind=entry.kind,
        alliance_id=alliance_id,
        currency=entry.currency,
        card_number=member.card_number,
        member_id=member.id,
        points=entry.points,
        balance_after=entry.balance_after,
        reference=reference,
        clearing_record_id=record.id,
        amount_spu=record.amount_spu,
        metadata=entry.metadata,
    )
