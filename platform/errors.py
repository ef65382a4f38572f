"""One error tree, mapped once to HTTP (API.md, Conventions).

Services and the domain raise these; ``platform.http`` turns every one of them, and every
other HTTP error, into ``{"error": {"type", "code", "message", "param"}}``.
"""

from __future__ import annotations


class JifenError(Exception):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.param = param

    def to_dict(self) -> dict:
        return {
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "param": self.param,
            }
        }


class BadRequest(JifenError):
    status = 400
    code = "bad_request"


class Unauthenticated(JifenError):
    status = 401
    type = "authentication_error"
    code = "unauthenticated"


class Forbidden(JifenError):
    status = 403
    type = "permission_error"
    code = "forbidden"


class HolderAuthorizationRequired(Forbidden):
    """The card holder's authority is needed: a holder session or a valid ``holder_code``."""

    code = "holder_authorization_required"


class InvalidCode(Unauthenticated):
    code = "invalid_code"


class NotFound(JifenError):
    status = 404
    code = "resource_missing"


class Conflict(JifenError):
    status = 409
    code = "conflict"


class IdempotencyKeyReused(Conflict):
    type = "idempotency_error"
    code = "idempotency_key_reused"


class IdempotencyKeyInUse(Conflict):
    type = "idempotency_error"
    code = "idempotency_key_in_use"


class Unprocessable(JifenError):
    """Valid JSON, invalid values or a broken business rule."""

    status = 422
    code = "invalid_value"


class InsufficientPoints(Unprocessable):
    code = "insufficient_points"


class MemberFrozen(Unprocessable):
    code = "member_frozen"


class LimitExceeded(Unprocessable):
    code = "limit_exceeded"


class QuoteExpired(Unprocessable):
    code = "quote_expired"


class InvalidState(Unprocessable):
    """The object is not in a state that allows this action (a captured hold voided...)."""

    code = "invalid_state"


class RateLimited(JifenError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after  # seconds: the answer's Retry-After header
