from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cachelint import races
from cachelint.diagnostics import Diagnostic
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


class InvalidationUndoneByRefill(Rule):
    """
    ## What it does
    Finds a blind delete of a key family (`f"user:{id}"`, `"user:%s" % id`,
    `"user:" + str(id)` all normalise to `user:{}`) while a refill of the same
    family somewhere else is a blind set (CL101). The message names the refill
    site. Under flake8 the pairing is within one file; `cachelint check` and
    `cachelint audit` on a directory pair deletes and refills across files.

    ## Why is this bad?
    This is the race in one picture: the refill reads version 7, the writer
    commits version 8 and deletes the key, the refill writes version 7. The
    delete looked correct, and it is undone. Keys whose shape cannot be known
    never pair.
    """

    code = "CL403"
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
    options_doc = "None. Pairing is project-wide under `cachelint check DIR`."

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        refills = {}
        for op in ctx.facts.ops:
            if op.key_family and races.write_race(op, ctx.facts) == "CL101":
                refills.setdefault(op.key_family, op)
        for op in ctx.facts.ops:
            if op.category == "delete" and op.shared and op.key_family in refills:
                diagnostic = self.report(op.call, message(op.key_family, "{related}"))
                diagnostic.related = refills[op.key_family].call
                yield diagnostic


def message(family: str, refill_site: str) -> str:
    return (
        f"blind delete of `{family}` is undone by the blind refill at {refill_site}: a refill "
        "that read the old row can land after this delete; version the refill "
        "(set_if_newer) and invalidate with a tombstone (invalidate(..., version=...))"
    )


def sites(ctx: RuleContext) -> Iterator[tuple[str, str, object]]:
    """(family, role, node) of every blind delete and blind refill in one module."""
    for op in ctx.facts.ops:
        if not op.key_family or not op.shared:
            continue
        if op.category == "delete":
            yield op.key_family, "delete", op.call
        elif races.write_race(op, ctx.facts) == "CL101":
            yield op.key_family, "refill", op.call


def pair(all_sites: Iterable[KeySite]) -> Iterator[tuple[KeySite, KeySite]]:
    """Each delete with the first refill of its family (same file first, then by path)."""
    refills: dict[str, list[KeySite]] = {}
    deletes: list[KeySite] = []
    for site in all_sites:
        if site.role == "refill":
            refills.setdefault(site.family, []).append(site)
        else:
            deletes.append(site)
    for delete in deletes:
        candidates = refills.get(delete.family)
        if candidates:
            ordered = sorted(candidates, key=lambda s: (s.path != delete.path, s.path, s.line))
            yield delete, ordered[0]
