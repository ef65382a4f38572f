"""The process cache keeps at most its size and drops the least recently used first."""

from __future__ import annotations

import pytest

from jifen.platform.cache import ProcessCache


def test_a_full_cache_drops_the_least_recently_used_entry():
    cache: ProcessCache[str, int] = ProcessCache(size=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_putting_a_known_key_again_keeps_one_entry():
    cache: ProcessCache[str, int] = ProcessCache(size=2)
    cache.put("a", 1)
    cache.put("a", 1)
    assert len(cache) == 1


def test_a_cache_holds_at_least_one_entry():
    with pytest.raises(ValueError):
        ProcessCache(size=0)
