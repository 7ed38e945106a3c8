"""Throughput of cachelint.runtime's versioned writes against plain writes.

Starts its own redis-server and memcached on free loopback ports (reusing
tests/servers.py), then times sequential single calls from one client with
values of the same size, keys cycling over a small key space.

The operations of a backend are run in interleaved batches (batch of A, batch
of B, batch of C, then again ...), so load from other processes hits them all
alike; each row shows the median rate over its batches and the median of the
per-round ratios to the plain write (or read) of the same backend.  It also
shows the CPU time per call, this process plus the server (Redis ``INFO cpu``,
memcached ``stats`` rusage), which a busy machine does not distort (ratio:
plain CPU / this CPU, so higher is better in both columns)::

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


class Meter:
    """Wall-clock rate and CPU cost (this process + the server) of batches of calls."""

    def __init__(self, server_cpu: Callable[[], float]) -> None:
        self.server_cpu = server_cpu

    def batch(self, op: Op, size: int, offset: int) -> tuple[float, float]:
        """Run ``size`` calls; return (calls per second, CPU microseconds per call)."""
        cpu0, server0 = time.process_time(), self.server_cpu()
        start = time.perf_counter()
        for i in range(offset, offset + size):
            op(KEYS[i % len(KEYS)], next(_versions))
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu0 + self.server_cpu() - server0
        return size / elapsed, cpu / size * 1e6


Row = tuple[str, float, float, float, float]


def compare(ops: dict[str, tuple[Op, str]], meter: Meter, total: int, batch: int) -> list[Row]:
    """Run the ops in interleaved batches.

    Returns (name, median ops/s, median ratio of ops/s to the baseline in the
    same round, CPU us per op, CPU ratio to the baseline).
    """
    rates: dict[str, list[float]] = {name: [] for name in ops}
    cpus: dict[str, list[float]] = {name: [] for name in ops}
    for op, _ in ops.values():  # warm-up: connections, script cache, keys present
        meter.batch(op, len(KEYS), 0)
    for round_ in range(max(1, total // batch)):
        for name, (op, _) in ops.items():
            rate, cpu = meter.batch(op, batch, round_ * batch)
            rates[name].append(rate)
            cpus[name].append(cpu)
    rows = []
    for name, (_, baseline) in ops.items():
        ratios = [r / b for r, b in zip(rates[name], rates[baseline])]
        cpu, base_cpu = sum(cpus[name]) / len(cpus[name]), sum(cpus[baseline]) / len(cpus[baseline])
        rows.append((name, statistics.median(rates[name]), statistics.median(ratios), cpu,
                     base_cpu / cpu))
    return rows


def redis_ops(c: Any, value: bytes) -> dict[str, tuple[Op, str]]:
    base_set, base_get = "redis SET (plain)", "redis GET (plain)"
    return {
        base_set: (lambda k, v: c.set(k, value), base_set),
        "redis set_if_newer (wins)": (
            lambda k, v: set_if_newer(c, k, value, version=v), base_set),
        "redis SET PX 300000 (plain)": (
            lambda k, v: c.set(k, value, px=300_000), "redis SET PX 300000 (plain)"),
        "redis set_if_newer ttl=300 (wins)": (
            lambda k, v: set_if_newer(c, k, value, version=v, ttl=300),
            "redis SET PX 300000 (plain)"),
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


def print_table(rows: list[Row]) -> None:
    print(f"{'operation':<46} {'ops/s':>8} {'vs plain':>8}  {'CPU us/op':>9} {'vs plain':>8}")
    print("-" * 85)
    for name, rate, ratio, cpu, cpu_ratio in rows:
        print(f"{name:<46} {rate:>8,.0f} {ratio:>7.2f}x  {cpu:>9.1f} {cpu_ratio:>7.2f}x")
    print()


def redis_cpu(client: Any) -> Callable[[], float]:
    def seconds() -> float:
        info = client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    return seconds


def memcached_cpu(client: Any) -> Callable[[], float]:
    def seconds() -> float:
        stats = client.stats()
        return float(stats[b"rusage_user"]) + float(stats[b"rusage_system"])

    return seconds


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
        meter = Meter(redis_cpu(rclient))
        print_table(compare(redis_ops(rclient, value), meter, args.ops, args.batch))
        rclient.close()
        mclient = Client((HOST, memcached_server.port))
        mclient_noreply = Client((HOST, memcached_server.port))
        meter = Meter(memcached_cpu(mclient))
        print_table(compare(memcached_ops(mclient, value, mclient_noreply), meter, args.ops,
                            args.batch))
        mclient.close()
        mclient_noreply.close()


if __name__ == "__main__":
    main()
