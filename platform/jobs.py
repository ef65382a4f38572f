"""Background work: RQ on Redis when ``JIFEN_REDIS_URL`` is set, inline otherwise.

* ``enqueue_after_commit(uow, fn, *args, job_id=...)`` schedules ``fn`` once the unit of
  work has committed, so a fast worker never reads a row that is not there yet. Inline,
  ``fn`` simply runs then, in this process.
* A ``job_id`` makes a duplicate enqueue a no-op while the first is still known to RQ.
* Periodic jobs live in one registry (``@periodic``). ``jifen cron`` hands the registry to
  RQ's cron scheduler; the scheduled target only enqueues the real job under a job id
  keyed by the period, with ``Retry``, so two ticks of one period run it once.
  ``POST /v1/platform/jobs`` and ``jifen run-job`` run one now.

Jobs take ids, not objects, and call one service; every job is idempotent because RQ
delivers at least once.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask

from . import clock
from .config import Config
from .db import UnitOfWork
from .errors import Unprocessable

log = logging.getLogger(__name__)

QUEUES = ("default", "ledger", "settlement", "webhooks")
RETRY_INTERVALS = [10, 60, 300]

# Modules that register periodic jobs; imported lazily so that ``platform`` never
# imports the areas that depend on it.
PERIODIC_JOB_MODULES = [
    "jifen.platform.housekeeping",
    "jifen.platform.webhooks.delivery",
    "jifen.platform.messages.services",
    "jifen.platform.ledger.jobs",
    "jifen.exchange.jobs",
    "jifen.platform.billing.jobs",
    "jifen.settlement.jobs",
    "jifen.tenants.program.jobs",
]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[], dict]
    cron: str  # in UTC, as RQ's scheduler reads it
    queue: str = "default"
    description: str = ""


_periodic: dict[str, PeriodicJob] = {}
_redis_url: str | None = None
_queue_prefix = ""  # lets several deployments (or test runs) share one Redis


def periodic(name: str, *, cron: str, queue: str = "default") -> Callable:
    """Register ``fn`` (no arguments, returns a JSON-able summary) as a periodic job."""

    def register(fn: Callable[[], dict]) -> Callable[[], dict]:
        _periodic[name] = PeriodicJob(name, fn, cron, queue, (fn.__doc__ or "").strip())
        return fn

    return register


def periodic_jobs() -> dict[str, PeriodicJob]:
    for module in PERIODIC_JOB_MODULES:
        importlib.import_module(module)
    return dict(_periodic)


def run_periodic(name: str) -> dict:
    """Run a periodic job now, in this process, and return its summary."""
    job = periodic_jobs().get(name)
    if job is None:
        known = ", ".join(sorted(periodic_jobs()))
        raise Unprocessable(f"Unknown job {name!r}; known jobs: {known}.", param="job")
    log.info("running periodic job %s", name)
    return job.run()


def init_app(app: Flask, config: Config) -> None:
    global _redis_url, _queue_prefix
    _redis_url = config.redis_url
    _queue_prefix = config.queue_prefix
    app.extensions["jifen.jobs"] = {"redis_url": config.redis_url}


def is_inline() -> bool:
    return _redis_url is None


def redis_connection():
    from redis import Redis

    if _redis_url is None:
        raise RuntimeError("JIFEN_REDIS_URL is not set: jobs run inline")
    return Redis.from_url(_redis_url)


def queue(name: str = "default"):
    from rq import Queue

    return Queue(_queue_prefix + name, connection=redis_connection())


def enqueue(fn: Callable, *args: Any, job_id: str | None = None, queue_name: str = "default"):
    """Run ``fn(*args)`` in the background (inline: now). Returns the RQ job, or None."""
    if is_inline():
        try:
            fn(*args)
        except Exception:
            log.exception("inline job %s failed", getattr(fn, "__name__", fn))
        return None
    from rq import Retry
    from rq.exceptions import DuplicateJobError

    options: dict[str, Any] = {"retry": Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS)}
    if job_id is not None:
        options.update(job_id=safe_job_id(job_id), unique=True)
    try:
        return queue(queue_name).enqueue(fn, *args, **options)
    except DuplicateJobError:
        log.info("job %s already queued", job_id)
        return None


def enqueue_after_commit(
    uow: UnitOfWork,
    fn: Callable,
    *args: Any,
    job_id: str | None = None,
    queue_name: str = "default",
) -> None:
    uow.after_commit(lambda: enqueue(fn, *args, job_id=job_id, queue_name=queue_name))


def safe_job_id(raw: str) -> str:
    """RQ accepts only letters, digits, ``_`` and ``-`` in job ids."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", raw)


def period_key(moment: datetime) -> str:
    """A key naming the period a cron tick belongs to: the minute (cron's finest step, so
    ticks of one minute, and only they, share it)."""
    return moment.strftime("%Y%m%dT%H%M")


# --- entry points run by RQ ---------------------------------------------------------------


def dispatch_periodic(name: str) -> None:
    """Cron target: enqueue the real job once per period."""
    job = periodic_jobs()[name]
    enqueue(
        run_periodic,
        name,
        job_id=f"periodic-{name}-{period_key(clock.now())}",
        queue_name=job.queue,
    )


def work(queues: list[str] | None = None, *, burst: bool = False) -> None:
    from rq import Worker

    names = [_queue_prefix + name for name in queues or QUEUES]
    worker = Worker(names, connection=redis_connection())
    worker.work(burst=burst, with_scheduler=True)


def run_cron() -> None:
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=redis_connection(), name="jifen-cron")
    for job in periodic_jobs().values():
        scheduler.register(
            dispatch_periodic,
            queue_name=_queue_prefix + job.queue,
            kwargs={"name": job.name},
            cron=job.cron,
        )
    scheduler.start()
