"""Fixed-window request counters: at most ``limit`` requests per key per minute.

In Redis (shared by every web process) when ``JIFEN_REDIS_URL`` is set, in this process
otherwise. Windows are aligned to the clock's minutes; a refused request learns how many
seconds remain until the next window (``Retry-After``). If Redis cannot be reached the
request is allowed: an outage of the counter must not take the API down.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window ends; meaningful when refused


def window_of(now: datetime) -> tuple[int, int]:
    """The window's number and the whole seconds left in it (at least 1)."""
    epoch = now.timestamp()
    window = int(epoch // WINDOW_SECONDS)
    left = math.ceil((window + 1) * WINDOW_SECONDS - epoch)
    return window, max(1, left)


def decide(count: int, limit: int, retry_after: int) -> Decision:
    return Decision(count <= limit, count, retry_after)


class MemoryCounter:
    """Counts in this process (the embedded, single-process platform)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, now: datetime) -> Decision:
        window, left = window_of(now)
        with self._lock:
            for stale in [k for k in self._counts if k[1] < window]:
                del self._counts[stale]
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
        return decide(count, limit, left)


class RedisCounter:
    """Counts in Redis: ``INCR`` a key per window that expires after the window."""

    def __init__(self, url: str, prefix: str = "jifen:rate") -> None:
        from redis import Redis

        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._prefix = prefix

    def hit(self, key: str, limit: int, now: datetime) -> Decision:
        window, left = window_of(now)
        name = f"{self._prefix}:{key}:{window}"
        try:
            pipeline = self._redis.pipeline()
            pipeline.incr(name)
            pipeline.expire(name, WINDOW_SECONDS * 2)
            count, _ = pipeline.execute()
        except Exception:  # noqa: BLE001 — fail open, loudly
            log.warning("rate limit counter unavailable; request allowed", exc_info=True)
            return Decision(True, 0, left)
        return decide(int(count), limit, left)


def make_counter(redis_url: str | None) -> MemoryCounter | RedisCounter:
    return RedisCounter(redis_url) if redis_url else MemoryCounter()
