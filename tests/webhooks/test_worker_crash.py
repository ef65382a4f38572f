"""A real ``jifen worker`` killed in the middle of a webhook delivery: after a restart the
delivery still arrives, under the same event id (issue: outbound webhooks, faults)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from webhook_receiver import start_receiver

from jifen.platform import jobs
from jifen.platform.db import unit_of_work
from jifen.platform.webhooks import delivery
from jifen.platform.webhooks.events import emit
from jifen.platform.webhooks.model import Delivery

REDIS_URL = os.environ.get("JIFEN_TEST_REDIS_URL")
LEASE_SECONDS = 2
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs Redis: set JIFEN_TEST_REDIS_URL")


def start_worker(database_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "JIFEN_DATABASE_URL": database_url,
        "JIFEN_REDIS_URL": REDIS_URL,
        "JIFEN_QUEUE_PREFIX": jobs.settings().queue_prefix,
        "JIFEN_WEBHOOKS_ALLOW_PRIVATE": "1",
        "JIFEN_WEBHOOK_LEASE_SECONDS": str(LEASE_SECONDS),
        "JIFEN_SECRET_KEY": "worker-crash",
        "JIFEN_LOG_FORMAT": "text",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "jifen.platform.shell.cli", "worker", "--queue", "webhooks"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the worker and its work horse form one process group
    )


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_a_worker_killed_mid_delivery_delivers_after_restart(
    api, client, database_url, monkeypatch
):
    receiver, stop_receiver = start_receiver()
    receiver.delay_first = 30  # the first delivery hangs until the worker is killed
    tenant = api.signup()
    created = client.post(
        "/v1/webhook_endpoints", json={"url": receiver.url}, headers=tenant.auth
    ).get_json()
    first_worker = start_worker(database_url)
    second_worker = None
    try:
        with unit_of_work(tenant_id=tenant.id) as uow:
            event = emit(uow, tenant_id=tenant.id, type="points.earned", data={"points": 7})
            uow.commit()
        wait_for(lambda: len(receiver.received) == 1, 60, "the first delivery attempt")
        os.killpg(first_worker.pid, signal.SIGKILL)
        first_worker.wait(10)

        with unit_of_work(tenant_id=tenant.id) as uow:
            pending = uow.session.query(Delivery).filter_by(event_id=event.id).one()
            assert pending.status == "pending" and pending.attempts == 0

        time.sleep(LEASE_SECONDS + 0.5)  # the killed worker's lease runs out
        second_worker = start_worker(database_url)
        monkeypatch.setattr(delivery.settings(), "lease", timedelta(seconds=LEASE_SECONDS))
        assert delivery.relay_due_deliveries()["due"] >= 1  # the relay is platform-wide
        wait_for(lambda: len(receiver.received) == 2, 60, "the delivery after restart")

        ids = {arrival.headers["Webhook-Id"] for arrival in receiver.received}
        assert ids == {event.id}
        assert json.loads(receiver.received[-1].body)["data"] == {"points": 7}

        def delivered() -> bool:
            with unit_of_work(tenant_id=tenant.id) as uow:
                row = uow.session.query(Delivery).filter_by(event_id=event.id).one()
                return row.status == "succeeded"

        wait_for(delivered, 30, "the delivery to be recorded as succeeded")
        log = client.get(
            f"/v1/webhook_endpoints/{created['id']}/deliveries", headers=tenant.auth
        ).get_json()
        assert log["data"][0]["attempts"] == 1 and log["data"][0]["status"] == "succeeded"
    finally:
        for worker in (first_worker, second_worker):
            if worker is not None and worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(10)
        stop_receiver()
