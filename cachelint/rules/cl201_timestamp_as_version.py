from __future__ import annotations

from collections.abc import Iterator

from cachelint.diagnostics import Diagnostic
from cachelint.rules import Rule, RuleContext


class TimestampAsVersion(Rule):
    """
    ## What it does
    Finds a clock used as a version or ordering token: a wall clock
    (`time.time`, `time.time_ns`, `datetime.now/utcnow/today`,
    `django.utils.timezone.now`, `arrow`/`pendulum` now) or a per-process clock
    (`time.monotonic`, `time.perf_counter`) passed as `version=`/`ver=`/`seq=`/
    `revision=`/`generation=` to a cache write or versioned helper (configured, or
    named for versions or caches: `set_versioned`, `cache_put`), stored under a
    version-like key of a value written to a cache or published as an event
    (also `payload["version"] = time.time()`), assigned to a version-like
    attribute, or compared with a version to decide whether a cache entry is
    written: `if cached["updated_at"] < time.time(): cache.set(...)`, or
    `if current["generated"] > now: return` before the write. A comparison with
    an offset (`time.time() - 60`, `cached_at + ttl`) is expiry, not ordering.
    One-hop locals are followed
    (`now = time.time(); ... version=now`), and a local named like a version
    (`version = int(time.time() * 1e6)`) is reported once it is written to a cache
    or passed to a function named like a version (`_set_cache_version(..., version)`).
    A clock written into a cache value (`cache.set(k, (time(), rows))`,
    `set_many({k: now for k in keys})`) is reported when the same module orders
    cached values against each other (`if computed_at >= max(cached.values())`):
    there the stored time decides which cached entry is kept.

    ## Why is this bad?
    Wall clocks drift between hosts and jump (NTP, leap smearing, VM pauses), and
    wall-clock order is not commit order: the writer that read older data can
    stamp a later time. A per-process clock means nothing in another process.
    Either way an older value can win the comparison. Timestamps used for TTLs,
    expiry, logging or as plain data are not versions and are not reported.
    """

    code = "CL201"
    name = "timestamp-as-version"
    summary = "A clock used as a version: clock order is not commit order."
    options_doc = """
    - `versioned-helpers`: helpers whose `version=` argument is checked like
      `set_if_newer`'s.
    """
    references = ("DESIGN.md: rule catalog, CL201",)
    INVALID = (
        """
        import time
        from django.core.cache import cache
        from cachelint.runtime import set_if_newer

        def store_profile(user_id, profile):
            set_if_newer(cache, f"profile:{user_id}", profile, version=time.time_ns())
        """,
    )
    VALID = (
        """
        from django.core.cache import cache
        from cachelint.runtime import set_if_newer

        def store_profile(user_id, profile):
            set_if_newer(cache, f"profile:{user_id}", profile, version=profile.row_version)
        """,
    )

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        seen: set[int] = set()
        functions = ctx.facts.functions
        orders_cached = any(function.compares_cached_order for function in functions)
        for function in functions:
            uses = function.clock_uses + (function.cached_clocks if orders_cached else [])
            for use in uses:
                if id(use.node) in seen:
                    continue
                seen.add(id(use.node))
                yield self.report(
                    use.node,
                    f"clock used as a version ({use.context}): clocks drift and wall order "
                    "is not commit order, so an older value can win; use a version from "
                    "the source of truth (row version, sequence, LSN)",
                )
