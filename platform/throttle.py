"""Counting attempts per key, to refuse too many: rate limits and sign-in throttling.

Two kinds, both keyed by a name (what is limited) and a key (whose attempts: a card, a
client address, an email + address):

* ``allow(name, key, limit=, window=)``: at most ``limit`` attempts in a fixed window of
  ``window`` seconds; the attempt is counted either way. Returns the seconds to wait
  (0: allowed). ``window_count`` reads the count without adding to it (a lock-out after
  so many failures: the console's sign-in).
* ``failure_wait(name, key)`` / ``record_failure(name, key)``: a growing delay after
  failures — the first ``FREE_FAILURES`` cost nothing, then each one doubles the wait
  (1 s, 2 s, 4 s, … up to ``MAX_DELAY``) counted from the last failure; the count is
  forgotten ``FAILURE_MEMORY`` seconds after the last failure.

Counts live in Redis when ``JIFEN_REDIS_URL`` is set, else in the database
(``throttle_counters``, one upsert per attempt): either way every web process shares them,
so more workers never mean more guesses. Time is ``clock.now()``, so tests can move it.
Keys are hashed before they are stored, so card numbers and addresses never sit in Redis
or the database in clear. A Redis outage lets attempts through (logged) rather than
locking everyone out. Calls open their own transaction: never call them inside another
unit of work (SQLite has one writer).
"""

from __future__ import annotations

import hashlib
import logging
import math

from flask import current_app
from sqlalchemy import BigInteger, String, bindparam, case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from . import clock
from .db import Base, BigInt, unit_of_work

log = logging.getLogger(__name__)

FREE_FAILURES = 3
MAX_DELAY = 15 * 60
FAILURE_MEMORY = 60 * 60


def _hashed(name: str, key: str) -> str:
    return name + ":" + hashlib.sha256(key.encode()).hexdigest()[:32]


class ThrottleCounter(Base):
    """One counter: attempts under ``key`` (a hashed name and key, with the window for
    fixed windows), the last one and when the row may be forgotten (epoch ms)."""

    __tablename__ = "throttle_counters"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    count: Mapped[int] = mapped_column(BigInt)
    last_ms: Mapped[int] = mapped_column(BigInt)
    forget_ms: Mapped[int] = mapped_column(BigInt, index=True)


def _upsert(dialect_insert):
    table = ThrottleCounter
    fresh = bindparam("now_ms", type_=BigInteger)
    statement = dialect_insert(table).values(
        key=bindparam("key"), count=1, last_ms=fresh, forget_ms=bindparam("forget_ms")
    )
    return statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "count": case((table.forget_ms <= fresh, 1), else_=table.count + 1),
            "last_ms": fresh,
            "forget_ms": statement.excluded.forget_ms,
        },
    ).returning(table.count)


_UPSERT = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


class DatabaseCounters:
    def add(self, name: str, ttl: float, now: float) -> tuple[int, float]:
        now_ms = int(now * 1000)
        with unit_of_work(platform=True) as uow:
            statement = _UPSERT[uow.session.get_bind().dialect.name]
            count = uow.session.execute(
                statement,
                {"key": name, "now_ms": now_ms, "forget_ms": now_ms + int(ttl * 1000)},
            ).scalar_one()
            uow.commit()
        return int(count), now

    def get(self, name: str, now: float) -> tuple[int, float]:
        with unit_of_work(platform=True) as uow:
            row = uow.session.get(ThrottleCounter, name)
        if row is None or row.forget_ms <= int(now * 1000):
            return 0, 0.0
        return row.count, row.last_ms / 1000


def forget_stale(now: float | None = None) -> int:
    """Delete counters past their memory (housekeeping)."""
    now = clock.now().timestamp() if now is None else now
    with unit_of_work(platform=True) as uow:
        deleted = uow.session.execute(
            delete(ThrottleCounter).where(ThrottleCounter.forget_ms <= int(now * 1000))
        ).rowcount
        uow.commit()
    return deleted


class RedisCounters:
    def __init__(self, url: str, prefix: str) -> None:
        from redis import Redis

        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._prefix = f"{prefix}jifen:throttle:"

    def add(self, name: str, ttl: float, now: float) -> tuple[int, float]:
        key = self._prefix + name
        try:
            pipeline = self._redis.pipeline()
            pipeline.hincrby(key, "count", 1)
            pipeline.hset(key, "last", repr(now))
            pipeline.expire(key, max(1, math.ceil(ttl)))
            count, _, _ = pipeline.execute()
            return int(count), now
        except Exception:  # noqa: BLE001 — an outage must not lock every user out
            log.warning("throttle unavailable", exc_info=True)
            return 0, now

    def get(self, name: str, now: float) -> tuple[int, float]:
        try:
            values = self._redis.hgetall(self._prefix + name)
        except Exception:  # noqa: BLE001
            log.warning("throttle unavailable", exc_info=True)
            return 0, 0.0
        return int(values.get(b"count", 0)), float(values.get(b"last", 0.0))


def _counters() -> DatabaseCounters | RedisCounters:
    extensions = current_app.extensions
    if "jifen.throttle" not in extensions:
        config = extensions["jifen.config"]
        extensions["jifen.throttle"] = (
            RedisCounters(config.redis_url, config.queue_prefix)
            if config.redis_url
            else DatabaseCounters()
        )
    return extensions["jifen.throttle"]


def allow(name: str, key: str, *, limit: int, window: int, now: float | None = None) -> int:
    """Count an attempt; the seconds until the window ends if it is over ``limit``."""
    now = clock.now().timestamp() if now is None else now
    count, _ = _counters().add(f"{_hashed(name, key)}:{int(now // window)}", window * 2, now)
    return window_left(window, now=now) if count > limit else 0


def window_count(name: str, key: str, *, window: int, now: float | None = None) -> int:
    """Attempts counted for ``key`` in the current window of ``window`` seconds, and the
    seconds left in it."""
    now = clock.now().timestamp() if now is None else now
    count, _ = _counters().get(f"{_hashed(name, key)}:{int(now // window)}", now)
    return count


def window_left(window: int, *, now: float | None = None) -> int:
    now = clock.now().timestamp() if now is None else now
    return max(1, math.ceil((int(now // window) + 1) * window - now))


def delay_after(failures: int) -> int:
    if failures < FREE_FAILURES:
        return 0
    return min(MAX_DELAY, 2 ** (failures - FREE_FAILURES))


def failure_wait(name: str, key: str, *, now: float | None = None) -> int:
    """Seconds to wait before the next attempt for ``key`` (0: now)."""
    now = clock.now().timestamp() if now is None else now
    count, last = _counters().get(_hashed(name, key), now)
    delay = delay_after(count)
    return max(0, math.ceil(last + delay - now)) if delay else 0


def record_failure(name: str, key: str, *, now: float | None = None) -> None:
    now = clock.now().timestamp() if now is None else now
    _counters().add(_hashed(name, key), FAILURE_MEMORY, now)
