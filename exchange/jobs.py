"""The exchange's periodic job: release acceptance authorizations past their time."""

from __future__ import annotations

from jifen.platform.jobs import periodic

from .acceptance import expire_due


@periodic("acceptance", cron="*/5 * * * *", queue="ledger")
def acceptance() -> dict:
    """Expire pending acceptance authorizations whose time has come (every five minutes)."""
    return expire_due()
