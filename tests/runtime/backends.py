"""One :class:`Case` per cache object the runtime supports, built on real servers.

A case bundles the object handed to ``cachelint.runtime`` with the few raw
operations the tests need to look underneath it (the key the backend really
uses, the remaining TTL, writing a value in a foreign format).
"""

from __future__ import annotations

import pickle
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachelint.runtime._encoding import decode_record
from tests.servers import HOST, Server

SYNC_CASES = (
    "redis",
    "redis-decode-responses",
    "redis-cluster",
    "pymemcache-client",
    "pymemcache-hash",
    "pymemcache-pooled",
    "django-rediscache",
    "django-pymemcache",
    "django-redis",
    "django-locmem",
    "dict",
)


@dataclass
class Servers:
    redis: Server
    redis_cluster: Server
    memcached: Server


@dataclass
class Case:
    name: str
    family: str  # "redis", "memcached" or "local"
    cache: Any
    raw_key: Callable[[str], str]
    remaining_ttl: Callable[[str], float | None]  # seconds; None = no expiry
    put_foreign: Callable[[str, bytes], None]  # store bytes in the backend's own format
    close: Callable[[], None]

    @property
    def ttl_resolution(self) -> float:
        """How coarse the backend's TTL is (memcached rounds up to whole seconds)."""
        return 1.0 if self.family == "memcached" else 0.01


def memcached_ttl(server: Server, key: str) -> float | None:
    """Remaining TTL through the meta protocol (``mg <key> t``)."""
    with socket.create_connection((HOST, server.port), timeout=2) as sock:
        sock.sendall(b"mg %s t\r\n" % key.encode())
        reply = sock.recv(1024)
    if not reply.startswith(b"HD "):
        raise KeyError(f"{key!r} is not in memcached: {reply!r}")
    seconds = int(reply.split()[1][1:])
    return None if seconds == -1 else float(seconds)


def _redis_ttl(client: Any, key: str) -> float | None:
    ms = client.pttl(key)
    if ms == -2:
        raise KeyError(f"{key!r} is not in redis")
    return None if ms == -1 else ms / 1000


def _redis_case(name: str, client: Any, raw_key: Callable[[str], str] = str) -> Case:
    return Case(
        name,
        "redis",
        client,
        raw_key,
        lambda k: _redis_ttl(client, raw_key(k)),
        lambda k, data: client.set(raw_key(k), data),
        client.close,
    )


def _memcached_case(
    name: str, server: Server, cache: Any, client: Any, raw_key: Callable[[str], str] = str
) -> Case:
    return Case(
        name,
        "memcached",
        cache,
        raw_key,
        lambda k: memcached_ttl(server, raw_key(k)),
        lambda k, data: client.set(raw_key(k), data, noreply=False),
        client.close,
    )


def _dict_case() -> Case:
    store: dict[Any, Any] = {}

    def ttl(key: str) -> float | None:
        record = decode_record(store[key])
        assert record is not None
        return None if record.expires_ms is None else record.expires_ms / 1000 - time.time()

    return Case("dict", "local", store, str, ttl, store.__setitem__, lambda: None)


def _locmem_case() -> Case:
    from django.core.cache.backends.locmem import LocMemCache

    cache = LocMemCache(f"cachelint-{uuid.uuid4().hex}", {})

    def ttl(key: str) -> float | None:
        expiry = cache._expire_info[cache.make_key(key)]
        return None if expiry is None else expiry - time.time()

    def put_foreign(key: str, data: bytes) -> None:
        cache.set(key, data, timeout=None)
        assert pickle.loads(cache._cache[cache.make_key(key)]) == data

    return Case("django-locmem", "local", cache, cache.make_key, ttl, put_foreign, cache.clear)


def ensure_django_settings() -> None:
    """django-redis reads ``django.conf.settings``: configure defaults if nobody did."""
    from django.conf import settings

    if not settings.configured:
        settings.configure()


def _as_django(case: Case, cache: Any) -> Case:
    """Hand ``cache`` to the runtime; keep the raw client for looking underneath."""
    close_raw = case.close

    def close() -> None:
        close_raw()
        cache.close()

    case.cache, case.close = cache, close
    return case


def make_case(name: str, servers: Servers) -> Case:
    """Build the named case with fresh clients."""
    redis_url = f"redis://{servers.redis.address}/0"
    mc_address = (HOST, servers.memcached.port)
    if name == "redis":
        import redis

        return _redis_case(name, redis.Redis(host=HOST, port=servers.redis.port))
    if name == "redis-decode-responses":
        import redis

        client = redis.Redis(host=HOST, port=servers.redis.port, decode_responses=True)
        return _redis_case(name, client)
    if name == "redis-cluster":
        from redis.cluster import RedisCluster

        return _redis_case(name, RedisCluster(host=HOST, port=servers.redis_cluster.port))
    if name == "pymemcache-client":
        from pymemcache.client.base import Client

        client = Client(mc_address)  # default_noreply=True: the runtime must not trust it
        return _memcached_case(name, servers.memcached, client, client)
    if name == "pymemcache-hash":
        from pymemcache.client.hash import HashClient

        client = HashClient([mc_address])
        return _memcached_case(name, servers.memcached, client, client)
    if name == "pymemcache-pooled":
        from pymemcache.client.base import PooledClient

        client = PooledClient(mc_address, max_pool_size=4)
        return _memcached_case(name, servers.memcached, client, client)
    if name == "django-rediscache":
        import redis
        from django.core.cache.backends.redis import RedisCache

        cache = RedisCache(redis_url, {"KEY_PREFIX": "app", "VERSION": 3})
        return _as_django(_redis_case(name, redis.Redis(host=HOST, port=servers.redis.port),
                                      cache.make_key), cache)
    if name == "django-pymemcache":
        from django.core.cache.backends.memcached import PyMemcacheCache
        from pymemcache.client.base import Client

        cache = PyMemcacheCache(servers.memcached.address, {"KEY_PREFIX": "app"})
        case = _memcached_case(name, servers.memcached, cache, Client(mc_address), cache.make_key)
        return _as_django(case, cache)
    if name == "django-redis":
        import redis
        from django_redis.cache import RedisCache as DjangoRedisCache

        ensure_django_settings()
        cache = DjangoRedisCache(redis_url, {"KEY_PREFIX": "dr"})
        return _as_django(_redis_case(name, redis.Redis(host=HOST, port=servers.redis.port),
                                      cache.make_key), cache)
    if name == "django-locmem":
        return _locmem_case()
    if name == "dict":
        return _dict_case()
    raise ValueError(name)
