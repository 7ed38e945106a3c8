"""Atomic, version-aware cache writes: the helpers cachelint's fixes call.

    set_if_newer(cache, key, value, version=row.version, ttl=300)  # stale refills lose
    invalidate(cache, key, version=row.version)                     # leaves a tombstone
    get_versioned(cache, key)  # -> (value, version), or None for a miss / tombstone

A write wins when its ``version`` is greater than **or equal to** the stored one,
checked atomically on the server (or under a lock in-process).  ``invalidate``
writes a *tombstone* carrying the version instead of deleting the key, so a
refill that read an older row before the invalidation cannot bring it back.

``cache`` is the object you already hold: ``redis.Redis`` /
``redis.cluster.RedisCluster`` (one Lua script, one round trip),
``redis.asyncio`` clients, aiocache ``RedisCache``/``MemcachedCache`` and
``aiomcache.Client`` (the ``a*`` functions), pymemcache, python-memcached
(``cache_cas=True``) and pylibmc (``cas`` behavior) clients (``gets``/``cas``),
Django's cache (RedisCache, PyMemcacheCache, django-redis, LocMemCache),
Flask-Caching's ``Cache`` over Redis or memcached (keys get its
``CACHE_KEY_PREFIX``) or any ``MutableMapping``.  No client library is imported
until a client of that library is passed in.

Storage: each key holds one string ``CL1:<kind>:<version>:<expires>:<payload>``
(kind ``b`` bytes, ``s`` str, ``c`` codec, ``t`` tombstone; version in canonical
decimal; ``expires`` only used for plain mappings) -- see
:mod:`cachelint.runtime._encoding`.  Read such keys with :func:`get_versioned`,
not with the cache's own ``get``.  ``bytes`` and ``str`` are stored as they
are; other values need a ``codec`` (e.g. :class:`JsonCodec`): nothing is
pickled.  ``ttl`` is in seconds (``None``: no expiry): Redis ``PX`` in
milliseconds, memcached whole seconds rounded up, an expiry for Django caches
and mappings.  Give tombstones a TTL longer than your slowest refill so they
do not pile up.
"""

from __future__ import annotations

from typing import Any

from ._backends import SUPPORTED, resolve, resolve_async
from ._encoding import (
    KIND_TOMBSTONE,
    Codec,
    JsonCodec,
    Record,
    Write,
    check_ttl,
    check_version,
    decode_value,
    encode_value,
    version_text,
)
from ._errors import VersionConflictError

__all__ = [
    "SUPPORTED",
    "Codec",
    "JsonCodec",
    "VersionConflictError",
    "aget_value",
    "aget_versioned",
    "ainvalidate",
    "aset_if_newer",
    "get_value",
    "get_versioned",
    "invalidate",
    "set_if_newer",
]


def _value_write(value: object, version: object, ttl: object, codec: Codec | None) -> Write:
    checked = check_version(version)
    seconds = check_ttl(ttl)
    kind, payload = encode_value(value, codec)
    return Write(checked, version_text(checked), kind, payload, seconds)


def _tombstone_write(version: object, ttl: object) -> Write:
    checked = check_version(version)
    return Write(checked, version_text(checked), KIND_TOMBSTONE, b"", check_ttl(ttl))


def _result(record: Record | None, codec: Codec | None) -> tuple[Any, int] | None:
    if record is None or record.is_tombstone:
        return None
    return decode_value(record, codec), record.version


def set_if_newer(
    cache: Any,
    key: Any,
    value: object,
    *,
    version: int,
    ttl: float | None = None,
    codec: Codec | None = None,
) -> bool:
    """Store ``value`` at ``key`` unless the cache holds a newer version.

    Atomic: the stored version (of a value or a tombstone) is compared and the
    write applied in one step.  Returns True when written (``version`` >= the
    stored one, or nothing versioned was stored), False when a newer version
    is already there.

    :param version: non-negative ``int`` of any size (row version, sequence
        number, LSN); not a ``bool``, float or string, and not a timestamp.
    :param ttl: seconds until expiry (float allowed) or ``None`` for none.
    :param codec: object with ``dumps(obj) -> bytes`` / ``loads(bytes) -> obj``;
        required for values other than ``bytes`` and ``str``.
    :raises TypeError: bad argument types, a value that needs a codec, or an
        unsupported cache.
    :raises ValueError: a negative version or a non-positive TTL.
    :raises VersionConflictError: memcached only, the ``cas`` loop kept losing.
    """
    op = _value_write(value, version, ttl, codec)
    driver, target = resolve(cache)
    return driver.write(target, key, op)


def get_versioned(cache: Any, key: Any, *, codec: Codec | None = None) -> tuple[Any, int] | None:
    """Return ``(value, version)`` for ``key``, or None for a miss or a tombstone.

    Values come back with the type they were stored with (``bytes`` or ``str``);
    codec-encoded values need the same ``codec``.  A key holding a value in
    another format (written by other code) reads as a miss.
    """
    driver, target = resolve(cache)
    return _result(driver.read(target, key), codec)


def get_value(cache: Any, key: Any, default: Any = None, *, codec: Codec | None = None) -> Any:
    """The value at ``key``, or ``default`` for a miss or a tombstone.

    A drop-in for ``cache.get(key, default)`` on keys written by :func:`set_if_newer`
    (the fix for CL101 rewrites the reads next to the write into this).
    """
    found = get_versioned(cache, key, codec=codec)
    return default if found is None else found[0]


def invalidate(cache: Any, key: Any, *, version: int, ttl: float | None = None) -> bool:
    """Replace ``key`` by a tombstone carrying ``version`` (instead of deleting it).

    The tombstone reads as a miss, and makes later writes with an older
    version fail, so a slow refill cannot resurrect the data this invalidation
    removed; a write with the same or a newer version replaces it.  Returns
    True when the tombstone was written, False when a newer version is stored.
    Pass a ``ttl`` (longer than your slowest refill) to let tombstones expire.
    """
    op = _tombstone_write(version, ttl)
    driver, target = resolve(cache)
    return driver.write(target, key, op)


async def aset_if_newer(
    cache: Any,
    key: Any,
    value: object,
    *,
    version: int,
    ttl: float | None = None,
    codec: Codec | None = None,
) -> bool:
    """:func:`set_if_newer` for ``redis.asyncio``, aiocache and aiomcache (await it)."""
    op = _value_write(value, version, ttl, codec)
    return await resolve_async(cache).write(cache, key, op)


async def aget_versioned(
    cache: Any, key: Any, *, codec: Codec | None = None
) -> tuple[Any, int] | None:
    """:func:`get_versioned` for ``redis.asyncio``, aiocache and aiomcache (await it)."""
    return _result(await resolve_async(cache).read(cache, key), codec)


async def aget_value(
    cache: Any, key: Any, default: Any = None, *, codec: Codec | None = None
) -> Any:
    """:func:`get_value` for ``redis.asyncio``, aiocache and aiomcache (await it)."""
    found = await aget_versioned(cache, key, codec=codec)
    return default if found is None else found[0]


async def ainvalidate(cache: Any, key: Any, *, version: int, ttl: float | None = None) -> bool:
    """:func:`invalidate` for ``redis.asyncio``, aiocache and aiomcache (await it)."""
    op = _tombstone_write(version, ttl)
    return await resolve_async(cache).write(cache, key, op)
