"""Background jobs: work enqueued in a unit of work runs only after it commits; on Redis
a job id makes a duplicate enqueue a no-op, a worker runs the job, and the periodic
dispatcher enqueues one job per period."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from conftest import REDIS_URL

from jifen.platform import clock, jobs
from jifen.platform.db import unit_of_work

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs Redis: set JIFEN_TEST_REDIS_URL")


@pytest.fixture
def inline(monkeypatch):
    monkeypatch.setattr(jobs.settings(), "redis_url", None)
    assert jobs.is_inline()


def test_inline_work_runs_only_after_commit(app, inline):
    ran: list[str] = []
    with unit_of_work(platform=True) as uow:
        jobs.enqueue_after_commit(uow, ran.append, "after")
        assert ran == []
        uow.commit()
        assert ran == ["after"]


def test_inline_work_never_runs_when_the_unit_of_work_rolls_back(app, inline):
    ran: list[str] = []
    with unit_of_work(platform=True) as uow:
        jobs.enqueue_after_commit(uow, ran.append, "never")
    with pytest.raises(RuntimeError), unit_of_work(platform=True) as uow:
        jobs.enqueue_after_commit(uow, ran.append, "never")
        raise RuntimeError("the use case failed")
    assert ran == []


def test_a_failing_inline_job_does_not_undo_the_commit(app, inline, caplog):
    def explode() -> None:
        raise ValueError("job failed")

    with unit_of_work(platform=True) as uow:
        jobs.enqueue_after_commit(uow, explode)
        uow.commit()
    assert uow.committed
    assert any("explode" in record.getMessage() for record in caplog.records)


def test_the_periodic_registry_lists_housekeeping():
    registry = jobs.periodic_jobs()
    assert "housekeeping" in registry
    job = registry["housekeeping"]
    assert len(job.cron.split()) == 5 and job.queue in jobs.QUEUES
    assert job.description


def test_running_an_unknown_periodic_job_is_refused():
    from jifen.platform.errors import Unprocessable

    with pytest.raises(Unprocessable):
        jobs.run_periodic("no-such-job")


def test_job_ids_are_made_safe_for_rq():
    assert jobs.safe_job_id("periodic:house keeping/2026") == "periodic-house-keeping-2026"


@pytest.fixture
def redis_queue(app):
    """A fresh queue; ``.short_name`` is what ``jobs.enqueue`` takes (no prefix)."""
    short_name = f"q{random.randrange(16**8):08x}"
    queue = jobs.queue(short_name)
    queue.short_name = short_name
    yield queue
    queue.empty()


@needs_redis
def test_a_duplicate_enqueue_with_a_job_id_is_one_job(redis_queue):
    job_id = f"house-{random.randrange(16**8):08x}"
    first = jobs.enqueue(
        jobs.run_periodic, "housekeeping", job_id=job_id, queue_name=redis_queue.short_name
    )
    second = jobs.enqueue(
        jobs.run_periodic, "housekeeping", job_id=job_id, queue_name=redis_queue.short_name
    )
    assert first is not None and first.id == job_id
    assert second is None
    assert redis_queue.job_ids == [job_id]


@needs_redis
def test_a_worker_runs_the_enqueued_job(redis_queue):
    from rq import Worker

    job = jobs.enqueue(
        jobs.run_periodic,
        "housekeeping",
        job_id=f"house-{random.randrange(16**8):08x}",
        queue_name=redis_queue.short_name,
    )
    Worker([redis_queue], connection=redis_queue.connection).work(burst=True)
    job.refresh()
    assert job.get_status() == "finished", job.latest_result()
    assert "idempotency_keys_deleted" in job.return_value()
    # The parent's database connections survive the forked work horse.
    with unit_of_work(platform=True) as uow:
        assert uow.session.connection().exec_driver_sql("SELECT 1").scalar() == 1


@needs_redis
def test_dispatch_enqueues_one_job_per_period(app):
    from rq.job import Job

    job = jobs.periodic_jobs()["housekeeping"]
    queue = jobs.queue(job.queue)
    # A random minute far away, so earlier runs cannot have used its job ids.
    tick = datetime(2040, 1, 1, tzinfo=UTC) + timedelta(minutes=random.randrange(10**6))
    enqueued = []
    try:
        with clock.frozen_at(tick):
            jobs.dispatch_periodic("housekeeping")
        with clock.frozen_at(tick + timedelta(seconds=30)):
            jobs.dispatch_periodic("housekeeping")
        with clock.frozen_at(tick + timedelta(minutes=1)):
            jobs.dispatch_periodic("housekeeping")
        enqueued = [i for i in queue.job_ids if i.startswith("periodic-housekeeping-")]
        first = f"periodic-housekeeping-{jobs.period_key(tick)}"
        later = f"periodic-housekeeping-{jobs.period_key(tick + timedelta(minutes=1))}"
        assert first != later
        assert enqueued.count(first) == 1 and enqueued.count(later) == 1
        fetched = Job.fetch(first, connection=queue.connection)
        assert fetched.func_name == "jifen.platform.jobs.run_periodic"
        assert fetched.args == ("housekeeping",)
        assert fetched.retries_left == len(jobs.RETRY_INTERVALS)
    finally:
        for job_id in enqueued:
            Job.fetch(job_id, connection=queue.connection).delete()
