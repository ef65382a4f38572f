"""The ``Idempotency-Key`` store (API.md, Conventions).

A POST that carries the header goes through three steps:

1. ``begin`` (before the view): look the key up for this caller. A finished request with
   the same body hash is replayed (``Idempotent-Replayed: true``); another body is 409
   ``idempotency_key_reused``; one still running is 409 ``idempotency_key_in_use``.
   Otherwise the key is claimed in its own short transaction with a fresh claim token.
2. The use case runs. When its unit of work commits, ``_record_response`` stores the
   status and body in that same transaction, on the condition that the claim is still
   ours. So the effect and the stored response are committed together or not at all.
3. If the use case fails, the claim is released and the key can be used again.

A claim abandoned by a crashed process is taken over after ``CLAIM_TIMEOUT``; the old
process, should it wake up, finds the claim token changed and rolls back. A successful
view whose unit of work stored nothing (it returned no result, or ran work that commits
on its own, like ``POST /v1/platform/jobs``) has its response stored after the fact by
``record_response``.

Stored responses can hold secrets shown once (signup's client secret), so they are sealed
with AES-GCM under a key derived from the app's ``SECRET_KEY``, bound to the caller and
key; the database never holds them in plain text.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import Integer, String, Text, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from . import clock
from .db import Base, Created, UnitOfWork, on_unit_of_work_start, unit_of_work
from .errors import Conflict, IdempotencyKeyInUse, IdempotencyKeyReused
from .ids import new_id

CLAIM_TIMEOUT = timedelta(minutes=2)
MAX_KEY_LENGTH = 255


class IdempotencyRecord(Created, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller", "key", name="idempotency_keys_caller_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("idk"))
    caller: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime]
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)


@dataclass
class Claim:
    caller: str
    key: str
    token: str
    # callable(result) -> (status, JSON-able body), set by the view layer
    render: Any = None
    recorded: bool = False


@dataclass
class Replay:
    status: int
    body: Any


_current_claim: contextvars.ContextVar[Claim | None] = contextvars.ContextVar(
    "idempotency_claim", default=None
)


def request_hash(method: str, path: str, body: bytes) -> str:
    canonical = body
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True).encode()
    except ValueError:
        pass
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def begin(caller: str, key: str, fingerprint: str, *, ttl: timedelta) -> Replay | Claim:
    """Replay a finished request, refuse a conflicting one, or claim the key."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Conflict(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
            code="idempotency_key_invalid",
        )
    now = clock.now()
    token = secrets.token_hex(16)
    with unit_of_work(platform=True) as uow:
        record = uow.session.scalars(
            select(IdempotencyRecord)
            .where(IdempotencyRecord.caller == caller, IdempotencyRecord.key == key)
            .with_for_update()
        ).one_or_none()
        if record is not None and record.expires_at <= now:
            uow.session.delete(record)
            uow.session.flush()
            record = None
        if record is None:
            uow.session.add(
                IdempotencyRecord(
                    caller=caller,
                    key=key,
                    request_hash=fingerprint,
                    claim_token=token,
                    claimed_at=now,
                    expires_at=now + ttl,
                )
            )
            try:
                uow.commit()
            except IntegrityError:
                raise IdempotencyKeyInUse(
                    "A request with this Idempotency-Key is in progress; retry later.",
                ) from None
            return _claimed(caller, key, token)
        if record.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with a different request.",
                param="Idempotency-Key",
            )
        if record.response_status is not None:
            return Replay(record.response_status, _unseal(caller, key, record.response_body))
        if now - record.claimed_at < CLAIM_TIMEOUT:
            raise IdempotencyKeyInUse(
                "A request with this Idempotency-Key is in progress; retry later."
            )
        record.claim_token, record.claimed_at = token, now  # take over an abandoned claim
        uow.commit()
        return _claimed(caller, key, token)


def _claimed(caller: str, key: str, token: str) -> Claim:
    claim = Claim(caller, key, token)
    _current_claim.set(claim)
    return claim


def current_claim() -> Claim | None:
    return _current_claim.get()


def finish(claim: Claim) -> None:
    """After the view: release a claim no unit of work recorded (the request failed or
    wrote nothing), so the key may be retried."""
    _current_claim.set(None)
    if claim.recorded:
        return
    with unit_of_work(platform=True) as uow:
        uow.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.caller == claim.caller,
                IdempotencyRecord.key == claim.key,
                IdempotencyRecord.claim_token == claim.token,
                IdempotencyRecord.response_status.is_(None),
            )
        )
        uow.commit()


def _record_response(uow: UnitOfWork, result: Any) -> None:
    claim = _current_claim.get()
    if claim is None or claim.recorded or claim.render is None or result is None:
        return
    status, body = claim.render(result)
    outcome = uow.session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.caller == claim.caller,
            IdempotencyRecord.key == claim.key,
            IdempotencyRecord.claim_token == claim.token,
        )
        .values(response_status=status, response_body=_seal(claim.caller, claim.key, body))
        .execution_options(synchronize_session=False)
    )
    if outcome.rowcount != 1:
        raise IdempotencyKeyInUse("This request's Idempotency-Key claim was taken over.")
    uow.after_commit(lambda: setattr(claim, "recorded", True))


def record_response(claim: Claim, status: int, body: Any) -> None:
    """After a successful view that stored no response in its own unit of work: store
    what the client got, so a retry with the key replays it instead of running again."""
    if claim.recorded:
        return
    with unit_of_work(platform=True) as uow:
        outcome = uow.session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.caller == claim.caller,
                IdempotencyRecord.key == claim.key,
                IdempotencyRecord.claim_token == claim.token,
                IdempotencyRecord.response_status.is_(None),
            )
            .values(response_status=status, response_body=_seal(claim.caller, claim.key, body))
            .execution_options(synchronize_session=False)
        )
        uow.commit()
    claim.recorded = outcome.rowcount == 1


def _cipher() -> AESGCM:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return AESGCM(hashlib.sha256(b"jifen idempotent responses\n" + secret).digest())


def _seal(caller: str, key: str, body: Any) -> str:
    nonce = secrets.token_bytes(12)
    sealed = _cipher().encrypt(nonce, json.dumps(body).encode(), f"{caller}\n{key}".encode())
    return "v1:" + base64.b64encode(nonce + sealed).decode()


def _unseal(caller: str, key: str, stored: str | None) -> Any:
    """Raises Conflict when the stored response cannot be read (``SECRET_KEY`` changed)."""
    raw = base64.b64decode((stored or "").removeprefix("v1:"))
    try:
        plain = _cipher().decrypt(raw[:12], raw[12:], f"{caller}\n{key}".encode())
    except (InvalidTag, ValueError):
        raise Conflict(
            "The response stored for this Idempotency-Key can no longer be read; use a new key.",
            code="idempotency_key_unreadable",
            param="Idempotency-Key",
        ) from None
    return json.loads(plain)


def purge_expired() -> int:
    """Delete keys past their retention (run by the periodic ``housekeeping`` job)."""
    with unit_of_work(platform=True) as uow:
        result = uow.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= clock.now())
        )
        uow.commit()
        return result.rowcount or 0


on_unit_of_work_start(lambda uow: uow.before_commit(_record_response))
