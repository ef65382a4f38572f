"""Use cases for API clients, access tokens and staff users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from jifen.platform import clock
from jifen.platform.db import unit_of_work
from jifen.platform.errors import Conflict, InvalidState, NotFound, Unprocessable

from . import secrets
from .callers import Caller
from .model import (
    ALL_SCOPES,
    PLATFORM_SCOPES,
    TENANT_SCOPES,
    AccessToken,
    ApiClient,
    Role,
    StaffRole,
    StaffUser,
)


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


def new_staff_user(session, *, email: str, password: str, name: str = "") -> StaffUser:
    email = normalise_email(email)
    if len(password) < 8:
        raise Unprocessable("The password must have at least 8 characters.", param="password")
    if session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
        raise Conflict(
            f"A user with the email {email} already exists.", code="email_taken", param="email"
        )
    user = StaffUser(email=email, password_hash=secrets.hash_password(password), name=name)
    session.add(user)
    session.flush()
    return user


def grant_role(session, *, tenant_id: str, user_id: str, role: Role) -> StaffRole:
    grant = StaffRole(tenant_id=tenant_id, user_id=user_id, role=Role(role).value)
    session.add(grant)
    session.flush()
    return grant


def authenticate_staff(email: str, password: str) -> StaffUser | None:
    """The user with this email and password, or None (the same for either mistake)."""
    with unit_of_work(platform=True) as uow:
        user = uow.session.scalar(
            select(StaffUser).where(StaffUser.email == normalise_email(email))
        )
        if user is None:
            secrets.hash_password(password)  # spend the same time as a real check
            return None
        if not secrets.check_password(password, user.password_hash):
            return None
        user.last_login_at = clock.now()
        uow.commit()
        return user


def roles_of(user_id: str) -> dict[str, Role]:
    """tenant id → role, for every tenant the user works for."""
    with unit_of_work(platform=True) as uow:
        grants = uow.session.scalars(select(StaffRole).where(StaffRole.user_id == user_id))
        return {grant.tenant_id: Role(grant.role) for grant in grants}
