"""Use cases for API clients, access tokens, staff users and their console sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from jifen.platform import clock
from jifen.platform.db import unit_of_work
from jifen.platform.errors import Conflict, Forbidden, InvalidState, NotFound, Unprocessable

from . import secrets
from .callers import Caller
from .model import (
    ALL_SCOPES,
    PLATFORM_SCOPES,
    TENANT_SCOPES,
    AccessToken,
    ApiClient,
    PlatformRole,
    Role,
    SessionEnd,
    StaffRole,
    StaffSession,
    StaffUser,
)

PASSWORD_MIN_LENGTH = 10
"""For a changed password (sign-up still asks for 8: ``tenants.schemas``)."""
PASSWORD_MAX_LENGTH = 200


@dataclass(frozen=True)
class IssuedClient:
    client_id: str
    client_secret: str  # shown once, never stored
    scope: str


def validate_scopes(scopes: list[str], *, platform: bool) -> list[str]:
    allowed = PLATFORM_SCOPES if platform else TENANT_SCOPES
    unknown = [s for s in scopes if s not in ALL_SCOPES]
    if unknown:
        raise Unprocessable(f"Unknown scope: {' '.join(unknown)}.", param="scopes")
    foreign = [s for s in scopes if s not in allowed]
    if foreign:
        owner = "the platform operator" if platform else "a tenant"
        raise Unprocessable(f"Not a scope for {owner}: {' '.join(foreign)}.", param="scopes")
    if not scopes:
        raise Unprocessable("At least one scope is required.", param="scopes")
    return list(dict.fromkeys(scopes))


def new_client(session, *, tenant_id: str | None, name: str, scopes: list[str]) -> IssuedClient:
    """Add an API client inside the caller's unit of work (signup uses this)."""
    scopes = validate_scopes(scopes, platform=tenant_id is None)
    secret = secrets.new_secret("sk")
    client = ApiClient(
        tenant_id=tenant_id, name=name, secret_hash=secrets.digest(secret), scope=" ".join(scopes)
    )
    session.add(client)
    session.flush()
    return IssuedClient(client.id, secret, client.scope)


def create_platform_client(name: str, scopes: list[str]) -> IssuedClient:
    with unit_of_work(platform=True) as uow:
        issued = new_client(uow.session, tenant_id=None, name=name, scopes=scopes)
        uow.commit()
        return issued


def find_client(client_id: str) -> ApiClient | None:
    """The live (not revoked) client with this id, for the token endpoint."""
    with unit_of_work(platform=True) as uow:
        client = uow.session.get(ApiClient, client_id)
        if client is None or client.revoked_at is not None:
            return None
        return client


def save_access_token(client: ApiClient, token: str, scope: str, expires_in: int) -> None:
    with unit_of_work(platform=True) as uow:
        uow.session.add(
            AccessToken(
                token_hash=secrets.digest(token),
                client_id=client.id,
                tenant_id=client.tenant_id,
                scope=scope,
                expires_at=clock.now() + timedelta(seconds=expires_in),
            )
        )
        uow.commit()


def resolve_access_token(token: str) -> Caller | None:
    """The caller behind a live access token, or None."""
    with unit_of_work(platform=True) as uow:
        row = uow.session.execute(
            select(AccessToken, ApiClient.revoked_at)
            .join(ApiClient, ApiClient.id == AccessToken.client_id)
            .where(AccessToken.token_hash == secrets.digest(token))
        ).one_or_none()
    if row is None:
        return None
    access, client_revoked_at = row
    if access.revoked_at or client_revoked_at or access.expires_at <= clock.now():
        return None
    return Caller(
        kind="client",
        id=access.client_id,
        tenant_id=access.tenant_id,
        scopes=frozenset(access.scope.split()),
    )


def revoke_access_token(token: str, client_id: str) -> None:
    """RFC 7009: revoke a token the client itself holds; unknown tokens are ignored."""
    with unit_of_work(platform=True) as uow:
        uow.session.execute(
            update(AccessToken)
            .where(
                AccessToken.token_hash == secrets.digest(token),
                AccessToken.client_id == client_id,
                AccessToken.revoked_at.is_(None),
            )
            .values(revoked_at=clock.now())
        )
        uow.commit()


def create_tenant_client(tenant_id: str, name: str, scopes: list[str]) -> IssuedClient:
    """A new API client of ``tenant_id``; its secret is in the result and nowhere else.
    Raises Unprocessable for a missing name or a scope that is not a tenant's."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Unprocessable("name must be 1 to 200 characters.", param="name")
    with unit_of_work(tenant_id=tenant_id) as uow:
        issued = new_client(uow.session, tenant_id=tenant_id, name=name, scopes=scopes)
        uow.commit()
        return issued


def list_clients(tenant_id: str) -> list[ApiClient]:
    """The tenant's API clients, live ones first, newest first within each."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        return list(
            uow.session.scalars(
                select(ApiClient)
                .where(ApiClient.tenant_id == tenant_id)
                .order_by(ApiClient.revoked_at.is_not(None), ApiClient.created.desc())
            )
        )


def revoke_client(tenant_id: str, client_id: str) -> ApiClient:
    """Revoke a tenant's API client and, with it, every token it was issued."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        client = uow.session.get(ApiClient, client_id)
        if client is None or client.tenant_id != tenant_id:
            raise NotFound(f"No such API client: {client_id}")
        client.revoked_at = client.revoked_at or clock.now()
        uow.commit(client)
        return client


def rotate_client_secret(tenant_id: str, client_id: str) -> IssuedClient:
    """A new secret for a tenant's live API client, returned once and stored hashed.

    The old secret stops working at once (no grace period), and every access token the
    client holds is revoked with it, so whoever had the old secret loses access now; the
    client keeps its id, name and scopes. Raises NotFound (also for another tenant's
    client) and InvalidState (a revoked client).
    """
    with unit_of_work(tenant_id=tenant_id) as uow:
        client = uow.session.get(ApiClient, client_id)
        if client is None or client.tenant_id != tenant_id:
            raise NotFound(f"No such API client: {client_id}")
        if client.revoked_at is not None:
            raise InvalidState("A revoked API client cannot get a new secret.", param="id")
        secret = secrets.new_secret("sk")
        client.secret_hash = secrets.digest(secret)
        uow.session.execute(
            update(AccessToken)
            .where(
                AccessToken.client_id == client.id,
                AccessToken.tenant_id == tenant_id,
                AccessToken.revoked_at.is_(None),
            )
            .values(revoked_at=clock.now())
        )
        issued = IssuedClient(client.id, secret, client.scope)
        uow.commit()
        return issued


# --- staff users -------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_new_password(password: str, param: str = "password") -> None:
    """Raises Unprocessable (``password_too_short`` / ``password_too_long``) for a
    password people choose from now on (invitations, changes, the CLI)."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise Unprocessable(
            f"The password must have at least {PASSWORD_MIN_LENGTH} characters.",
            code="password_too_short",
            param=param,
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise Unprocessable(
            f"The password must have at most {PASSWORD_MAX_LENGTH} characters.",
            code="password_too_long",
            param=param,
        )


def new_staff_user(
    session,
    *,
    email: str,
    password: str,
    name: str = "",
    platform_role: PlatformRole | None = None,
) -> StaffUser:
    """Add a staff user inside the caller's unit of work. Raises Unprocessable for a
    password under 8 characters (callers that ask people for one check
    ``check_new_password`` first), Conflict (``email_taken``) for a known email."""
    email = normalise_email(email)
    if len(password) < 8:
        raise Unprocessable("The password must have at least 8 characters.", param="password")
    if session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
        raise Conflict(
            f"A user with the email {email} already exists.", code="email_taken", param="email"
        )
    user = StaffUser(
        email=email,
        password_hash=secrets.hash_password(password),
        name=name,
        platform_role=PlatformRole(platform_role).value if platform_role else None,
    )
    session.add(user)
    session.flush()
    return user


def grant_role(session, *, tenant_id: str, user_id: str, role: Role) -> StaffRole:
    """Add the user's role in a tenant inside the caller's unit of work; the user's
    console sessions end (``role_changed``), as after any role change."""
    grant = StaffRole(tenant_id=tenant_id, user_id=user_id, role=Role(role).value)
    session.add(grant)
    session.flush()
    end_sessions_of(session, user_id, SessionEnd.ROLE_CHANGED)
    return grant


def set_staff_role(tenant_id: str, user_id: str, role: Role | None) -> bool:
    """Give the user ``role`` in the tenant (None: take their role there away).

    Any change ends every console session of the user (``role_changed``), in every
    tenant: they sign in again and see what their new role allows. Returns False when
    the user already had that role (nothing changes, nobody is signed out). Raises
    NotFound for an unknown user."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        if uow.session.get(StaffUser, user_id) is None:
            raise NotFound(f"No such staff user: {user_id}")
        grant = uow.session.scalar(
            select(StaffRole).where(StaffRole.tenant_id == tenant_id, StaffRole.user_id == user_id)
        )
        if (grant.role if grant is not None else None) == role:
            return False
        if grant is None:
            grant_role(uow.session, tenant_id=tenant_id, user_id=user_id, role=Role(role))
        else:
            if role is None:
                uow.session.delete(grant)
            else:
                grant.role = Role(role).value
            end_sessions_of(uow.session, user_id, SessionEnd.ROLE_CHANGED)
        uow.commit()
        return True


def change_staff_password(user_id: str, current_password: str, new_password: str) -> None:
    """Replace the user's password, after checking their current one.

    Every console session of the user ends (``password_changed``), the caller's own
    included: the console then opens a fresh one for the browser that made the change.
    Raises Forbidden (code ``wrong_password``) for a wrong current password, Unprocessable
    (``password_too_short`` / ``password_too_long``) for a new password of the wrong
    length, NotFound for an unknown user."""
    check_new_password(new_password, "new_password")
    with unit_of_work(platform=True) as uow:
        user = uow.session.get(StaffUser, user_id)
        if user is None:
            raise NotFound(f"No such staff user: {user_id}")
        if not secrets.check_password(current_password, user.password_hash):
            raise Forbidden(
                "The current password is wrong.", code="wrong_password", param="current_password"
            )
        user.password_hash = secrets.hash_password(new_password)
        end_sessions_of(uow.session, user_id, SessionEnd.PASSWORD_CHANGED)
        uow.commit()


def authenticate_staff(email: str, password: str) -> StaffUser | None:
    """The user with this email and password, or None (the same for either mistake).

    Only after the password matched: raises Forbidden with code ``account_disabled`` for
    a disabled user, ``no_access`` for a user with neither a platform role nor a live
    role in any tenant (every role disabled or taken away) — neither may sign in."""
    with unit_of_work(platform=True) as uow:
        user = uow.session.scalar(
            select(StaffUser).where(StaffUser.email == normalise_email(email))
        )
        if user is None:
            secrets.hash_password(password)  # spend the same time as a real check
            return None
        if not secrets.check_password(password, user.password_hash):
            return None
        if user.disabled_at is not None:
            raise Forbidden("This account is disabled.", code="account_disabled")
        if user.platform_role is None and not _live_grants(uow.session, user.id):
            raise Forbidden("This account has no role in any tenant.", code="no_access")
        user.last_login_at = clock.now()
        uow.commit()
        return user


def _live_grants(session, user_id: str) -> list[StaffRole]:
    return list(
        session.scalars(
            select(StaffRole).where(StaffRole.user_id == user_id, StaffRole.disabled_at.is_(None))
        )
    )


def roles_of(user_id: str) -> dict[str, Role]:
    """tenant id → role, for every tenant the user works for (disabled roles left out)."""
    with unit_of_work(platform=True) as uow:
        return {grant.tenant_id: Role(grant.role) for grant in _live_grants(uow.session, user_id)}


# --- console sessions ----------------------------------------------------------------------


@dataclass(frozen=True)
class LiveSession:
    """A live console session and who holds it."""

    session_id: str
    user_id: str
    email: str
    platform_role: PlatformRole | None


def start_staff_session(
    user_id: str, *, ip: str | None, user_agent: str | None, replacing: str | None = None
) -> str:
    """Open a console session for the user; returns its secret, which is stored nowhere
    but in the caller's cookie (the row keeps its SHA-256 digest). ``replacing``: the
    secret of the session the browser held until now, ended (``sign_out``) on the way."""
    secret = secrets.new_secret("ss")
    now = clock.now()
    with unit_of_work(platform=True) as uow:
        if replacing:
            _end_session_holding(uow.session, replacing, SessionEnd.SIGN_OUT, now)
        uow.session.add(
            StaffSession.open(
                user_id=user_id,
                token_hash=secrets.digest(secret),
                now=now,
                ip=(ip or "")[:64] or None,
                user_agent=(user_agent or "")[:500] or None,
            )
        )
        uow.commit()
    return secret


def resolve_staff_session(secret: str) -> LiveSession | None:
    """The live session holding ``secret``, or None (unknown, ended or timed out).

    A session found timed out is ended on the spot (``expired`` or ``idle``); a live one
    has its ``last_seen_at`` moved, at most once a ``SEEN_EVERY_SECONDS``."""
    if not secret:
        return None
    now = clock.now()
    with unit_of_work(platform=True) as uow:
        found = uow.session.execute(
            select(StaffSession, StaffUser)
            .join(StaffUser, StaffUser.id == StaffSession.user_id)
            .where(StaffSession.token_hash == secrets.digest(secret))
        ).one_or_none()
        if found is None or found[0].ended_at is not None or found[1].disabled_at is not None:
            return None
        staff_session, user = found
        timed_out = staff_session.timed_out(now)
        if timed_out:
            staff_session.end(timed_out, now)
            uow.commit()
            return None
        if staff_session.seen(now):
            uow.commit()
        platform_role = PlatformRole(user.platform_role) if user.platform_role else None
        return LiveSession(staff_session.id, user.id, user.email, platform_role)


def end_staff_session(secret: str, reason: SessionEnd = SessionEnd.SIGN_OUT) -> None:
    """End the session holding ``secret`` (sign-out); unknown or ended ones are ignored."""
    with unit_of_work(platform=True) as uow:
        _end_session_holding(uow.session, secret, reason, clock.now())
        uow.commit()


def end_staff_sessions(user_id: str, reason: SessionEnd) -> int:
    """End every console session of the user; returns how many were open."""
    with unit_of_work(platform=True) as uow:
        ended = end_sessions_of(uow.session, user_id, reason)
        uow.commit()
        return ended


def end_sessions_of(session, user_id: str, reason: SessionEnd) -> int:
    """``end_staff_sessions`` inside the caller's unit of work (its password or role
    change commits with it). A session that had timed out unnoticed is closed with
    ``reason`` too."""
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values(ended_at=clock.now(), end_reason=SessionEnd(reason).value)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _end_session_holding(session, secret: str, reason: SessionEnd, now: datetime) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == secrets.digest(secret), StaffSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=SessionEnd(reason).value)
        .execution_options(synchronize_session=False)
    )
