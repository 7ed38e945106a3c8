"""Concurrent writers (threads and spawned processes) and readers on one key.

Invariants: the final value carries the highest version written; every write
of that version reported success; no reader ever sees the version go down or
a value that does not match its version.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import UserDict
from collections.abc import Callable
from typing import Any

import pytest

from cachelint.runtime import get_versioned
from tests.runtime.stress_worker import BASE_VERSION, connect, process_writer, write_randomly

THREADS = 8
PROCESSES = 4
WRITES = 150
READERS = 3


class Reader(threading.Thread):
    """Reads until told to stop; records what went wrong, if anything."""

    def __init__(self, cache: Any, key: str, done: threading.Event) -> None:
        super().__init__(daemon=True)
        self.cache, self.key, self.done = cache, key, done
        self.reads, self.last = 0, -1
        self.problems: list[str] = []

    def run(self) -> None:
        while not self.done.is_set():
            hit = get_versioned(self.cache, self.key)
            self.reads += 1
            if hit is None:
                if self.last >= 0:
                    self.problems.append("value vanished")
                continue
            value, version = hit
            if not str(value).startswith(f"{version}/"):
                self.problems.append(f"value {value!r} does not match version {version}")
            if version < self.last:
                self.problems.append(f"version went back from {self.last} to {version}")
            self.last = version


class ProcessWriters:
    """Writer processes ('spawn'): started and connected first, then released at once."""

    def __init__(self, family: str, port: int, key: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._ready, self._results, self._go = ctx.Queue(), ctx.Queue(), ctx.Event()
        self._procs = [
            ctx.Process(
                target=process_writer,
                args=(family, port, key, 100 + i, WRITES, self._ready, self._go, self._results),
                daemon=True,
            )
            for i in range(PROCESSES)
        ]

    def start(self) -> None:
        for p in self._procs:
            p.start()
        for _ in self._procs:
            self._ready.get(timeout=60)

    def go(self) -> None:
        self._go.set()

    def results(self) -> list[list[tuple[int, bool]]]:
        try:
            return [self._results.get(timeout=60) for _ in self._procs]
        finally:
            for p in self._procs:
                p.join(10)
                if p.is_alive():
                    p.kill()


def _hammer(new_client: Callable[[], Any], key: str, processes: ProcessWriters | None) -> None:
    stop = threading.Event()
    readers = [Reader(new_client(), key, stop) for _ in range(READERS)]
    thread_results: list[list[tuple[int, bool]]] = [[] for _ in range(THREADS)]
    go = threading.Event()

    def thread_writer(i: int) -> None:
        client = new_client()
        go.wait()
        thread_results[i] = write_randomly(client, key, seed=i, count=WRITES)

    writers = [threading.Thread(target=thread_writer, args=(i,)) for i in range(THREADS)]
    for t in readers + writers:
        t.start()
    if processes is not None:
        processes.start()
        processes.go()
    go.set()
    process_results = [] if processes is None else processes.results()
    for t in writers:
        t.join(60)
    stop.set()
    for t in readers:
        t.join(10)

    writes = [w for batch in thread_results + process_results for w in batch]
    assert len(writes) == WRITES * (THREADS + len(process_results))
    highest = max(v for v, _ in writes)
    assert highest > BASE_VERSION
    assert all(ok for v, ok in writes if v == highest), "a write of the highest version lost"
    assert any(not ok for _, ok in writes), "no write was ever refused: no contention?"
    final = get_versioned(new_client(), key)
    assert final is not None and final[1] == highest and str(final[0]).startswith(f"{highest}/")
    for reader in readers:
        assert reader.problems == []
        assert reader.reads > 10


@pytest.mark.parametrize("family", ["redis", "memcached"])
def test_threads_and_processes_on_a_server(servers: Any, key: str, family: str) -> None:
    port = servers.redis.port if family == "redis" else servers.memcached.port
    _hammer(lambda: connect(family, port), key, ProcessWriters(family, port, key))


class SlowStore(UserDict[str, Any]):
    """A mapping whose reads take a while: a wide window between read and write."""

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        time.sleep(0.0001)  # the value may be stale by the time the caller sees it
        return value


@pytest.mark.parametrize("family", ["dict", "slow-mapping", "django-locmem"])
def test_threads_in_process(key: str, family: str) -> None:
    if family == "dict":
        shared: Any = {}
    elif family == "slow-mapping":
        shared = SlowStore()
    else:
        from django.core.cache.backends.locmem import LocMemCache

        shared = LocMemCache(f"stress-{key}", {})
    _hammer(lambda: shared, key, None)
