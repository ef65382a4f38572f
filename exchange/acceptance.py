"""Acceptance: merchant B redeems a card's points of tenant A (the issuer) at its till.

Two-phase, like a card payment (DESIGN.md, Exchange):

* authorize: a hold on the member's wallet in A's ledger (``ledger.place_hold``) and an
  ``authorization`` owned by B that points at it, with A's SPU rate of the moment locked
  in (the value B is owed does not move with later rate changes);
* capture (all or part): the hold is captured into A's ``clearing`` account, the rest is
  released; a clearing record says A owes B the value less the acceptance fee;
* void: the hold is released; expiry: the ``acceptance`` job (and the ledger's own
  expiry sweep) releases holds past their time, and the job marks their authorizations
  expired;
* reverse (after capture, any number of times, at most what was captured in total): the
  points go back from A's clearing account into the member's wallet, into a new lot that
  expires with the latest-expiring lot the capture consumed (a reversal never extends the
  points' life), and a negative clearing record takes back the payable and the fee pro
  rata.

The holder's authority: B authorizes only with a one-time ``holder_code`` that the card
holder hands over at the counter (``tenants.holders``), good for one attempt; a card
number alone moves nothing.

Authorizations are B's: another tenant's id is a 404. The hold, the wallet and the member
are A's, so every use case runs in a platform unit of work and checks each row against the
tenant it must belong to. Lock order: the authorization row, then the wallet.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jifen.platform import clearing, clock, ledger
from jifen.platform.billing.limits import check_feature
from jifen.platform.clearing import ClearingKind, ClearingRecord
from jifen.platform.db import run_in_transaction, unit_of_work
from jifen.platform.errors import InvalidState, MemberFrozen, NotFound, Unprocessable
from jifen.platform.ids import new_id
from jifen.platform.ledger.model import Account, Hold, HoldStatus, Kind, Lot, LotConsumption
from jifen.platform.paging import cursor_page
from jifen.platform.webhooks.events import emit
from jifen.tenants.holders import services as holders
from jifen.tenants.members.model import Card, Member
from jifen.tenants.members.services import looks_like_id, valid_card_number
from jifen.tenants.model import Currency

from . import pricing
from .model import Authorization, AuthorizationStatus, ExchangeSettings
from .settings import fee_schedule, settings_for

AUTHORIZATION_TTL = timedelta(days=7)
MIN_TTL = timedelta(minutes=1)
MAX_TTL = timedelta(days=30)


def authorize(
    tenant_id: str,
    *,
    currency: str,
    points: int,
    reference: str,
    holder_code: str | None = None,
    card_number: str | None = None,
    expires_in: int | None = None,
) -> Authorization:
    """Hold ``points`` of ``currency`` on the card for merchant ``tenant_id``, with the
    holder's authority: ``holder_code``, a counter code the holder handed over (spent by
    this call, whatever it answers). ``card_number``, if given, must be the code's card.

    Raises HolderAuthorizationRequired (no code, or a wrong, used or expired one, or
    another card's), Unprocessable (``unknown_currency``, ``acceptance_disabled``,
    ``same_currency``, ``invalid_card_number``, ``no_membership``), MemberFrozen and
    InsufficientPoints. Nothing is held when it raises.
    """
    ttl = AUTHORIZATION_TTL if expires_in is None else timedelta(seconds=expires_in)
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise Unprocessable("expires_in must be 60 seconds to 30 days.", param="expires_in")
    if card_number is not None:
        valid_card_number(card_number)  # a typo costs the holder no code
    with unit_of_work(platform=True) as uow:  # nor does a refusal that is no card's
        check_feature(uow.session, tenant_id, "exchange")
        _accepted(uow.session, tenant_id, currency)
    code_card = holders.spend_holder_code(holder_code, used_by=tenant_id)

    def attempt() -> Authorization:
        with unit_of_work(platform=True) as uow:
            session = uow.session
            check_feature(session, tenant_id, "exchange")
            issuer = _accepted(session, tenant_id, currency)
            card_id = _holder_card(session, code_card, card_number)
            member = _member(session, issuer.tenant_id, card_id)
            wallet = ledger.open_wallet(
                session, tenant_id=issuer.tenant_id, asset=issuer.currency, owner_id=member.id
            )
            now = clock.now()
            authorization_id = new_id("auth")
            hold = ledger.place_hold(
                session, wallet, points, expires_at=now + ttl, reference=authorization_id
            )
            authorization = Authorization(
                id=authorization_id,
                tenant_id=tenant_id,
                issuer_tenant_id=issuer.tenant_id,
                currency=issuer.currency,
                card_id=member.card_id,
                member_id=member.id,
                hold_id=hold.id,
                points=points,
                captured_points=0,
                reversed_points=0,
                spu_rate=issuer.spu_rate,
                status=AuthorizationStatus.PENDING.value,
                reference=reference,
                expires_at=hold.expires_at,
                created=now,
            )
            session.add(authorization)
            session.flush()
            _emit(uow, authorization, "authorization.created")
            uow.commit(authorization)
            return authorization

    return run_in_transaction(attempt)


def capture(tenant_id: str, authorization_id: str, points: int | None = None) -> Authorization:
    """Redeem ``points`` (default: all) of a pending authorization; the rest is released.

    Raises NotFound, InvalidState (not pending, or expired) and Unprocessable
    (``capture_exceeds_hold``).
    """

    def change(session: Session, authorization: Authorization, uow) -> None:
        hold = _hold(session, authorization)
        if hold.status == HoldStatus.PENDING and hold.expires_at <= clock.now():
            raise InvalidState("This authorization has expired.", param="authorization")
        transaction = ledger.capture_hold(
            session,
            hold,
            points,
            kind=Kind.ACCEPT,
            sink_type="clearing",
            reference=authorization.id,
            metadata={"authorization": authorization.id, "merchant": authorization.tenant_id},
        )
        captured = hold.points if points is None else points
        schedule = fee_schedule(session).schedule
        amounts = pricing.acceptance_amounts(captured, authorization.spu_rate, schedule.acceptance)
        authorization.status = AuthorizationStatus.CAPTURED.value
        authorization.captured_points = captured
        authorization.capture_transaction_id = transaction.id
        authorization.closed_at = clock.now()
        clearing.record(
            session,
            kind=ClearingKind.ACCEPTANCE_CAPTURE,
            payer_tenant_id=authorization.issuer_tenant_id,
            payee_tenant_id=authorization.tenant_id,
            currency=authorization.currency,
            points=captured,
            amount_spu=amounts.payable_spu,
            fee_spu=amounts.fee_spu,
            source_transaction_id=transaction.id,
            authorization_id=authorization.id,
        )
        _emit(uow, authorization, "authorization.captured")

    return _change(tenant_id, authorization_id, "capture", change)


def void(tenant_id: str, authorization_id: str) -> Authorization:
    """Release a pending authorization's points. Raises NotFound and InvalidState."""

    def change(session: Session, authorization: Authorization, uow) -> None:
        ledger.void_hold(session, _hold(session, authorization))
        authorization.status = AuthorizationStatus.VOIDED.value
        authorization.closed_at = clock.now()
        _emit(uow, authorization, "authorization.voided")

    return _change(tenant_id, authorization_id, "void", change)


def reverse(tenant_id: str, authorization_id: str, points: int) -> Authorization:
    """Give ``points`` of a captured authorization back to the member; in total at most
    what was captured.

    Raises NotFound, InvalidState (not captured) and Unprocessable
    (``reversal_exceeds_capture``).
    """
    ledger.check_points(points)

    def change(session: Session, authorization: Authorization, uow) -> None:
        if authorization.status not in (AuthorizationStatus.CAPTURED,):
            raise InvalidState(
                f"Cannot reverse a {authorization.status} authorization.", param="authorization"
            )
        left = authorization.captured_points - authorization.reversed_points
        if points > left:
            raise Unprocessable(
                f"Only {left} captured points are left to reverse.",
                code="reversal_exceeds_capture",
                param="points",
            )
        wallet = session.get(Account, _hold(session, authorization).wallet_id)
        transaction = ledger.credit(
            session,
            wallet,
            points,
            kind=Kind.REVERSE,
            reference=authorization.id,
            expires_at=_latest_expiry(session, authorization.capture_transaction_id),
            metadata={"authorization": authorization.id, "reversal_of": "capture"},
            source_type="clearing",
        )
        before, after = authorization.reversed_points, authorization.reversed_points + points
        captured = authorization.captured_points
        original = _capture_record(session, authorization)

        def share(total: int) -> int:
            return pricing.pro_rata(total, after, captured) - pricing.pro_rata(
                total, before, captured
            )

        fee, payable = share(original.fee_spu), share(original.amount_spu)
        authorization.reversed_points = after
        if after == captured:
            authorization.status = AuthorizationStatus.REVERSED.value
        clearing.record(
            session,
            kind=ClearingKind.ACCEPTANCE_REVERSAL,
            payer_tenant_id=authorization.issuer_tenant_id,
            payee_tenant_id=authorization.tenant_id,
            currency=authorization.currency,
            points=-points,
            amount_spu=-payable,
            fee_spu=-fee,
            source_transaction_id=transaction.id,
            authorization_id=authorization.id,
        )
        _emit(uow, authorization, "authorization.reversed")

    return _change(tenant_id, authorization_id, "reverse", change)


def get_authorization(tenant_id: str, authorization_id: str) -> Authorization:
    with unit_of_work(tenant_id=tenant_id) as uow:
        return _load(uow.session, tenant_id, authorization_id)


def list_authorizations(tenant_id: str, args: dict) -> dict:
    with unit_of_work(tenant_id=tenant_id) as uow:
        statement = select(Authorization).where(Authorization.tenant_id == tenant_id)
        return cursor_page(uow.session, statement, Authorization, args)


def expire_due(*, now: datetime | None = None) -> dict:
    """Release the holds of pending authorizations past their time and mark them
    expired. Safe to re-run; also catches up on holds the ledger's sweep expired."""
    now = now or clock.now()
    with unit_of_work(platform=True) as uow:
        issuers = sorted(
            uow.session.scalars(
                select(Authorization.issuer_tenant_id)
                .where(
                    Authorization.status == AuthorizationStatus.PENDING.value,
                    Authorization.expires_at <= now,
                )
                .distinct()
            )
        )
    holds = 0
    for issuer in issuers:
        holds += run_in_transaction(lambda issuer=issuer: _expire_holds(issuer, now))
    marked = run_in_transaction(lambda: _mark_expired(now))
    return {"now": clock.iso(now), "holds": holds, "authorizations": marked}


def _expire_holds(issuer_tenant_id: str, now: datetime) -> int:
    with unit_of_work(tenant_id=issuer_tenant_id) as uow:
        count = ledger.expire_holds(uow.session, now=now)
        uow.commit()
        return count


def _mark_expired(now: datetime) -> int:
    with unit_of_work(platform=True) as uow:
        due = uow.session.scalars(
            select(Authorization)
            .join(Hold, Hold.id == Authorization.hold_id)
            .where(
                Authorization.status == AuthorizationStatus.PENDING.value,
                Hold.status == HoldStatus.EXPIRED.value,
            )
            .with_for_update(of=Authorization)
        ).all()
        for authorization in due:
            authorization.status = AuthorizationStatus.EXPIRED.value
            authorization.closed_at = now
        uow.commit()
        return len(due)


# --- helpers --------------------------------------------------------------------------


def _change(tenant_id: str, authorization_id: str, action: str, change: Callable) -> Authorization:
    def attempt() -> Authorization:
        with unit_of_work(platform=True) as uow:
            authorization = _load(uow.session, tenant_id, authorization_id, lock=True)
            if action in ("capture", "void") and authorization.status != "pending":
                raise InvalidState(
                    f"Cannot {action} a {authorization.status} authorization.",
                    param="authorization",
                )
            change(uow.session, authorization, uow)
            uow.session.flush()
            uow.commit(authorization)
            return authorization

    return run_in_transaction(attempt)


def _load(
    session: Session, tenant_id: str, authorization_id: str, *, lock: bool = False
) -> Authorization:
    """The merchant's own authorization; another tenant's is as unknown as a made-up id."""
    row = None
    if looks_like_id(authorization_id):
        statement = select(Authorization).where(
            Authorization.id == authorization_id, Authorization.tenant_id == tenant_id
        )
        if lock:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        row = session.scalar(statement)
    if row is None:
        raise NotFound(f"No such authorization: {authorization_id}", param="id")
    return row


def _hold(session: Session, authorization: Authorization) -> Hold:
    hold = session.scalar(
        select(Hold).where(
            Hold.id == authorization.hold_id, Hold.tenant_id == authorization.issuer_tenant_id
        )
    )
    if hold is None:  # pragma: no cover - the foreign key and the tenant check make it so
        raise NotFound("The authorization's hold is gone.")
    return hold


def _accepted(session: Session, merchant_id: str, code: str) -> ExchangeSettings:
    settings = settings_for(session, code)
    if settings is None and not session.scalar(select(Currency.id).where(Currency.code == code)):
        raise Unprocessable(f"No such currency: {code}.", code="unknown_currency", param="currency")
    if settings is None or not settings.acceptance:
        raise Unprocessable(
            f"{code} is not accepted by other merchants.",
            code="acceptance_disabled",
            param="currency",
        )
    if settings.tenant_id == merchant_id:
        raise Unprocessable(
            "A merchant's own points are redeemed with /v1/redemptions or /v1/holds.",
            code="same_currency",
            param="currency",
        )
    return settings


def _holder_card(session: Session, code_card: str, card_number: str | None) -> str:
    """The card whose holder's code was spent for this authorization; a ``card_number``
    given too must be that card's (else the same 403 as for no code)."""
    card_id = None
    if card_number is not None:
        number = valid_card_number(card_number)
        card_id = session.scalar(select(Card.id).where(Card.number == number)) or "unknown"
    return holders.check_code_card(code_card, card_id)


def _member(session: Session, issuer_tenant_id: str, card_id: str) -> Member:
    member = session.scalar(
        select(Member).where(Member.tenant_id == issuer_tenant_id, Member.card_id == card_id)
    )
    if member is None:
        raise Unprocessable(
            "The card holds no membership in this currency.",
            code="no_membership",
            param="card_number",
        )
    if member.is_frozen:
        raise MemberFrozen("This membership is frozen.", param="card_number")
    return member


def _capture_record(session: Session, authorization: Authorization) -> ClearingRecord:
    return session.scalars(
        select(ClearingRecord).where(
            ClearingRecord.authorization_id == authorization.id,
            ClearingRecord.kind == ClearingKind.ACCEPTANCE_CAPTURE.value,
        )
    ).one()


def _latest_expiry(session: Session, transaction_id: str | None) -> datetime | None:
    """The latest expiry among the lots ``transaction_id`` consumed (None if one of them
    never expires)."""
    expiries = session.scalars(
        select(Lot.expires_at)
        .join(LotConsumption, LotConsumption.lot_id == Lot.id)
        .where(LotConsumption.transaction_id == transaction_id)
    ).all()
    if not expiries or any(moment is None for moment in expiries):
        return None
    return max(expiries)


def _emit(uow, authorization: Authorization, type_: str) -> None:
    emit(
        uow, tenant_id=authorization.tenant_id, type=type_, data=authorization_event(authorization)
    )


def authorization_event(authorization: Authorization) -> dict:
    return {
        "object": "authorization",
        "id": authorization.id,
        "status": authorization.status,
        "currency": authorization.currency,
        "points": authorization.points,
        "captured_points": authorization.captured_points,
        "reversed_points": authorization.reversed_points,
        "reference": authorization.reference,
    }
