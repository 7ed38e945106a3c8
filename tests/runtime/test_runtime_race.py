"""The race from DESIGN.md, forced deterministically with events, on real servers:

    A reads row v7 from the DB ......................... A: cache.set(k, v7)
            B writes v8, commits, cache.delete(k)            ^ stale value reappears

With blind ``set``/``delete`` the stale v7 is served after B's commit; with
``set_if_newer`` + ``invalidate`` it never is.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cachelint.runtime import JsonCodec, get_versioned, invalidate, set_if_newer
from tests.runtime.backends import Case
from tests.servers import HOST

Row = dict[str, Any]
CODEC = JsonCodec()


class Database:
    """The source of truth: one row whose version goes up on every commit."""

    def __init__(self) -> None:
        self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._conn:
            self._conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, version INT)")
            self._conn.execute("INSERT INTO users VALUES (1, 'Ada v7', 7)")

    def read(self) -> Row:
        with self._lock:
            name, version = self._conn.execute(
                "SELECT name, version FROM users WHERE id = 1"
            ).fetchone()
        return {"id": 1, "name": name, "version": version}

    def update(self, name: str) -> Row:
        with self._lock, self._conn:  # commits on exit
            self._conn.execute(
                "UPDATE users SET name = ?, version = version + 1 WHERE id = 1", (name,)
            )
        return self.read()


def run_picture(refill: Callable[[Row], object], invalidate_after_commit: Callable[[Row], object],
                db: Database) -> object:
    """A reads, pauses; B commits and invalidates; A then writes. Returns A's write result."""
    a_has_read, b_done = threading.Event(), threading.Event()
    result: list[object] = []

    def refiller_a() -> None:
        row = db.read()  # v7
        a_has_read.set()
        assert b_done.wait(5)
        result.append(refill(row))

    def writer_b() -> None:
        assert a_has_read.wait(5)
        invalidate_after_commit(db.update("Ada v8"))
        b_done.set()

    threads = [threading.Thread(target=refiller_a), threading.Thread(target=writer_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(result) == 1, "refiller A did not finish"
    return result[0]


# -- the naive code, on raw clients ------------------------------------------------------------


class NaiveRedis:
    def __init__(self, port: int) -> None:
        import redis

        self.client = redis.Redis(host=HOST, port=port)

    def set(self, key: str, row: Row) -> None:
        self.client.set(key, json.dumps(row))

    def delete(self, key: str) -> None:
        self.client.delete(key)

    def get(self, key: str) -> Row | None:
        raw = self.client.get(key)
        return None if raw is None else json.loads(raw)


class NaiveMemcached:
    def __init__(self, port: int) -> None:
        from pymemcache.client.base import Client

        self.client = Client((HOST, port))

    def set(self, key: str, row: Row) -> None:
        assert self.client.set(key, json.dumps(row).encode(), noreply=False)

    def delete(self, key: str) -> None:
        self.client.delete(key, noreply=False)

    def get(self, key: str) -> Row | None:
        raw = self.client.get(key)
        return None if raw is None else json.loads(raw)


@pytest.fixture(params=["redis", "memcached"])
def naive(request: pytest.FixtureRequest, servers: Any) -> Iterator[NaiveRedis | NaiveMemcached]:
    if request.param == "redis":
        yield NaiveRedis(servers.redis.port)
    else:
        yield NaiveMemcached(servers.memcached.port)


def test_blind_set_and_delete_serve_the_stale_row(naive: NaiveRedis | NaiveMemcached,
                                                   key: str) -> None:
    db = Database()
    run_picture(lambda row: naive.set(key, row), lambda row: naive.delete(key), db)

    cached = naive.get(key)  # the next reader hits the cache
    assert db.read()["version"] == 8
    assert cached is not None and cached["version"] == 7, "the naive code should lose the race"
    assert cached["name"] == "Ada v7"  # stale data served after B's commit


# -- the same interleaving with the runtime ----------------------------------------------------


def read_through(cache: Any, key: str, db: Database) -> Row:
    """A reader: cache hit, or refill from the DB with the row's version."""
    hit = get_versioned(cache, key, codec=CODEC)
    if hit is not None:
        return dict(hit[0])
    row = db.read()
    set_if_newer(cache, key, row, version=row["version"], codec=CODEC)
    return row


def test_versioned_writes_never_serve_the_stale_row(case: Case, key: str) -> None:
    db = Database()
    a_wrote = run_picture(
        lambda row: set_if_newer(case.cache, key, row, version=row["version"], codec=CODEC),
        lambda row: invalidate(case.cache, key, version=row["version"], ttl=60),
        db,
    )
    assert a_wrote is False  # A's v7 lost against B's v8 tombstone
    assert get_versioned(case.cache, key, codec=CODEC) is None  # next reader misses

    first = read_through(case.cache, key, db)
    second = read_through(case.cache, key, db)
    assert first == second == db.read()
    assert second["version"] == 8 and second["name"] == "Ada v8"
    assert get_versioned(case.cache, key, codec=CODEC) == (db.read(), 8)
