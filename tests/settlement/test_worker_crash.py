"""A real ``jifen worker`` killed in the middle of closing and in the middle of paying a
batch (issue: settlement, faults).

* Closing (PostgreSQL): the worker has written the batch and its positions and waits to
  write the first ``settlement.batch.closed`` event (the test holds a lock on the events
  table). Killed there, its transaction never commits: no batch. After a restart the same
  close makes the batch once, with the same positions, and one event per tenant.
* Paying: Stripe has made one tenant's transfer but the answer never reaches the worker.
  After a restart the batch is paid with the same result, nothing is paid twice (the
  deterministic idempotency key returns the transfer Stripe already made).

The audit is clean after both (checked by the autouse fixture)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from settlement_support import BATCHES, ours
from sqlalchemy import create_engine, func, select, text

from jifen.platform import clock, jobs
from jifen.platform.db import unit_of_work
from jifen.platform.webhooks.model import Event
from jifen.settlement import services
from jifen.settlement.model import Position, SettlementBatch

REDIS_URL = os.environ.get("JIFEN_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs Redis: set JIFEN_TEST_REDIS_URL")


def start_worker(database_url: str, stripe_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "JIFEN_DATABASE_URL": database_url,
        "JIFEN_REDIS_URL": REDIS_URL,
        "JIFEN_QUEUE_PREFIX": jobs.settings().queue_prefix,
        "JIFEN_SECRET_KEY": "settlement-worker-crash",
        "JIFEN_LOG_FORMAT": "text",
        "STRIPE_API_KEY": "sk_test_settlement",
        "JIFEN_STRIPE_API_BASE": stripe_url,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "jifen.platform.shell.cli", "worker", "--queue", "settlement"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # away from the test run's signals; kill_worker ends it
    )


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (RQ's work horse leaves its parent's process group)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_worker(worker: subprocess.Popen) -> None:
    """SIGKILL the worker and its work horse, wherever the horse's process group is."""
    for pid in [*descendants(worker.pid), worker.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    worker.wait(10)


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_a_worker_killed_mid_payment_pays_once_after_restart(
    settlement,
    stripe_on,
    approved,
    database_url,
):
    batch, a, b, c = approved
    account = settlement.client.get("/v1/settlement/account", headers=b.auth).get_json()
    stripe_on.hang(account["stripe_account_id"], 60)  # B's transfer: made, answer held
    workers = [start_worker(database_url, stripe_on.url)]
    try:
        response = settlement.client.post(
            f"{BATCHES}/{batch['id']}/pay", headers=settlement.closer.auth
        )
        assert response.status_code == 200, response.get_json()
        wait_for(stripe_on.hung.is_set, 60, "the worker to reach B's transfer")
        kill_worker(workers[0])
        assert settlement.instructions(batch["id"])[b.id]["status"] != "paid"
        [made] = [
            t
            for t in ours(stripe_on, batch["id"], "transfer")
            if t["metadata"]["jifen_tenant"] == b.id
        ]

        workers.append(start_worker(database_url, stripe_on.url))
        again = settlement.client.post(
            f"{BATCHES}/{batch['id']}/pay", headers=settlement.closer.auth
        )
        assert again.status_code == 200, again.get_json()

        def ours_paid() -> bool:
            lines = settlement.instructions(batch["id"])
            return all(lines[t.id]["status"] == "paid" for t in (a, b, c))

        wait_for(ours_paid, 60, "our lines to be paid after the restart")
    finally:
        for worker in workers:
            if worker.poll() is None:
                kill_worker(worker)
    lines = settlement.instructions(batch["id"])
    assert lines[b.id]["stripe_object_id"] == made["id"]  # the transfer Stripe already made
    transfers = [
        t for t in ours(stripe_on, batch["id"], "transfer") if t["metadata"]["jifen_tenant"] == b.id
    ]
    assert transfers == [made]  # nothing paid twice
    intents = [
        i["metadata"]["jifen_tenant"] for i in ours(stripe_on, batch["id"], "payment_intent")
    ]
    assert sorted(intents) == sorted([a.id, c.id])


def close_in_worker(cutoff: datetime) -> None:
    jobs.enqueue(services.close_batch, "job:settlement-crash", cutoff, queue_name="settlement")


def _batches_at(cutoff: datetime) -> list[SettlementBatch]:
    with unit_of_work(platform=True) as uow:
        return list(
            uow.session.scalars(select(SettlementBatch).where(SettlementBatch.cutoff == cutoff))
        )


def test_a_worker_killed_mid_close_leaves_nothing_and_closes_once_after_restart(
    settlement, database_url
):
    if not database_url.startswith("postgresql"):
        pytest.skip("holds a PostgreSQL table lock to stop the close half-way")
    a, b = settlement.tenant("0.8"), settlement.tenant("1.5")
    settlement.swap(settlement.card(a), a, b, 1000)
    cutoff = clock.now().astimezone(UTC)
    admin = create_engine(database_url)
    workers = []
    try:
        with admin.connect() as blocker:
            blocker.execute(text("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE"))
            workers.append(start_worker(database_url, "http://127.0.0.1:9"))
            jobs.enqueue(
                services.close_batch, "job:settlement-crash", cutoff, queue_name="settlement"
            )

            def waiting_on_events() -> bool:
                with admin.connect() as probe:
                    return bool(
                        probe.scalar(
                            text(
                                "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                                " current_database() AND wait_event_type = 'Lock'"
                                " AND query ILIKE 'INSERT INTO events%'"
                            )
                        )
                    )

            wait_for(waiting_on_events, 60, "the close to reach its first event")
            kill_worker(workers[0])
            blocker.rollback()  # the killed worker's backend goes on, then finds no client

        def backend_gone() -> bool:
            with admin.connect() as probe:
                return not probe.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                        " current_database() AND query ILIKE 'INSERT INTO events%'"
                        " AND pid <> pg_backend_pid()"
                    )
                )

        wait_for(backend_gone, 60, "the killed worker's transaction to end")
        assert _batches_at(cutoff) == []  # nothing of the half-done close was committed

        workers.append(start_worker(database_url, "http://127.0.0.1:9"))
        close_in_worker(cutoff)
        wait_for(lambda: len(_batches_at(cutoff)) == 1, 60, "the close after the restart")
    finally:
        admin.dispose()
        for worker in workers:
            if worker.poll() is None:
                kill_worker(worker)
    [batch] = _batches_at(cutoff)
    with unit_of_work(platform=True) as uow:
        nets = dict(
            uow.session.execute(
                select(Position.tenant_id, Position.net).where(Position.batch_id == batch.id)
            ).all()
        )
        closed_events = uow.session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.tenant_id == a.id, Event.type == "settlement.batch.closed")
        )
    assert nets[a.id] < 0 < nets[b.id] and nets[a.id] + nets[b.id] <= 0
    assert closed_events == 1
