"""aiocache and aiomcache, for the ``a*`` functions.

aiocache's ``RedisCache`` wraps a ``redis.asyncio.Redis`` (``cache.client``):
the key is built as aiocache builds it (``cache.build_key(key, namespace=
cache.namespace)``: ``namespace:key``, or a custom ``key_builder``) and the
same Lua script as for a bare client runs on it.  aiocache's ``MemcachedCache``
wraps an ``aiomcache.Client`` (``cache.client``; keys built the same way, as
bytes); aiomcache has ``gets``/``cas``/``add``, so it runs the same bounded
loop as pymemcache, awaiting a jittered backoff between rounds.  A bare
``aiomcache.Client`` works too (``str`` keys are UTF-8 encoded, as aiomcache
wants ``bytes``).  Values bypass aiocache's serializer, plugins and operation
timeout: read them with ``aget_versioned``/``aget_value``.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from . import _redis
from ._encoding import Record, Write, decode_record
from ._errors import VersionConflictError
from ._memcache import _BACKOFF_BASE, _BACKOFF_CAP, MAX_ATTEMPTS, expire_seconds


def _key(cache: Any, key: Any) -> Any:
    return cache.build_key(key, namespace=cache.namespace)


# aiocache.RedisCache


async def redis_read(cache: Any, key: Any) -> Record | None:
    return await _redis.aread(cache.client, _key(cache, key))


async def redis_write(cache: Any, key: Any, op: Write) -> bool:
    return await _redis.awrite(cache.client, _key(cache, key), op)


# aiomcache.Client, bare or inside aiocache.MemcachedCache


def _bytes_key(key: Any) -> Any:
    return key.encode("utf-8") if isinstance(key, str) else key


async def mc_write(client: Any, key: Any, op: Write) -> bool:
    """Compare-and-set ``op`` at ``key`` on an ``aiomcache.Client``."""
    key = _bytes_key(key)
    record, expire = op.record(), expire_seconds(op.ttl)
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            await asyncio.sleep(random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt)))
        current, token = await client.gets(key)
        if token is None:
            if await client.add(key, record, exptime=expire):
                return True
            continue  # created under us: read it
        stored = decode_record(current)
        if stored is not None and stored.version > op.version:
            return False
        if await client.cas(key, record, token, exptime=expire):
            return True
    raise VersionConflictError(key, MAX_ATTEMPTS)


async def mc_read(client: Any, key: Any) -> Record | None:
    return decode_record(await client.get(_bytes_key(key)))


async def memcached_read(cache: Any, key: Any) -> Record | None:
    return await mc_read(cache.client, _key(cache, key))


async def memcached_write(cache: Any, key: Any, op: Write) -> bool:
    return await mc_write(cache.client, _key(cache, key), op)
