"""Django caches: versioned writes go through the backend's own client.

Keys are built the way the cache builds them (``KEY_PREFIX``, ``VERSION``,
``KEY_FUNCTION``), then the raw Redis or pymemcache client runs the same atomic
operation as for a bare client.  Values are stored in this package's format,
not through the cache's serializer: read them back with ``get_versioned``.

Supported: ``django.core.cache.backends.redis.RedisCache``,
``django.core.cache.backends.memcached.PyMemcacheCache``,
``django_redis.cache.RedisCache`` (default, herd, sentinel and sharded clients)
and ``LocMemCache`` (see ``_mapping``).  The others have no compare-and-set.
"""

from __future__ import annotations

from typing import Any

from . import _memcache, _redis
from ._encoding import Record, Write, decode_record

PROXY = "django.utils.connection.ConnectionProxy"


def unwrap_proxy(proxy: Any) -> Any:
    """``django.core.cache.cache`` is a proxy to the current thread's default cache."""
    return proxy._connections[proxy._alias]


class DjangoRedisCacheBackend:
    """Django's built-in ``RedisCache``."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def read(self, key: Any) -> Record | None:
        made = self._cache.make_and_validate_key(key)
        return decode_record(_redis.read(self._cache._cache.get_client(made), made))

    def write(self, key: Any, op: Write) -> bool:
        made = self._cache.make_and_validate_key(key)
        return _redis.write(self._cache._cache.get_client(made, write=True), made, op)


class DjangoPyMemcacheBackend:
    """Django's ``PyMemcacheCache`` (a pymemcache ``HashClient`` underneath)."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def read(self, key: Any) -> Record | None:
        made = self._cache.make_and_validate_key(key)
        return decode_record(_memcache.read(self._cache._cache, made))

    def write(self, key: Any, op: Write) -> bool:
        made = self._cache.make_and_validate_key(key)
        return _memcache.write(self._cache._cache, made, op)


class DjangoRedisPackageBackend:
    """django-redis's ``RedisCache``."""

    def __init__(self, cache: Any) -> None:
        self._client = cache.client

    def _redis_for(self, key: Any, *, write: bool) -> Any:
        if hasattr(self._client, "get_server"):  # ShardClient: the key picks the server
            return self._client.get_server(key)
        return self._client.get_client(write=write)

    def read(self, key: Any) -> Record | None:
        made = self._client.make_key(key)
        return decode_record(_redis.read(self._redis_for(made, write=False), made))

    def write(self, key: Any, op: Write) -> bool:
        made = self._client.make_key(key)
        return _redis.write(self._redis_for(made, write=True), made, op)
