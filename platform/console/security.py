"""Sessions, CSRF tokens, login throttling, security headers and the role guard.

* The session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure outside tests)
  holding only ids: the user, the tenant picked, the CSRF token and when it started. A
  sign-in starts a fresh session (no fixation); every request re-reads the user's roles,
  so a revoked role takes effect at once.
* Every POST under ``/console`` carries ``csrf_token``, compared in constant time with the
  session's (the login form gets one too, so nobody can sign a victim into their account).
* Failed sign-ins are counted per email + client address in a 15-minute fixed window:
  the fifth failure locks that pair out until the window ends (429 page). Counts live in
  Redis when ``JIFEN_REDIS_URL`` is set (shared by every web process), else in memory.
* Responses under ``/console`` get a CSP without inline scripts, ``X-Frame-Options:
  DENY``, ``Referrer-Policy`` and ``X-Content-Type-Options``.
* Every form posted to a guarded view, and every sign-in and sign-out, is written to the
  staff activity log (``activity``) by ``record_activity``, the console's
  ``after_request`` hook: views need no code of their own to be logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Response, abort, current_app, g, redirect, request, session, url_for

from jifen.platform.auth.model import Role

from . import permissions

log = logging.getLogger(__name__)

SESSION_HOURS = 8
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
    platform_operator: bool
    roles: dict[str, Role]  # tenant id -> role
    tenant_id: str | None

    @property
    def role(self) -> Role | None:
        return self.roles.get(self.tenant_id) if self.tenant_id else None

    def may(self, action: str) -> bool:
        return permissions.allowed(action, role=self.role, platform_operator=self.platform_operator)


def start_session(user_id: str) -> None:
    session.clear()
    session.permanent = True
    session["uid"] = user_id
    session["csrf"] = secrets.token_urlsafe(32)
    session["started"] = int(time.time())


def load_staff() -> Staff | None:
    """``before_request``: the signed-in user, re-read from the database, or None."""
    from jifen.platform.auth.model import StaffUser
    from jifen.platform.auth.services import roles_of
    from jifen.platform.db import unit_of_work

    user_id = session.get("uid")
    if not user_id:
        return None
    if time.time() - session.get("started", 0) > SESSION_HOURS * 3600:
        session.clear()
        return None
    with unit_of_work(platform=True) as uow:
        user = uow.session.get(StaffUser, user_id)
    if user is None:
        session.clear()
        return None
    roles = roles_of(user.id)
    tenant_id = session.get("tenant")
    if tenant_id not in roles:
        tenant_id = next(iter(roles)) if len(roles) == 1 else None
        session["tenant"] = tenant_id
    return Staff(user.id, user.email, user.is_platform_operator, roles, tenant_id)


def current_staff() -> Staff:
    staff = g.get("staff")
    if staff is None:
        abort(401)
    return staff


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


class MemoryFailures:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def count(self, key: str, window: int) -> int:
        with self._lock:
            return self._counts.get((key, window), 0)

    def add(self, key: str, window: int) -> int:
        with self._lock:
            for stale in [k for k in self._counts if k[1] < window]:
                del self._counts[stale]
            self._counts[(key, window)] = self._counts.get((key, window), 0) + 1
            return self._counts[(key, window)]


class RedisFailures:
    def __init__(self, url: str, prefix: str) -> None:
        from redis import Redis

        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._prefix = f"{prefix}jifen:console-login"

    def _name(self, key: str, window: int) -> str:
        return f"{self._prefix}:{key}:{window}"

    def count(self, key: str, window: int) -> int:
        try:
            return int(self._redis.get(self._name(key, window)) or 0)
        except Exception:  # noqa: BLE001 — an outage must not lock every user out
            log.warning("login throttle unavailable", exc_info=True)
            return 0

    def add(self, key: str, window: int) -> int:
        try:
            pipeline = self._redis.pipeline()
            pipeline.incr(self._name(key, window))
            pipeline.expire(self._name(key, window), LOGIN_WINDOW_SECONDS * 2)
            count, _ = pipeline.execute()
            return int(count)
        except Exception:  # noqa: BLE001
            log.warning("login throttle unavailable", exc_info=True)
            return 0


def _failures() -> MemoryFailures | RedisFailures:
    extensions = current_app.extensions
    if "jifen.console.failures" not in extensions:
        config = extensions["jifen.config"]
        extensions["jifen.console.failures"] = (
            RedisFailures(config.redis_url, config.queue_prefix)
            if config.redis_url
            else MemoryFailures()
        )
    return extensions["jifen.console.failures"]


def _throttle_key(email: str) -> str:
    raw = f"{email.strip().lower()}|{request.remote_addr or '-'}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _window(now: float) -> tuple[int, int]:
    window = int(now // LOGIN_WINDOW_SECONDS)
    return window, max(1, math.ceil((window + 1) * LOGIN_WINDOW_SECONDS - now))


def login_locked(email: str) -> int:
    """Seconds until this email + address may try again (0: now)."""
    window, left = _window(time.time())
    if _failures().count(_throttle_key(email), window) >= LOGIN_FAILURES_ALLOWED:
        return left
    return 0


def record_login_failure(email: str) -> None:
    window, _ = _window(time.time())
    _failures().add(_throttle_key(email), window)


# --- headers ----------------------------------------------------------------------------


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# --- the activity log -------------------------------------------------------------------


def error_flashes() -> int:
    return sum(1 for category, _message in session.get("_flashes", ()) if category == "error")


def record_activity(response: Response) -> None:
    """``after_request``: log a POST to a guarded view, a sign-in or a sign-out.

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
    if request.endpoint == "console.login":
        action = activity.SIGN_IN
        user_id = session.get("uid") if status in (302, 303) else None
        entry = {"actor_id": user_id, "actor_email": request.form.get("email", "").strip()}
        if user_id:
            entry["tenant_id"] = _only_tenant(user_id)
        outcome = activity.Outcome.OK if user_id else activity.Outcome.REFUSED
    elif request.endpoint == "console.logout":
        if staff is None:
            return
        action, outcome = activity.SIGN_OUT, activity.Outcome.OK
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
    target = "/".join(str(value) for value in (request.view_args or {}).values()) or None
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
