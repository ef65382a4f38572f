"""Settlement's periodic job: close the day's batch at 00:00 Asia/Shanghai.

``jifen cron`` runs it at 16:00 UTC (RQ's cron reads UTC); ``POST /v1/platform/jobs``
``{"job": "settlement"}`` runs it now. It closes the batch up to the latest daily
cut-off; if that batch exists already it changes nothing, so a repeated tick, a retried
job or a manual run on the same day is harmless.
"""

from __future__ import annotations

from jifen.platform import clock
from jifen.platform.jobs import periodic

from . import services


@periodic("settlement", cron="0 16 * * *", queue="settlement")
def settlement() -> dict:
    """Close the settlement batch up to the latest 00:00 Asia/Shanghai (daily)."""
    closed = services.close_due(services.JOB_CALLER)
    batch = closed.batch
    return {
        "batch": batch.id,
        "created": closed.created,
        "cutoff": clock.iso(batch.cutoff),
        "record_count": batch.record_count,
        "status": batch.status,
    }
