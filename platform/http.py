"""API plumbing every endpoint shares: the error envelope, schemas, cursor lists and the
blueprint that knows about idempotent responses.

Every error leaves as ``{"error": {"type", "code", "message", "param"}}`` (API.md): our
own ``JifenError``s, webargs validation failures, malformed JSON, 404/405/413 from
Werkzeug and unexpected exceptions (a logged 500 that reveals nothing).
"""

from __future__ import annotations

import logging
from functools import wraps
from typing import Any

import marshmallow as ma
from flask import Response, jsonify, request
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from flask_smorest.utils import resolve_schema_instance
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from . import clock, idempotency
from .auth.callers import guarded
from .errors import JifenError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: ("invalid_request_error", "bad_request"),
    401: ("authentication_error", "unauthenticated"),
    403: ("permission_error", "forbidden"),
    404: ("invalid_request_error", "resource_missing"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
    422: ("invalid_request_error", "invalid_value"),
    429: ("rate_limit_error", "rate_limited"),
}


def error_response(
    status: int, type_: str, code: str, message: str, param: str | None = None
) -> Response:
    response = jsonify({"error": {"type": type_, "code": code, "message": message, "param": param}})
    response.status_code = status
    return response


def jifen_error_response(error: JifenError) -> Response:
    response = jsonify(error.to_dict())
    response.status_code = error.status
    if getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


class ErrorDetailSchema(ma.Schema):
    type = ma.fields.String(required=True, metadata={"example": "invalid_request_error"})
    code = ma.fields.String(required=True, metadata={"example": "invalid_value"})
    message = ma.fields.String(required=True)
    param = ma.fields.String(required=True, allow_none=True)

    class Meta:
        ordered = True


class ErrorSchema(ma.Schema):
    """The one error body (API.md, Conventions)."""

    error = ma.fields.Nested(ErrorDetailSchema, required=True)


class JifenApi(Api):
    """flask-smorest's Api with Jifen's error envelope, served and documented."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Response:  # type: ignore[override]
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        messages = data.get("messages")
        if messages:
            return _validation_error_response(status, messages)
        if status >= 500:
            original = getattr(error, "original_exception", None)
            if original is not None:
                log.exception("unhandled error", exc_info=original)
            return error_response(500, "api_error", "internal_error", "Something went wrong.")
        type_, code = _HTTP_CODES.get(status, ("invalid_request_error", "bad_request"))
        message = data.get("message") or _describe(status, error)
        response = error_response(status, type_, code, message)
        if status == 405 and getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(error.valid_methods)
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        return response


def _describe(status: int, error: HTTPException) -> str:
    if status == 404:
        return f"Unrecognized request URL ({request.method}: {request.path})."
    if status == 405:
        return f"{request.method} is not allowed on {request.path}."
    return error.description or error.name


def _validation_error_response(status: int, messages: dict) -> Response:
    """Turn webargs' nested messages into one envelope naming the first bad field."""
    location, fields = next(iter(messages.items()))
    if location == "json" and fields == ["Invalid JSON body."]:
        return error_response(400, "invalid_request_error", "invalid_json", "Malformed JSON body.")
    param, problem = _first_problem(fields)
    if problem == "Unknown field.":
        return error_response(
            400, "invalid_request_error", "unknown_field", f"Unknown field: {param}.", param
        )
    if location == "json" and param == "_schema":
        return error_response(
            400, "invalid_request_error", "invalid_json", "The body must be a JSON object."
        )
    message = f"{param}: {problem}" if param else str(problem)
    return error_response(422, "invalid_request_error", "invalid_value", message, param)


def _first_problem(fields: Any, prefix: str = "") -> tuple[str | None, str]:
    if isinstance(fields, dict):
        for name, inner in fields.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            return _first_problem(inner, path)
    if isinstance(fields, list) and fields:
        first = fields[0]
        if isinstance(first, (dict, list)):
            return _first_problem(first, prefix)
        return prefix or None, str(first)
    return prefix or None, str(fields)


class JifenBlueprint(Blueprint):
    """A blueprint whose views check their caller before anything else, and whose
    ``response`` also tells an idempotent request how to store the body it returns.

    Every view (a function, or each method of a MethodView) declares what it admits with
    ``auth.callers.requires``; registering one that does not is a TypeError. The check
    wraps the view with all its decorators, so it runs before any argument is parsed.

    ``response`` tells an idempotent request how to store the body it is about to return
    (see ``platform.idempotency``), and stores it itself when the view's unit of work did
    not.

    ``alternatives`` maps a result type to another ``(status, schema)``, for a use case
    that answers in one of two ways (a manual award posts at once, 201 ``transaction``,
    or waits for a second person, 202 ``adjustment``): the view returns what the use case
    returned, and both the response and the stored replay follow its type."""

    def add_url_rule(  # type: ignore[override]
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Any = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        if isinstance(view_func, type) and issubclass(view_func, MethodView):
            for method in view_func.methods or ():
                name = method.lower()
                view = getattr(view_func, name)
                setattr(view_func, name, guarded(view, f"{view_func.__name__}.{name}"))
        elif view_func is not None:
            view_func = guarded(view_func, view_func.__name__)
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)

    def response(  # type: ignore[override]
        self,
        status_code: int,
        schema: Any = None,
        *,
        alternatives: dict[type, tuple[int, Any]] | None = None,
        **kwargs: Any,
    ):
        document_and_dump = super().response(status_code, schema, **kwargs)
        instance = resolve_schema_instance(schema) if schema is not None else None
        others = [
            (kind, int(other_status), resolve_schema_instance(other_schema))
            for kind, (other_status, other_schema) in (alternatives or {}).items()
        ]

        def other_for(result: Any) -> tuple[int, Any] | None:
            for kind, other_status, other in others:
                if isinstance(result, kind):
                    return other_status, other
            return None

        def render(result: Any) -> tuple[int, Any]:
            other = other_for(result)
            if other is not None:
                return other[0], other[1].dump(result)
            return int(status_code), (instance.dump(result) if instance is not None else result)

        def decorator(func):
            @wraps(func)
            def announce_rendering(*args: Any, **kw: Any) -> Any:
                claim = idempotency.current_claim()
                if claim is not None:
                    claim.render = render
                result = func(*args, **kw)
                if isinstance(result, (tuple, Response)):
                    return result
                if claim is not None and not claim.recorded:
                    # The view's own unit of work stored nothing: store what we answer.
                    idempotency.record_response(claim, *render(result))
                if other_for(result) is None:
                    return result
                other_status, body = render(result)
                response = jsonify(body)
                response.status_code = other_status
                return response

            wrapped = document_and_dump(announce_rendering)
            for _kind, other_status, other in others:
                wrapped = self.alt_response(other_status, schema=other, success=True)(wrapped)
            return wrapped

        return decorator


# --- schemas ----------------------------------------------------------------------------


class Timestamp(ma.fields.Field):
    """ISO 8601 UTC with ``Z``."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return clock.iso(value)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any):
        return ma.fields.AwareDateTime(default_timezone=clock.now().tzinfo)._deserialize(
            value, attr, data, **kwargs
        )


class StrictSchema(ma.Schema):
    """Input schemas reject unknown fields."""

    class Meta:
        unknown = ma.RAISE


class ObjectSchema(ma.Schema):
    """Output objects: ``object``, ``id``, ``created`` first, like Stripe's."""

    OBJECT: str = ""

    object = ma.fields.Method("_object_name", dump_only=True)
    id = ma.fields.String(dump_only=True)
    created = Timestamp(dump_only=True)

    class Meta:
        ordered = True

    def _object_name(self, _obj: Any) -> str:
        return self.OBJECT


class Points(ma.fields.Integer):
    """A whole, positive number of points within JSON's exact integer range."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("strict", True)
        kwargs.setdefault("validate", ma.validate.Range(min=1, max=2**53 - 1))
        super().__init__(**kwargs)


class ListArgs(StrictSchema):
    limit = ma.fields.Integer(load_default=10, validate=ma.validate.Range(min=1, max=100))
    starting_after = ma.fields.String(load_default=None)

    class Meta:
        unknown = ma.EXCLUDE  # filters are declared by subclasses; others are ignored


_list_schemas: dict[type, type[ma.Schema]] = {}


def list_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The ``{"object": "list", "data": [...], "has_more"}`` schema for ``item_schema``."""
    if item_schema not in _list_schemas:
        _list_schemas[item_schema] = type(
            item_schema.__name__.removesuffix("Schema") + "ListSchema",
            (ma.Schema,),
            {
                "object": ma.fields.Constant("list"),
                "data": ma.fields.List(ma.fields.Nested(item_schema)),
                "has_more": ma.fields.Boolean(),
                "Meta": type("Meta", (), {"ordered": True}),
            },
        )
    return _list_schemas[item_schema]


def unstorable_text_in_request() -> tuple[str, str] | None:
    """``(where, code)`` of text in the request (its path, query, form or JSON body) that
    no database can store — a NUL character (``nul_character``: PostgreSQL text cannot
    hold one) or a lone surrogate (``invalid_text``: not UTF-8) — or None. Refused once,
    here, before any view, rather than as a 500 wherever it reaches a query."""
    found = _unstorable(request.path, "path")
    for name, value in request.args.items(multi=True):
        found = found or _unstorable(name, "query") or _unstorable(value, name)
    if request.mimetype == "application/x-www-form-urlencoded":
        for name, value in request.form.items(multi=True):
            found = found or _unstorable(name, "form") or _unstorable(value, name)
    if request.is_json and not found:
        found = _unstorable_in_json(request.get_json(silent=True), "")
    return found


def _unstorable(text: str, where: str) -> tuple[str, str] | None:
    if "\x00" in text:
        return where.replace("\x00", ""), "nul_character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return where.encode("utf-8", "replace").decode(), "invalid_text"
    return None


def _unstorable_in_json(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        return _unstorable(value, path or "body")
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, inner in items:
        where = f"{path}.{key}" if path else str(key)
        found = (isinstance(key, str) and _unstorable(key, "body")) or _unstorable_in_json(
            inner, where
        )
        if found:
            return found
    return None


def wants_json() -> bool:
    """Error bodies are JSON for the API; pages (added later) may render HTML."""
    return not request.accept_mimetypes.accept_html or request.path.startswith(
        ("/v1", "/oauth", "/openapi")
    )


__all__ = ["JifenApi", "JifenBlueprint", "list_of", "select"]
