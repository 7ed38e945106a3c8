from __future__ import annotations

from collections.abc import Iterator

from cachelint import races
from cachelint.diagnostics import Diagnostic
from cachelint.fixes import set_if_newer
from cachelint.rules import Rule, RuleContext


class BlindRefillSet(Rule):
    """
    ## What it does
    Finds writes to a shared cache (Redis, memcached, Django's cache...) on a
    *refill path* that carry no ordering check. A refill path writes a value read
    from the source of truth in the same function (ORM query, SQLAlchemy session,
    DB-API fetch, HTTP call, or a call named `fetch*`, `load*`, `query*`, `lookup*`,
    `read*`, `find*`, `compute*`, `build*`, `render*`), or writes on the miss branch
    of a read of the same key (made here or by a small same-module getter such as
    `self.cached_stats()`), or sits in a function named for refilling
    (`refresh`, `refill`, `reload`, `warm`, `prime`, `rebuild`, `repopulate`).
    `get_or_set` (Django) and `get_or_create` (dogpile) with a loading default (a
    lambda, a loader function, `functools.partial(load, ...)`, or a function defined
    in the caller that returns more than constants) are refills too.
    A cache proxy's own write method (`def set(self, key, value)` storing its
    parameter, even transformed with data it reads) passes its caller's value
    through: the callers' writes are judged instead. Not refills: constants,
    counters, lock and claim keys taken with `add`/`nx` (`lock:...`,
    `fill_claim:{id}` holding a worker name rather than a loaded row), adding
    an item to a cached list (`popular = mc.get(k) or []; if x in popular: ...`),
    a value computed only from what the same key held (`r.set(k, int(active or 0)
    + 1)`: a read-modify-write, not a refill), a serialised constant
    (`json.dumps({"missing": True})`), and a row's id under that row's own key
    (`f"host:{host.pk}:id"`). An id under another key is data: the key points at
    whichever row was read last (`cache.set(f"preferred_host:{event.pk}",
    host.id)`), and a slower refill can leave it on an older one.

    ## Why is this bad?
    The last write wins, not the newest data. A refill that read row version 7
    can be slow; meanwhile a writer commits version 8 and deletes the key. The
    refill then lands and version 7 is served until it expires. Deleting the key
    does not stop an older snapshot from being written later. `add` and `nx=True`
    do not help: after the invalidation the key is absent, so the stale refill
    still lands. Django's `version=` argument namespaces keys; it does not order
    writes.
    """

    code = "CL101"
    name = "blind-refill-set"
    summary = "Blind cache write on a refill path: a stale refill can overwrite newer data."
    fixable = "sometimes"
    fix_doc = """
    `cachelint check --fix` rewrites the write into
    `set_if_newer(cache, key, value, version=<version>, ttl=<ttl>)` (or
    `await aset_if_newer(...)` for asyncio clients), importing the helper from
    `cachelint.runtime` (or the module named by `versioned-helpers`) once.

    - The version must exist in the code: an attribute named in
      `version-attributes` read, in the same function, from an object the value
      derives from, or the `"version"` entry of the dict literal being written.
      Otherwise there is no fix and the message says "no version found: expose one
      from the source of truth".
    - The expiry is kept for every client: `timeout` (Django, flask-caching),
      `ex`/`px` and `setex`/`psetex` (redis), `expire` (pymemcache), `time`
      (python-memcached), `ttl` (aiocache); a Django write without a timeout keeps
      the cache's default (`ttl=cache.default_timeout`).
    - Keys written by the runtime carry their version, so plain `get` cannot read
      them: the fix also rewrites the reads of the same key in the same function
      (`cache.get(key)` becomes `get_value(cache, key)`). Values that are not
      visibly `str`/`bytes` are stored with `codec=JsonCodec()` (never pickle).
    - dogpile regions (no atomic compare-and-set in the runtime), multi-value writes
      (`set_many`, `mset`, `hset`), and arguments with no equivalent (Django
      `version=`, redis `xx=`/`keepttl=`) get no fix.

    Fix safety, as ruff defines it: **safe** when the write is a `set`/`setex`/
    `psetex` on a client resolved by its import or annotation, the value is text or
    a dict/list literal, and every read of the key family in the module is
    rewritten with it: the cache-aside code then behaves as before except that an
    older version can no longer overwrite a newer one. **Unsafe** (applied only
    with `--unsafe-fixes`) when the meaning may change: `add`, `replace` and
    `nx=True` lose their only-if-absent meaning; a receiver recognised only by its
    name may not be a supported client; python-memcached and flask-caching need a
    client configured for compare-and-set (`cache_cas=True`, a Redis or CAS-enabled
    memcached backend); a value of unknown type must be
    JSON-serialisable; and other readers of the same keys must switch to
    `get_value`/`get_versioned`. Pair it with `invalidate(...)` for the deletes of
    the same keys (CL403): a blind delete lets an older refill land on the empty
    key.
    """
    options_doc = """
    - `version-attributes`: attribute names trusted as versions
      (default `version`, `revision`, `row_version`, `seq`, `lsn`, `generation`).
    - `versioned-helpers`: extra helpers that write with a version check (never
      reported); the first `*.set_if_newer` entry is the import the fix writes.
    - `extend-shared-caches`, `extend-local-caches`, `extend-source-reads`.
    """
    references = (
        "DESIGN.md: the problem, in one picture",
        "Redis: transactions with WATCH and server-side scripts",
        "memcached: gets/cas",
    )
    INVALID = (
        """
        from django.core.cache import cache
        from shop.models import Product

        def product_detail(request, pk):
            product = Product.objects.get(pk=pk)
            payload = {"name": product.name, "version": product.version}
            cache.set(f"product:{pk}", payload, timeout=300)
        """,
    )
    VALID = (
        """
        from django.core.cache import cache
        from cachelint.runtime import set_if_newer
        from shop.models import Product

        def product_detail(request, pk):
            product = Product.objects.get(pk=pk)
            payload = {"name": product.name, "version": product.version}
            set_if_newer(cache, f"product:{pk}", payload, version=product.version, ttl=300)
        """,
    )

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for op in ctx.facts.ops:
            if races.write_race(op, ctx.facts) != self.code:
                continue
            outcome = set_if_newer.build(op, ctx.module, ctx.facts, ctx.config)
            message = (
                f"blind `{op.method}()` on a refill path: a slower refill of older data "
                "can land after a newer write and its invalidation; write with "
                "set_if_newer(..., version=<source version>)"
            )
            yield self.report(op.call, message, outcome.fix, outcome.reason)
