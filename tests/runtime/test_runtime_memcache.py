"""memcached specifics: lost cas/add races, noreply, expiry conversion, dead servers.

A race is forced deterministically: :class:`RacingClient` (pymemcache) and
:class:`RacingPM` (python-memcached) are real clients that let a second real client
write right after their ``gets``, so the following ``cas``/``add`` really fails on the
server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import memcache
import pytest
from pymemcache.client.base import Client
from pymemcache.client.hash import HashClient

from cachelint.runtime import (
    VersionConflictError,
    _memcache,
    get_versioned,
    invalidate,
    set_if_newer,
)
from tests.runtime.backends import memcached_ttl
from tests.servers import HOST, Server, free_port


class _RunsBetweenGets:
    """Runs ``between()`` after each of the client's first ``times`` ``gets`` calls."""

    between: Callable[[], object]
    times: int
    gets_calls: int

    def gets(self, *args: Any, **kwargs: Any) -> Any:
        reply = super().gets(*args, **kwargs)  # type: ignore[misc]
        self.gets_calls += 1
        if self.gets_calls <= self.times:
            self.between()
        return reply


class RacingClient(_RunsBetweenGets, Client):
    def __init__(self, server: Server, between: Callable[[], object], times: int = 1) -> None:
        super().__init__((HOST, server.port))  # default_noreply=True, as users have it
        self.between, self.times, self.gets_calls = between, times, 0


class RacingPM(_RunsBetweenGets, memcache.Client):
    def __init__(self, server: Server, between: Callable[[], object], times: int = 1) -> None:
        super().__init__([server.address], cache_cas=True)
        self.between, self.times, self.gets_calls = between, times, 0


@dataclass
class Clients:
    """A plain client of one library (the concurrent writer) and racing ones of the same."""

    other: Any
    racing: Callable[..., _RunsBetweenGets]
    delete: Callable[[str], object]


@pytest.fixture(params=["pymemcache", "python-memcached"])
def clients(request: pytest.FixtureRequest, servers: Any) -> Iterator[Clients]:
    server = servers.memcached
    if request.param == "pymemcache":
        client = Client((HOST, server.port))
        yield Clients(client, lambda between, times=1: RacingClient(server, between, times),
                      lambda k: client.delete(k, noreply=False))
        client.close()
    else:
        pm = memcache.Client([server.address], cache_cas=True)
        yield Clients(pm, lambda between, times=1: RacingPM(server, between, times), pm.delete)
        pm.disconnect_all()


@pytest.fixture
def other(servers: Any) -> Iterator[Client]:
    """A pymemcache connection, for the pymemcache-only tests below."""
    client = Client((HOST, servers.memcached.port))
    yield client
    client.close()


def test_newer_write_between_gets_and_cas_wins(clients: Clients, key: str) -> None:
    other = clients.other
    assert set_if_newer(other, key, "v1", version=1)
    racing = clients.racing(lambda: set_if_newer(other, key, "v9", version=9))
    assert set_if_newer(racing, key, "v5", version=5) is False  # cas fails, re-read sees v9
    assert get_versioned(other, key) == ("v9", 9)
    assert racing.gets_calls == 2


def test_older_write_between_gets_and_cas_is_overwritten(clients: Clients, key: str) -> None:
    other = clients.other
    assert set_if_newer(other, key, "v1", version=1)
    racing = clients.racing(lambda: set_if_newer(other, key, "v3", version=3))
    assert set_if_newer(racing, key, "v5", version=5) is True
    assert get_versioned(other, key) == ("v5", 5)
    assert racing.gets_calls == 2


def test_add_race_on_absent_key(clients: Clients, key: str) -> None:
    other = clients.other
    racing = clients.racing(lambda: invalidate(other, key, version=9))
    assert set_if_newer(racing, key, "v5", version=5) is False  # add fails, tombstone v9 wins
    assert get_versioned(other, key) is None
    assert not set_if_newer(other, key, "v8", version=8)


def test_key_deleted_between_gets_and_cas(clients: Clients, key: str) -> None:
    other = clients.other
    assert set_if_newer(other, key, "v1", version=1)
    racing = clients.racing(lambda: clients.delete(key))
    assert set_if_newer(racing, key, "v5", version=5) is True  # cas: NOT_FOUND, then add
    assert get_versioned(other, key) == ("v5", 5)


def test_gives_up_with_version_conflict_error(clients: Clients, key: str) -> None:
    other = clients.other
    counter = iter(range(1_000_000))

    def rewrite_same_version() -> None:  # keeps the version, changes the cas token
        assert set_if_newer(other, key, f"other {next(counter)}", version=5)

    racing = clients.racing(rewrite_same_version, times=10**6)
    with pytest.raises(VersionConflictError) as info:
        set_if_newer(racing, key, "mine", version=5)
    assert info.value.attempts == _memcache.MAX_ATTEMPTS == racing.gets_calls
    value, version = get_versioned(other, key) or (None, None)
    assert version == 5 and value != "mine"


def test_expiry_beyond_30_days_is_sent_as_absolute_time(
    servers: Any, other: Client, key: str
) -> None:
    month = 31 * 24 * 3600  # a relative 2678400 would read as a 1970 timestamp
    assert set_if_newer(other, key, "long", version=1, ttl=month)
    assert get_versioned(other, key) == ("long", 1)
    remaining = memcached_ttl(servers.memcached, key)
    assert remaining is not None and month - 5 <= remaining <= month + 1


def test_expire_seconds_rounds_up() -> None:
    assert _memcache.expire_seconds(None) == 0
    assert _memcache.expire_seconds(0.001) == 1
    assert _memcache.expire_seconds(1.0) == 1
    assert _memcache.expire_seconds(1.2) == 2
    assert abs(_memcache.expire_seconds(40 * 24 * 3600) - (time.time() + 40 * 24 * 3600)) < 2


def test_hash_client_with_no_live_server_raises() -> None:
    dead = HashClient([(HOST, free_port())], ignore_exc=True, connect_timeout=0.2, timeout=0.2)
    with pytest.raises(ConnectionError, match="no reply"):
        set_if_newer(dead, "k", "v", version=1)
