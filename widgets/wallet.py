"""The consumer wallet's use cases: sign in with card number and password, see every
membership of the card with its balance, expiring points and SPU value, swap, history.

The password is set on first use: a card without a credential asks its holder to choose
one (typed twice). Only the argon2 hash is kept (``card_credentials``). Or the holder asks
for a sign-in link sent to an email address a merchant has on file for the card
(``cards_with_email``; ``pages`` signs and delivers the link). Signing in
returns the card id; the page keeps it in a signed, HTTP-only cookie (``pages``).

Cards are platform-wide, so every read here runs in a platform unit of work and filters
by the card id, which comes only from a signed-in session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from jifen.exchange import pricing, swaps
from jifen.exchange import settings as exchange_settings
from jifen.platform import clock
from jifen.platform.auth.secrets import check_password, hash_password
from jifen.platform.db import unit_of_work
from jifen.platform.errors import JifenError
from jifen.tenants.members import cards, points
from jifen.tenants.members.model import Card, Member
from jifen.tenants.members.services import card_wallet

from .model import CardCredential

MIN_PASSWORD = 10


class SignInRefused(JifenError):
    status = 401
    type = "authentication_error"
    code = "sign_in_refused"


class PasswordNeeded(JifenError):
    """The card has no password yet: its holder chooses one."""

    status = 401
    type = "authentication_error"
    code = "password_needed"


def sign_in(card_number: str, password: str, *, confirm: str | None = None) -> str:
    """The card id for a correct card number and password.

    A card without a password takes ``password`` as its new one when ``confirm``
    repeats it (at least ``MIN_PASSWORD`` characters). Raises SignInRefused (unknown
    card, wrong password: one message for both), PasswordNeeded (first use, no
    ``confirm`` yet, or a mismatch / short password, with the reason)."""
    number = cards.normalise_card_number(card_number or "")
    wrong = SignInRefused("The card number or the password is wrong.")
    if not cards.is_valid_card_number(number):
        raise wrong
    with unit_of_work(platform=True) as uow:
        card = uow.session.scalar(select(Card).where(Card.number == number))
        if card is None:
            raise wrong
        credential = uow.session.get(CardCredential, card.id)
        if credential is not None:
            if not check_password(password or "", credential.password_hash):
                raise wrong
            return card.id
        if confirm is None:
            raise PasswordNeeded("This card has no password yet: choose one and type it twice.")
        if len(password or "") < MIN_PASSWORD:
            raise PasswordNeeded(f"Choose a password of at least {MIN_PASSWORD} characters.")
        if password != confirm:
            raise PasswordNeeded("The two passwords differ.")
        now = clock.now()
        uow.session.add(
            CardCredential(
                card_id=card.id, password_hash=hash_password(password), created=now, updated=now
            )
        )
        try:
            uow.commit()
        except IntegrityError:
            raise wrong from None  # someone set it a moment ago: sign in with theirs
        return card.id


def cards_with_email(email: str) -> list[str]:
    """Ids of the cards holding a membership with this email on file (any tenant)."""
    address = (email or "").strip().lower()
    if "@" not in address:
        return []
    with unit_of_work(platform=True) as uow:
        return list(
            uow.session.scalars(
                select(Member.card_id)
                .where(func.lower(Member.email) == address)
                .distinct()
                .order_by(Member.card_id)
            )
        )


@dataclass(frozen=True)
class MembershipView:
    member_id: str
    tenant_id: str
    tenant_name: str
    currency: str
    currency_name: str
    status: str
    points: int
    available: int
    expiring: list
    spu_value: str | None
    inbound: bool
    outbound: bool


@dataclass(frozen=True)
class WalletView:
    card_number: str
    memberships: list[MembershipView]
    spu_total: str | None


def wallet(card_id: str) -> WalletView:
    """Every membership with balance, expiring points and SPU value (when the exchange
    prices its currency). Raises NotFound if the card is gone."""
    found = card_wallet(card_id)
    rates = {rate.currency: rate for rate in exchange_settings.list_rates()}
    views, total = [], 0
    for m in found.memberships:
        rate = rates.get(m.currency.code)
        value = pricing.value_of(m.balance.points, rate.spu_rate) if rate else None
        total += value or 0
        views.append(
            MembershipView(
                member_id=m.member.id,
                tenant_id=m.tenant.id,
                tenant_name=m.tenant.name,
                currency=m.currency.code,
                currency_name=m.currency.name,
                status=m.member.status,
                points=m.balance.points,
                available=m.balance.available,
                expiring=list(m.balance.expiring),
                spu_value=pricing.format_spu(value) if value is not None else None,
                inbound=bool(rate and rate.inbound),
                outbound=bool(rate and rate.outbound),
            )
        )
    spu_total = pricing.format_spu(total) if any(v.spu_value for v in views) else None
    return WalletView(found.card_number, views, spu_total)


@dataclass(frozen=True)
class Notice:
    created: datetime
    tenant_name: str
    kind: str  # the event type: points.expiring or tier.changed
    data: dict


NOTICE_TYPES = ("points.expiring", "tier.changed")


def notices(view: WalletView, *, limit: int = 10) -> list[Notice]:
    """What the merchants told this card holder's memberships lately: expiry reminders and
    tier changes (the same events their webhooks carry), newest first."""
    from jifen.platform.webhooks.model import Event

    found: list[Notice] = []
    with unit_of_work(platform=True) as uow:
        for m in view.memberships:
            events = uow.session.scalars(
                select(Event)
                .where(
                    Event.tenant_id == m.tenant_id,
                    Event.type.in_(NOTICE_TYPES),
                    Event.data["member"].as_string() == m.member_id,
                )
                .order_by(Event.created.desc())
                .limit(limit)
            )
            found += [Notice(e.created, m.tenant_name, e.type, e.data) for e in events]
    return sorted(found, key=lambda notice: notice.created, reverse=True)[:limit]


@dataclass(frozen=True)
class HistoryLine:
    created: datetime
    tenant_name: str
    currency: str
    kind: str
    points: int
    balance_after: int | None


def history(view: WalletView, *, limit: int = 20) -> list[HistoryLine]:
    """The newest ``limit`` transactions across the card's memberships."""
    lines: list[HistoryLine] = []
    for m in view.memberships:
        page = points.member_transactions(m.tenant_id, m.member_id, {"limit": limit})
        lines += [
            HistoryLine(e.created, m.tenant_name, m.currency, e.kind, e.points, e.balance_after)
            for e in page["data"]
        ]
    lines.sort(key=lambda line: line.created, reverse=True)
    return lines[:limit]


def swap(card_id: str, *, from_currency: str, to_currency: str, points: int):
    """The card holder's swap: the same service as ``POST /v1/me/swaps``. Raises what
    ``swaps.quote_and_swap`` raises (InsufficientPoints, exchange_disabled, ...)."""
    party = swaps.Party(card_id, card_id=card_id)
    return swaps.quote_and_swap(
        party, from_currency=from_currency, to_currency=to_currency, points=points
    )
