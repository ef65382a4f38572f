"""Sending deliveries: sign, POST, log the attempt, retry with backoff, give up.

A delivery is due when it is pending and its ``next_attempt_at`` has passed. It is sent
right after the emitting transaction commits, and the periodic ``webhooks`` job (every
minute) sends whatever is due: retries, and anything whose first send was lost to a
crash. A lease (``locked_until``) keeps two workers from sending one delivery at once;
receivers still deduplicate by ``webhook-id``, as webhooks are at-least-once.

Backoff after failed attempts: 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h; after the
eighth failed attempt the delivery is ``failed`` (visible in the delivery log, and it
can be replayed).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from flask import Flask, current_app
from sqlalchemy import or_, select, update

from jifen.platform import clock, jobs
from jifen.platform.config import Config
from jifen.platform.db import UnitOfWork, unit_of_work
from jifen.platform.http import Timestamp

from . import signing
from .model import Delivery, DeliveryAttempt, Event, WebhookEndpoint

log = logging.getLogger(__name__)

BACKOFF = [timedelta(seconds=s) for s in (10, 60, 300, 1800, 7200, 21600, 43200)]
MAX_ATTEMPTS = len(BACKOFF) + 1
TIMEOUT_SECONDS = 10
RELAY_BATCH = 500


@dataclass
class DeliverySettings:
    """Kept on the app as ``app.extensions["jifen.webhooks"]``."""

    # How long a worker owns a delivery it is sending; a worker killed mid-send leaves it
    # to be retried once the lease runs out. Longer than the HTTP timeout.
    lease: timedelta
    # Loopback and private addresses are refused unless allowed (tests, local
    # development): a tenant must not make Jifen call into its own network.
    allow_private_addresses: bool


def init_app(app: Flask, config: Config) -> None:
    app.extensions["jifen.webhooks"] = DeliverySettings(
        lease=timedelta(seconds=config.webhook_lease_seconds),
        allow_private_addresses=config.webhooks_allow_private,
    )


def settings() -> DeliverySettings:
    return current_app.extensions["jifen.webhooks"]


def send_after_commit(uow: UnitOfWork, delivery_id: str) -> None:
    jobs.enqueue_after_commit(
        uow, deliver, delivery_id, job_id=f"whd-{delivery_id}-0", queue_name="webhooks"
    )


def deliver(delivery_id: str) -> str:
    """Make one attempt at a due delivery. Returns its status afterwards. A delivery that
    is not due, or leased by another worker, is left alone."""
    now = clock.now()
    with unit_of_work(platform=True) as uow:
        leased = uow.session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.status == "pending",
                Delivery.next_attempt_at <= now,
                or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
            )
            .values(locked_until=now + settings().lease)
        ).rowcount
        if leased != 1:
            return "skipped"
        delivery = uow.session.get(Delivery, delivery_id)
        event = uow.session.get(Event, delivery.event_id)
        endpoint = uow.session.get(WebhookEndpoint, delivery.endpoint_id)
        uow.commit()
    body = json.dumps(event_payload(event), separators=(",", ":")).encode()
    status_code, error, elapsed_ms = _post(endpoint, event.id, body)
    return _record_attempt(delivery, status_code, error, elapsed_ms)


def event_payload(event: Event) -> dict:
    return {
        "id": event.id,
        "object": "event",
        "type": event.type,
        "created": Timestamp()._serialize(event.created, None, None),
        "tenant": event.tenant_id,
        "data": event.data,
    }


def _post(
    endpoint: WebhookEndpoint, message_id: str, body: bytes
) -> tuple[int | None, str | None, int]:
    started = time.perf_counter()
    timestamp = int(clock.now().timestamp())
    try:
        _refuse_private_address(endpoint.url)
        response = requests.post(
            endpoint.url,
            data=body,
            headers=signing.headers(endpoint.secret, message_id, timestamp, body),
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status_code, error = response.status_code, None
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}: {response.text[:200]}"
    except (requests.RequestException, ValueError) as exc:
        status_code, error = None, f"{type(exc).__name__}: {exc}"[:500]
    return status_code, error, int((time.perf_counter() - started) * 1000)


def _refuse_private_address(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    if settings().allow_private_addresses:
        return
    for info in socket.getaddrinfo(parts.hostname, parts.port or 443):
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local:
            raise ValueError(f"{parts.hostname} resolves to a private address")


def _record_attempt(
    delivery: Delivery, status_code: int | None, error: str | None, elapsed_ms: int
) -> str:
    now = clock.now()
    succeeded = error is None
    attempts = delivery.attempts + 1
    if succeeded:
        changes = {"status": "succeeded", "delivered_at": now, "next_attempt_at": None}
    elif attempts >= MAX_ATTEMPTS:
        changes = {"status": "failed", "next_attempt_at": None}
    else:
        changes = {"next_attempt_at": now + BACKOFF[attempts - 1]}
    with unit_of_work(platform=True) as uow:
        uow.session.add(
            DeliveryAttempt(
                tenant_id=delivery.tenant_id,
                delivery_id=delivery.id,
                number=attempts,
                status_code=status_code,
                error=error,
                duration_ms=elapsed_ms,
                succeeded=succeeded,
            )
        )
        uow.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id)
            .values(
                attempts=attempts,
                last_status_code=status_code,
                last_error=error,
                locked_until=None,
                **changes,
            )
        )
        uow.commit()
    if not succeeded:
        log.info("webhook delivery %s attempt %s failed: %s", delivery.id, attempts, error)
    return changes.get("status", "pending")


@jobs.periodic("webhooks", cron="* * * * *", queue="webhooks")
def relay_due_deliveries() -> dict:
    """Send every webhook delivery that is due: retries, and first sends lost to a crash."""
    now = clock.now()
    with unit_of_work(platform=True) as uow:
        due = uow.session.execute(
            select(Delivery.id, Delivery.attempts)
            .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
            .where(or_(Delivery.locked_until.is_(None), Delivery.locked_until < now))
            .order_by(Delivery.next_attempt_at)
            .limit(RELAY_BATCH)
        ).all()
    # The minute is part of the job id: a job of a crashed worker keeps its id in RQ's
    # failed registry, and the retry must not be mistaken for a duplicate of it.
    minute = now.strftime("%Y%m%d%H%M")
    for delivery_id, attempts in due:
        jobs.enqueue(
            deliver,
            delivery_id,
            job_id=f"whd-{delivery_id}-{attempts}-{minute}",
            queue_name="webhooks",
        )
    return {"due": len(due)}
