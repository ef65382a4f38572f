"""Sessions, CSRF tokens, login throttling, security headers and the role guard.

* A sign-in opens a server-side session (``staff_sessions``, see ``platform.auth``) and
  starts a fresh cookie (no fixation). Flask's signed cookie (HttpOnly, SameSite=Lax,
  Secure outside tests) holds only that session's secret, the CSRF token and the tenant
  picked. Every request resolves the secret to a live session (not signed out, within
  ``SESSION_HOURS`` of sign-in and ``IDLE_MINUTES`` of the last request) and re-reads the
  user's roles, else clears the cookie: a cookie copied before sign-out, a password
  change or a role change is worth nothing after it.
* Every POST under ``/console`` carries ``csrf_token``, compared in constant time with the
  session's (the login form gets one too, so nobody can sign a victim into their account).
* Failed sign-ins are counted per email + client address in a 15-minute fixed window:
  the fifth failure locks that pair out until the window ends (429 page). The counts are
  ``platform.throttle``'s (Redis when ``JIFEN_REDIS_URL`` is set, else in memory).
* Responses under ``/console`` get a CSP without inline scripts, ``X-Frame-Options:
  DENY``, ``Referrer-Policy`` and ``X-Content-Type-Options``.
* Every form posted to a guarded view, and every sign-in, sign-out, password change and
  answer to an invitation, is written to the staff activity log (``activity``) by
  ``record_activity``, the console's ``after_request`` hook: views need no code of their
  own to be logged.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Response, abort, current_app, g, redirect, request, session, url_for

from jifen.platform import throttle
from jifen.platform.auth.model import IDLE_MINUTES as IDLE_MINUTES
from jifen.platform.auth.model import SESSION_HOURS as SESSION_HOURS
from jifen.platform.auth.model import PlatformRole, Role

from . import permissions

log = logging.getLogger(__name__)

PASSWORD_CHANGE = "auth.password_change"
LOGIN_FAILURES_ALLOWED = 5
LOGIN_WINDOW_SECONDS = 15 * 60

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


# --- the signed-in staff user ---------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    """The console's caller: who, which tenant they act in, and their role there."""

    user_id: str
    email: str
    platform_role: PlatformRole | None
    roles: dict[str, Role]  # tenant id -> role
    tenant_id: str | None

    @property
    def role(self) -> Role | None:
        return self.roles.get(self.tenant_id) if self.tenant_id else None

    @property
    def platform_operator(self) -> bool:
        """Has a platform role, operator or finance (platform pages are theirs)."""
        return self.platform_role is not None

    def may(self, action: str) -> bool:
        return permissions.allowed(action, role=self.role, platform_role=self.platform_role)


def start_session(user_id: str) -> None:
    """Sign ``user_id`` in on this browser: a new server-side session and a fresh cookie
    holding its secret (the session the cookie held before, if any, ends)."""
    from jifen.platform.auth.services import start_staff_session

    secret = start_staff_session(
        user_id,
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
        replacing=session.get("sid"),
    )
    session.clear()
    session.permanent = True
    session["sid"] = secret
    session["csrf"] = secrets.token_urlsafe(32)
    g.signed_in_user_id = user_id


def end_session() -> None:
    """Sign this browser out: its server-side session ends and the cookie is cleared."""
    from jifen.platform.auth.services import end_staff_session

    secret = session.get("sid")
    if secret:
        end_staff_session(secret)
    session.clear()


def load_staff() -> Staff | None:
    """``before_request``: the user whose live session the cookie holds, with their roles
    re-read from the database, or None (and the cookie cleared of a dead session)."""
    from jifen.platform.auth.services import resolve_staff_session, roles_of

    secret = session.get("sid")
    if not secret:
        return None
    live = resolve_staff_session(secret)
    if live is None:
        session.clear()
        return None
    roles = roles_of(live.user_id)
    tenant_id = session.get("tenant")
    if tenant_id not in roles:
        tenant_id = next(iter(roles)) if len(roles) == 1 else None
        session["tenant"] = tenant_id
    return Staff(live.user_id, live.email, live.platform_role, roles, tenant_id)


def require(action: str, *, tenant: bool = True) -> Callable:
    """Refuse the view (403 page) unless the signed-in user may do ``action``.

    Anonymous users are sent to the sign-in page; a user who works for several tenants
    and has picked none is sent to the tenant picker first.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            staff = g.get("staff")
            if staff is None:
                return redirect(url_for("console.login", next=request.full_path))
            if tenant and action not in permissions.PLATFORM_ACTIONS and staff.tenant_id is None:
                if staff.roles:
                    return redirect(url_for("console.choose_tenant"))
                if staff.platform_operator:
                    return redirect(url_for("console.batches"))
            if not staff.may(action):
                abort(403)
            return view(*args, **kwargs)

        guarded.console_action = action  # type: ignore[attr-defined]
        return guarded

    return decorator


# --- CSRF -------------------------------------------------------------------------------


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Abort 400 unless the form's ``csrf_token`` matches the session's."""
    expected = session.get("csrf", "")
    given = request.form.get("csrf_token", "")
    g.csrf_refused = not expected or not hmac.compare_digest(expected.encode(), given.encode())
    if g.csrf_refused:
        abort(400, description="csrf")


# --- login throttling -----------------------------------------------------------------


def _throttle_key(email: str) -> str:
    return f"{email.strip().lower()}|{request.remote_addr or '-'}"


def login_locked(email: str) -> int:
    """Seconds until this email + address may try again (0: now)."""
    failures = throttle.window_count(
        "console-login", _throttle_key(email), window=LOGIN_WINDOW_SECONDS
    )
    if failures >= LOGIN_FAILURES_ALLOWED:
        return throttle.window_left(LOGIN_WINDOW_SECONDS)
    return 0


def record_login_failure(email: str) -> None:
    throttle.allow(
        "console-login", _throttle_key(email), limit=LOGIN_FAILURES_ALLOWED,
        window=LOGIN_WINDOW_SECONDS,
    )  # fmt: skip


# --- headers ----------------------------------------------------------------------------


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# --- the activity log -------------------------------------------------------------------


def error_flashes() -> int:
    return sum(1 for category, _message in session.get("_flashes", ()) if category == "error")


def record_activity(response: Response) -> None:
    """``after_request``: log a POST to a guarded view, a sign-in, a sign-out, a
    password change or an answer to an invitation link (named by the invitation's id).

    The outcome: ``refused`` when the guard said no (403, anonymous, bad CSRF token, a
    wrong password or a locked-out sign-in), ``error`` when the view failed (a 4xx/5xx page
    or an error it flashed before redirecting), else ``ok``."""
    from . import activity

    if request.method != "POST" or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    action = getattr(view, "console_action", None)
    staff: Staff | None = g.get("staff")
    status = response.status_code
    entry: dict[str, Any] = {}
    target = "/".join(str(value) for value in (request.view_args or {}).values()) or None
    if request.endpoint == "console.staff_invitation":
        invitation = g.get("invitation")
        if invitation is None:  # an unknown, used or expired link: nothing to name
            return
        action, target = activity.ACCEPT_INVITATION, invitation.id  # never the link's token
        user_id = g.get("signed_in_user_id")
        entry = {"actor_id": user_id, "actor_email": invitation.email}
        entry["tenant_id"] = invitation.tenant_id
        if user_id:
            outcome = activity.Outcome.OK
        elif status in (401, 403, 429):
            outcome = activity.Outcome.REFUSED
        else:
            outcome = activity.Outcome.ERROR
    elif request.endpoint == "console.login":
        action = activity.SIGN_IN
        user_id = g.get("signed_in_user_id") if status in (302, 303) else None
        entry = {"actor_id": user_id, "actor_email": request.form.get("email", "").strip()}
        if user_id:
            entry["tenant_id"] = _only_tenant(user_id)
        outcome = activity.Outcome.OK if user_id else activity.Outcome.REFUSED
    elif request.endpoint == "console.logout":
        if staff is None:
            return
        action, outcome = activity.SIGN_OUT, activity.Outcome.OK
    elif request.endpoint == "console.change_password":
        if staff is None:
            return
        action = PASSWORD_CHANGE
        if status in (401, 429) or g.get("csrf_refused"):
            outcome = activity.Outcome.REFUSED
        elif status >= 400:
            outcome = activity.Outcome.ERROR
        else:
            outcome = activity.Outcome.OK
    elif action is None:
        return
    elif staff is None or status == 403 or g.get("csrf_refused"):
        outcome = activity.Outcome.REFUSED
    elif status >= 400 or error_flashes() > g.get("error_flashes_before", 0):
        outcome = activity.Outcome.ERROR
    else:
        outcome = activity.Outcome.OK
    if staff is not None and not entry:
        entry = {"actor_id": staff.user_id, "actor_email": staff.email}
        view_args = request.view_args or {}
        platform_wide = action in permissions.PLATFORM_ACTIONS
        entry["tenant_id"] = view_args.get("tenant_id") if platform_wide else staff.tenant_id
    activity.record(
        activity.Entry(
            action=action,
            outcome=outcome,
            target=target,
            ip=request.remote_addr,
            user_agent=request.user_agent.string,
            **entry,
        )
    )


def _only_tenant(user_id: str) -> str | None:
    """The tenant a user who has just signed in works for, when there is exactly one."""
    from jifen.platform.auth.services import roles_of

    roles = roles_of(user_id)
    return next(iter(roles)) if len(roles) == 1 else None
