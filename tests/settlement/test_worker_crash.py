"""A real ``jifen worker`` killed in the middle of paying a batch (issue: settlement,
faults): Stripe has made one tenant's transfer but the answer never reaches the worker.
After a restart the batch is paid with the same result, nothing is paid twice (the
deterministic idempotency key returns the transfer Stripe already made) and the audit is
clean (checked by the autouse fixture)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from settlement_support import BATCHES
from test_payments_stripe import approved, ours  # noqa: F401 (a fixture)

from jifen.platform import jobs

REDIS_URL = os.environ.get("JIFEN_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs Redis: set JIFEN_TEST_REDIS_URL")


def start_worker(database_url: str, stripe_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "JIFEN_DATABASE_URL": database_url,
        "JIFEN_REDIS_URL": REDIS_URL,
        "JIFEN_QUEUE_PREFIX": jobs._queue_prefix,
        "JIFEN_SECRET_KEY": "settlement-worker-crash",
        "JIFEN_LOG_FORMAT": "text",
        "STRIPE_API_KEY": "sk_test_settlement",
        "JIFEN_STRIPE_API_BASE": stripe_url,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "jifen.platform.cli", "worker", "--queue", "settlement"],
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


def test_a_worker_killed_mid_payment_pays_once_after_restart(
    settlement,
    stripe_on,
    approved,  # noqa: F811 (the fixture imported above)
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
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait(10)
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
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(10)
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
