"""Who may call Jifen: API clients and their access tokens, staff users and their roles.

Client secrets and access tokens are high-entropy random strings, so they are stored as
SHA-256 digests (a slow hash adds nothing against a 256-bit secret) and compared in
constant time. Staff passwords are chosen by people, so they get argon2.

An API client belongs to one tenant, or (``tenant_id`` NULL) to the platform operator.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, Created, TenantOwned
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

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("usr"))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")
    is_platform_operator: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None]


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
