"""One way in per request: every endpoint declares what it admits, and the caller's
credential and scopes are checked before its body or query is read (401/403, never a
422 naming a field to a caller without the authority).

The routes are read from an app's URL map, so an endpoint added later is covered
without being listed here. Nothing here is random.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import pytest
from factories import Api, assert_error
from flask import g

from jifen.platform.auth.callers import (
    ANY_CALLER,
    CARD,
    HOLDER_SESSION,
    PUBLIC,
    Access,
    Caller,
    authorize,
    client,
    declared_access,
    operator,
    requires,
    tenant,
    tenant_or_card,
)
from jifen.platform.auth.model import PLATFORM_SCOPES, TENANT_SCOPES
from jifen.platform.config import Config
from jifen.platform.errors import Forbidden, Unauthenticated
from jifen.platform.http import JifenBlueprint
from jifen.platform.shell.app import create_app

# A request no endpoint could accept: an unknown field in the body, an impossible limit
# in the query. Whoever may call the endpoint gets 400 or 422 for it; nobody else may
# learn that much.
INVALID_BODY = {"no_such_field": "\u2603", "limit": -1}
INVALID_QUERY = {"limit": "0", "no_such_filter": "x"}
IGNORED = {"HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    access: Access | None

    @property
    def path(self) -> str:
        return re.sub(r"<[^>]+>", "zz_no_such_id", self.rule)

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


@cache
def api_routes() -> tuple[Route, ...]:
    """Every (method, rule) of the app whose view is an API endpoint, with what its view
    declares. Built once at collection from an app that never opens its database."""
    app = create_app(Config(database_url="sqlite://", secret_key="routes", log_json=False))
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        for method in sorted((rule.methods or set()) - IGNORED):
            handler = getattr(view_class, method.lower()) if view_class else view
            routes.append(Route(method, rule.rule, declared_access(handler)))
    return tuple(routes)


def v1_routes() -> list[Route]:
    return [route for route in api_routes() if route.rule.startswith("/v1/")]


def authenticated_routes() -> list[Route]:
    return [route for route in api_routes() if route.access and not route.access.public]


def test_every_v1_endpoint_declares_what_it_admits():
    undeclared = [str(route) for route in v1_routes() if route.access is None]
    assert v1_routes()
    assert undeclared == []


def test_the_intentionally_public_endpoints_say_so():
    public = {str(route) for route in v1_routes() if route.access == PUBLIC}
    assert public == {
        "POST /v1/signup",
        "POST /v1/holder/codes",
        "POST /v1/holder/sessions",
        "POST /v1/stripe/webhooks",
    }


def test_a_view_that_declares_nothing_cannot_be_registered():
    blueprint = JifenBlueprint("undeclared", __name__, url_prefix="/v1/undeclared")

    def open_door():
        return {}

    with pytest.raises(TypeError, match="open_door declares no access"):
        blueprint.route("/")(open_door)

    blueprint.route("/declared")(requires(PUBLIC)(open_door))


# --- the order: who, then what ----------------------------------------------------------


def send(client, route: Route, headers: dict | None = None):
    return client.open(
        route.path,
        method=route.method,
        json=INVALID_BODY,
        query_string=INVALID_QUERY,
        headers=headers or {},
    )


@pytest.mark.parametrize("route", authenticated_routes(), ids=str)
def test_an_unauthenticated_invalid_request_is_401_not_422(client, route):
    assert_error(send(client, route), 401, "unauthenticated")
    bad_token = {"Authorization": "Bearer at_not_a_token"}
    assert_error(send(client, route, bad_token), 401, "unauthenticated")


@dataclass
class Credentials:
    """Tokens of every kind, narrowed to the scopes a test asks for."""

    api: Api
    tenant_id: str
    tenant_secret: tuple[str, str]
    operator_secret: tuple[str, str]
    member_token: str
    holder_token: str

    def client_token(self, *, operator: bool, without: tuple[str, ...]) -> str:
        held = PLATFORM_SCOPES if operator else TENANT_SCOPES
        client_id, secret = self.operator_secret if operator else self.tenant_secret
        scopes = [scope for scope in held if scope not in without]
        return self.api.token(client_id, secret, scope=" ".join(scopes))


@pytest.fixture(scope="module")
def credentials(app) -> Credentials:
    from factories import holder_token, unique

    from jifen.platform.auth.services import create_platform_client

    api = Api(app.test_client())
    merchant = api.signup()
    member = api.client.post(
        "/v1/members", json={"external_id": "access-test"}, headers=merchant.auth
    ).get_json()
    member_token = api.client.post(
        f"/v1/members/{member['id']}/tokens", json={}, headers=merchant.auth
    ).get_json()["token"]
    operator = create_platform_client(unique("access-test-"), list(PLATFORM_SCOPES))
    return Credentials(
        api=api,
        tenant_id=merchant.id,
        tenant_secret=(merchant.client_id, merchant.client_secret),
        operator_secret=(operator.client_id, operator.client_secret),
        member_token=member_token,
        holder_token=holder_token(member["card_number"]),
    )


def refused_token(access: Access, credentials: Credentials) -> tuple[str, str]:
    """A live credential that ``access`` refuses, and the error code it refuses it with."""
    if access == HOLDER_SESSION:
        return credentials.member_token, "forbidden"
    if "client" not in access.kinds:
        return credentials.client_token(operator=False, without=()), "forbidden"
    if access.scopes:
        operator = access.operator is True
        return credentials.client_token(operator=operator, without=access.scopes), "missing_scope"
    assert access == tenant()
    return credentials.client_token(operator=True, without=()), "forbidden"


def refusable_routes() -> list[Route]:
    """Authenticated routes that some live credential does not satisfy (any valid token
    reads ``GET /v1/tenant``)."""
    return [route for route in authenticated_routes() if route.access != ANY_CALLER]


@pytest.mark.parametrize("route", refusable_routes(), ids=str)
def test_a_refused_credential_with_an_invalid_request_is_403_not_422(client, credentials, route):
    token, code = refused_token(route.access, credentials)
    assert_error(send(client, route, {"Authorization": f"Bearer {token}"}), 403, code)


def test_the_invalid_request_is_refused_as_invalid_once_the_caller_may_call(client, credentials):
    """The requests above do fail to parse: the endpoint's own caller gets 422 naming the
    field."""
    token = credentials.client_token(operator=False, without=())
    headers = {"Authorization": f"Bearer {token}"}
    listing = client.get("/v1/members", query_string=INVALID_QUERY, headers=headers)
    assert_error(listing, 422, "invalid_value")
    creating = client.post("/v1/members", json=INVALID_BODY, headers=headers)
    assert assert_error(creating, 422, "invalid_value")["param"] == "external_id"


# --- authorize: the one check, with the words callers have always got --------------------

TENANT_CLIENT = Caller("client", "cli_t", "ten_1", frozenset({"points:read"}))
OPERATOR_CLIENT = Caller("client", "cli_o", None, frozenset({"exchange", "settlement:read"}))
MEMBER = Caller("member", "mem_1", "ten_1", card_id="card_1")
HOLDER = Caller("holder", "card_1", None, card_id="card_1")


@pytest.mark.parametrize(
    ("access", "caller", "message", "code"),
    [
        (tenant("points:read"), MEMBER,
         "This endpoint needs an API client's access token.", "forbidden"),
        (tenant("points:write"), TENANT_CLIENT, "Missing scope: points:write.", "missing_scope"),
        (tenant("points:write", "program:write", any_scope=True), TENANT_CLIENT,
         "Missing scope: one of points:write, program:write.", "missing_scope"),
        (tenant("exchange"), OPERATOR_CLIENT,
         "This endpoint acts for a tenant; use a tenant's client.", "forbidden"),
        (operator("points:read"), TENANT_CLIENT,
         "Only the platform operator may do this.", "forbidden"),
        (CARD, TENANT_CLIENT,
         "This endpoint needs a member token or a holder session.", "forbidden"),
        (HOLDER_SESSION, MEMBER,
         "This endpoint needs a holder session (POST /v1/holder/sessions).", "forbidden"),
        (tenant_or_card("exchange"), TENANT_CLIENT, "Missing scope: exchange.", "missing_scope"),
        (tenant_or_card("exchange"), OPERATOR_CLIENT,
         "This endpoint acts for a tenant or a card holder.", "forbidden"),
    ],
)  # fmt: skip
def test_authorize_refuses_in_the_documented_words(app, access, caller, message, code):
    with app.test_request_context():
        g.caller = caller
        with pytest.raises(Forbidden) as refused:
            authorize(access)
    assert (refused.value.message, refused.value.code) == (message, code)


@pytest.mark.parametrize(
    ("access", "caller"),
    [
        (tenant("points:read"), TENANT_CLIENT),
        (client("exchange"), OPERATOR_CLIENT),
        (operator("settlement:read"), OPERATOR_CLIENT),
        (CARD, MEMBER),
        (CARD, HOLDER),
        (HOLDER_SESSION, HOLDER),
        (tenant_or_card("exchange"), MEMBER),
        (tenant_or_card("exchange"), HOLDER),
        (ANY_CALLER, HOLDER),
        (PUBLIC, MEMBER),
    ],
)
def test_authorize_returns_the_caller_it_admits(app, access, caller):
    with app.test_request_context():
        g.caller = caller
        assert authorize(access) is caller


def test_authorize_without_a_credential_says_why(app):
    with app.test_request_context():
        g.caller, g.auth_problem = None, "The access token is invalid, expired or revoked."
        with pytest.raises(Unauthenticated, match="invalid, expired or revoked"):
            authorize(CARD)
        assert authorize(PUBLIC) is None
