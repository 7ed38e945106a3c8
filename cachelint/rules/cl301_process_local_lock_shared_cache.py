from __future__ import annotations

from collections.abc import Iterator

from cachelint.diagnostics import Diagnostic
from cachelint.facts import CacheOp, FunctionFacts
from cachelint.rules import Rule, RuleContext


class ProcessLocalLockSharedCache(Rule):
    """
    ## What it does
    Finds a process-local lock (`threading.Lock/RLock/Semaphore/BoundedSemaphore/
    Condition`, `asyncio.Lock/Semaphore/Condition`, `anyio.Lock`, `trio.Lock`,
    gevent locks) or a host-local one
    (`multiprocessing.Lock/RLock`, `filelock.FileLock`,
    `fasteners.InterProcessLock`) taken with `with`, `async with` or `acquire()`
    around reads or writes of a **shared** cache (Redis set, sorted-set, list and
    hash commands such as `scard`/`sadd` count too). Locks are resolved through
    module and class attributes, `self.x = ...` in `__init__` and locals; only
    cache calls written inside the locked block count, and calls to functions or
    methods of the same module that make such calls, themselves or through
    the functions they call (`self.refresh()`, `super().get(key)`), and the
    runtime's helpers called on a shared client (`get_versioned(mc, key)`,
    `set_if_newer(mc, ...)`: the write is safe, the lock still excludes no one).

    ## Why is this bad?
    The lock excludes only threads (or tasks) of one process, or processes of one
    host. Every other worker, pod and host still reads, computes and writes the
    same key concurrently, so the check-then-set the lock seems to protect still
    races. Locks around in-process caches (`dict`, `lru_cache`, `cachetools`) are
    fine, and distributed locks (`redis.lock`, django-redis `cache.lock`,
    `redis_lock`, Redlock) are not this rule.
    """

    code = "CL301"
    name = "process-local-lock-shared-cache"
    summary = "A process-local lock guarding a shared cache excludes no other process."
    references = ("redis-py: Redis.lock", "DESIGN.md: rule catalog, CL301")
    INVALID = (
        """
        import threading
        import redis

        client = redis.Redis()
        _lock = threading.Lock()

        def next_invoice_number():
            with _lock:
                current = int(client.get("invoice:last") or 0)
                client.set("invoice:last", current + 1)
        """,
    )
    VALID = (
        """
        import redis

        client = redis.Redis()

        def next_invoice_number():
            return client.incr("invoice:last")
        """,
    )

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        touching = _touching_shared_cache(ctx.facts.functions)
        for function in ctx.facts.functions:
            for region in function.lock_regions:
                shared = [op for op in region.ops if op.shared]
                shared += [touching[name] for name in region.calls if name in touching]
                used = [op.method for op in shared] + region.helper_calls
                if not used:
                    continue
                lock = region.kind.lib
                yield self.report(
                    region.node,
                    f"process-local lock `{lock}` guards shared cache `{used[0]}()`: "
                    "other processes and hosts are not excluded and still race; use a "
                    "distributed lock or an atomic compare-and-set (set_if_newer)",
                )


def _touching_shared_cache(functions: list[FunctionFacts]) -> dict[str, CacheOp]:
    """Same-module functions that reach a shared cache, themselves or through the
    functions they call (``self._load()`` -> ``super().get()`` -> ``redis.get``): a
    locked call to one counts."""
    touching: dict[str, CacheOp] = {}
    for function in functions:
        shared = [op for op in function.ops if op.shared and op.category != "safe"]
        if shared:
            touching.setdefault(function.name, shared[0])
    changed = True
    while changed:
        changed = False
        for function in functions:
            if function.name in touching:
                continue
            reached = next((touching[c] for c in sorted(function.callees) if c in touching), None)
            if reached is not None:
                touching[function.name] = reached
                changed = True
    return touching
