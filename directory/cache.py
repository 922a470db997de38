"""The Redis cache backend, made cheap enough for the SCIM hot path, and windowed counters.

Cache plumbing, with no rule of its own; it sits in the bottom layer (like
directory.prepared) so that every layer above may use it: the settings name the
backend, scim.throttle counts its rate windows here.

Django's RedisCache builds a new redis-py client object for every cache call, and a
redis-py 7+ client fills a ~170-entry callback table on construction: about 0.2 ms
of CPU per call, several times per SCIM request. This backend keeps one client per
connection pool (clients are thread-safe; the pool reconnects after a fork).
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from django.utils.functional import cached_property


# The private attributes below are Django 5.2's (django/core/cache/backends/redis.py);
# the type stubs do not declare them.
class _ReusingClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._clients[index] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    @cached_property
    def _cache(self) -> RedisCacheClient:
        return _ReusingClient(self._servers, **self._options)  # type: ignore[attr-defined]

    @cached_property
    def _get_then_count(self) -> Any:
        return self._cache.get_client(write=True).register_script(_GET_THEN_COUNT)


# KEYS[1] is a cached value, KEYS[2..] counters that live ARGV[1] seconds. Only when
# the value is there does each counter go up by one; the reply is the value and the
# new counts, or nil.
_GET_THEN_COUNT = """
local value = redis.call('GET', KEYS[1])
if not value then return nil end
local reply = {value}
for i = 2, #KEYS do
    redis.call('SET', KEYS[i], 0, 'EX', ARGV[1], 'NX')
    reply[i] = redis.call('INCR', KEYS[i])
end
return reply
"""


# The last value each key's bytes decoded to in this process: (bytes, value).
_decoded: dict[str, tuple[bytes, Any]] = {}
_DECODED_MAX = 1_000


def cached_then_counted(key: str, counters: list[str], *, ttl: int) -> tuple[Any, list[int]] | None:
    """The value cached at `key` and, only if there is one, each counter (created with
    a `ttl` in seconds) plus one, in a single Redis round trip. None when nothing is
    cached at `key` (no counter moves then) or the cache is not Redis. Raises when
    Redis is unreachable: the caller decides what that means.

    Redis is asked every time; only the unpickling is saved. While the bytes at `key`
    stay the same, the process hands out the object they decoded to before (a SCIM
    token with its directory and org: unpickling them was 4 % of a web worker's CPU in
    a sync). So the value is shared between requests: callers read it, and may only
    set what they also write to the database (tokens.auth.token_touch). A new value at
    the key, or none, is seen on the next call, as before."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    keys = [backend.make_and_validate_key(k) for k in (key, *counters)]
    reply = backend._get_then_count(keys=keys, args=[ttl])
    if reply is None:
        return None
    raw = reply[0]
    known = _decoded.get(key)
    if known is not None and known[0] == raw:
        value = known[1]
    else:
        value = backend._cache._serializer.loads(raw)  # type: ignore[attr-defined]
        if len(_decoded) >= _DECODED_MAX:
            _decoded.clear()
        _decoded[key] = (raw, value)
    return value, [int(v) for v in reply[1:]]


def counters_hit(keys: list[str], *, ttl: int) -> list[int]:
    """Add one to each counter (created with a `ttl` in seconds) and return the new
    values. On Redis this is one round trip for all of them; any other cache (each
    process's own memory in embedded mode) counts key by key. Raises when the cache
    is unreachable: the caller decides what that means."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        pipe = backend._cache.get_client(write=True).pipeline(transaction=False)
        for key in keys:
            full = backend.make_and_validate_key(key)
            pipe.set(full, 0, ex=ttl, nx=True)
            pipe.incr(full)
        return [int(v) for v in pipe.execute()[1::2]]
    values = []
    for key in keys:
        if backend.add(key, 1, ttl):
            values.append(1)
            continue
        try:
            values.append(backend.incr(key))
        except ValueError:  # expired between add and incr
            backend.add(key, 1, ttl)
            values.append(1)
    return values
