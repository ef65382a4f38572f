"""Who is calling, and what they may do.

Every request's bearer token is resolved once, before the view, into a ``Caller`` kept
on ``flask.g``, by the token resolvers wired on the app (``init_app``). Views declare what
they need with ``require_scope``; services receive the caller's tenant id and never look
at the request themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Flask, current_app, g, request

from jifen.platform.errors import Forbidden, Unauthenticated

TokenResolver = Callable[[str], "Caller | None"]
RESOLVERS = "jifen.token_resolvers"


@dataclass(frozen=True)
class Caller:
    # "client": an API client's access token; "member": a member token (one membership
    # of a card, ``tenant_id`` is its tenant); "holder": a holder session (the whole card)
    kind: str
    id: str  # client, member or card id: what idempotency keys are scoped to
    tenant_id: str | None  # None for the platform operator and for card holders
    scopes: frozenset[str] = field(default_factory=frozenset)
    card_id: str | None = None

    @property
    def is_platform(self) -> bool:
        return self.kind == "client" and self.tenant_id is None

    @property
    def is_holder(self) -> bool:
        return self.kind == "holder"


def init_app(app: Flask, resolvers: Sequence[TokenResolver]) -> None:
    """Wire how a bearer token becomes a caller: each resolver recognises its own kind of
    token (by its prefix) and returns None for any other; the first that recognises one
    wins."""
    app.extensions[RESOLVERS] = tuple(resolvers)


def resolve_request_caller() -> None:
    """``before_request``: find the caller from ``Authorization: Bearer …``, if any.

    A malformed or unknown token is remembered, so a protected view can say why it
    refuses; public views (signup) simply ignore it.
    """
    g.caller, g.auth_problem = None, None
    header = request.headers.get("Authorization", "")
    if not header:
        return
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        g.auth_problem = "The Authorization header must be 'Bearer <token>'."
        return
    for resolver in current_app.extensions[RESOLVERS]:
        caller = resolver(token.strip())
        if caller is not None:
            g.caller = caller
            return
    g.auth_problem = "The access token is invalid, expired or revoked."


def current_caller() -> Caller:
    caller = g.get("caller")
    if caller is None:
        raise Unauthenticated(g.get("auth_problem") or "An access token is required.")
    return caller


def require_scope(*scopes: str, platform: bool | None = None) -> Callable:
    """Refuse the view unless an API client holding every one of ``scopes`` calls it.

    ``platform=True`` admits only the platform operator; ``False`` only tenants.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            caller = current_caller()
            if caller.kind != "client":
                raise Forbidden("This endpoint needs an API client's access token.")
            missing = [scope for scope in scopes if scope not in caller.scopes]
            if missing:
                raise Forbidden(f"Missing scope: {' '.join(missing)}.", code="missing_scope")
            if platform is True and not caller.is_platform:
                raise Forbidden("Only the platform operator may do this.")
            if platform is False and caller.is_platform:
                raise Forbidden("This endpoint acts for a tenant; use a tenant's client.")
            return view(*args, **kwargs)

        guarded._required_scopes = scopes  # type: ignore[attr-defined]
        return guarded

    return decorator


def require_member() -> Callable:
    """Admit a member token or a holder session (the consumer endpoints, ``/v1/me``)."""
    return _require_kinds(("member", "holder"), "a member token or a holder session")


def require_holder() -> Callable:
    """Admit only a holder session (what needs the holder's authority over the card)."""
    return _require_kinds(("holder",), "a holder session (POST /v1/holder/sessions)")


def _require_kinds(kinds: tuple[str, ...], what: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            caller = current_caller()
            if caller.kind not in kinds:
                raise Forbidden(f"This endpoint needs {what}.")
            return view(*args, **kwargs)

        return guarded

    return decorator


def caller_key(fingerprint: str) -> str:
    """What idempotency keys are scoped to: the caller's id. An anonymous caller (signup,
    holder sign-in) has none, so its keys are scoped to its address and the request's
    ``fingerprint`` (``idempotency.request_hash``): a key alone never replays someone
    else's answer (a holder session's token), and trying other bodies under a known key
    tells nothing."""
    caller = g.get("caller")
    if caller is not None:
        return caller.id
    seen = f"{request.remote_addr or '-'}\x1f{fingerprint}".encode()
    return "anon:" + hashlib.sha256(seen).hexdigest()[:40]
