"""Django caches: versioned writes go through the backend's own client.

Keys are built the way the cache builds them (``KEY_PREFIX``, ``VERSION``,
``KEY_FUNCTION``), then the raw Redis or pymemcache client runs the same atomic
operation as for a bare client.  Values are stored in this package's format,
not through the cache's serializer: read them back with ``get_versioned``.
Reads use the client the cache itself reads with (a replica, if configured).

Supported: ``django.core.cache.backends.redis.RedisCache``,
``django.core.cache.backends.memcached.PyMemcacheCache``,
``django_redis.cache.RedisCache`` (default, herd, sentinel and sharded clients)
and ``LocMemCache`` (see ``_mapping``).  The others have no compare-and-set.
"""

from __future__ import annotations

from typing import Any

from . import _memcache, _redis
from ._encoding import Record, Write

PROXY = "django.utils.connection.ConnectionProxy"


def unwrap_proxy(proxy: Any) -> Any:
    """``django.core.cache.cache`` is a proxy to the current thread's default cache."""
    return proxy._connections[proxy._alias]


# django.core.cache.backends.redis.RedisCache: raw client from its RedisCacheClient.


def rediscache_read(cache: Any, key: Any) -> Record | None:
    made = cache.make_and_validate_key(key)
    return _redis.read(cache._cache.get_client(made), made)


def rediscache_write(cache: Any, key: Any, op: Write) -> bool:
    made = cache.make_and_validate_key(key)
    return _redis.write(cache._cache.get_client(made, write=True), made, op)


# django.core.cache.backends.memcached.PyMemcacheCache: a pymemcache HashClient.


def pymemcache_read(cache: Any, key: Any) -> Record | None:
    made = cache.make_and_validate_key(key)
    return _memcache.read(cache._cache, made)


def pymemcache_write(cache: Any, key: Any, op: Write) -> bool:
    made = cache.make_and_validate_key(key)
    return _memcache.write(cache._cache, made, op)


# django_redis.cache.RedisCache: raw client from its client object.


def _django_redis_client(client: Any, made: Any, *, write: bool) -> Any:
    if hasattr(client, "get_server"):  # ShardClient: the key picks the server
        return client.get_server(made)
    return client.get_client(write=write)


def django_redis_read(cache: Any, key: Any) -> Record | None:
    client = cache.client
    made = client.make_key(key)
    return _redis.read(_django_redis_client(client, made, write=False), made)


def django_redis_write(cache: Any, key: Any, op: Write) -> bool:
    client = cache.client
    made = client.make_key(key)
    return _redis.write(_django_redis_client(client, made, write=True), made, op)
