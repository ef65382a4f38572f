"""Member tokens: short-lived bearer tokens that let a card holder act as one member on
the consumer endpoints (``/v1/me/*``, widgets).

The merchant's backend asks for one (``POST /v1/members/{id}/tokens``) and hands it to
the customer's browser. A token is a 256-bit random secret with the readable prefix
``mt_``; only its SHA-256 digest is stored, and it expires after ``DEFAULT_TTL`` unless
the request asks for another lifetime up to ``MAX_TTL``. ``resolve_member_token`` (wired
on the app) turns ``Authorization: Bearer mt_…`` into ``Caller(kind="member")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from jifen.platform import clock
from jifen.platform.auth import secrets
from jifen.platform.auth.callers import Caller
from jifen.platform.db import unit_of_work
from jifen.platform.errors import Unprocessable

from .model import Member, MemberToken
from .services import load_member

PREFIX = "mt"
DEFAULT_TTL = timedelta(hours=1)
MIN_TTL = timedelta(minutes=1)
MAX_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class IssuedMemberToken:
    id: str
    member_id: str
    token: str  # shown once, never stored
    expires_at: datetime
    created: datetime


def issue_member_token(
    tenant_id: str, member_id: str, *, expires_in: int | None = None
) -> IssuedMemberToken:
    """A new token for the member. Raises NotFound for an unknown or foreign member and
    Unprocessable when ``expires_in`` (seconds) is outside 60..86400."""
    ttl = DEFAULT_TTL if expires_in is None else timedelta(seconds=expires_in)
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise Unprocessable(
            f"expires_in must be {int(MIN_TTL.total_seconds())} to "
            f"{int(MAX_TTL.total_seconds())} seconds.",
            param="expires_in",
        )
    with unit_of_work(tenant_id=tenant_id) as uow:
        member = load_member(uow.session, member_id)
        token = secrets.new_secret(PREFIX)
        now = clock.now()
        row = MemberToken(
            tenant_id=tenant_id,
            member_id=member.id,
            token_hash=secrets.digest(token),
            expires_at=now + ttl,
            created=now,
        )
        uow.session.add(row)
        uow.session.flush()
        issued = IssuedMemberToken(row.id, member.id, token, row.expires_at, row.created)
        uow.commit(issued)
        return issued


def resolve_member_token(token: str) -> Caller | None:
    """The member behind a live member token, or None (unknown, tampered, expired or
    revoked). Looked up by digest across tenants, so in a platform unit of work."""
    if not token.startswith(PREFIX + "_"):
        return None
    with unit_of_work(platform=True) as uow:
        row = uow.session.execute(
            select(MemberToken.expires_at, MemberToken.revoked_at, Member)
            .join(Member, Member.id == MemberToken.member_id)
            .where(MemberToken.token_hash == secrets.digest(token))
        ).one_or_none()
    if row is None:
        return None
    expires_at, revoked_at, member = row
    if revoked_at is not None or expires_at <= clock.now():
        return None
    return Caller(kind="member", id=member.id, tenant_id=member.tenant_id, card_id=member.card_id)
