"""Periodic clean-up of the platform's own tables."""

from sqlalchemy import delete

from . import clock, idempotency, throttle
from .auth.model import AccessToken
from .db import unit_of_work
from .jobs import periodic


@periodic("housekeeping", cron="17 * * * *")
def housekeeping() -> dict:
    """Delete idempotency keys past their retention, access tokens past expiry and
    throttle counters past their memory."""
    purged_keys = idempotency.purge_expired()
    counters = throttle.forget_stale()
    with unit_of_work(platform=True) as uow:
        result = uow.session.execute(
            delete(AccessToken).where(AccessToken.expires_at <= clock.now())
        )
        uow.commit()
    return {
        "idempotency_keys_deleted": purged_keys,
        "access_tokens_deleted": result.rowcount,
        "throttle_counters_deleted": counters,
    }
