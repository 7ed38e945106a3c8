"""Redis specifics: NOSCRIPT fallback, one round trip, exact ordering, odd clients."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.cluster import RedisCluster

from cachelint.runtime import get_versioned, invalidate, set_if_newer
from cachelint.runtime._redis import SCRIPT_SHA1
from tests.servers import HOST


@pytest.fixture
def client(servers: Any) -> Iterator[redis.Redis]:
    c = redis.Redis(host=HOST, port=servers.redis.port)
    yield c
    c.close()


@pytest.fixture
def cluster(servers: Any) -> Iterator[RedisCluster]:
    c = RedisCluster(host=HOST, port=servers.redis_cluster.port)
    yield c
    c.close()


def test_noscript_falls_back_to_eval(client: redis.Redis, key: str) -> None:
    client.script_flush()
    assert client.script_exists(SCRIPT_SHA1) == [False]
    assert set_if_newer(client, key, "v2", version=2)  # EVALSHA fails, EVAL runs and caches
    assert client.script_exists(SCRIPT_SHA1) == [True]
    client.script_flush()
    assert not set_if_newer(client, key, "v1", version=1)
    assert not invalidate(client, key, version=1)
    assert get_versioned(client, key) == ("v2", 2)


def test_noscript_fallback_on_cluster(cluster: RedisCluster, key: str) -> None:
    cluster.script_flush()
    assert set_if_newer(cluster, key, "v2", version=2)
    cluster.script_flush()
    assert not set_if_newer(cluster, key, "v1", version=1)
    assert get_versioned(cluster, key) == ("v2", 2)


def _command_calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): v["calls"] for name, v in stats.items()}


def test_a_write_is_one_evalsha_and_a_read_one_get(client: redis.Redis, key: str) -> None:
    set_if_newer(client, key, "warm-up", version=0)  # script cached, connection open
    client.config_resetstat()
    assert set_if_newer(client, key, "v1", version=1, ttl=10)
    assert invalidate(client, key, version=2)
    assert get_versioned(client, key) is None
    calls = _command_calls(client)
    calls.pop("config|resetstat", None)
    # Two EVALSHA and one GET from the client; GETRANGE and SET ran inside the script.
    assert calls == {"evalsha": 2, "get": 1, "getrange": 2, "set": 2}


def test_script_sets_px_in_milliseconds(client: redis.Redis, key: str) -> None:
    assert set_if_newer(client, key, "v", version=1, ttl=0.25)
    assert 100 < client.pttl(key) <= 250  # milliseconds, not seconds
    assert set_if_newer(client, key, "v", version=1, ttl=0.0001)  # rounds up to 1 ms, not 0
    assert -2 <= client.pttl(key) <= 1


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    first=st.integers(min_value=0, max_value=2**200) | st.integers(0, 10**4),
    second=st.integers(min_value=0, max_value=2**200) | st.integers(0, 10**4),
)
def test_script_orders_like_python_ints(client: redis.Redis, first: int, second: int) -> None:
    key = f"h:{uuid.uuid4().hex}"
    assert set_if_newer(client, key, "first", version=first)
    assert set_if_newer(client, key, "second", version=second) is (second >= first)
    expected = ("second", second) if second >= first else ("first", first)
    assert get_versioned(client, key) == expected


def test_large_value_round_trip(client: redis.Redis, key: str) -> None:
    big = bytes(range(256)) * 8192  # 2 MiB
    assert set_if_newer(client, key, big, version=2**70)
    assert not set_if_newer(client, key, b"small", version=2**70 - 1)
    assert get_versioned(client, key) == (big, 2**70)


def test_key_of_another_type_is_an_error_not_an_overwrite(client: redis.Redis, key: str) -> None:
    client.rpush(key, "item")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        set_if_newer(client, key, "v", version=1)
    assert client.lrange(key, 0, -1) == [b"item"]


def test_pipelines_are_refused(client: redis.Redis, key: str) -> None:
    with pytest.raises(TypeError, match="pipeline"):
        set_if_newer(client.pipeline(), key, "v", version=1)


def test_asyncio_client_needs_the_async_functions(servers: Any, key: str) -> None:
    import redis.asyncio

    client = redis.asyncio.Redis(host=HOST, port=servers.redis.port)
    with pytest.raises(TypeError, match="aset_if_newer"):
        set_if_newer(client, key, "v", version=1)
    with pytest.raises(TypeError, match="aget_versioned"):
        get_versioned(client, key)
