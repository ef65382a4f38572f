"""The base of the application: a Flask app with Jifen's settings, database, jobs,
OAuth and request hooks, and an empty API; ``shell.app.create_app`` adds the areas.

Order matters only in one place: the request hooks. For each request we (1) assign a
request id, (2) resolve the caller from the bearer token, (3) apply the caller's plan
(API rate, read-only accounts: ``billing.guard``), (4) honour an ``Idempotency-Key`` on
POSTs (which needs the caller, since keys are scoped to it).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Response, g, request, send_from_directory
from werkzeug.exceptions import HTTPException

from . import idempotency, jobs
from .auth import callers
from .auth.model import ALL_SCOPES
from .auth.oauth import init_oauth
from .billing import guard as billing_guard
from .config import Config
from .db import Database, make_engine
from .errors import JifenError
from .http import JifenApi, error_response, jifen_error_response, unstorable_text_in_request
from .logs import configure_logging
from .webhooks import delivery as webhook_delivery

log = logging.getLogger("jifen.request")
STATIC = Path(__file__).parent / "static"

# An HTML page for an error on a page route (the consoles'), or None for the JSON envelope.
ErrorPage = Callable[[Exception], Response | None]


def base_app(config: Config) -> Flask:
    """The app with everything that is not an area: settings, database, jobs, OAuth,
    the request hooks, the static files and ``/healthz``."""
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
    app.extensions["jifen.db"] = Database(
        make_engine(config.database_url, role=None if config.is_sqlite else config.database_role)
    )
    jobs.init_app(app, config)
    webhook_delivery.init_app(app, config)
    init_oauth(app, token_ttl_seconds=config.access_token_ttl_seconds)
    _install_request_hooks(app, config)

    @app.get("/static/<path:filename>")
    def static_file(filename: str) -> Response:
        return send_from_directory(STATIC, filename, max_age=3600)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    return app


def new_api(app: Flask) -> JifenApi:
    """The public API, v1, with its security schemes and no blueprint yet."""
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
                    "scopes": {scope: scope for scope in ALL_SCOPES},
                }
            },
        },
    )
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    return api


def install_error_handlers(app: Flask, api: JifenApi, page_for: ErrorPage) -> None:
    """Errors on page routes get ``page_for``'s HTML page; everything else keeps the JSON
    envelope."""

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> Response:
        return page_for(error) or api.handle_http_exception(error)

    @app.errorhandler(JifenError)
    def handle_jifen_error(error: JifenError) -> Response:
        return page_for(error) or jifen_error_response(error)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        page = page_for(error)
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
