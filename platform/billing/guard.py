"""Per-request plan checks, run by the app's ``before_request`` hook right after the
caller is resolved (and before an ``Idempotency-Key`` is claimed):

* the tenant's API rate: at most the plan's requests per minute for all of its API
  clients together, else 429 ``rate_limited`` with ``Retry-After``;
* a read-only or cancelled account: writes (POST, PUT, PATCH, DELETE) get 403
  ``account_read_only``; reads still work, and so does ``/v1/billing`` (to fix it).

Only API clients of a tenant are checked. Member tokens (widgets, the consumer wallet)
act for card holders, whose points stay usable while their merchant settles its bill;
the platform operator has no plan.
"""

from __future__ import annotations

from flask import Response, current_app

from jifen.platform import clock
from jifen.platform.auth.callers import Caller
from jifen.platform.errors import RateLimited
from jifen.platform.http import jifen_error_response

from . import services
from .limits import refusal_for_write
from .ratelimit import make_counter

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALWAYS_WRITABLE = ("/v1/billing",)


def _counter():
    extensions = current_app.extensions
    if "jifen.rate_counter" not in extensions:
        extensions["jifen.rate_counter"] = make_counter(services.settings().redis_url)
    return extensions["jifen.rate_counter"]


def check_request(caller: Caller | None, method: str, path: str) -> Response | None:
    """The refusal to send instead of running the view, or None to go on."""
    if caller is None or caller.kind != "client" or caller.tenant_id is None:
        return None
    plan, state = services.standing(caller.tenant_id)
    if services.settings().enforces_rate_limits:
        limit = plan.api_requests_per_minute
        decision = _counter().hit(caller.tenant_id, limit, clock.now())
        if not decision.allowed:
            response = jifen_error_response(
                RateLimited(
                    f"The {plan.name} plan allows {limit} API requests per minute. "
                    f"Retry after {decision.retry_after} seconds."
                )
            )
            response.headers["Retry-After"] = str(decision.retry_after)
            response.headers["X-RateLimit-Limit"] = str(limit)
            return response
    if method not in SAFE_METHODS and not path.startswith(ALWAYS_WRITABLE):
        refusal = refusal_for_write(state)
        if refusal is not None:
            return jifen_error_response(refusal)
    return None
