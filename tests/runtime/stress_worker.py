"""Writers for the stress test; importable by processes started with 'spawn'."""

from __future__ import annotations

import random
import time
from typing import Any

from cachelint.runtime import set_if_newer

BASE_VERSION = 2**64  # every version is past 64 bits, 2**64 + k: doubles cannot tell them apart


def connect(family: str, port: int) -> Any:
    """A fresh client of its own for one writer or reader."""
    if family == "redis":
        import redis

        return redis.Redis(host="127.0.0.1", port=port)
    if family == "memcached":
        from pymemcache.client.base import Client

        return Client(("127.0.0.1", port))
    raise ValueError(family)


def write_randomly(cache: Any, key: str, seed: int, count: int) -> list[tuple[int, bool]]:
    """``count`` versioned writes with random versions and random small pauses.

    Versions drift upwards (the i-th write of every writer lands near 10*i, give
    or take 30), like refills of a row that keeps changing: writers keep racing
    with both newer and older snapshots instead of settling on one maximum.
    """
    rng = random.Random(seed)
    results = []
    for i in range(count):
        version = BASE_VERSION + 10 * i + rng.randrange(30)
        results.append((version, set_if_newer(cache, key, f"{version}/{seed}", version=version)))
        time.sleep(rng.uniform(0, 0.0005))
    return results


def process_writer(
    family: str, port: int, key: str, seed: int, count: int, ready: Any, go: Any, results: Any
) -> None:
    """Entry point of a writer process: connect, say ready, wait for go, write, report."""
    cache = connect(family, port)
    ready.put(seed)
    if not go.wait(30):
        raise RuntimeError("never told to go")
    results.put(write_randomly(cache, key, seed, count))
