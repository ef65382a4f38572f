"""Who may call Jifen: API clients and their access tokens, staff users and their roles.

Client secrets and access tokens are high-entropy random strings, so they are stored as
SHA-256 digests (a slow hash adds nothing against a 256-bit secret) and compared in
constant time. Staff passwords are chosen by people, so they get argon2.

Staff are people: a ``StaffUser`` may hold a platform role (``PlatformRole``: the
platform's operators and its finance team) and a ``StaffRole`` in any number of tenants.
A disabled user (``disabled_at``) cannot sign in at all; a disabled ``StaffRole`` grants
nothing in its tenant but is kept, so the owner can enable it again. People join by a
``StaffInvitation``: a link mailed to them whose token is random and stored only as its
SHA-256 digest, used once, expiring ``INVITATION_DAYS`` after it was sent.

A staff user signed in to the console holds a ``StaffSession``: its secret lives only in
the browser's cookie, the row keeps its digest, and the session is live while it is not
ended, not past ``expires_at`` (``SESSION_HOURS`` after sign-in) and seen within the last
``IDLE_MINUTES``. Sign-out, a password change and a role change end it for good.

An API client belongs to one tenant, or (``tenant_id`` NULL) to the platform operator.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, Created, TenantOwned, one_of
from jifen.platform.ids import new_id

TENANT_SCOPES = (
    "points:read",
    "points:write",
    "program:write",
    "exchange",
    "settlement:read",
    "settlement:write",
)
PLATFORM_SCOPES = ("platform:admin", "settlement:read", "settlement:write", "exchange")
ALL_SCOPES = tuple(dict.fromkeys(TENANT_SCOPES + PLATFORM_SCOPES))


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    OPERATOR = "operator"
    SUPPORT = "support"
    FINANCE = "finance"


class PlatformRole(enum.StrEnum):
    """Roles that span tenants (DESIGN.md, Card holders and staff)."""

    OPERATOR = "operator"  # everything platform-wide
    FINANCE = "finance"  # settlement: batches, reports, reconciliation


INVITATION_DAYS = 7
"""An invitation link works this many days after it was sent."""


class ApiClient(TenantOwned, Created, Base):
    __tablename__ = "api_clients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("cli"))
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(500))
    revoked_at: Mapped[datetime | None]

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()

    @property
    def is_platform(self) -> bool:
        return self.tenant_id is None


class AccessToken(Created, Base):
    __tablename__ = "access_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("tok"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"), index=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    scope: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class StaffUser(Created, Base):
    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint(
            f"platform_role IS NULL OR {one_of('platform_role', PlatformRole)}",
            name="staff_user_platform_role",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("usr"))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")
    platform_role: Mapped[str | None] = mapped_column(String(16))
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    @hybrid_property
    def is_platform_operator(self) -> bool:
        """Has a platform role (either): the name predates platform finance users."""
        return self.platform_role is not None

    @is_platform_operator.inplace.setter
    def _is_platform_operator_setter(self, value: bool) -> None:
        if not value:
            self.platform_role = None
        elif self.platform_role is None:
            self.platform_role = PlatformRole.OPERATOR.value

    @is_platform_operator.inplace.expression
    @classmethod
    def _is_platform_operator_expression(cls):
        return cls.platform_role.is_not(None)


class StaffRole(TenantOwned, Created, Base):
    """A staff user's role in one tenant (a user may work for several)."""

    __tablename__ = "staff_roles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", name="staff_roles_one_per_tenant"),
        CheckConstraint(
            "role IN ('owner', 'admin', 'operator', 'support', 'finance')", name="staff_role"
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rol"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    disabled_at: Mapped[datetime | None]


class StaffInvitation(TenantOwned, Created, Base):
    """An invitation to join a tenant's staff with ``role`` or, with no tenant, the
    platform's staff with a platform role. Live while not accepted, not revoked and not
    past ``expires_at``; accepting it is a conditional update, so it works once."""

    __tablename__ = "staff_invitations"
    __table_args__ = (
        CheckConstraint(
            f"(tenant_id IS NULL AND {one_of('role', PlatformRole)}) "
            f"OR (tenant_id IS NOT NULL AND {one_of('role', Role)})",
            name="staff_invitation_role",
        ),
        CheckConstraint(
            "accepted_at IS NULL OR revoked_at IS NULL", name="staff_invitation_one_end"
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("inv"))
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"))
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"))
    revoked_at: Mapped[datetime | None]

    def live(self, now: datetime) -> bool:
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at


SESSION_HOURS = 8
"""A console session ends this long after sign-in, however busy."""
IDLE_MINUTES = 30
"""A console session ends after this long without a request."""
SEEN_EVERY_SECONDS = 60
"""``last_seen_at`` moves at most this often, so a busy session is not a write per request."""


class SessionEnd(enum.StrEnum):
    SIGN_OUT = "sign_out"
    PASSWORD_CHANGED = "password_changed"
    ROLE_CHANGED = "role_changed"  # a role given, changed, disabled or taken; the user disabled
    EXPIRED = "expired"  # SESSION_HOURS after sign-in
    IDLE = "idle"  # IDLE_MINUTES without a request


class StaffSession(Created, Base):
    """A console sign-in, kept server-side: the cookie's secret is only valid while this
    row is live. A platform table (like ``staff_users``): no tenant, no row security."""

    __tablename__ = "staff_sessions"
    __table_args__ = (
        CheckConstraint(
            f"end_reason IS NULL OR {one_of('end_reason', SessionEnd)}",
            name="staff_session_end_reason",
        ),
        CheckConstraint(
            "(ended_at IS NULL) = (end_reason IS NULL)", name="staff_session_ended_with_reason"
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ses"))
    user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))

    @classmethod
    def open(cls, *, user_id: str, token_hash: str, now: datetime, **caller: str | None):
        return cls(
            user_id=user_id,
            token_hash=token_hash,
            created=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=SESSION_HOURS),
            **caller,
        )

    def timed_out(self, now: datetime) -> SessionEnd | None:
        """Why time has ended this session by ``now`` (``EXPIRED`` first), or None."""
        if now >= self.expires_at:
            return SessionEnd.EXPIRED
        if now - self.last_seen_at >= timedelta(minutes=IDLE_MINUTES):
            return SessionEnd.IDLE
        return None

    def seen(self, now: datetime) -> bool:
        """Note a request at ``now``; True when ``last_seen_at`` moved (a write is due)."""
        if now - self.last_seen_at < timedelta(seconds=SEEN_EVERY_SECONDS):
            return False
        self.last_seen_at = now
        return True

    def end(self, reason: SessionEnd, now: datetime) -> None:
        if self.ended_at is None:
            self.ended_at, self.end_reason = now, SessionEnd(reason).value
