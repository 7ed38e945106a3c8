from __future__ import annotations

from collections.abc import Iterator

from cachelint import races
from cachelint.diagnostics import Diagnostic
from cachelint.fixes import version_check
from cachelint.rules import Rule, RuleContext


class NonAtomicVersionCheck(Rule):
    """
    ## What it does
    Finds a hand-written version check on a shared cache: the cached entry (or
    its version, or its update time) is read, compared with `<`, `<=`, `>` or
    `>=`, and the new value written, as separate round trips. Both shapes count:

    - the write inside the check: `if cached is None or cached["version"] < version: cache.set(...)`;
    - the write after an early exit: `if cached and cached["version"] >= version: return`.

    A version bumped by hand is the same race without a comparison: a cached value
    read from a key named like a version (or into a local named so), computed on
    and written back to the same key (`cache.set(version_key,
    cache.get(version_key, 0) + 1)`).

    The comparison must involve a value read from the cache and something named
    as an ordering token (`version`, `ver`, `seq`, `revision`, `generation`,
    `lsn`, `serial`, `updated_at`, `modified`, `timestamp`, `ts`...), or, named or not, a
    local that the write then stores under the key it read (`if int(current) >=
    step: return` ... `r.set(key, step)`: the key only moves forward). A limit
    (`if int(active) >= 16`) or a quantity computed from the check (`r.set(key,
    available - wanted)`) orders nothing. Checks made
    atomic are not reported: writes on a pipeline that `WATCH`es the key (or that
    read the key before `multi()`, which only works while watching), memcached
    `gets` followed by `cas` (and the `add` that creates an absent key in that
    loop), a server-side script (`eval`, `evalsha`, `register_script`), or
    `set_if_newer`.

    ## Why is this bad?
    Another writer can write between the read and the set: both see the old
    version, both decide to write, and the slower one (possibly the older value)
    wins. The check must be atomic with the write.

    One finding per check: when several writes follow one check (a value key
    and a version key), the first is reported. This rule takes precedence over
    the other write races (CL402, CL401, CL102, CL101): a hand-written check
    shows the author wanted ordering, and its fix is the atomic version of it.
    """

    code = "CL103"
    name = "non-atomic-version-check"
    summary = "Check-then-set in two round trips: a writer can slip in between."
    fixable = "sometimes"
    fix_doc = """
    When the whole `if` statement is the check and the write --
    `if cached < version:`, `if version > cached:` (or `<=`/`>=`), optionally after
    `cached is None or` / `not cached or`, with the single write of the key that
    was read in its body and no `else` -- `cachelint check --fix --unsafe-fixes`
    replaces the `if` with `set_if_newer(cache, key, value, version=<version>)`
    (`await aset_if_newer(...)` for asyncio clients), keeping the expiry as
    `ttl=` (a Django write without a timeout keeps the cache's
    `default_timeout`) and the comments. Reads of the same key in the function become
    `get_value(cache, key)`. Values that are not `str`/`bytes` get
    `codec=JsonCodec()`. The imports are added once.

    Fix safety: **unsafe** (applied only with `--unsafe-fixes`). The key's stored
    format changes to the runtime's versioned format, so every other reader of
    the key must use `get_value`/`get_versioned`; values go through JSON instead
    of the client's serializer; and an equal version now wins (`set_if_newer`
    writes when `version >=` the stored one), where `cached < version` skipped it.

    No fix when the check reads another key (a separate version key), guards
    more than the write, has an `else`, or when the version is not a plain name,
    attribute, subscript or `int(...)` of one.
    """
    references = (
        "Redis: transactions (WATCH/MULTI) and EVAL scripts",
        "memcached: gets/cas",
        "DESIGN.md: the runtime contract",
    )
    INVALID = (
        """
        from django.core.cache import cache

        def store_price(sku, price, version):
            current = cache.get(f"price:{sku}")
            if current is None or current["version"] < version:
                cache.set(f"price:{sku}", {"price": price, "version": version})
        """,
        """
        import redis

        r = redis.Redis()

        def apply_balance(account_id, balance, seq):
            cached_seq = r.get(f"balance-seq:{account_id}")
            if cached_seq is not None and int(cached_seq) >= seq:
                return
            r.set(f"balance:{account_id}", balance)
            r.set(f"balance-seq:{account_id}", seq)
        """,
    )
    VALID = (
        """
        from django.core.cache import cache
        from cachelint.runtime import JsonCodec, set_if_newer

        def store_price(sku, price, version):
            set_if_newer(cache, f"price:{sku}", {"price": price, "version": version},
                         version=version, codec=JsonCodec())
        """,
        """
        import redis

        r = redis.Redis()

        def apply_balance(account_id, balance, seq):
            key = f"balance:{account_id}"
            with r.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(key)
                        current = pipe.hget(key, "seq")
                        if current is not None and int(current) >= seq:
                            pipe.unwatch()
                            return
                        pipe.multi()
                        pipe.hset(key, mapping={"balance": balance, "seq": seq})
                        pipe.execute()
                        return
                    except redis.WatchError:
                        continue
        """,
    )

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        reported: set[int] = set()
        for op in ctx.facts.ops:
            if races.write_race(op, ctx.facts) != self.code:
                continue
            check = op.version_guard
            if check is not None:
                if id(check) in reported:
                    continue
                reported.add(id(check))
            if check is None:  # a version bump
                yield self.report(
                    op.call,
                    f"version read, bumped and written back with `{op.method}()` in separate "
                    "round trips: two concurrent bumps write the same version and one "
                    "invalidation is lost; bump atomically (`incr`, INCR) or write with "
                    "set_if_newer",
                    no_fix_reason="no automatic fix",
                )
                continue
            outcome = version_check.build(op, ctx.module, ctx.config)
            message = (
                f"version checked and `{op.method}()` written in separate round trips: another "
                "writer can slip in between the check and the write; use set_if_newer, "
                "WATCH/MULTI, gets/cas or a server-side script"
            )
            yield self.report(op.call, message, outcome.fix, outcome.reason)
