"""People on the staff: invitations, a tenant's team, the platform's own staff.

A person joins by invitation. ``invite`` records a ``StaffInvitation`` (tenant staff with
a ``Role``, or platform staff with a ``PlatformRole`` when ``tenant_id`` is None) and
mails its link through the outbox in the same unit of work; the link's token exists
only in that message (the row keeps its SHA-256 digest), works once and expires after
``INVITATION_DAYS``. Inviting the same address again withdraws the earlier invitation.
``accept_invitation`` uses the link: a new person chooses a password; someone who
already has a Jifen console account (the same email) proves it with their current
password instead — the same check as signing in — and gets the role added. Nobody can
take over an address's account with a link alone.

A tenant's team (``list_team``, ``change_role``, ``disable_member``, ``enable_member``,
``remove_member``): only an owner gives, changes, disables or takes away the owner role,
and the tenant's last live owner can be neither demoted, disabled nor removed (the
owner rows are locked, so two owners cannot demote each other at once). Disabling keeps
the role for ``enable_member`` but grants nothing meanwhile. Every change ends all the
console sessions of the person it touches (``role_changed``).

The platform's staff (``list_platform_staff``, ``create_platform_staff`` for the command
line, ``set_platform_role``, ``disable_user``, ``enable_user``): the same rules with the
last live platform operator in place of the last owner. A disabled user cannot sign in
at all and their sessions end.

Links are built from ``link_base``, the configured public URL the caller passes (never
a request's Host header). No Flask here: the console and the CLI call these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from jifen.platform import clock
from jifen.platform.db import unit_of_work
from jifen.platform.errors import Conflict, Forbidden, InvalidState, NotFound, Unprocessable
from jifen.platform.messages import services as messages
from jifen.platform.messages.rendering import normalize_locale

from . import secrets
from .model import (
    INVITATION_DAYS,
    PlatformRole,
    Role,
    SessionEnd,
    StaffInvitation,
    StaffRole,
    StaffUser,
)
from .services import check_new_password, end_sessions_of, new_staff_user, normalise_email

INVITATION_PATH = "/console/invitations/"
PLATFORM_TEAM = {"en": "the platform team", "zh-CN": "积分卡平台团队"}
"""What a platform staff invitation names in place of a tenant."""


class InvitationInvalid(Unprocessable):
    code = "invitation_invalid"


@dataclass(frozen=True)
class Invited:
    invitation: StaffInvitation
    link: str  # in the message and, for the command line, printed once; never stored


@dataclass(frozen=True)
class OpenInvitation:
    """What the invitation page shows before the invitee answers."""

    id: str
    tenant_id: str | None
    email: str
    role: str
    expires_at: datetime
    existing_user: bool  # they confirm with their current password, choose none


@dataclass(frozen=True)
class Accepted:
    user_id: str
    tenant_id: str | None
    role: str
    invitation_id: str


@dataclass(frozen=True)
class TeamMember:
    user_id: str
    email: str
    name: str
    role: str
    disabled_at: datetime | None
    last_login_at: datetime | None
    since: datetime


# --- invitations ------------------------------------------------------------------------


def _role_for(tenant_id: str | None, role: str) -> str:
    allowed = [r.value for r in (PlatformRole if tenant_id is None else Role)]
    if role not in allowed:
        raise Unprocessable(f"The role must be one of {', '.join(allowed)}.", param="role")
    return role


def _email(email: str) -> str:
    address = normalise_email(email or "")
    if len(address) > 254 or not messages.EMAIL.match(address):
        raise Unprocessable("Give an email address.", code="invalid_email", param="email")
    return address


def invite(
    *,
    tenant_id: str | None,
    email: str,
    role: str,
    invited_by: str | None,
    inviter_role: Role | None = None,
    tenant_name: str = "",
    link_base: str,
    locale: str | None = None,
) -> Invited:
    """Invite ``email`` to the tenant's staff (``tenant_id`` None: the platform's) with
    ``role``, mailing the link through the outbox; an earlier live invitation of the
    same address there is withdrawn. ``inviter_role``: the inviter's role in the tenant.

    Raises Unprocessable (``email``, ``role``), Forbidden (``owner_only``: only an owner
    invites an owner), Conflict (``already_staff``: the address already has a role
    there; for the platform, a platform role)."""
    address = _email(email)
    role = _role_for(tenant_id, role)
    if tenant_id is not None and role == Role.OWNER and inviter_role != Role.OWNER:
        raise Forbidden("Only an owner may make someone an owner.", code="owner_only")
    token = secrets.new_secret("inv")
    link = f"{link_base.rstrip('/')}{INVITATION_PATH}{token}"
    scope = {"platform": True} if tenant_id is None else {"tenant_id": tenant_id}
    with unit_of_work(**scope) as uow:
        session = uow.session
        now = clock.now()
        user = session.scalar(select(StaffUser).where(StaffUser.email == address))
        if user is not None and _already_staff(session, tenant_id, user):
            raise Conflict(
                f"{address} is already on the staff here.", code="already_staff", param="email"
            )
        session.execute(
            update(StaffInvitation)
            .where(*_same_place(tenant_id), StaffInvitation.email == address, *_open(now))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        invitation = StaffInvitation(
            tenant_id=tenant_id,
            email=address,
            role=role,
            token_hash=secrets.digest(token),
            invited_by=invited_by,
            expires_at=now + timedelta(days=INVITATION_DAYS),
            created=now,
        )
        session.add(invitation)
        language = normalize_locale(locale)
        messages.send(
            uow,
            channel="email",
            to=address,
            template="staff_invitation",
            locale=language,
            context={
                "link": link,
                "tenant_name": tenant_name if tenant_id else PLATFORM_TEAM[language],
                "role": role,
                "days": INVITATION_DAYS,
            },
            tenant_id=tenant_id,
            sensitive=True,
        )
        uow.commit()
        return Invited(invitation, link)


def _already_staff(session, tenant_id: str | None, user: StaffUser) -> bool:
    if tenant_id is None:
        return user.platform_role is not None
    return _grant_of(session, tenant_id, user.id) is not None


def _same_place(tenant_id: str | None) -> tuple:
    if tenant_id is None:
        return (StaffInvitation.tenant_id.is_(None),)
    return (StaffInvitation.tenant_id == tenant_id,)


def _open(now: datetime) -> tuple:
    return (
        StaffInvitation.accepted_at.is_(None),
        StaffInvitation.revoked_at.is_(None),
        StaffInvitation.expires_at > now,
    )


def _token_ok(token: str) -> bool:
    return isinstance(token, str) and token.startswith("inv_") and 20 <= len(token) <= 100


def open_invitation(token: str) -> OpenInvitation:
    """The live invitation behind a link. Raises InvitationInvalid (unknown, used,
    withdrawn or expired: one answer for all)."""
    if not _token_ok(token):
        raise _invalid()
    with unit_of_work(platform=True) as uow:
        invitation = uow.session.scalar(
            select(StaffInvitation).where(StaffInvitation.token_hash == secrets.digest(token))
        )
        if invitation is None or not invitation.live(clock.now()):
            raise _invalid()
        existing = uow.session.scalar(
            select(StaffUser.id).where(StaffUser.email == invitation.email)
        )
        return OpenInvitation(
            invitation.id,
            invitation.tenant_id,
            invitation.email,
            invitation.role,
            invitation.expires_at,
            existing is not None,
        )


def _invalid() -> InvitationInvalid:
    return InvitationInvalid(
        "This invitation has expired, was used or was withdrawn.", param="token"
    )


def accept_invitation(token: str, *, password: str) -> Accepted:
    """Use an invitation once: a new person's account is made with ``password`` (checked
    by ``check_new_password``); a person who has an account proves it with their current
    ``password``. Either way the role is given (a disabled role there is enabled) and the
    person's other console sessions end.

    Raises InvitationInvalid, Unprocessable (``password_too_short``/``_long``), Forbidden
    (``wrong_password``; ``account_disabled`` for a disabled account)."""
    if not _token_ok(token):
        raise _invalid()
    with unit_of_work(platform=True) as uow:
        session = uow.session
        now = clock.now()
        invitation_id = session.execute(
            update(StaffInvitation)
            .where(StaffInvitation.token_hash == secrets.digest(token), *_open(now))
            .values(accepted_at=now)
            .returning(StaffInvitation.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if invitation_id is None:
            raise _invalid()
        invitation = session.get(StaffInvitation, invitation_id)
        user = session.scalar(select(StaffUser).where(StaffUser.email == invitation.email))
        if user is None:
            check_new_password(password)
            user = new_staff_user(session, email=invitation.email, password=password)
        elif not secrets.check_password(password, user.password_hash):
            raise Forbidden("The password is wrong.", code="wrong_password", param="password")
        elif user.disabled_at is not None:
            raise Forbidden("This account is disabled.", code="account_disabled")
        if invitation.tenant_id is None:
            user.platform_role = invitation.role
        else:
            grant = _grant_of(session, invitation.tenant_id, user.id)
            if grant is None:
                session.add(
                    StaffRole(tenant_id=invitation.tenant_id, user_id=user.id, role=invitation.role)
                )
            else:
                grant.role, grant.disabled_at = invitation.role, None
        invitation.accepted_by = user.id
        user.last_login_at = now
        session.flush()
        end_sessions_of(session, user.id, SessionEnd.ROLE_CHANGED)
        accepted = Accepted(user.id, invitation.tenant_id, invitation.role, invitation.id)
        uow.commit()
        return accepted


def revoke_invitation(tenant_id: str | None, invitation_id: str) -> None:
    """Withdraw a live invitation of the tenant (None: the platform's). Raises NotFound
    (also another tenant's), InvalidState (already used, withdrawn or expired)."""
    scope = {"platform": True} if tenant_id is None else {"tenant_id": tenant_id}
    with unit_of_work(**scope) as uow:
        invitation = uow.session.get(StaffInvitation, invitation_id)
        if invitation is None or invitation.tenant_id != tenant_id:
            raise NotFound(f"No such invitation: {invitation_id}")
        if not invitation.live(clock.now()):
            raise InvalidState("This invitation is no longer open.", param="id")
        invitation.revoked_at = clock.now()
        uow.commit()


def open_invitations(tenant_id: str | None) -> list[StaffInvitation]:
    """The tenant's (None: the platform's) invitations still waiting, newest first."""
    scope = {"platform": True} if tenant_id is None else {"tenant_id": tenant_id}
    with unit_of_work(**scope) as uow:
        return list(
            uow.session.scalars(
                select(StaffInvitation)
                .where(*_same_place(tenant_id), *_open(clock.now()))
                .order_by(StaffInvitation.created.desc())
            )
        )


# --- a tenant's team ----------------------------------------------------------------------


def list_team(tenant_id: str) -> list[TeamMember]:
    """Everyone with a role in the tenant, disabled ones included, by email."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        rows = uow.session.execute(
            select(StaffRole, StaffUser)
            .join(StaffUser, StaffUser.id == StaffRole.user_id)
            .where(StaffRole.tenant_id == tenant_id)
            .order_by(StaffUser.email)
        ).all()
    return [
        TeamMember(
            user.id,
            user.email,
            user.name,
            grant.role,
            grant.disabled_at or user.disabled_at,
            user.last_login_at,
            grant.created,
        )
        for grant, user in rows
    ]


def _grant_of(session, tenant_id: str, user_id: str) -> StaffRole | None:
    return session.scalar(
        select(StaffRole).where(StaffRole.tenant_id == tenant_id, StaffRole.user_id == user_id)
    )


def _member(session, tenant_id: str, user_id: str, actor_role: Role | None) -> StaffRole:
    """The user's role in the tenant, when the actor may change it. Raises NotFound,
    Forbidden (``owner_only``)."""
    grant = _grant_of(session, tenant_id, user_id)
    if grant is None:
        raise NotFound(f"No such member of the staff: {user_id}")
    if grant.role == Role.OWNER and actor_role != Role.OWNER:
        raise Forbidden("Only an owner may change an owner.", code="owner_only")
    return grant


def _keep_an_owner(session, tenant_id: str, grant: StaffRole) -> None:
    """Raises InvalidState (``last_owner``) when ``grant`` is the tenant's last live
    owner. Locks the live owners' rows (PostgreSQL; SQLite's transactions are serial)."""
    if grant.role != Role.OWNER or grant.disabled_at is not None:
        return
    owners = session.scalars(
        select(StaffRole.id)
        .where(
            StaffRole.tenant_id == tenant_id,
            StaffRole.role == Role.OWNER.value,
            StaffRole.disabled_at.is_(None),
        )
        .with_for_update()
    ).all()
    if [owner for owner in owners if owner != grant.id] == []:
        raise InvalidState(
            "The last owner cannot be demoted, disabled or removed: make someone else an "
            "owner first.",
            code="last_owner",
        )


def change_role(tenant_id: str, user_id: str, role: str, *, actor_role: Role | None) -> bool:
    """Give a member of the team another role; False when it was theirs already.

    Raises NotFound, Unprocessable (``role``), Forbidden (``owner_only``: only an owner
    makes or changes an owner), InvalidState (``last_owner``)."""
    role = _role_for(tenant_id, role)
    if role == Role.OWNER and actor_role != Role.OWNER:
        raise Forbidden("Only an owner may make someone an owner.", code="owner_only")
    with unit_of_work(tenant_id=tenant_id) as uow:
        grant = _member(uow.session, tenant_id, user_id, actor_role)
        if grant.role == role:
            return False
        if role != Role.OWNER:
            _keep_an_owner(uow.session, tenant_id, grant)
        grant.role = role
        end_sessions_of(uow.session, user_id, SessionEnd.ROLE_CHANGED)
        uow.commit()
        return True


def disable_member(tenant_id: str, user_id: str, *, actor_role: Role | None) -> bool:
    """Stop a member's role from granting anything (kept for ``enable_member``); False
    when it was disabled already. Raises NotFound, Forbidden, InvalidState (``last_owner``)."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        grant = _member(uow.session, tenant_id, user_id, actor_role)
        if grant.disabled_at is not None:
            return False
        _keep_an_owner(uow.session, tenant_id, grant)
        grant.disabled_at = clock.now()
        end_sessions_of(uow.session, user_id, SessionEnd.ROLE_CHANGED)
        uow.commit()
        return True


def enable_member(tenant_id: str, user_id: str, *, actor_role: Role | None) -> bool:
    """Let a disabled member's role count again; False when it was live. Raises
    NotFound, Forbidden (``owner_only``)."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        grant = _member(uow.session, tenant_id, user_id, actor_role)
        if grant.disabled_at is None:
            return False
        grant.disabled_at = None
        end_sessions_of(uow.session, user_id, SessionEnd.ROLE_CHANGED)
        uow.commit()
        return True


def remove_member(tenant_id: str, user_id: str, *, actor_role: Role | None) -> None:
    """Take the member's role in the tenant away for good (their account stays, with
    its roles elsewhere). Raises NotFound, Forbidden, InvalidState (``last_owner``)."""
    with unit_of_work(tenant_id=tenant_id) as uow:
        grant = _member(uow.session, tenant_id, user_id, actor_role)
        _keep_an_owner(uow.session, tenant_id, grant)
        uow.session.delete(grant)
        end_sessions_of(uow.session, user_id, SessionEnd.ROLE_CHANGED)
        uow.commit()


# --- the platform's staff -------------------------------------------------------------------


def list_platform_staff() -> list[StaffUser]:
    """Every user with a platform role, disabled ones included, by email."""
    with unit_of_work(platform=True) as uow:
        return list(
            uow.session.scalars(
                select(StaffUser)
                .where(StaffUser.platform_role.is_not(None))
                .order_by(StaffUser.email)
            )
        )


def create_platform_staff(email: str, role: str, password: str) -> StaffUser:
    """A platform staff user with a password (the command line reads it from standard
    input). Raises Unprocessable (``email``, ``role``, the password's length), Conflict
    (``email_taken``: invite an existing person instead)."""
    address = _email(email)
    role = _role_for(None, role)
    check_new_password(password)
    with unit_of_work(platform=True) as uow:
        user = new_staff_user(
            uow.session, email=address, password=password, platform_role=PlatformRole(role)
        )
        uow.commit()
        return user


def _platform_user(session, user_id: str) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None or user.platform_role is None:
        raise NotFound(f"No such platform staff user: {user_id}")
    return user


def _keep_an_operator(session, user: StaffUser) -> None:
    """Raises InvalidState (``last_operator``) when ``user`` is the last live platform
    operator; locks the live operators' rows (PostgreSQL)."""
    if user.platform_role != PlatformRole.OPERATOR or user.disabled_at is not None:
        return
    operators = session.scalars(
        select(StaffUser.id)
        .where(
            StaffUser.platform_role == PlatformRole.OPERATOR.value,
            StaffUser.disabled_at.is_(None),
        )
        .with_for_update()
    ).all()
    if [operator for operator in operators if operator != user.id] == []:
        raise InvalidState(
            "The last platform operator cannot lose the role or be disabled.",
            code="last_operator",
        )


def set_platform_role(user_id: str, role: str) -> bool:
    """Give a platform staff user the other platform role; False when it was theirs.
    Raises NotFound, Unprocessable (``role``), InvalidState (``last_operator``)."""
    role = _role_for(None, role)
    with unit_of_work(platform=True) as uow:
        user = _platform_user(uow.session, user_id)
        if user.platform_role == role:
            return False
        _keep_an_operator(uow.session, user)
        user.platform_role = role
        end_sessions_of(uow.session, user_id, SessionEnd.ROLE_CHANGED)
        uow.commit()
        return True


def disable_user(user_id: str, *, actor_id: str) -> bool:
    """Disable a platform staff user's account: they cannot sign in and their sessions
    end. False when it was disabled already. Raises NotFound, Forbidden (``self``: not
    one's own), InvalidState (``last_operator``)."""
    if user_id == actor_id:
        raise Forbidden("You cannot disable your own account.", code="self")
    with unit_of_work(platform=True) as uow:
        user = _platform_user(uow.session, user_id)
        if user.disabled_at is not None:
            return False
        _keep_an_operator(uow.session, user)
        user.disabled_at = clock.now()
        end_sessions_of(uow.session, user_id, SessionEnd.ROLE_CHANGED)
        uow.commit()
        return True


def enable_user(user_id: str) -> bool:
    """Let a disabled platform staff user sign in again; False when they could. Raises
    NotFound."""
    with unit_of_work(platform=True) as uow:
        user = _platform_user(uow.session, user_id)
        if user.disabled_at is None:
            return False
        user.disabled_at = None
        uow.commit()
        return True
