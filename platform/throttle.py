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

Counts live in Redis when ``JIFEN_REDIS_URL`` is set (shared by every web process), else
in this process's memory (the embedded default runs one process). Time is ``clock.now()``,
so tests can move it. Keys are hashed before
they are stored, so card numbers and addresses never sit in Redis in clear. A Redis
outage lets attempts through (logged) rather than locking everyone out.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading

from flask import current_app

from . import clock

log = logging.getLogger(__name__)

FREE_FAILURES = 3
MAX_DELAY = 15 * 60
FAILURE_MEMORY = 60 * 60


def _hashed(name: str, key: str) -> str:
    return name + ":" + hashlib.sha256(key.encode()).hexdigest()[:32]


class MemoryCounters:
    def __init__(self) -> None:
        self._values: dict[str, tuple[int, float, float]] = {}  # count, last, forget at
        self._lock = threading.Lock()

    def add(self, name: str, ttl: float, now: float) -> tuple[int, float]:
        with self._lock:
            for stale in [k for k, v in self._values.items() if v[2] <= now]:
                del self._values[stale]
            count, _last, _ = self._values.get(name, (0, now, 0))
            self._values[name] = (count + 1, now, now + ttl)
            return count + 1, now

    def get(self, name: str, now: float) -> tuple[int, float]:
        with self._lock:
            count, last, forget_at = self._values.get(name, (0, 0.0, 0))
            return (count, last) if forget_at > now else (0, 0.0)


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


def _counters() -> MemoryCounters | RedisCounters:
    extensions = current_app.extensions
    if "jifen.throttle" not in extensions:
        config = extensions["jifen.config"]
        extensions["jifen.throttle"] = (
            RedisCounters(config.redis_url, config.queue_prefix)
            if config.redis_url
            else MemoryCounters()
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
