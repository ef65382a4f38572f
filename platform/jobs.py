"""Background work: RQ on Redis when ``JIFEN_REDIS_URL`` is set, inline otherwise.

* ``enqueue_after_commit(uow, fn, *args, job_id=...)`` schedules ``fn`` once the unit of
  work has committed, so a fast worker never reads a row that is not there yet. Inline,
  ``fn`` simply runs then, in this process.
* A ``job_id`` makes a duplicate enqueue a no-op while the first is still known to RQ.
* ``@periodic`` marks a periodic job; the composition root (``platform.shell``) hands the
  modules holding them to ``register_periodic`` at app creation, and the app keeps the
  registry with its other job settings (``app.extensions["jifen.jobs"]``). ``jifen cron``
  hands the registry to RQ's cron scheduler; the scheduled target only enqueues the real
  job under a job id keyed by the period, with ``Retry``, so two ticks of one period run
  it once.
  ``POST /v1/platform/jobs`` and ``jifen run-job`` run one now.

Jobs take ids, not objects, and call one service; every job is idempotent because RQ
delivers at least once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any

from flask import Flask, current_app

from . import clock, registry
from .config import Config
from .db import UnitOfWork
from .errors import Unprocessable

log = logging.getLogger(__name__)

QUEUES = ("default", "ledger", "settlement", "webhooks")
RETRY_INTERVALS = [10, 60, 300]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[], dict]
    cron: str  # in UTC, as RQ's scheduler reads it
    queue: str = "default"
    description: str = ""


@dataclass
class JobSettings:
    """Where jobs go, kept on the app as ``app.extensions["jifen.jobs"]``."""

    redis_url: str | None
    queue_prefix: str = ""  # lets several deployments (or test runs) share one Redis
    periodic: dict[str, PeriodicJob] = field(default_factory=dict)


def periodic(name: str, *, cron: str, queue: str = "default") -> Callable:
    """Mark ``fn`` (no arguments, returns a JSON-able summary) as a periodic job; it runs
    once its module is registered (``register_periodic``)."""

    def mark(fn: Callable[[], dict]) -> Callable[[], dict]:
        job = PeriodicJob(name, fn, cron, queue, (fn.__doc__ or "").strip())
        return registry.mark(fn, "periodic_job", job)

    return mark


def init_app(app: Flask, config: Config) -> None:
    app.extensions["jifen.jobs"] = JobSettings(config.redis_url, config.queue_prefix)


def register_periodic(app: Flask, modules: Iterable[ModuleType]) -> None:
    """Register the periodic jobs defined in ``modules``."""
    registered = app.extensions["jifen.jobs"].periodic
    for job in registry.marked(modules, "periodic_job"):
        if job.name in registered:
            raise ValueError(f"two periodic jobs are named {job.name!r}")
        registered[job.name] = job


def settings() -> JobSettings:
    return current_app.extensions["jifen.jobs"]


def periodic_jobs() -> dict[str, PeriodicJob]:
    return dict(settings().periodic)


def run_periodic(name: str) -> dict:
    """Run a periodic job now, in this process, and return its summary."""
    job = periodic_jobs().get(name)
    if job is None:
        known = ", ".join(sorted(periodic_jobs()))
        raise Unprocessable(f"Unknown job {name!r}; known jobs: {known}.", param="job")
    log.info("running periodic job %s", name)
    return job.run()


def is_inline() -> bool:
    return settings().redis_url is None


def redis_connection():
    from redis import Redis

    redis_url = settings().redis_url
    if redis_url is None:
        raise RuntimeError("JIFEN_REDIS_URL is not set: jobs run inline")
    return Redis.from_url(redis_url)


def queue(name: str = "default"):
    from rq import Queue

    return Queue(settings().queue_prefix + name, connection=redis_connection())


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

    prefix = settings().queue_prefix
    names = [prefix + name for name in queues or QUEUES]
    worker = Worker(names, connection=redis_connection())
    worker.work(burst=burst, with_scheduler=True)


def run_cron() -> None:
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=redis_connection(), name="jifen-cron")
    for job in periodic_jobs().values():
        scheduler.register(
            dispatch_periodic,
            queue_name=settings().queue_prefix + job.queue,
            kwargs={"name": job.name},
            cron=job.cron,
        )
    scheduler.start()
