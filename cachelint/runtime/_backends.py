"""Pick the backend for whatever cache object the caller holds.

Detection looks at class names along the MRO (and the module for pymemcache),
so no client library is imported here: ``cachelint.runtime`` imports fine
with redis, pymemcache, Django, python-memcached, pylibmc, Flask-Caching,
cachelib, aiocache and aiomcache all absent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, NamedTuple

from . import _aiocache, _django, _flask, _mapping, _memcache, _python_memcached, _redis
from ._django import PROXY, unwrap_proxy
from ._encoding import Record, Write

SUPPORTED = (
    "redis.Redis and redis.cluster.RedisCluster; redis.asyncio.Redis and "
    "redis.asyncio.cluster.RedisCluster (with the a* functions); pymemcache Client, "
    "HashClient and PooledClient; Django caches using RedisCache, PyMemcacheCache, "
    "django-redis RedisCache or LocMemCache (also through django.core.cache.cache); "
    "python-memcached memcache.Client built with cache_cas=True; pylibmc Client with "
    "behaviors={'cas': True}; Flask-Caching Cache (or its cachelib backend) using RedisCache, "
    "RedisSentinelCache, RedisClusterCache or MemcachedCache over one of those memcached "
    "clients or pymemcache; aiocache RedisCache and MemcachedCache and aiomcache Client "
    "(with the a* functions); any collections.abc.MutableMapping such as dict"
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
_PYTHON_MEMCACHED = "memcache.Client"
_PYLIBMC_POOLS = {"pylibmc.pools.ClientPool", "pylibmc.pools.ThreadMappedPool"}
_CACHELIB_REDIS = "cachelib.redis.RedisCache"
_CACHELIB_MEMCACHED = "cachelib.memcached.MemcachedCache"
_CACHELIB_BASE = "cachelib.base.BaseCache"
_AIOCACHE: dict[str, str] = {
    "aiocache.backends.redis.RedisBackend": "aiocache-redis",
    "aiocache.backends.memcached.MemcachedBackend": "aiocache-memcached",
    "aiocache.backends.memory.SimpleMemoryBackend": "aiocache-memory",
    "aiomcache.client.FlagClient": "aiomcache",
}
_CACHELIB_SUPPORTED = (
    "RedisCache, RedisSentinelCache and RedisClusterCache over redis-py, and MemcachedCache over "
    "python-memcached (cache_cas=True), pylibmc (behaviors={'cas': True}) or pymemcache"
)
_ASYNC_ONLY = frozenset(("redis-async", "aiocache-redis", "aiocache-memcached", "aiomcache"))


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
    "python-memcached": Driver(_python_memcached.pm_read, _python_memcached.pm_write),
    "pylibmc": Driver(_python_memcached.lm_read, _python_memcached.lm_write),
    "pylibmc-pool": Driver(_python_memcached.pool_read, _python_memcached.pool_write),
    "cachelib-redis": Driver(_flask.redis_read, _flask.redis_write),
}
# cachelib MemcachedCache, by the kind of its _client
_CACHELIB_MEMCACHED_DRIVERS: dict[str, Driver] = {
    "memcache": Driver(_flask.pymemcache_read, _flask.pymemcache_write),
    "python-memcached": Driver(_flask.python_memcached_read, _flask.python_memcached_write),
    "pylibmc": Driver(_flask.pylibmc_read, _flask.pylibmc_write),
    "pylibmc-pool": Driver(_flask.pylibmc_read, _flask.pylibmc_write),  # reserved per call
}
_ASYNC_DRIVERS: dict[str, AsyncDriver] = {
    "redis-async": AsyncDriver(_redis.aread, _redis.awrite),
    "aiocache-redis": AsyncDriver(_aiocache.redis_read, _aiocache.redis_write),
    "aiocache-memcached": AsyncDriver(_aiocache.memcached_read, _aiocache.memcached_write),
    "aiomcache": AsyncDriver(_aiocache.mc_read, _aiocache.mc_write),
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
    if _flask.EXTENSION in names:
        return "flask-cache"
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
    for name in names:
        if name in _AIOCACHE:
            return _AIOCACHE[name]
    if _CACHELIB_REDIS in names:
        return "cachelib-redis"
    if _CACHELIB_MEMCACHED in names:
        return "cachelib-memcached"
    if _CACHELIB_BASE in names:
        return "cachelib-other"
    if _PYTHON_MEMCACHED in names:
        return "python-memcached"
    if "pylibmc.client.Client" in names:
        return "pylibmc"
    if _PYLIBMC_POOLS.intersection(names):
        return "pylibmc-pool"
    if any(c.__module__.startswith("pymemcache.client") for c in tp.__mro__):
        return "memcache"  # Client, HashClient, PooledClient, RetryingClient and subclasses
    if issubclass(tp, MutableMapping):
        return "mapping"
    return "unsupported"


def _describe(obj: object) -> str:
    tp = type(obj)
    return f"{tp.__module__}.{tp.__qualname__}"


def _refuse(cache: Any, kind: str, *, asynchronous: bool) -> TypeError:
    what = _describe(cache)
    if kind == "redis-pipeline":
        return TypeError(f"{what} is a pipeline: pass the client itself (each call is already "
                         "one round trip)")
    if kind in _ASYNC_ONLY and not asynchronous:
        return TypeError(f"{what} is an asyncio client: use aset_if_newer, aget_versioned, "
                         "aget_value and ainvalidate (awaited)")
    if asynchronous and kind not in ("unsupported", "aiocache-memory"):
        return TypeError(f"{what} is not an asyncio cache: the a* functions support "
                         "redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster, aiocache "
                         "RedisCache and MemcachedCache and aiomcache Client; use "
                         "set_if_newer, get_versioned and invalidate instead")
    if kind == "django-other":
        return TypeError(f"the Django cache backend {what} offers no atomic compare-and-set, "
                         f"so versioned writes cannot be made safe on it; supported: {SUPPORTED}")
    if kind.startswith("cachelib-"):
        inner = ""
        if kind != "cachelib-other":
            client = cache._client if kind == "cachelib-memcached" else cache._write_client
            inner = f" over a {_describe(client)} client"
        return TypeError(f"the Flask-Caching/cachelib backend {what}{inner} offers no atomic "
                         "compare-and-set, so versioned writes cannot be made safe on it; "
                         f"supported: {_CACHELIB_SUPPORTED}")
    if kind == "aiocache-memory":
        return TypeError(f"{what} keeps its values inside this process: other processes never "
                         "see them, so there is no shared state to order; use aiocache "
                         "RedisCache or MemcachedCache (with the a* functions), or a dict with "
                         f"set_if_newer; supported: {SUPPORTED}")
    return TypeError(f"unsupported cache object {what}; supported: {SUPPORTED}")


def resolve(cache: Any) -> tuple[Driver, Any]:
    """The driver for ``cache`` and the object to drive, or a ``TypeError``."""
    kind = _classify(type(cache))
    if kind == "django-proxy":
        cache = unwrap_proxy(cache)
        kind = _classify(type(cache))
    elif kind == "flask-cache":
        cache = _flask.unwrap_extension(cache)
        kind = _classify(type(cache))
    if kind == "cachelib-memcached":
        driver = _CACHELIB_MEMCACHED_DRIVERS.get(_classify(type(cache._client)))
    elif kind == "cachelib-redis" and _classify(type(cache._write_client)) != "redis":
        driver = None  # a client that is not redis-py (a fake, valkey, ...)
    else:
        driver = _DRIVERS.get(kind)
    if driver is None:
        raise _refuse(cache, kind, asynchronous=False)
    return driver, cache


def resolve_async(cache: Any) -> AsyncDriver:
    """The driver for an asyncio cache (the object itself is driven), or a ``TypeError``."""
    kind = _classify(type(cache))
    driver = _ASYNC_DRIVERS.get(kind)
    if driver is None:
        raise _refuse(cache, kind, asynchronous=True)
    return driver
