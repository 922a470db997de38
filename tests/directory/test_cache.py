from __future__ import annotations

import uuid
from typing import Any

from django.core.cache import cache

from directory.cache import cached_then_counted


def test_counters_move_only_while_the_value_is_cached(redis_cache: None) -> None:
    key = f"value:{uuid.uuid4()}"
    counters = [f"count:{uuid.uuid4()}", f"count:{uuid.uuid4()}"]
    assert cached_then_counted(key, counters, ttl=5) is None
    assert cache.get_many(counters) == {}
    cache.set(key, {"token": "t1"})
    assert cached_then_counted(key, counters, ttl=5) == ({"token": "t1"}, [1, 1])
    assert cached_then_counted(key, counters, ttl=5) == ({"token": "t1"}, [2, 2])
    assert cache.get(counters[0]) == 2
    redis = cache._cache.get_client()  # type: ignore[attr-defined]
    assert 0 < redis.ttl(cache.make_key(counters[1])) <= 5
    cache.delete(key)
    assert cached_then_counted(key, counters, ttl=5) is None
    assert cache.get(counters[0]) == 2


def test_without_redis_there_is_no_single_round_trip(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.set("value", 1)
    assert cached_then_counted("value", ["count"], ttl=5) is None


def test_the_same_bytes_decode_once_and_a_new_value_is_seen_at_once(redis_cache: None) -> None:
    key, counters = f"value:{uuid.uuid4()}", [f"count:{uuid.uuid4()}"]
    cache.set(key, {"token": "t1"})
    first = cached_then_counted(key, counters, ttl=5)
    again = cached_then_counted(key, counters, ttl=5)
    assert first is not None and again is not None
    assert again[0] is first[0]  # not unpickled again
    # Another process (another node) replaces the value: the next read has it.
    cache.set(key, {"token": "t2"})
    assert cached_then_counted(key, counters, ttl=5) == ({"token": "t2"}, [3])
    cache.delete(key)
    assert cached_then_counted(key, counters, ttl=5) is None
    cache.set(key, {"token": "t1"})
    back = cached_then_counted(key, counters, ttl=5)
    assert back is not None and back[0] == {"token": "t1"} and back[0] is not first[0]
