"""python-memcached, pylibmc, Flask-Caching/cachelib and aiocache/aiomcache, on real servers.

The synchronous clients run the whole contract and the DESIGN.md race of
``test_runtime_contract`` / ``test_runtime_race``: those tests are imported
below, so pytest collects them here again with this module's ``case`` fixture.
The asyncio clients run the same checks through the ``a*`` functions.  Races
between ``gets`` and ``cas`` are forced with a real second connection writing
in between.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiocache
import aiomcache
import memcache
import pylibmc
import pytest
import redis
import redis.asyncio
from cachelib import MemcachedCache as CachelibMemcachedCache
from cachelib import RedisCache as CachelibRedisCache
from flask import Flask
from flask_caching import Cache

from cachelint.runtime import (
    JsonCodec,
    aget_value,
    aget_versioned,
    ainvalidate,
    aset_if_newer,
    get_value,
    get_versioned,
    invalidate,
    set_if_newer,
)
from tests.runtime.backends import Case, Servers, memcached_ttl
from tests.runtime.test_runtime_contract import (  # noqa: F401  collected here on these clients
    test_bad_ttls_are_refused,
    test_bad_versions_are_refused,
    test_codec_round_trip,
    test_foreign_values_read_as_miss_and_are_replaced,
    test_invalidate_reports_whether_the_tombstone_landed,
    test_large_versions_order_exactly,
    test_miss_is_none,
    test_older_loses_equal_and_newer_win,
    test_round_trip_keeps_bytes_and_str,
    test_tombstone_reads_as_miss_and_blocks_older_writes,
    test_ttl_is_set_on_values_and_tombstones,
    test_values_expire,
    test_values_other_than_bytes_and_str_need_a_codec,
)
from tests.runtime.test_runtime_race import (  # noqa: F401
    CODEC,
    Database,
    test_versioned_writes_never_serve_the_stale_row,
)
from tests.servers import HOST, Server, free_port

SYNC_CASES = ("python-memcached", "pylibmc", "flask-redis", "flask-memcached", "flask-pylibmc-pool")


def _memcached_case(name: str, server: Server, cache: Any, prefix: str = "",
                    put: Callable[[str, bytes], object] | None = None) -> Case:
    raw = memcache.Client([server.address])

    def put_foreign(key: str, data: bytes) -> None:
        (put or (lambda k, d: raw.set(prefix + k, d)))(key, data)  # the client's own format

    return Case(name, "memcached", cache, lambda k: prefix + k,
                lambda k: memcached_ttl(server, prefix + k), put_foreign, raw.disconnect_all)


def _flask_app(config: dict[str, Any]) -> Any:
    return Cache(Flask(f"app-{uuid.uuid4().hex}"), config=config)


def make_case(name: str, servers: Servers) -> Case:
    mc = servers.memcached
    if name == "python-memcached":
        client = memcache.Client([mc.address], cache_cas=True)
        return _memcached_case(name, mc, client)
    if name == "pylibmc":
        return _memcached_case(name, mc, pylibmc.Client([mc.address], behaviors={"cas": True}))
    if name == "flask-redis":
        cache = _flask_app({"CACHE_TYPE": "RedisCache", "CACHE_REDIS_HOST": HOST,
                            "CACHE_REDIS_PORT": servers.redis.port, "CACHE_KEY_PREFIX": "fl:"})
        raw = redis.Redis(host=HOST, port=servers.redis.port)

        def ttl(key: str) -> float | None:
            ms = raw.pttl("fl:" + key)
            assert ms != -2, f"{key!r} is not in redis"
            return None if ms == -1 else ms / 1000

        def put_foreign(key: str, data: bytes) -> None:
            cache.set(key, data)  # Flask's own (pickled) format

        return Case(name, "redis", cache, lambda k: "fl:" + k, ttl, put_foreign, raw.close)
    if name == "flask-memcached":  # a python-memcached client, as CACHE_MEMCACHED_SERVERS
        cache = _flask_app({"CACHE_TYPE": "MemcachedCache", "CACHE_KEY_PREFIX": "fm:",
                            "CACHE_MEMCACHED_SERVERS": memcache.Client([mc.address],
                                                                       cache_cas=True)})
        return _memcached_case(name, mc, cache, "fm:", lambda k, data: cache.set(k, data))
    if name == "flask-pylibmc-pool":  # flask-caching builds a pylibmc ClientPool itself
        cache = _flask_app({"CACHE_TYPE": "SASLMemcachedCache", "CACHE_KEY_PREFIX": "fp:",
                            "CACHE_MEMCACHED_SERVERS": [mc.address],
                            "CACHE_MEMCACHED_USERNAME": None, "CACHE_MEMCACHED_PASSWORD": None,
                            "CACHE_OPTIONS": {"behaviors": {"cas": True}}})
        assert isinstance(cache.cache._client, pylibmc.ClientPool)
        return _memcached_case(name, mc, cache, "fp:", lambda k, data: cache.set(k, data))
    raise ValueError(name)


@pytest.fixture(params=SYNC_CASES)
def case(request: pytest.FixtureRequest, servers: Servers) -> Iterator[Case]:
    """Overrides conftest's ``case``: the imported contract and race tests run on these."""
    built = make_case(request.param, servers)
    yield built
    built.close()


# -- python-memcached ------------------------------------------------------------------------------


@pytest.fixture
def pm(servers: Servers) -> Iterator[memcache.Client]:
    client = memcache.Client([servers.memcached.address], cache_cas=True)
    yield client
    client.disconnect_all()


# The forced gets/cas races run on python-memcached too: see test_runtime_memcache.py.


def test_pm_without_cache_cas_is_refused(servers: Servers, pm: Any, key: str) -> None:
    plain = memcache.Client([servers.memcached.address])  # cas() would be a blind set
    with pytest.raises(TypeError, match=r"cache_cas=True"):
        set_if_newer(plain, key, "v", version=1)
    with pytest.raises(TypeError, match=r"cache_cas=True"):
        invalidate(plain, key, version=1)
    assert get_versioned(pm, key) is None
    assert set_if_newer(pm, key, "v", version=1)
    assert get_versioned(plain, key) == ("v", 1)  # reading needs no cas


def test_pm_stores_plain_bytes_and_keeps_the_callers_cas_ids(pm: Any, key: str) -> None:
    assert set_if_newer(pm, key, "héllo", version=1)
    assert pm.get(key) == "CL1:s:1::héllo".encode()  # flags 0: neither pickled nor decoded
    assert pm.cas_ids == {}  # our tokens are not left behind
    pm.gets(key)
    mine = dict(pm.cas_ids)
    assert set_if_newer(pm, key, "v2", version=2)
    assert pm.cas_ids == mine  # the caller's own token is put back (its cas now fails)
    assert not pm.cas(key, "blind")
    assert get_versioned(pm, key) == ("v2", 2)


def test_pm_limits_and_dead_servers(servers: Servers, key: str) -> None:
    small = memcache.Client([servers.memcached.address], cache_cas=True,
                            server_max_value_length=64)
    with pytest.raises(ValueError, match="server_max_value_length"):
        set_if_newer(small, key, "x" * 100, version=1)
    dead = memcache.Client([f"{HOST}:{free_port()}"], cache_cas=True, socket_timeout=0.2)
    with pytest.raises(ConnectionError, match="no live server"):
        set_if_newer(dead, key, "v", version=1)
    assert get_versioned(dead, key) is None


# -- pylibmc -----------------------------------------------------------------------------------------


class RacingLM(pylibmc.Client):
    def __init__(self, server: Server, between: Callable[[], object]) -> None:
        super().__init__([server.address], behaviors={"cas": True})
        self.between, self.gets_calls = between, 0

    def gets(self, key: Any) -> Any:
        reply = super().gets(key)
        self.gets_calls += 1
        if self.gets_calls == 1:
            self.between()
        return reply


def test_pylibmc_race_pool_and_cas_behavior(servers: Servers, key: str) -> None:
    other = pylibmc.Client([servers.memcached.address], behaviors={"cas": True})
    assert set_if_newer(other, key, "v1", version=1)
    racing = RacingLM(servers.memcached, lambda: set_if_newer(other, key, "v9", version=9))
    assert set_if_newer(racing, key, "v5", version=5) is False
    assert racing.gets_calls == 2
    pool = pylibmc.ClientPool(other, 2)  # a bare pool: a client is reserved per call
    assert invalidate(pool, key, version=10) and get_versioned(pool, key) is None
    assert not set_if_newer(pool, key, "v9", version=9)
    with pytest.raises(TypeError, match=r"behaviors=\{'cas': True\}"):
        set_if_newer(pylibmc.Client([servers.memcached.address]), key, "v", version=11)


# -- Flask-Caching / cachelib --------------------------------------------------------------------------


def test_flask_keys_share_the_apps_key_space(servers: Servers, key: str) -> None:
    raw = redis.Redis(host=HOST, port=servers.redis.port)
    cache = _flask_app({"CACHE_TYPE": "RedisCache", "CACHE_REDIS_HOST": HOST,
                        "CACHE_REDIS_PORT": servers.redis.port, "CACHE_KEY_PREFIX": "app1_"})
    assert set_if_newer(cache, key, "v1", version=1)
    assert raw.keys() == [f"app1_{key}".encode()]
    assert cache.has(key) and get_value(cache, key) == "v1"
    cache.delete(key)  # the app's own delete reaches our key
    assert get_value(cache, key, "miss") == "miss"
    prefixed = CachelibRedisCache(raw, key_prefix=lambda: "tenant7:")  # a callable prefix
    assert set_if_newer(prefixed, "k", "t7", version=1)
    assert raw.get("tenant7:k") == b"CL1:s:1::t7"


def test_flask_one_cache_object_on_two_apps(servers: Servers) -> None:
    cache = Cache()
    apps = [Flask(f"a{i}") for i in range(2)]
    for i, app in enumerate(apps):
        cache.init_app(app, {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_HOST": HOST,
                             "CACHE_REDIS_PORT": servers.redis.port,
                             "CACHE_KEY_PREFIX": f"a{i}:"})
    for i, app in enumerate(apps):
        with app.app_context():  # the current app's backend and prefix
            assert set_if_newer(cache, "k", f"app {i}", version=1)
    raw = redis.Redis(host=HOST, port=servers.redis.port)
    assert sorted(raw.keys()) == [b"a0:k", b"a1:k"]
    with pytest.raises(RuntimeError, match="application context"):
        set_if_newer(Cache(config={"CACHE_TYPE": "RedisCache"}), "k", "v", version=1)


def test_flask_redis_cluster(servers: Servers, key: str) -> None:
    cache = _flask_app({"CACHE_TYPE": "RedisClusterCache", "CACHE_KEY_PREFIX": "fc:",
                        "CACHE_REDIS_CLUSTER": f"{HOST}:{servers.redis_cluster.port}"})
    assert set_if_newer(cache, key, "v2", version=2)
    assert not set_if_newer(cache, key, "v1", version=1)
    assert get_versioned(cache, key) == ("v2", 2)
    assert cache.cache._write_client.get(f"fc:{key}") == b"CL1:s:2::v2"


@pytest.mark.parametrize("backend", ["SimpleCache", "FileSystemCache", "NullCache"])
def test_flask_backends_without_compare_and_set(backend: str, tmp_path: Path) -> None:
    cache = _flask_app({"CACHE_TYPE": backend, "CACHE_DIR": str(tmp_path)})
    for call in (lambda: set_if_newer(cache, "k", "v", version=1),
                 lambda: get_versioned(cache, "k")):
        with pytest.raises(TypeError, match="no atomic compare-and-set") as info:
            call()
        message = str(info.value)
        assert backend in message and "RedisCache" in message and "MemcachedCache" in message


def test_flask_memcached_clients_without_cas(servers: Servers) -> None:
    # flask-caching's default MemcachedCache builds a pylibmc pool without the cas behavior
    default = _flask_app({"CACHE_TYPE": "MemcachedCache",
                          "CACHE_MEMCACHED_SERVERS": [servers.memcached.address]})
    with pytest.raises(TypeError, match="CACHE_MEMCACHED_SERVERS"):
        set_if_newer(default, "k", "v", version=1)
    python_memcached = CachelibMemcachedCache([servers.memcached.address],
                                              memcache_client_lib="memcache")
    with pytest.raises(TypeError, match="cache_cas=True"):
        set_if_newer(python_memcached, "k", "v", version=1)
    with pytest.raises(TypeError, match="over a builtins.object client"):
        set_if_newer(CachelibMemcachedCache(object()), "k", "v", version=1)


def test_cachelib_memcached_over_pymemcache(servers: Servers, key: str) -> None:
    from pymemcache.client.base import Client

    client = Client((HOST, servers.memcached.port))
    cache = CachelibMemcachedCache(client, key_prefix="pm:")
    assert set_if_newer(cache, key, "v2", version=2)
    assert not set_if_newer(cache, key, "v1", version=1)
    assert client.get(f"pm:{key}") == b"CL1:s:2::v2"
    client.close()


async def test_flask_is_not_for_the_async_functions(servers: Servers) -> None:
    cache = _flask_app({"CACHE_TYPE": "RedisCache", "CACHE_REDIS_HOST": HOST,
                        "CACHE_REDIS_PORT": servers.redis.port})
    with pytest.raises(TypeError, match="not an asyncio cache"):
        await aset_if_newer(cache, "k", "v", version=1)


# -- aiocache / aiomcache ---------------------------------------------------------------------------


@dataclass
class ACase:
    name: str
    cache: Any
    raw_key: Callable[[str], str]
    remaining_ttl: Callable[[str], Awaitable[float | None]]
    ttl_resolution: float


@pytest.fixture(params=["aiocache-redis", "aiocache-redis-factory", "aiocache-memcached",
                        "aiomcache"])
async def acase(request: pytest.FixtureRequest, servers: Servers) -> AsyncIterator[ACase]:
    raw = redis.asyncio.Redis(host=HOST, port=servers.redis.port)

    async def redis_ttl(key: str) -> float | None:
        ms = await raw.pttl(key)
        assert ms != -2, f"{key!r} is not in redis"
        return None if ms == -1 else ms / 1000

    async def mc_ttl(key: str) -> float | None:
        return memcached_ttl(servers.memcached, key)

    name, port = request.param, servers.memcached.port
    if name == "aiocache-redis":
        cache: Any = aiocache.RedisCache(endpoint=HOST, port=servers.redis.port, namespace="ns")
        built = ACase(name, cache, lambda k: "ns:" + k, lambda k: redis_ttl("ns:" + k), 0.01)
    elif name == "aiocache-redis-factory":
        cache = aiocache.Cache(aiocache.Cache.REDIS, endpoint=HOST, port=servers.redis.port)
        built = ACase(name, cache, str, redis_ttl, 0.01)
    elif name == "aiocache-memcached":  # its keys are namespace + key, no separator
        cache = aiocache.MemcachedCache(endpoint=HOST, port=port, namespace="nm")
        built = ACase(name, cache, lambda k: "nm" + k, lambda k: mc_ttl("nm" + k), 1.0)
    else:
        cache = aiomcache.Client(HOST, port)
        built = ACase(name, cache, str, mc_ttl, 1.0)
    yield built
    await cache.close()
    await raw.aclose()


async def test_async_contract(acase: ACase, key: str) -> None:
    cache = acase.cache
    assert await aget_versioned(cache, key) is None
    assert await aset_if_newer(cache, key, b"\x00\xff:v7", version=7)
    assert not await aset_if_newer(cache, key, "v6", version=6)  # older refused
    assert await aget_versioned(cache, key) == (b"\x00\xff:v7", 7)
    assert await aset_if_newer(cache, key, "héllo v7", version=7)  # equal wins
    value = await aget_value(cache, key)
    assert value == "héllo v7" and type(value) is str
    assert await aset_if_newer(cache, key, "v8", version=8)  # newer wins
    assert await ainvalidate(cache, key, version=9)
    assert await aget_versioned(cache, key) is None  # a tombstone reads as a miss
    assert await aget_value(cache, key, "miss") == "miss"
    assert not await aset_if_newer(cache, key, "v8", version=8)  # and blocks older writes
    assert not await ainvalidate(cache, key, version=8)
    assert await aset_if_newer(cache, key, {"v": 9}, version=9, codec=JsonCodec())
    assert await aget_versioned(cache, key, codec=JsonCodec()) == ({"v": 9}, 9)
    with pytest.raises(TypeError, match="codec"):
        await aset_if_newer(cache, key, {"v": 10}, version=10)
    with pytest.raises(TypeError, match="version"):
        await aset_if_newer(cache, key, "v", version=True)
    assert await aset_if_newer(cache, key, "big", version=2**64 + 1)
    assert not await aset_if_newer(cache, key, "less big", version=2**64)


async def test_async_ttl(acase: ACase, key: str) -> None:
    assert await aset_if_newer(acase.cache, key, "short", version=1, ttl=0.3)
    assert await ainvalidate(acase.cache, key + ":t", version=5, ttl=30)
    remaining = await acase.remaining_ttl(key + ":t")
    assert remaining is not None and 28 <= remaining <= 30
    assert await aset_if_newer(acase.cache, key + ":n", "no ttl", version=1)
    assert await acase.remaining_ttl(key + ":n") is None
    await asyncio.sleep(0.3 + acase.ttl_resolution + 0.2)
    assert await aget_versioned(acase.cache, key) is None
    assert await aset_if_newer(acase.cache, key, "older than the expired value", version=0)


async def test_async_design_race(acase: ACase, key: str) -> None:
    """A reads v7; B commits v8 and invalidates; A's late refill must not bring v7 back."""
    db, cache = Database(), acase.cache
    a_has_read, b_done = asyncio.Event(), asyncio.Event()

    async def refiller_a() -> bool:
        row = db.read()  # v7
        a_has_read.set()
        await b_done.wait()
        return await aset_if_newer(cache, key, row, version=row["version"], codec=CODEC)

    async def writer_b() -> None:
        await a_has_read.wait()
        row = db.update("Ada v8")
        assert await ainvalidate(cache, key, version=row["version"], ttl=60)
        b_done.set()

    a_wrote, _ = await asyncio.wait_for(asyncio.gather(refiller_a(), writer_b()), 10)
    assert a_wrote is False
    assert await aget_versioned(cache, key, codec=CODEC) is None  # the next reader misses
    row = db.read()
    assert await aset_if_newer(cache, key, row, version=row["version"], codec=CODEC)
    assert row["name"] == "Ada v8"
    assert await aget_versioned(cache, key, codec=CODEC) == (row, 8)


async def test_aiocache_keys_follow_namespace_and_key_builder(servers: Servers) -> None:
    raw = redis.asyncio.Redis(host=HOST, port=servers.redis.port)
    cache = aiocache.RedisCache(endpoint=HOST, port=servers.redis.port, namespace="users")
    custom = aiocache.RedisCache(endpoint=HOST, port=servers.redis.port, namespace="v2",
                                 key_builder=lambda key, namespace: f"{namespace}/{key}")
    try:
        assert await aset_if_newer(cache, "1", "Ada", version=1)
        assert await aset_if_newer(custom, "1", "Ada v2", version=1)
        assert sorted(await raw.keys()) == [b"users:1", b"v2/1"]
        assert await cache.exists("1")
        await cache.delete("1")  # aiocache's own delete reaches our key
        assert await aget_versioned(cache, "1") is None
    finally:
        await cache.close()
        await custom.close()
        await raw.aclose()


class RacingAiomcache(aiomcache.Client):
    def __init__(self, port: int, between: Callable[[], Awaitable[object]]) -> None:
        super().__init__(HOST, port)
        self.between, self.gets_calls = between, 0

    async def gets(self, key: bytes, default: bytes | None = None) -> Any:  # type: ignore[override]
        reply = await super().gets(key, default)
        self.gets_calls += 1
        if self.gets_calls == 1:
            await self.between()
        return reply


async def test_aiomcache_forced_race(servers: Servers, key: str) -> None:
    other = aiomcache.Client(HOST, servers.memcached.port)
    assert await aset_if_newer(other, key, "v1", version=1)
    racing = RacingAiomcache(servers.memcached.port,
                             lambda: aset_if_newer(other, key, "v9", version=9))
    assert await aset_if_newer(racing, key, "v5", version=5) is False
    assert racing.gets_calls == 2 and await aget_versioned(other, key) == ("v9", 9)
    racing = RacingAiomcache(servers.memcached.port,
                             lambda: aset_if_newer(other, key, "v10", version=10))
    assert await aset_if_newer(racing, key, "v11", version=11) is True
    assert await aget_versioned(other, key) == ("v11", 11)
    await racing.close()
    await other.close()


async def test_aiocache_memory_and_sync_functions_are_refused(servers: Servers) -> None:
    memory = aiocache.SimpleMemoryCache()
    with pytest.raises(TypeError, match="inside this process"):
        await aset_if_newer(memory, "k", "v", version=1)
    cache = aiocache.RedisCache(endpoint=HOST, port=servers.redis.port)
    with pytest.raises(TypeError, match="use aset_if_newer"):
        set_if_newer(cache, "k", "v", version=1)
    with pytest.raises(TypeError, match="use aset_if_newer"):
        get_versioned(aiomcache.Client(HOST, servers.memcached.port), "k")
    await cache.close()
