"""Flask-Caching and cachelib: versioned writes go through the backend's own client.

``flask_caching.Cache`` is unwrapped to the backend of the current app
(``cache.cache``: needs an application context, or ``Cache(app)``).  Keys get
the prefix the backend adds itself (``CACHE_KEY_PREFIX``), so ``cache.delete``
and the rest of the app's key space line up; values are stored in this
package's format, not through the backend's serializer: read them back with
``get_versioned``/``get_value``.

Supported: cachelib ``RedisCache`` and its Flask-Caching subclasses
(``RedisCache``, ``RedisSentinelCache``, ``RedisClusterCache``) -- one Lua
script on ``_write_client``, reads from ``_read_client`` (a replica, if
configured) -- and ``MemcachedCache`` (and the SASL variants) whose client is
python-memcached (built with ``cache_cas=True``), pylibmc (``cas`` behavior on)
or pymemcache; a pooled client is reserved for the whole ``gets``/``cas`` loop.
The others (SimpleCache, FileSystemCache, NullCache, ...) have no
compare-and-set.
"""

from __future__ import annotations

from typing import Any

from . import _memcache, _python_memcached, _redis
from ._encoding import Record, Write

EXTENSION = "flask_caching.Cache"


def unwrap_extension(cache: Any) -> Any:
    """The backend a ``flask_caching.Cache`` delegates to for the current app."""
    try:
        return cache.cache
    except (AttributeError, KeyError, RuntimeError) as exc:
        raise RuntimeError(
            "this flask_caching.Cache has no backend here: call inside an application context "
            "of an app it was init_app()-ed on, or build it with Cache(app)"
        ) from exc


# cachelib.RedisCache: prefix + key, as BaseRedisCache builds it.


def _redis_key(cache: Any, key: Any) -> str:
    return f"{cache._get_prefix()}{key}"


def redis_read(cache: Any, key: Any) -> Record | None:
    return _redis.read(cache._read_client, _redis_key(cache, key))


def redis_write(cache: Any, key: Any, op: Write) -> bool:
    return _redis.write(cache._write_client, _redis_key(cache, key), op)


# cachelib.MemcachedCache: key_prefix + key, the client reserved through _client_context.


def _memcached_read(cache: Any, key: Any, read: Any) -> Record | None:
    made = cache._normalize_key(key)
    with cache._client_context() as client:
        record: Record | None = read(client, made)
        return record


def _memcached_write(cache: Any, key: Any, op: Write, write: Any) -> bool:
    made = cache._normalize_key(key)
    with cache._client_context() as client:
        return bool(write(client, made, op))


def pymemcache_read(cache: Any, key: Any) -> Record | None:
    return _memcached_read(cache, key, _memcache.read)


def pymemcache_write(cache: Any, key: Any, op: Write) -> bool:
    return _memcached_write(cache, key, op, _memcache.write)


def python_memcached_read(cache: Any, key: Any) -> Record | None:
    return _memcached_read(cache, key, _python_memcached.pm_read)


def python_memcached_write(cache: Any, key: Any, op: Write) -> bool:
    return _memcached_write(cache, key, op, _python_memcached.pm_write)


def pylibmc_read(cache: Any, key: Any) -> Record | None:
    return _memcached_read(cache, key, _python_memcached.lm_read)


def pylibmc_write(cache: Any, key: Any, op: Write) -> bool:
    return _memcached_write(cache, key, op, _python_memcached.lm_write)
