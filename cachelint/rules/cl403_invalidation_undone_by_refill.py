from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import libcst as cst

from cachelint import keys, races
from cachelint.diagnostics import Diagnostic, Fix
from cachelint.facts import CacheOp
from cachelint.fixes import invalidate
from cachelint.rules import Rule, RuleContext


@dataclass(frozen=True)
class KeySite:
    """A blind delete or blind refill of a key family, for pairing across files."""

    family: str
    role: str  # "delete" or "refill"
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    fix: dict[str, Any] | None = None  # a delete's fix, as ``Fix.to_dict`` writes it
    no_fix_reason: str | None = None


class InvalidationUndoneByRefill(Rule):
    """
    ## What it does
    Finds a blind delete of a key family while a refill of the same family is a
    blind set (a CL101 finding), and reports the delete, naming the refill site
    (`path:line`). Keys are compared by family: `f"user:{uid}"`,
    `"user:%s" % uid`, `"user:{}".format(uid)`, `"user:" + str(uid)`, a module
    constant template (`USER_KEY.format(uid)`, `USER_KEY % uid`), a local
    holding any of these, and a same-module key helper
    (`def user_key(uid): return f"user:{uid}"`, after a docstring, asserts and a
    few statements; also as a `@property` read as
    `self.user_key`) all normalise to `user:{}`. A class constant read through an
    object of unknown class (`obj.html_key % obj.id`, or `self.html_key` in a base
    class) belongs to the family of every class in the module that defines it; a
    key local assigned differently on each branch belongs to every family it was
    given; `delete_many(keys)` covers the keys its list was built from
    (`keys = [...]`, `keys.append(k)`). A key
    built by a module-level helper named for keys or caches (`user_cache_key(uid)`,
    `CacheKeys.profile(uid)`, `self._cache_key(name)` defined on a base class, a
    key function defined or bound inside the enclosing function) also belongs to
    that helper's family, so the same
    helper imported into another module pairs even when its template is out of
    sight; likewise an UPPER_CASE key constant is also named by its name
    wherever it is imported (`from shop.constants import BANNER_KEY`), or by the
    module that defines it when the name is generic (`CACHE_KEY`), and a key method or
    attribute with a specific name is named by that name on an object of any class
    (`project.glossary_tsv_cache_key(lang)`, `manager.max_depth_cache_key`; not
    generic names such as `get_cache_key`). Helper families count their arguments:
    `cache_key(a, b)` and `cache_key(a, b, c)` are two families. A glob delete
    (django-redis `delete_pattern("cards:product:*")`, or the keys of
    `scan_iter(match=...)`/`keys(...)` deleted one by one or with `delete_many`)
    covers every family its pattern matches.
    Keys whose shape cannot be known (a bare parameter, an unknown function,
    an unknown prefix such as `key + ":lock"`) never pair.

    Where the pairing looks depends on how cachelint runs:

    - under **flake8** (and in editors), each file is checked alone: a delete
      pairs only with refills in the same file;
    - `cachelint check DIR` and `cachelint audit DIR` pair deletes and refills
      **across every file** linted (a refill in `views.py` with the delete in
      `signals.py`); a refill in the same file is named first. The result cache
      keeps each file's key sites, so an edited file re-pairs with the others.
      There a module-level key helper imported from another linted module
      (`from shop.keys import page_key`) also gives its template, so
      `cache.set(page_key(slug), ...)` pairs with `cache.delete("page:" + slug)`;
      a helper name that two modules define with two templates gives neither.

    ## Why is this bad?
    This is the race in one picture: the refill reads version 7, the writer
    commits version 8 and deletes the key, the refill writes version 7. The
    delete looked correct, and it is undone: version 7 is served until it
    expires.

    A delete in an `except` handler that throws away a value the function could
    not read (`try: cache.get(k) except ...: cache.delete(k)`) is cleanup, not an
    invalidation, and is not reported; a delete in an `except` after a failed
    write is.

    A delete followed, on the same pipeline, by a write of the same key
    (`pipe.delete(k); pipe.hset(k, mapping=...)`) replaces the key in one MULTI
    and is not reported.

    One finding per race: a delete that runs before the commit is CL402, not
    this rule (after its fix, `transaction.on_commit(partial(cache.delete, key))`
    still deletes blindly and is reported here). Silencing the delete with
    `# noqa: CL403` also removes it from cross-file pairing.
    """

    code = "CL403"
    fixable = "sometimes"
    fix_doc = """
    `cachelint check --fix --unsafe-fixes` replaces the blind delete with
    `invalidate(cache, key, version=<version>)` (`await ainvalidate(...)` for asyncio
    clients): a tombstone carrying the committed version, which reads as a miss for
    `get_value`/`get_versioned` and makes a later `set_if_newer` of an older version
    lose. The version must exist in the function: a `version-attributes` attribute
    of an object used in the key, or of the one object in the function that has
    one (`item.version += 1; item.save(); cache.delete(key)`); otherwise no fix.

    Fix safety: **unsafe**. Code that still reads the key with the client's own
    `get` would see the tombstone record instead of a miss; fix the refills (CL101)
    so that every reader uses `get_value`, then apply this one.
    """
    name = "invalidation-undone-by-refill"
    summary = "A blind delete whose key family is refilled blindly elsewhere."
    references = ("DESIGN.md: the problem, in one picture",)
    INVALID = (
        """
        from django.core.cache import cache
        from accounts.models import User

        def user_profile(user_id):
            user = User.objects.get(pk=user_id)
            cache.set(f"user:{user_id}", user.profile_json())
            return user

        def on_user_saved(user_id):
            cache.delete("user:%s" % user_id)
        """,
    )
    VALID = (
        """
        from django.core.cache import cache
        from cachelint.runtime import invalidate, set_if_newer
        from accounts.models import User

        def user_profile(user_id):
            user = User.objects.get(pk=user_id)
            set_if_newer(cache, f"user:{user_id}", user.profile_json(), version=user.version)
            return user

        def on_user_saved(user):
            invalidate(cache, f"user:{user.pk}", version=user.version)
        """,
    )
    options_doc = """
    None. Pairing is project-wide under `cachelint check DIR` and within one file
    under flake8.
    """

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        refills: dict[str, CacheOp] = {}
        for op in ctx.facts.ops:
            if races.write_race(op, ctx.facts) == "CL101":
                for family in filter(keys.pairable, op.key_families):
                    refills.setdefault(family, op)
        for op in ctx.facts.ops:
            paired = [(f, r) for f in op.key_families for r in refills if keys.covers(f, r)]
            if paired and races.is_blind_delete(op):
                deleted, refilled = paired[0]
                outcome = invalidate.build(op, ctx.module, ctx.config)
                diagnostic = self.report(
                    op.call, message(deleted, "{related}", outcome.reason), outcome.fix
                )
                diagnostic.related = refills[refilled].call
                yield diagnostic


def message(family: str, refill_site: str, no_fix_reason: str | None = None) -> str:
    family = re.sub(r"#\d+", "", family)  # a local helper's unique suffix
    text = (
        f"blind delete of `{family}` is undone by the blind refill at {refill_site}: a refill "
        "that read the old row can land after this delete; version the refill "
        "(set_if_newer) and invalidate with a tombstone (invalidate(..., version=...))"
    )
    return f"{text} ({no_fix_reason})" if no_fix_reason else text


def sites(
    ctx: RuleContext,
) -> Iterator[tuple[str, str, cst.CSTNode, Fix | None, str | None]]:
    """(family, role, node, fix, why no fix) of every blind delete and refill in a module."""
    for op in ctx.facts.ops:
        families = [f for f in op.key_families if keys.pairable(f)]
        if not families or not op.shared:
            continue
        if races.is_blind_delete(op):
            outcome = invalidate.build(op, ctx.module, ctx.config)
            for family in families:
                yield family, "delete", op.call, outcome.fix, outcome.reason
        elif races.write_race(op, ctx.facts) == "CL101":
            for family in families:
                yield family, "refill", op.call, None, None


def pair(all_sites: Iterable[KeySite]) -> Iterator[tuple[KeySite, KeySite]]:
    """Each delete with the first refill of its family (same file first, then by path)."""
    refills: dict[str, list[KeySite]] = {}
    deletes: list[KeySite] = []
    for site in all_sites:
        if site.role == "refill":
            refills.setdefault(site.family, []).append(site)
        else:
            deletes.append(site)
    reported: set[tuple[str, int, int]] = set()  # one finding per delete call
    for delete in deletes:
        candidates = [site for family, found in refills.items()
                      if keys.covers(delete.family, family) for site in found]
        where = (delete.path, delete.line, delete.column)
        if candidates and where not in reported:
            reported.add(where)
            ordered = sorted(candidates, key=lambda s: (s.path != delete.path, s.path, s.line))
            yield delete, ordered[0]
