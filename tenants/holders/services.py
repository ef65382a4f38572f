"""Use cases of card holders: codes, sessions, and the holder's authority.

Sign-in: ``request_sign_in_code`` sends a 6-digit code to the contact an issuing tenant
recorded on the card, and answers the same whether or not the card exists or has a
contact; ``open_session`` trades the code for a holder session (``hs_…``). The contact is
the oldest membership's that has one (``email`` or ``phone``): a tenant that links the
card later cannot redirect the codes while an earlier one has a contact on file.

Authority: ``issue_counter_code`` gives a signed-in holder an 18-digit code for one try
within 60 seconds; a use case that needs the holder's authority (linking the card,
another tenant's quote, acceptance, an alliance redemption at a merchant that did not
enrol the card) calls ``spend_holder_code`` before it starts: one code, one attempt,
whatever the answer (``check_code_card`` then ties it to the card acted on).

Throttling (``platform.throttle``): at most ``REQUESTS_PER_HOUR`` code requests per card
number and per client address; failed sign-ins slow down per card and per address with a
growing delay. A code is void after ``MAX_WRONG_CODES`` wrong tries, and a new code voids
the one before it. No code, link or token is ever logged.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from jifen.platform import clock, throttle
from jifen.platform.auth import secrets
from jifen.platform.auth.callers import Caller
from jifen.platform.db import unit_of_work
from jifen.platform.errors import (
    HolderAuthorizationRequired,
    InvalidCode,
    RateLimited,
    Unprocessable,
)
from jifen.platform.ids import new_id
from jifen.platform.messages import services as messages
from jifen.tenants.members import cards
from jifen.tenants.members.model import Card, Member

from . import codes
from .model import CodePurpose, HolderCode, HolderSession

log = logging.getLogger(__name__)

SIGN_IN_TTL = timedelta(minutes=10)
COUNTER_TTL = timedelta(seconds=60)
LINK_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=2)
MAX_WRONG_CODES = 5
REQUESTS_PER_HOUR = 5
SESSION_PREFIX = "hs"
ANSWER_TIME = 0.15  # seconds: a code or link request takes this long whatever it finds
LOCALES = ("zh-CN", "en")
CHANNELS = ("email", "sms")


def _key() -> str:
    return current_app.config["SECRET_KEY"]


# --- asking for a sign-in code ---------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    channel: str  # email | sms
    address: str


@contextlib.contextmanager
def _steady(seconds: float = ANSWER_TIME) -> Iterator[None]:
    """Take at least ``seconds``, so the answer's timing does not tell whether a card (and
    a message to its contact) was found."""
    started = time.monotonic()
    try:
        yield
    finally:
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))


def request_sign_in_code(
    card_number: str, *, channel: str | None = None, locale: str = "zh-CN", client_address: str
) -> None:
    """Send a sign-in code to the card's contact, if the card exists and has one.

    Raises Unprocessable (``invalid_card_number``: not a card number at all) and
    RateLimited (too many requests for this number or from this address this hour).
    Otherwise returns nothing, whatever the card, in no less than ``ANSWER_TIME``: the
    caller cannot tell.
    """
    number = _valid_number(card_number)
    wait = max(
        throttle.allow("holder-code-card", number, limit=REQUESTS_PER_HOUR, window=3600),
        throttle.allow("holder-code-address", client_address, limit=REQUESTS_PER_HOUR, window=3600),
    )
    if wait:
        raise RateLimited(
            f"Too many codes asked for; try again in {wait} seconds.", retry_after=wait
        )
    with _steady():
        _send_sign_in_code(number, channel, locale)


def _send_sign_in_code(number: str, channel: str | None, locale: str) -> None:
    with unit_of_work(platform=True) as uow:
        session = uow.session
        card_id = session.scalar(select(Card.id).where(Card.number == number))
        contact = contact_of(session, card_id, channel) if card_id else None
        if contact is None:
            return
        now = clock.now()
        _void_live(session, card_id, CodePurpose.SIGN_IN, now)
        code = codes.new_code(codes.SIGN_IN_DIGITS)
        row = HolderCode(
            id=new_id("hc"),
            card_id=card_id,
            purpose=CodePurpose.SIGN_IN.value,
            channel=contact.channel,
            expires_at=now + SIGN_IN_TTL,
            created=now,
        )
        row.code_digest = _sign_in_digest(row, code)
        session.add(row)
        try:
            messages.send(
                uow,
                channel=contact.channel,
                to=contact.address,
                template="holder_code",
                locale=locale if locale in LOCALES else "zh-CN",
                context={"code": code, "minutes": int(SIGN_IN_TTL.total_seconds() // 60)},
                sensitive=True,
            )
        except Unprocessable:  # a contact no message can reach: as if there were none
            log.warning("card %s: the contact on file cannot receive codes", card_id)
            return
        uow.commit()


def contact_of(session: Session, card_id: str, channel: str | None = None) -> Contact | None:
    """Where the card's codes go: the oldest membership with an email (or, for ``sms``
    or when no membership has an email, a phone). Runs in a platform unit of work."""
    rows = session.execute(
        select(Member.email, Member.phone)
        .where(Member.card_id == card_id)
        .order_by(Member.created, Member.id)
    ).all()
    emails = [row.email for row in rows if row.email]
    phones = [row.phone for row in rows if row.phone]
    if channel != "sms" and emails:
        return Contact("email", emails[0])
    if channel != "email" and phones:
        return Contact("sms", phones[0])
    return None


def _sign_in_digest(row: HolderCode, code: str) -> str:
    # Bound to the card and the row: equal codes of one card never share a digest.
    return codes.digest(_key(), CodePurpose.SIGN_IN, code, f"{row.card_id}:{row.id}")


def _void_live(session: Session, card_id: str, purpose: CodePurpose, now: datetime) -> None:
    session.execute(
        update(HolderCode)
        .where(
            HolderCode.card_id == card_id,
            HolderCode.purpose == purpose.value,
            HolderCode.used_at.is_(None),
            HolderCode.voided_at.is_(None),
            HolderCode.expires_at > now,
        )
        .values(voided_at=now)
    )


def _valid_number(card_number: object) -> str:
    number = cards.normalise_card_number(card_number) if isinstance(card_number, str) else ""
    if not cards.is_valid_card_number(number):
        raise Unprocessable(
            "card_number must be 16 digits with a valid check digit.",
            code="invalid_card_number",
            param="card_number",
        )
    return number


# --- holder sessions ---------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedSession:
    id: str
    card_id: str
    token: str  # shown once, never stored
    expires_at: datetime
    created: datetime


def open_session(card_number: str, code: str, *, client_address: str) -> IssuedSession:
    """A holder session for the right sign-in code of the card.

    Raises InvalidCode (401 ``invalid_code``: unknown card, no live code, a wrong, used,
    expired or void code — one answer for all) and RateLimited while this card or address
    must wait after failed tries. A wrong code counts against the code: the fifth voids it.
    """
    number = cards.normalise_card_number(card_number) if isinstance(card_number, str) else ""
    _check_not_throttled(number, client_address)
    issued = _trade_code(number, codes.normalise_code(code))
    if issued is None:  # counted after the transaction: the counters keep their own
        sign_in_failed(number, client_address)
        raise InvalidCode("The code is wrong or no longer valid.", param="code")
    return issued


def _trade_code(number: str, typed: str | None) -> IssuedSession | None:
    """A session for the card's live code if ``typed`` is it; else count the wrong try
    against the code (the fifth voids it) and None."""
    with unit_of_work(platform=True) as uow:
        session = uow.session
        now = clock.now()
        row = (
            _live_sign_in_code(session, number, now) if cards.is_valid_card_number(number) else None
        )
        if row is None:
            return None
        if typed is None or not codes.same(_sign_in_digest(row, typed), row.code_digest):
            row.failed_attempts += 1
            if row.failed_attempts >= MAX_WRONG_CODES:
                row.voided_at = now
            uow.commit()
            return None
        row.used_at = now
        issued = start_session(session, row.card_id, via="code", now=now)
        uow.commit(issued)
        return issued


def _live_sign_in_code(session: Session, number: str, now: datetime) -> HolderCode | None:
    return session.scalar(
        select(HolderCode)
        .join(Card, Card.id == HolderCode.card_id)
        .where(
            Card.number == number,
            HolderCode.purpose == CodePurpose.SIGN_IN.value,
            HolderCode.used_at.is_(None),
            HolderCode.voided_at.is_(None),
            HolderCode.expires_at > now,
        )
        .order_by(HolderCode.created.desc())
        .limit(1)
        .with_for_update()
    )


def _check_not_throttled(number: str, client_address: str) -> None:
    wait = max(
        throttle.failure_wait("holder-sign-in-card", number),
        throttle.failure_wait("holder-sign-in-address", client_address),
    )
    if wait:
        raise RateLimited(
            f"Too many failed sign-ins; try again in {wait} seconds.", retry_after=wait
        )


def sign_in_failed(number: str, client_address: str) -> None:
    """Count a failed sign-in (code or password) against the card and the address."""
    throttle.record_failure("holder-sign-in-card", number)
    throttle.record_failure("holder-sign-in-address", client_address)


def check_sign_in_allowed(card_number: str, client_address: str) -> str:
    """The normalised number, once neither it nor the address must wait (RateLimited)."""
    number = cards.normalise_card_number(card_number) if isinstance(card_number, str) else ""
    _check_not_throttled(number, client_address)
    return number


def start_session(
    session: Session, card_id: str, *, via: str, now: datetime | None = None
) -> IssuedSession:
    """A new holder session for ``card_id`` in the caller's (platform) unit of work, once
    the holder has proved who they are (a code, a password, a link)."""
    now = now or clock.now()
    token = secrets.new_secret(SESSION_PREFIX)
    row = HolderSession(
        card_id=card_id,
        token_digest=secrets.digest(token),
        via=via,
        expires_at=now + SESSION_TTL,
        created=now,
    )
    session.add(row)
    session.flush()
    return IssuedSession(row.id, card_id, token, row.expires_at, row.created)


def sign_in_with(card_id: str, *, via: str) -> IssuedSession:
    """``start_session`` in its own transaction (the wallet's password sign-in)."""
    with unit_of_work(platform=True) as uow:
        issued = start_session(uow.session, card_id, via=via)
        uow.commit(issued)
        return issued


def end_session(token: str) -> bool:
    """Sign out: the session's token stops working at once. False if it was not live."""
    if not isinstance(token, str) or not token.startswith(SESSION_PREFIX + "_"):
        return False
    with unit_of_work(platform=True) as uow:
        ended = uow.session.execute(
            update(HolderSession)
            .where(
                HolderSession.token_digest == secrets.digest(token),
                HolderSession.ended_at.is_(None),
            )
            .values(ended_at=clock.now())
        ).rowcount
        uow.commit()
        return bool(ended)


def end_other_sessions(session: Session, card_id: str, *, keep_token: str | None) -> int:
    """End every live session of the card but the one of ``keep_token`` (a password set
    or changed), in the caller's platform unit of work. Returns how many ended."""
    conditions = [HolderSession.card_id == card_id, HolderSession.ended_at.is_(None)]
    if keep_token:
        conditions.append(HolderSession.token_digest != secrets.digest(keep_token))
    return session.execute(
        update(HolderSession).where(*conditions).values(ended_at=clock.now())
    ).rowcount


def session_card(token: str) -> str | None:
    """The card of a live holder session token, or None."""
    if not isinstance(token, str) or not token.startswith(SESSION_PREFIX + "_"):
        return None
    with unit_of_work(platform=True) as uow:
        row = uow.session.execute(
            select(HolderSession.card_id, HolderSession.expires_at, HolderSession.ended_at).where(
                HolderSession.token_digest == secrets.digest(token)
            )
        ).one_or_none()
    if row is None or row.ended_at is not None or row.expires_at <= clock.now():
        return None
    return row.card_id


def resolve_holder_session(token: str) -> Caller | None:
    card_id = session_card(token)
    if card_id is None:
        return None
    return Caller(kind="holder", id=card_id, tenant_id=None, card_id=card_id)


# --- the holder's authority --------------------------------------------------------------


@dataclass(frozen=True)
class CounterCode:
    code: str
    expires_at: datetime
    created: datetime


def issue_counter_code(card_id: str) -> CounterCode:
    """A one-time code (60 s, single use) that the signed-in holder hands over at a
    counter; it authorizes one use case on this card, for whoever receives it."""
    now = clock.now()
    with unit_of_work(platform=True) as uow:
        code = codes.new_code(codes.COUNTER_DIGITS)
        uow.session.add(
            HolderCode(
                card_id=card_id,
                purpose=CodePurpose.COUNTER.value,
                code_digest=codes.digest(_key(), CodePurpose.COUNTER, code),
                expires_at=now + COUNTER_TTL,
                created=now,
            )
        )
        issued = CounterCode(code, now + COUNTER_TTL, now)
        uow.commit(issued)
        return issued


def spend_holder_code(holder_code: str | None, *, used_by: str) -> str:
    """Spend a counter code, in its own transaction; the card it belongs to.

    A code is good for one attempt, like a payment code: it is spent before the use case
    it authorizes runs, whatever that use case then answers, so a merchant cannot try it
    on one currency after another to read a card's balances. Call it before opening the
    use case's unit of work (SQLite has one writer). Raises HolderAuthorizationRequired
    (403) when the code is missing, unknown, used or expired — one answer for all; two
    uses race on the row and only one spends it.
    """
    typed = codes.normalise_code(holder_code)
    if typed is None:
        raise authorization_required(holder_code)
    now = clock.now()
    with unit_of_work(platform=True) as uow:
        card_id = uow.session.execute(
            update(HolderCode)
            .where(
                HolderCode.code_digest == codes.digest(_key(), CodePurpose.COUNTER, typed),
                HolderCode.purpose == CodePurpose.COUNTER.value,
                HolderCode.used_at.is_(None),
                HolderCode.voided_at.is_(None),
                HolderCode.expires_at > now,
            )
            .values(used_at=now, used_by=used_by[:64])
            .returning(HolderCode.card_id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        uow.commit()
    if card_id is None:
        raise authorization_required(holder_code)
    return card_id


def check_code_card(code_card: str | None, card_id: str | None) -> str:
    """The card a use case acts on, once the holder's code (spent: ``code_card``) is
    that card's. Raises HolderAuthorizationRequired: no code, or another card's, or no
    card with the number named (the same answer, so numbers cannot be probed)."""
    if code_card is None or (card_id is not None and card_id != code_card):
        raise authorization_required(code_card)
    return code_card


def authorization_required(holder_code: object) -> HolderAuthorizationRequired:
    if holder_code in (None, ""):
        return HolderAuthorizationRequired(
            "The card holder's authority is needed: a holder_code from the holder.",
            param="holder_code",
        )
    return HolderAuthorizationRequired(
        "The holder_code is wrong, used, expired or not this card's.", param="holder_code"
    )


# --- sign-in links (the wallet) -----------------------------------------------------------


def request_sign_in_link(
    email: str, *, link_base: str, locale: str = "zh-CN", client_address: str
) -> None:
    """Email a one-use sign-in link (15 minutes) for every card whose contact is this
    address. Answers the same whatever the address; RateLimited as sign-in codes are."""
    address = (email or "").strip().lower()
    wait = max(
        throttle.allow("holder-link-email", address, limit=REQUESTS_PER_HOUR, window=3600),
        throttle.allow("holder-code-address", client_address, limit=REQUESTS_PER_HOUR, window=3600),
    )
    if wait:
        raise RateLimited(
            f"Too many links asked for; try again in {wait} seconds.", retry_after=wait
        )
    if "@" not in address or len(address) > 254:
        return
    with _steady():
        _send_sign_in_links(address, link_base, locale)


def _send_sign_in_links(address: str, link_base: str, locale: str) -> None:
    with unit_of_work(platform=True) as uow:
        session = uow.session
        now = clock.now()
        card_ids = session.scalars(
            select(Member.card_id).where(func.lower(Member.email) == address).distinct()
        ).all()
        for card_id in sorted(card_ids):
            contact = contact_of(session, card_id, "email")
            if contact is None or contact.address.strip().lower() != address:
                continue
            token = codes.new_link_token()
            if not messages.EMAIL.match(contact.address):
                continue
            session.add(
                HolderCode(
                    card_id=card_id,
                    purpose=CodePurpose.LINK.value,
                    code_digest=codes.digest(_key(), CodePurpose.LINK, token),
                    channel="email",
                    expires_at=now + LINK_TTL,
                    created=now,
                )
            )
            messages.send(
                uow,
                channel="email",
                to=contact.address,
                template="wallet_link",
                locale=locale if locale in LOCALES else "zh-CN",
                context={
                    "link": f"{link_base.rstrip('/')}/wallet/link/{token}",
                    "minutes": int(LINK_TTL.total_seconds() // 60),
                },
                sensitive=True,
            )
        uow.commit()


def open_session_with_link(token: str) -> IssuedSession:
    """Follow a sign-in link once. Raises InvalidCode (unknown, used or expired)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise InvalidCode("This sign-in link is not valid.", param="token")
    with unit_of_work(platform=True) as uow:
        now = clock.now()
        card_id = uow.session.execute(
            update(HolderCode)
            .where(
                HolderCode.code_digest == codes.digest(_key(), CodePurpose.LINK, token),
                HolderCode.purpose == CodePurpose.LINK.value,
                HolderCode.used_at.is_(None),
                HolderCode.voided_at.is_(None),
                HolderCode.expires_at > now,
            )
            .values(used_at=now, used_by="link")
            .returning(HolderCode.card_id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if card_id is None:
            raise InvalidCode("This sign-in link has expired or was used.", param="token")
        issued = start_session(uow.session, card_id, via="link", now=now)
        uow.commit(issued)
        return issued
