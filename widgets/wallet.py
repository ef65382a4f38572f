"""The consumer wallet's use cases, behind the ``/wallet`` pages (``wallet_pages``).

Signing in is the card holders' business (``tenants.holders``): a one-time code sent to
the contact a merchant recorded on the card, or a sign-in link by email, opens a holder
session. Only then may the holder add a password (``set_password``: argon2 hash in
``card_credentials``), a second way in (``sign_in_with_password``): a card number alone
never sets or proves anything.

Once signed in: every membership of the card with its balance, expiring points and SPU
value; a swap priced first (``quote``) and carried out on confirmation
(``confirm_swap``), as the holder's party; a counter code (付款码) with its QR code;
merchants' notices and the history. Cards are platform-wide, so every read runs in a
platform unit of work and filters by the card id of the holder session.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import segno
from markupsafe import Markup
from sqlalchemy import select

from jifen.exchange import pricing, swaps
from jifen.exchange import settings as exchange_settings
from jifen.platform import clock
from jifen.platform.auth.secrets import check_password, hash_password
from jifen.platform.db import unit_of_work
from jifen.platform.errors import JifenError, Unprocessable
from jifen.tenants.holders import services as holders
from jifen.tenants.members import cards, points
from jifen.tenants.members.model import Card
from jifen.tenants.members.services import card_wallet

from .model import CardCredential

MIN_PASSWORD = 10
MAX_PASSWORD = 200


class SignInRefused(JifenError):
    status = 401
    type = "authentication_error"
    code = "sign_in_refused"


# --- password: a second way in, set only by a signed-in holder ---------------------------


def has_password(card_id: str) -> bool:
    with unit_of_work(platform=True) as uow:
        return uow.session.get(CardCredential, card_id) is not None


def set_password(card_id: str, new: str, repeat: str, *, keep_token: str | None = None) -> None:
    """Set or change the card's password; the caller has a live holder session for
    ``card_id`` (``keep_token``): every other session of the card ends. Raises
    Unprocessable (``password_too_short``, ``password_too_long``, ``passwords_differ``)."""
    new, repeat = new or "", repeat or ""
    if len(new) < MIN_PASSWORD:
        raise Unprocessable(
            f"Choose a password of at least {MIN_PASSWORD} characters.",
            code="password_too_short",
            param="password",
        )
    if len(new) > MAX_PASSWORD:
        raise Unprocessable(
            f"A password has at most {MAX_PASSWORD} characters.",
            code="password_too_long",
            param="password",
        )
    if new != repeat:
        raise Unprocessable("The two passwords differ.", code="passwords_differ", param="repeat")
    password_hash = hash_password(new)
    now = clock.now()
    with unit_of_work(platform=True) as uow:
        credential = uow.session.get(CardCredential, card_id, with_for_update=True)
        if credential is None:
            uow.session.add(
                CardCredential(
                    card_id=card_id, password_hash=password_hash, created=now, updated=now
                )
            )
        else:
            credential.password_hash = password_hash
            credential.updated = now
        holders.end_other_sessions(uow.session, card_id, keep_token=keep_token)
        uow.commit()


def sign_in_with_password(
    card_number: str, password: str, *, client_address: str
) -> holders.IssuedSession:
    """A holder session for the right card number and password.

    Raises RateLimited while the card or the address must wait after failed sign-ins,
    and SignInRefused — one message for an unknown card, a card without a password and
    a wrong password, each counted as a failed sign-in. The password is checked against
    a stand-in hash when there is nothing to check, so the three take the same time.
    """
    number = holders.check_sign_in_allowed(card_number, client_address)
    stored = None
    if cards.is_valid_card_number(number):
        with unit_of_work(platform=True) as uow:
            stored = uow.session.execute(
                select(Card.id.label("card_id"), CardCredential.password_hash)
                .join(CardCredential, CardCredential.card_id == Card.id)
                .where(Card.number == number)
            ).one_or_none()
    right = check_password(password or "", stored.password_hash if stored else _stand_in())
    if stored is None or not right:
        holders.sign_in_failed(number, client_address)
        raise SignInRefused("The card number or the password is wrong.")
    return holders.sign_in_with(stored.card_id, via="password")


@functools.cache
def _stand_in() -> str:
    return hash_password("no password is set for this card")


# --- what the holder sees ----------------------------------------------------------------


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


# --- swap: the quote first, then the holder confirms -------------------------------------


def _party(card_id: str) -> swaps.Party:
    return swaps.Party(card_id, card_id=card_id)


@dataclass(frozen=True)
class QuoteView:
    id: str
    from_currency: str
    to_currency: str
    from_points: int
    to_points: int
    spu_out: str
    fee_spu: str
    rounding_spu: str
    rate_from: str
    rate_to: str
    expires_at: datetime


def quote(card_id: str, *, from_currency: str, to_currency: str, points: int) -> QuoteView:
    """Price a swap out of the card's ``from_currency`` points, locked for a minute.
    Raises what ``swaps.create_quote`` raises (InsufficientPoints, exchange_disabled, ...)."""
    made = swaps.create_quote(
        _party(card_id), from_currency=from_currency, to_currency=to_currency, points=points
    )
    return QuoteView(
        id=made.id,
        from_currency=made.from_currency,
        to_currency=made.to_currency,
        from_points=made.from_points,
        to_points=made.to_points,
        spu_out=pricing.format_spu(made.spu_out),
        fee_spu=pricing.format_spu(made.fee_spu),
        rounding_spu=pricing.format_spu(made.rounding_spu),
        rate_from=pricing.format_spu(made.rate_from),
        rate_to=pricing.format_spu(made.rate_to),
        expires_at=made.expires_at,
    )


def confirm_swap(card_id: str, quote_id: str) -> swaps.Swap:
    """Carry out the holder's quote as priced. Raises what ``swaps.execute_swap`` raises
    (QuoteExpired for an expired or used quote, NotFound for another card's)."""
    return swaps.execute_swap(_party(card_id), quote_id)


# --- the counter code (付款码) -------------------------------------------------------------


@dataclass(frozen=True)
class CounterCodeView:
    code: str
    grouped: str  # for reading out: 1234 5678 9012 3456 78
    qr_svg: Markup  # inline <svg>, no script and no data: URL (the wallet's CSP)
    expires_at: datetime


def counter_code(card_id: str) -> CounterCodeView:
    """A one-time code (60 s, single use) for the counter, with its QR code."""
    issued = holders.issue_counter_code(card_id)
    grouped = " ".join(issued.code[i : i + 4] for i in range(0, len(issued.code), 4))
    return CounterCodeView(issued.code, grouped, qr_svg(issued.code), issued.expires_at)


def qr_svg(text: str) -> Markup:
    """A QR code (never a Micro QR, which counter scanners may not read) as inline SVG.
    Its only content is ``text`` as modules and a fixed title, so it is safe markup."""
    code = segno.make_qr(text, error="m")
    svg = code.svg_inline(
        scale=6, border=4, light="#fff", title="QR code 二维码", svgclass="qr", omitsize=True
    )
    return Markup(svg)
