"""Pick the backend for whatever cache object the caller holds.

Detection looks at class names along the MRO (and the module for pymemcache),
so no client library is imported here: ``cachelint.runtime`` imports fine
with redis, pymemcache and Django all absent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, NamedTuple

from . import _django, _mapping, _memcache, _redis
from ._django import PROXY, unwrap_proxy
from ._encoding import Record, Write

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


class Driver(NamedTuple):
    """How to read and compare-and-set on one kind of cache (stateless)."""

    read: Callable[[Any, Any], Record | None]
    write: Callable[[Any, Any, Write], bool]


class AsyncDriver(NamedTuple):
    read: Callable[[Any, Any], Awaitable[Record | None]]
    write: Callable[[Any, Any, Write], Awaitable[bool]]


_DRIVERS: dict[str, Driver] = {
    "redis": Driver(_redis.read, _redis.write),
    "memcache": Driver(_memcache.read, _memcache.write),
    "mapping": Driver(_mapping.mapping_read, _mapping.mapping_write),
    "django-redis-builtin": Driver(_django.rediscache_read, _django.rediscache_write),
    "django-pymemcache": Driver(_django.pymemcache_read, _django.pymemcache_write),
    "django-redis": Driver(_django.django_redis_read, _django.django_redis_write),
    "django-locmem": Driver(_mapping.locmem_read, _mapping.locmem_write),
}
_ASYNC_REDIS = AsyncDriver(_redis.aread, _redis.awrite)


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


def resolve(cache: Any) -> tuple[Driver, Any]:
    """The driver for ``cache`` and the object to drive, or a ``TypeError``."""
    kind = _classify(type(cache))
    if kind == "django-proxy":
        cache = unwrap_proxy(cache)
        kind = _classify(type(cache))
    driver = _DRIVERS.get(kind)
    if driver is None:
        raise _refuse(cache, kind, asynchronous=False)
    return driver, cache


def resolve_async(cache: Any) -> AsyncDriver:
    """The driver for a ``redis.asyncio`` client, or a ``TypeError``."""
    if _classify(type(cache)) != "redis-async":
        raise _refuse(cache, _classify(type(cache)), asynchronous=True)
    return _ASYNC_REDIS
