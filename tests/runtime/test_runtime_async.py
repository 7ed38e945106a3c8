"""aset_if_newer / aget_versioned / ainvalidate on redis.asyncio (plain and cluster)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio
from redis.asyncio.cluster import RedisCluster

from cachelint.runtime import (
    JsonCodec,
    aget_versioned,
    ainvalidate,
    aset_if_newer,
)
from cachelint.runtime._redis import SCRIPT_SHA1
from tests.runtime.test_runtime_contract import VERSION_PAIRS
from tests.servers import HOST


@pytest.fixture(params=["asyncio", "asyncio-decode-responses", "asyncio-cluster"])
async def aclient(request: pytest.FixtureRequest, servers: Any) -> AsyncIterator[Any]:
    if request.param == "asyncio":
        client: Any = redis.asyncio.Redis(host=HOST, port=servers.redis.port)
    elif request.param == "asyncio-decode-responses":
        client = redis.asyncio.Redis(host=HOST, port=servers.redis.port, decode_responses=True)
    else:
        client = RedisCluster(host=HOST, port=servers.redis_cluster.port)
    yield client
    await client.aclose()


async def test_contract(aclient: Any, key: str) -> None:
    assert await aget_versioned(aclient, key) is None
    assert await aset_if_newer(aclient, key, b"\xffv7", version=7)
    assert not await aset_if_newer(aclient, key, "v6", version=6)
    assert await aget_versioned(aclient, key) == (b"\xffv7", 7)
    assert await aset_if_newer(aclient, key, "v7 again", version=7)
    assert await ainvalidate(aclient, key, version=9)
    assert await aget_versioned(aclient, key) is None
    assert not await aset_if_newer(aclient, key, "v8", version=8)
    assert not await ainvalidate(aclient, key, version=8)
    assert await aset_if_newer(aclient, key, {"v": 9}, version=9, codec=JsonCodec())
    assert await aget_versioned(aclient, key, codec=JsonCodec()) == ({"v": 9}, 9)


@pytest.mark.parametrize(("low", "high"), VERSION_PAIRS)
async def test_large_versions(aclient: Any, key: str, low: int, high: int) -> None:
    assert await aset_if_newer(aclient, key, "high", version=high)
    assert not await aset_if_newer(aclient, key, "low", version=low)
    assert await aget_versioned(aclient, key) == ("high", high)


async def test_ttl_and_expiry(aclient: Any, key: str) -> None:
    assert await aset_if_newer(aclient, key, "v", version=1, ttl=0.3)
    assert 100 < await aclient.pttl(key) <= 300  # milliseconds, not seconds
    assert await ainvalidate(aclient, key + ":t", version=5, ttl=0.3)
    await asyncio.sleep(0.45)
    assert await aget_versioned(aclient, key) is None
    assert await aset_if_newer(aclient, key + ":t", "v1", version=1)


async def test_noscript_fallback(aclient: Any, key: str) -> None:
    await aclient.script_flush()
    assert await aset_if_newer(aclient, key, "v2", version=2)
    assert await aclient.script_exists(SCRIPT_SHA1) == [True]
    await aclient.script_flush()
    assert not await aset_if_newer(aclient, key, "v1", version=1)
    assert await aget_versioned(aclient, key) == ("v2", 2)


async def test_argument_errors(aclient: Any, key: str) -> None:
    with pytest.raises(TypeError, match="version"):
        await aset_if_newer(aclient, key, "v", version=True)
    with pytest.raises(ValueError, match="version"):
        await ainvalidate(aclient, key, version=-1)
    with pytest.raises(TypeError, match="codec"):
        await aset_if_newer(aclient, key, 3.5, version=1)
    assert await aget_versioned(aclient, key) is None


async def test_concurrent_tasks_leave_the_highest_version(aclient: Any, key: str) -> None:
    versions = random.Random(7).sample(range(10_000), 50)  # within the default pool size
    results = await asyncio.gather(
        *(aset_if_newer(aclient, key, f"value {v}", version=v) for v in versions)
    )
    assert results[versions.index(max(versions))] is True
    assert await aget_versioned(aclient, key) == (f"value {max(versions)}", max(versions))


@pytest.mark.parametrize("cache", [{}, object()], ids=["dict", "object"])
async def test_async_functions_need_an_asyncio_client(cache: object) -> None:
    with pytest.raises(TypeError, match="redis.asyncio"):
        await aset_if_newer(cache, "k", "v", version=1)
    with pytest.raises(TypeError, match="redis.asyncio"):
        await aget_versioned(cache, "k")
    with pytest.raises(TypeError, match="redis.asyncio"):
        await ainvalidate(cache, "k", version=1)


async def test_async_functions_refuse_sync_redis(servers: Any) -> None:
    import redis as sync_redis

    client = sync_redis.Redis(host=HOST, port=servers.redis.port)
    with pytest.raises(TypeError, match="use\\s+set_if_newer"):
        await aset_if_newer(client, "k", "v", version=1)
