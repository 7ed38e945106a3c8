"""Real redis-server (plain and one-node cluster) and memcached for the runtime tests.

The servers are started once per session; every backend fixture flushes them
first.  A missing server binary fails the tests with the package to install.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # so that `tests.servers` and `cachelint` import from the checkout
    sys.path.insert(0, str(ROOT))

from tests.runtime.backends import SYNC_CASES, Case, Servers, make_case
from tests.servers import (
    Server,
    ServerUnavailable,
    flush_memcached,
    flush_redis,
    start_memcached,
    start_redis,
)


def _started(start: object) -> Iterator[Server]:
    assert callable(start)
    try:
        server = start()
    except ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Server]:
    yield from _started(start_redis)


@pytest.fixture(scope="session")
def redis_cluster_server() -> Iterator[Server]:
    yield from _started(lambda: start_redis(cluster=True))


@pytest.fixture(scope="session")
def memcached_server() -> Iterator[Server]:
    yield from _started(start_memcached)


@pytest.fixture
def servers(
    redis_server: Server, redis_cluster_server: Server, memcached_server: Server
) -> Servers:
    for server in (redis_server, redis_cluster_server):
        flush_redis(server)
    flush_memcached(memcached_server)
    return Servers(redis_server, redis_cluster_server, memcached_server)


@pytest.fixture(params=SYNC_CASES)
def case(request: pytest.FixtureRequest, servers: Servers) -> Iterator[Case]:
    """Every synchronous cache object the runtime supports."""
    built = make_case(request.param, servers)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def key() -> str:
    return f"t:{uuid.uuid4().hex}"
