"""The application factory: ``create_app(config)`` wires every area of Jifen together.

Order matters only in one place: the request hooks. For each request we (1) assign a
request id, (2) resolve the caller from the bearer token, (3) apply the caller's plan
(API rate, read-only accounts: ``billing.guard``), (4) honour an ``Idempotency-Key`` on
POSTs (which needs the caller, since keys are scoped to it).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from pathlib import Path

from flask import Flask, Response, g, request, send_from_directory
from werkzeug.exceptions import HTTPException

from . import idempotency
from .auth import callers
from .auth.oauth import init_oauth
from .billing import guard as billing_guard
from .config import Config
from .db import Database, make_engine, set_default_database
from .errors import JifenError
from .http import JifenApi, error_response, jifen_error_response, unstorable_text_in_request
from .logs import configure_logging

log = logging.getLogger("jifen.request")
STATIC = Path(__file__).parent / "static"


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    configure_logging(json_lines=config.log_json)
    app = Flask("jifen", static_folder=None)
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        TESTING=config.testing,
        JSON_SORT_KEYS=False,
        API_TITLE="Jifen API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/static/swagger-ui/",
    )
    app.extensions["jifen.config"] = config
    database = Database(
        make_engine(config.database_url, role=None if config.is_sqlite else config.database_role)
    )
    app.extensions["jifen.db"] = database
    set_default_database(database)

    from . import jobs

    jobs.init_app(app, config)
    from .webhooks import delivery as webhook_delivery

    webhook_delivery.allow_private_addresses = config.webhooks_allow_private
    webhook_delivery.lease = timedelta(seconds=config.webhook_lease_seconds)
    init_oauth(app, token_ttl_seconds=config.access_token_ttl_seconds)
    callers.init_app(app, resolvers=_token_resolvers())
    _install_request_hooks(app, config)
    _register_api(app)
    from .console import init_app as init_console

    init_console(app)

    @app.get("/static/<path:filename>")
    def static_file(filename: str) -> Response:
        return send_from_directory(STATIC, filename, max_age=3600)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    return app


def _token_resolvers() -> list[callers.TokenResolver]:
    """How a bearer token becomes a caller: API clients' access tokens (``at_``), member
    tokens (``mt_``), holder sessions (``hs_``)."""
    from jifen.tenants.holders.services import resolve_holder_session
    from jifen.tenants.members.tokens import resolve_member_token

    from .auth.services import resolve_access_token

    return [resolve_access_token, resolve_member_token, resolve_holder_session]


def _register_api(app: Flask) -> None:
    from jifen.exchange.api import BLUEPRINTS as exchange_blueprints
    from jifen.exchange.settings import spu_rate_of
    from jifen.settlement.api import BLUEPRINTS as settlement_blueprints
    from jifen.tenants.alliances.api import blp as alliances_blp
    from jifen.tenants.api import blp as tenants_blp
    from jifen.tenants.catalog.api import blp as catalog_blp
    from jifen.tenants.holders.api import BLUEPRINTS as holder_blueprints
    from jifen.tenants.lottery.api import BLUEPRINTS as lottery_blueprints
    from jifen.tenants.members.api import blp as members_blp
    from jifen.tenants.members.api import me as consumer_blp
    from jifen.tenants.program.api import blp as program_blp
    from jifen.widgets import init_app as init_widgets

    from .billing.api import blp as billing_blp
    from .clearing import install_spu_rates
    from .jobs_api import blp as jobs_blp
    from .webhooks.api import blp as webhooks_blp

    api = JifenApi(
        app,
        spec_kwargs={
            "info": {"description": "Jifen public API, v1. See API.md for the conventions."},
            "servers": [{"url": "/"}],
        },
    )
    api.spec.components.security_scheme(
        "oauth2",
        {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/oauth/token",
                    "scopes": {scope: scope for scope in callers_scopes()},
                }
            },
        },
    )
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(tenants_blp)
    api.register_blueprint(program_blp)
    api.register_blueprint(members_blp)
    api.register_blueprint(consumer_blp)
    for blueprint in holder_blueprints:
        api.register_blueprint(blueprint)
    api.register_blueprint(catalog_blp)
    api.register_blueprint(alliances_blp)
    for blueprint in lottery_blueprints:
        api.register_blueprint(blueprint)
    api.register_blueprint(jobs_blp)
    api.register_blueprint(webhooks_blp)
    for blueprint in exchange_blueprints:
        api.register_blueprint(blueprint)
    install_spu_rates(app, spu_rate_of)
    api.register_blueprint(billing_blp)
    for blueprint in settlement_blueprints:
        api.register_blueprint(blueprint)
    init_widgets(app, api)

    from .console.errors import page_for as console_page

    # Console pages get HTML error pages; everything else keeps the JSON envelope.
    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> Response:
        return console_page(error) or api.handle_http_exception(error)

    @app.errorhandler(JifenError)
    def handle_jifen_error(error: JifenError) -> Response:
        return console_page(error) or jifen_error_response(error)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        page = console_page(error)
        if page is not None:
            return page
        log.exception("unhandled error")
        return error_response(500, "api_error", "internal_error", "Something went wrong.")


SECRET_PATH_PARTS = ("token",)  # URL parts that are secrets (a wallet sign-in link's)


def _loggable_path() -> str:
    """The request's path with secrets in it (``/wallet/link/<token>``) blanked out."""
    path = request.path
    for name in SECRET_PATH_PARTS:
        value = (request.view_args or {}).get(name)
        if isinstance(value, str) and value:
            path = path.replace(value, "[redacted]")
    return path


def callers_scopes() -> list[str]:
    from .auth.model import ALL_SCOPES

    return list(ALL_SCOPES)


def _install_request_hooks(app: Flask, config: Config) -> None:
    ttl = idempotency.timedelta(hours=config.idempotency_ttl_hours)

    @app.before_request
    def start_request() -> Response | None:
        g.request_id = request.headers.get("X-Request-Id") or f"req_{uuid.uuid4().hex[:20]}"
        g.started = time.perf_counter()
        unstorable = unstorable_text_in_request()
        if unstorable is not None:
            where, code = unstorable
            return error_response(
                400,
                "invalid_request_error",
                code,
                "Text may contain neither the NUL character (\\u0000) nor lone surrogates.",
                where,
            )
        callers.resolve_request_caller()
        refusal = billing_guard.check_request(g.caller, request.method, request.path)
        if refusal is not None:
            return refusal
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or key is None:
            return None
        fingerprint = idempotency.request_hash(
            request.method, request.path, request.get_data(cache=True)
        )
        outcome = idempotency.begin(callers.caller_key(fingerprint), key, fingerprint, ttl=ttl)
        if isinstance(outcome, idempotency.Replay):
            response = app.json.response(outcome.body)
            response.status_code = outcome.status
            response.headers["Idempotent-Replayed"] = "true"
            return response
        g.idempotency_claim = outcome
        return None

    @app.after_request
    def finish_request(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if request.path != "/healthz":
            log.info(
                "%s %s %s",
                request.method,
                _loggable_path(),
                response.status_code,
                extra={
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - g.get("started", 0)) * 1000, 1),
                },
            )
        return response

    @app.teardown_request
    def release_idempotency_claim(_error: BaseException | None) -> None:
        claim = g.pop("idempotency_claim", None)
        if claim is not None:
            idempotency.finish(claim)
