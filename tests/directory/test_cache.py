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
