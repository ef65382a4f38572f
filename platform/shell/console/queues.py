"""The job queues as the operator console shows them: each RQ queue's length and its
failed jobs, and requeueing one of them.

Reads RQ directly through ``platform.jobs`` (its queue names and prefix). Without
``JIFEN_REDIS_URL`` jobs run inline, nothing is queued, and ``inline()`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from jifen.platform import jobs
from jifen.platform.errors import NotFound

FAILED_SHOWN = 50


@dataclass(frozen=True)
class FailedJob:
    id: str
    function: str
    error: str
    ended_at: datetime | None


@dataclass(frozen=True)
class QueueView:
    name: str
    queued: int
    failed: int
    failed_jobs: list[FailedJob] = field(default_factory=list)


def inline() -> bool:
    return jobs.is_inline()


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def overview() -> list[QueueView]:
    """Every queue of ``jobs.QUEUES`` with its length and its newest failed jobs."""
    from rq.job import Job

    views = []
    for name in jobs.QUEUES:
        queue = jobs.queue(name)
        registry = queue.failed_job_registry
        ids = registry.get_job_ids(0, FAILED_SHOWN - 1)
        failed = []
        for job in Job.fetch_many(ids, connection=queue.connection):
            if job is None:
                continue
            result = job.latest_result()
            error = result.exc_string if result is not None else getattr(job, "exc_info", "")
            failed.append(FailedJob(job.id, job.func_name or "?", _last_line(error), job.ended_at))
        views.append(QueueView(name, len(queue), registry.count, failed))
    return views


def requeue(queue_name: str, job_id: str) -> None:
    """Put a failed job back on its queue. Raises NotFound for an unknown queue or a job
    that is not among its failures."""
    if queue_name not in jobs.QUEUES:
        raise NotFound(f"No such queue: {queue_name}")
    registry = jobs.queue(queue_name).failed_job_registry
    if job_id not in registry.get_job_ids():
        raise NotFound(f"No such failed job: {job_id}")
    registry.requeue(job_id)
