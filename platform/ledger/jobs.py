"""The ledger's periodic job: the nightly expiry sweep at 00:00 Asia/Shanghai."""

from __future__ import annotations

from jifen.platform.jobs import periodic

from .sweeps import sweep_expired


@periodic("expiry", cron="0 16 * * *", queue="ledger")
def expiry() -> dict:
    """Release expired holds and move expired lots' points to breakage, for every tenant."""
    return sweep_expired()
