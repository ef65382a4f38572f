"""The publishable key at the door of ``/v1/me/*``: CORS for registered origins only,
a member token used only with its own tenant's key, and clear words for a bad token.

A widget on a merchant's page calls ``/v1/me/*`` with the member token as a bearer token
and the tenant's publishable key in the query (``?publishable_key=pk_…``, so that the
CORS preflight, which carries no custom headers, can be answered too) or in the header
``X-Jifen-Publishable-Key``. Then:

* the key must exist (401 ``invalid_publishable_key``);
* a cross-origin request's ``Origin`` must be one the key's tenant registered (403
  ``origin_not_allowed``, and no ``Access-Control-Allow-Origin``, so the browser hides
  the answer from the page anyway); only registered origins are ever echoed;
* the member token must belong to the key's tenant (403 ``key_tenant_mismatch``); a
  holder session (the whole card) is never used with a publishable key (403 too), and a
  cross-origin call without a key is refused anyway: a merchant's page cannot use one.

A cross-origin call without a key is refused (401 ``publishable_key_required``). Calls
without ``Origin`` and without a key (a merchant's backend) behave as before. A refused
member token on any ``/v1/me`` path is 401 ``unauthenticated`` with a message saying why
and the header ``X-Jifen-Auth-Problem: token_expired | token_revoked | invalid_token``,
so a widget can say "reload the page" rather than "something failed".
"""

from __future__ import annotations

from flask import Flask, Response, g, request

from jifen.platform.errors import Forbidden, Unauthenticated
from jifen.platform.http import jifen_error_response

from . import origins, services

PREFIX = "/v1/me/"
KEY_HEADER = "X-Jifen-Publishable-Key"
PROBLEM_HEADER = "X-Jifen-Auth-Problem"


def init_app(app: Flask) -> None:
    app.before_request(check_consumer_request)
    app.after_request(add_cors_headers)


def _is_consumer_path() -> bool:
    return request.path.startswith(PREFIX)


def _own_origin() -> str:
    return request.host_url.rstrip("/")


def _request_key() -> str | None:
    return request.args.get("publishable_key") or request.headers.get(KEY_HEADER)


def check_consumer_request() -> Response | None:
    if not _is_consumer_path():
        return None
    origin = request.headers.get("Origin")
    cross_origin = origin is not None and origin != _own_origin()
    key = _request_key()
    holder = services.key_holder(key) if key else None
    g.widget_key_holder = holder
    if request.method == "OPTIONS":
        response = Response(status=204 if holder and holder.allows(origin) else 403)
        return response
    if key is None and cross_origin:
        raise Unauthenticated(
            "A widget must send the tenant's publishable key (publishable_key).",
            code="publishable_key_required",
        )
    if key is not None and holder is None:
        raise Unauthenticated(
            "The publishable key is unknown.",
            code="invalid_publishable_key",
            param="publishable_key",
        )
    if holder is not None and cross_origin and not holder.allows(origin):
        raise Forbidden(
            f"The origin {origin} is not registered for this publishable key.",
            code="origin_not_allowed",
        )
    refusal = _explain_refused_token()
    if refusal is not None:
        return refusal
    caller = g.get("caller")
    if holder is not None and caller is not None and caller.is_holder:
        raise Forbidden(
            "A holder session covers the whole card and is never used from a merchant's "
            "page; the merchant's widgets use a member token.",
            code="key_tenant_mismatch",
        )
    if holder is not None and caller is not None and caller.tenant_id != holder.tenant_id:
        raise Forbidden(
            "This member token belongs to another tenant than the publishable key.",
            code="key_tenant_mismatch",
        )
    return None


def _explain_refused_token() -> Response | None:
    """A 401 whose message says why the member token was refused; the reason, for code,
    is in the ``X-Jifen-Auth-Problem`` header (``token_expired``, ``token_revoked``,
    ``invalid_token``); the error ``code`` stays ``unauthenticated`` as everywhere."""
    if g.get("caller") is not None or not g.get("auth_problem"):
        return None
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    if not token.startswith("mt_"):
        return None
    problem = services.member_token_problem(token)
    reason, message = {
        "expired": (
            "token_expired",
            "The member token has expired. Ask the merchant's site for a new one "
            "(reload the page).",
        ),
        "revoked": ("token_revoked", "The member token was revoked."),
    }.get(problem, ("invalid_token", "The member token is not valid (tampered or never issued)."))
    response = jifen_error_response(Unauthenticated(message))
    response.headers[PROBLEM_HEADER] = reason
    return response


def add_cors_headers(response: Response) -> Response:
    if not _is_consumer_path():
        return response
    origin = request.headers.get("Origin")
    holder = g.get("widget_key_holder")
    if origin and holder is not None and holder.allows(origin):
        response.headers.update(origins.cors_headers(origin))
    else:
        response.vary.add("Origin")
    return response
