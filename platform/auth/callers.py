"""Who is calling, and what they may do.

Every request's bearer token is resolved once, before the view, into a ``Caller`` kept
on ``flask.g``, by the token resolvers wired on the app (``init_app``). Every endpoint
of the API declares what it admits with ``requires(...)``: one ``Access`` naming the
credential kinds it accepts and, for an API client, the scopes and whether the tenant's
or the platform operator's. ``JifenBlueprint`` refuses to register a view that declares
nothing, and runs ``authorize`` before the view's own decorators, so the answer to a
caller without the authority is 401 or 403 before its body or query is read. Services
receive the caller's tenant id and never look at the request themselves.

What a holder code authorizes is part of the use case (it travels in the body) and is
checked by the services that spend it.
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


# --- what an endpoint admits ----------------------------------------------------------

CLIENT = "client"
MEMBER = "member"
HOLDER = "holder"
_CARD_KINDS = frozenset({MEMBER, HOLDER})


@dataclass(frozen=True)
class Access:
    """The credentials an endpoint admits (docs/holders.md, "The credentials").

    ``kinds``: the ``Caller.kind``s accepted; none at all for a public endpoint. An API
    client must also hold ``scopes`` (every one, or with ``any_scope`` at least one) and
    be the platform operator's (``operator=True``) or a tenant's (``False``) when said.
    ``needs`` names the accepted credentials in the 403 for any other kind.
    """

    kinds: frozenset[str]
    needs: str = ""
    scopes: tuple[str, ...] = ()
    any_scope: bool = False
    operator: bool | None = None

    @property
    def public(self) -> bool:
        return not self.kinds


PUBLIC = Access(frozenset())  # anyone; a token, if sent, is resolved but not required
ANY_CALLER = Access(frozenset({CLIENT, MEMBER, HOLDER}))  # any valid credential
CARD = Access(_CARD_KINDS, "a member token or a holder session")
HOLDER_SESSION = Access(frozenset({HOLDER}), "a holder session (POST /v1/holder/sessions)")
_CLIENT_NEEDS = "an API client's access token"


def client(*scopes: str) -> Access:
    """An API client holding every one of ``scopes``, a tenant's or the operator's."""
    return Access(frozenset({CLIENT}), _CLIENT_NEEDS, scopes)


def tenant(*scopes: str, any_scope: bool = False) -> Access:
    """A tenant's API client holding every one of ``scopes`` (at least one with
    ``any_scope``); it acts for its tenant."""
    return Access(frozenset({CLIENT}), _CLIENT_NEEDS, scopes, any_scope, operator=False)


def operator(*scopes: str) -> Access:
    """The platform operator's API client holding every one of ``scopes``."""
    return Access(frozenset({CLIENT}), _CLIENT_NEEDS, scopes, operator=True)


def tenant_or_card(*scopes: str) -> Access:
    """A tenant's API client holding ``scopes``, or a member token or a holder session:
    the parties to a quote or a swap (whose authority the use case then checks)."""
    return Access(frozenset({CLIENT}) | _CARD_KINDS, "", scopes, operator=False)


_ACCESS = "_jifen_access"


def requires(access: Access) -> Callable:
    """Declare what a view admits. It may sit anywhere among the view's decorators (by
    habit where the old scope check stood, just above the view): ``JifenBlueprint`` runs
    the check (``guarded``) before all of them."""

    def declare(view: Callable) -> Callable:
        setattr(view, _ACCESS, access)
        return view

    return declare


def declared_access(view: Callable) -> Access | None:
    return getattr(view, _ACCESS, None)


def guarded(view: Callable, name: str) -> Callable:
    """``view`` (with all its decorators) behind ``authorize`` of its declared access.
    Raises TypeError for a view that declares none, so no endpoint is left open by
    omission."""
    access = declared_access(view)
    if access is None:
        raise TypeError(f"{name} declares no access: decorate it with @requires(...).")

    @wraps(view)
    def authorized_view(*args: Any, **kwargs: Any) -> Any:
        authorize(access)
        return view(*args, **kwargs)

    return authorized_view


def authorize(access: Access) -> Caller | None:
    """The request's caller, if ``access`` admits it (None on a public endpoint called
    without a token). Raises Unauthenticated (401) without a valid credential and
    Forbidden (403, ``missing_scope`` for a scope) for one that ``access`` refuses."""
    if access.public:
        return g.get("caller")
    caller = current_caller()
    if caller.kind not in access.kinds:
        raise Forbidden(f"This endpoint needs {access.needs}.")
    if caller.kind == CLIENT:
        _check_client(access, caller)
    return caller


def _check_client(access: Access, caller: Caller) -> None:
    if access.any_scope:
        if not caller.scopes.intersection(access.scopes):
            raise Forbidden(
                f"Missing scope: one of {', '.join(access.scopes)}.", code="missing_scope"
            )
    else:
        missing = [scope for scope in access.scopes if scope not in caller.scopes]
        if missing:
            raise Forbidden(f"Missing scope: {' '.join(missing)}.", code="missing_scope")
    if access.operator is True and not caller.is_platform:
        raise Forbidden("Only the platform operator may do this.")
    if access.operator is False and caller.is_platform:
        if access.kinds & _CARD_KINDS:
            raise Forbidden("This endpoint acts for a tenant or a card holder.")
        raise Forbidden("This endpoint acts for a tenant; use a tenant's client.")


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
