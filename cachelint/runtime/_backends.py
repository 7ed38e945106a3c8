"""Pick the backend for whatever cache object the caller holds.

Detection looks at class names along the MRO (and the module for pymemcache),
so no client library is imported here: ``cachelint.runtime`` imports fine
with redis, pymemcache and Django all absent.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any, Protocol

from . import _memcache, _redis
from ._django import (
    PROXY,
    DjangoPyMemcacheBackend,
    DjangoRedisCacheBackend,
    DjangoRedisPackageBackend,
    unwrap_proxy,
)
from ._encoding import Record, Write, decode_record
from ._mapping import LocMemBackend, MappingBackend

SUPPORTED = (
    "redis.Redis and redis.cluster.RedisCluster; redis.asyncio.Redis and "
    "redis.asyncio.cluster.RedisCluster (with the a* functions); pymemcache Client, "
    "HashClient and PooledClient; Django caches using RedisCache, PyMemcacheCache, "
    "django-redis RedisCache or LocMemCache (also through django.core.cache.cache); "
    "any collections.abc.MutableMapping such as dict"
)

_REDIS_SYNC = {"redis.client.Redis", "redis.cluster.RedisCluster"}
_REDIS_ASYNC = {"redis.asyncio.client.Redis", "redis.asyncio.cluster.RedisCluster"}
_DJANGO_BASE = "django.core.cache.backends.base.BaseCache"
_DJANGO: dict[str, str] = {
    "django.core.cache.backends.redis.RedisCache": "django-redis-builtin",
    "django.core.cache.backends.memcached.PyMemcacheCache": "django-pymemcache",
    "django_redis.cache.RedisCache": "django-redis",
    "django.core.cache.backends.locmem.LocMemCache": "django-locmem",
}


class SyncBackend(Protocol):
    def read(self, key: Any) -> Record | None: ...

    def write(self, key: Any, op: Write) -> bool: ...


class AsyncBackend(Protocol):
    async def read(self, key: Any) -> Record | None: ...

    async def write(self, key: Any, op: Write) -> bool: ...


class RedisBackend:
    def __init__(self, client: Any) -> None:
        self._client = client

    def read(self, key: Any) -> Record | None:
        return decode_record(_redis.read(self._client, key))

    def write(self, key: Any, op: Write) -> bool:
        return _redis.write(self._client, key, op)


class AsyncRedisBackend:
    def __init__(self, client: Any) -> None:
        self._client = client

    async def read(self, key: Any) -> Record | None:
        return decode_record(await _redis.aread(self._client, key))

    async def write(self, key: Any, op: Write) -> bool:
        return await _redis.awrite(self._client, key, op)


class MemcacheBackend:
    def __init__(self, client: Any) -> None:
        self._client = client

    def read(self, key: Any) -> Record | None:
        return decode_record(_memcache.read(self._client, key))

    def write(self, key: Any, op: Write) -> bool:
        return _memcache.write(self._client, key, op)


_SYNC_BACKENDS: dict[str, Callable[[Any], SyncBackend]] = {
    "redis": RedisBackend,
    "memcache": MemcacheBackend,
    "mapping": MappingBackend,
    "django-redis-builtin": DjangoRedisCacheBackend,
    "django-pymemcache": DjangoPyMemcacheBackend,
    "django-redis": DjangoRedisPackageBackend,
    "django-locmem": LocMemBackend,
}


_kind_cache: dict[type, str] = {}


def _classify(tp: type) -> str:
    kind = _kind_cache.get(tp)
    if kind is None:
        kind = _kind_cache[tp] = _kind_of(tp)
    return kind


def _kind_of(tp: type) -> str:
    names = [f"{c.__module__}.{c.__qualname__}" for c in tp.__mro__]
    if PROXY in names:
        return "django-proxy"
    if any(n.startswith("redis.") and n.endswith("Pipeline") for n in names):
        return "redis-pipeline"
    if _REDIS_SYNC.intersection(names):
        return "redis"
    if _REDIS_ASYNC.intersection(names):
        return "redis-async"
    for name in names:
        if name in _DJANGO:
            return _DJANGO[name]
    if _DJANGO_BASE in names:
        return "django-other"
    if any(c.__module__.startswith("pymemcache.client") for c in tp.__mro__):
        return "memcache"  # Client, HashClient, PooledClient, RetryingClient and subclasses
    if issubclass(tp, MutableMapping):
        return "mapping"
    return "unsupported"


def _describe(obj: object) -> str:
    tp = type(obj)
    return f"{tp.__module__}.{tp.__qualname__}"


def _refuse(cache: object, kind: str, *, asynchronous: bool) -> TypeError:
    what = _describe(cache)
    if kind == "redis-pipeline":
        return TypeError(f"{what} is a pipeline: pass the client itself (each call is already "
                         "one round trip)")
    if kind == "redis-async" and not asynchronous:
        return TypeError(f"{what} is an asyncio client: use aset_if_newer, aget_versioned "
                         "and ainvalidate (awaited)")
    if asynchronous and kind != "unsupported":
        return TypeError(f"{what} is not a redis.asyncio client: the a* functions support "
                         "redis.asyncio.Redis and redis.asyncio.cluster.RedisCluster; use "
                         "set_if_newer, get_versioned and invalidate instead")
    if kind == "django-other":
        return TypeError(f"the Django cache backend {what} offers no atomic compare-and-set, "
                         f"so versioned writes cannot be made safe on it; supported: {SUPPORTED}")
    return TypeError(f"unsupported cache object {what}; supported: {SUPPORTED}")


def resolve(cache: Any) -> SyncBackend:
    """The synchronous backend for ``cache`` or a ``TypeError`` naming what is supported."""
    kind = _classify(type(cache))
    if kind == "django-proxy":
        cache = unwrap_proxy(cache)
        kind = _classify(type(cache))
    backend = _SYNC_BACKENDS.get(kind)
    if backend is None:
        raise _refuse(cache, kind, asynchronous=False)
    return backend(cache)


def resolve_async(cache: Any) -> AsyncBackend:
    """The asyncio backend for ``cache`` (``redis.asyncio`` clients only)."""
    kind = _classify(type(cache))
    if kind != "redis-async":
        raise _refuse(cache, kind, asynchronous=True)
    return AsyncRedisBackend(cache)
