"""The staff activity log: who did what in the consoles, and with what outcome.

Every console form that passes the role guard (``security.require``) and every sign-in
and sign-out leaves one ``staff_activity`` row, written centrally by the console's
``after_request`` hook (``record_request``), so a new view is covered without any code of
its own. A row names the actor (staff user id and email; a failed sign-in has only the
typed email), the tenant acted in (NULL for platform-wide work and anonymous
attempts), the permission action, the target (the ids in the URL), the outcome and the
caller's address and user agent.

Rows are written in their own platform-bound unit of work after the view has finished,
and a failure to write one is logged, never shown to the user. Platform operators read
every row; a tenant's owners and admins read their tenant's rows through a tenant-bound
unit of work (the ORM filter, and row-level security on PostgreSQL: migration 0016).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from sqlalchemy import CheckConstraint, Index, String, and_, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from jifen.platform.db import Base, Created, TenantOwned, one_of, unit_of_work
from jifen.platform.errors import NotFound
from jifen.platform.ids import new_id

log = logging.getLogger(__name__)

SIGN_IN = "auth.sign_in"
SIGN_OUT = "auth.sign_out"
ACCEPT_INVITATION = "auth.accept_invitation"
PAGE = 50


class Outcome(enum.StrEnum):
    OK = "ok"
    REFUSED = "refused"  # no permission, not signed in, a bad CSRF token, a wrong password
    ERROR = "error"  # allowed, but the request failed (refused by a rule, invalid, 5xx)


class StaffActivity(TenantOwned, Created, Base):
    __tablename__ = "staff_activity"
    __table_args__ = (
        CheckConstraint(one_of("outcome", Outcome), name="staff_activity_outcome"),
        Index("ix_staff_activity_created", "created", "id"),
        Index("ix_staff_activity_tenant_created", "tenant_id", "created", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("act"))
    tenant_id: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[str | None] = mapped_column(String(32))
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))


@dataclass(frozen=True)
class Entry:
    """One row to record (the hook builds it from the request)."""

    action: str
    outcome: Outcome
    actor_id: str | None = None
    actor_email: str = ""
    tenant_id: str | None = None
    target: str | None = None
    ip: str | None = None
    user_agent: str | None = None


def record(entry: Entry) -> None:
    """Write one row in its own platform-bound unit of work; never raises."""
    try:
        with unit_of_work(platform=True) as uow:
            uow.session.add(
                StaffActivity(
                    tenant_id=entry.tenant_id,
                    actor_id=entry.actor_id,
                    actor_email=(entry.actor_email or "")[:254],
                    action=entry.action[:64],
                    target=entry.target[:255] if entry.target else None,
                    outcome=entry.outcome.value,
                    ip=entry.ip[:64] if entry.ip else None,
                    user_agent=entry.user_agent[:500] if entry.user_agent else None,
                )
            )
            uow.commit()
    except Exception:  # noqa: BLE001 — the log must never break the console
        log.exception("could not record staff activity %s", entry.action)


@dataclass(frozen=True)
class Filters:
    tenant_id: str = ""
    actor: str = ""  # a staff user id or email
    action: str = ""


def list_activity(
    filters: Filters, *, tenant_id: str | None = None, after: str | None = None, limit: int = PAGE
) -> dict:
    """Newest first, ``{"data": [...], "has_more": bool}``; ``after`` is the id of the
    last row of the previous page. With ``tenant_id`` the unit of work is bound to that
    tenant and sees its rows only; without, every row (platform operators).

    Raises NotFound for an ``after`` that names no row visible here."""
    scope = {"tenant_id": tenant_id} if tenant_id else {"platform": True}
    with unit_of_work(**scope) as uow:
        query = select(StaffActivity)
        if filters.tenant_id:
            query = query.where(StaffActivity.tenant_id == filters.tenant_id)
        if filters.actor:
            actor = filters.actor.strip()
            query = query.where(
                or_(
                    StaffActivity.actor_id == actor,
                    func.lower(StaffActivity.actor_email) == actor.lower(),
                )
            )
        if filters.action:
            query = query.where(StaffActivity.action == filters.action)
        if after:
            cursor = uow.session.get(StaffActivity, after)
            if cursor is None or (tenant_id and cursor.tenant_id != tenant_id):
                raise NotFound(f"No activity {after}.", param="after")
            query = query.where(
                or_(
                    StaffActivity.created < cursor.created,
                    and_(StaffActivity.created == cursor.created, StaffActivity.id < cursor.id),
                )
            )
        rows = list(
            uow.session.scalars(
                query.order_by(StaffActivity.created.desc(), StaffActivity.id.desc()).limit(
                    limit + 1
                )
            )
        )
    return {"data": rows[:limit], "has_more": len(rows) > limit}


def known_actions() -> list[str]:
    """Every action a row can name: the permission table's, sign-in/out, invitations."""
    from . import permissions

    return sorted(
        {
            *permissions.TENANT_ACTIONS,
            *permissions.PLATFORM_ACTIONS,
            SIGN_IN,
            SIGN_OUT,
            ACCEPT_INVITATION,
        }
    )
