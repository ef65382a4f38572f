"""The process cache: rows that never change once stored (a fee schedule version, a
program version, a tenant-wide ledger account), kept by key in each process so that
hot paths skip a query.

One rule for all of them: a cache holds at most ``size`` entries and drops the least
recently used one first. Only what can never change may be kept: there is no expiry and
no invalidation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ProcessCache(Generic[K, V]):
    """A bounded least-recently-used map, safe to share between threads."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError("a cache holds at least one entry")
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
