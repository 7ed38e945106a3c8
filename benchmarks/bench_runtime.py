"""Throughput of cachelint.runtime's versioned writes against plain writes.

Starts its own redis-server and memcached on free loopback ports (reusing
tests/servers.py), then times sequential single calls from one client with
values of the same size, keys cycling over a small key space.

The operations of a backend are run in interleaved batches (batch of A, batch
of B, batch of C, then again ...), so load from other processes hits them all
alike; each row shows the median rate over its batches and the median of the
per-round ratios to the plain write (or read) of the same backend::

    python benchmarks/bench_runtime.py [--ops 20000] [--batch 500] [--value-size 256]

No assertion on time: the figures are for reading.  Target: set_if_newer on
Redis >= 0.8x a plain SET.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cachelint.runtime import get_versioned, set_if_newer
from tests.servers import HOST, start_memcached, start_redis

KEYS = [f"bench:{i}" for i in range(1000)]
Op = Callable[[str, int], object]
_versions = itertools.count(1)  # increasing across batches: versioned writes keep winning


def _batch(op: Op, size: int, offset: int) -> float:
    """Calls per second for ``size`` calls of ``op``."""
    start = time.perf_counter()
    for i in range(offset, offset + size):
        op(KEYS[i % len(KEYS)], next(_versions))
    return size / (time.perf_counter() - start)


def compare(
    ops: dict[str, tuple[Op, str]], total: int, batch: int
) -> list[tuple[str, float, float]]:
    """Run the ops in interleaved batches; return (name, median ops/s, median ratio)."""
    rates: dict[str, list[float]] = {name: [] for name in ops}
    for name, (op, _) in ops.items():  # warm-up: connections, script cache, keys present
        _batch(op, len(KEYS), 0)
    for round_ in range(max(1, total // batch)):
        for name, (op, _) in ops.items():
            rates[name].append(_batch(op, batch, round_ * batch))
    rows = []
    for name, (_, baseline) in ops.items():
        ratios = [r / b for r, b in zip(rates[name], rates[baseline])]
        rows.append((name, statistics.median(rates[name]), statistics.median(ratios)))
    return rows


def redis_ops(c: Any, value: bytes) -> dict[str, tuple[Op, str]]:
    base_set, base_get = "redis SET (plain)", "redis GET (plain)"
    return {
        base_set: (lambda k, v: c.set(k, value), base_set),
        "redis set_if_newer (wins)": (
            lambda k, v: set_if_newer(c, k, value, version=v), base_set),
        "redis set_if_newer ttl=300 (wins)": (
            lambda k, v: set_if_newer(c, k, value, version=v, ttl=300), base_set),
        "redis set_if_newer (stale, refused)": (
            lambda k, v: set_if_newer(c, k, value, version=0), base_set),
        base_get: (lambda k, v: c.get(k), base_get),
        "redis get_versioned": (lambda k, v: get_versioned(c, k), base_get),
    }


def memcached_ops(c: Any, value: bytes, c_noreply: Any) -> dict[str, tuple[Op, str]]:
    # The noreply row has a connection of its own: a stream of unanswered
    # requests leaves Nagle/delayed-ACK stalls on a socket that would slow
    # down whatever runs next on it.
    base_set, base_get = "memcached set (noreply=False)", "memcached get (plain)"
    return {
        base_set: (lambda k, v: c.set(k, value, noreply=False), base_set),
        "memcached set (noreply: no reply awaited)": (
            lambda k, v: c_noreply.set(k, value), base_set),
        "memcached set_if_newer (gets+cas, wins)": (
            lambda k, v: set_if_newer(c, k, value, version=v), base_set),
        "memcached set_if_newer (gets, stale, refused)": (
            lambda k, v: set_if_newer(c, k, value, version=0), base_set),
        base_get: (lambda k, v: c.get(k), base_get),
        "memcached get_versioned": (lambda k, v: get_versioned(c, k), base_get),
    }


def print_table(rows: list[tuple[str, float, float]]) -> None:
    print(f"{'operation':<48} {'ops/s':>10} {'vs plain':>9}")
    print("-" * 69)
    for name, rate, ratio in rows:
        print(f"{name:<48} {rate:>10,.0f} {ratio:>8.2f}x")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20_000, help="calls per operation")
    parser.add_argument("--batch", type=int, default=500, help="calls per interleaved batch")
    parser.add_argument("--value-size", type=int, default=256, help="value size in bytes")
    args = parser.parse_args()
    value = (bytes(range(256)) * (args.value_size // 256 + 1))[: args.value_size]

    import redis
    from pymemcache.client.base import Client

    print(f"{args.ops} sequential calls per operation in batches of {args.batch}, "
          f"{args.value_size}-byte values, {len(KEYS)} keys; Python {sys.version.split()[0]}, "
          f"redis-py {redis.__version__}\n")
    with start_redis() as redis_server, start_memcached() as memcached_server:
        rclient = redis.Redis(host=HOST, port=redis_server.port)
        print_table(compare(redis_ops(rclient, value), args.ops, args.batch))
        rclient.close()
        mclient = Client((HOST, memcached_server.port))
        mclient_noreply = Client((HOST, memcached_server.port))
        print_table(compare(memcached_ops(mclient, value, mclient_noreply), args.ops, args.batch))
        mclient.close()
        mclient_noreply.close()


if __name__ == "__main__":
    main()
