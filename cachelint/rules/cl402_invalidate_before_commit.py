from __future__ import annotations

from collections.abc import Iterator

from cachelint import races
from cachelint.diagnostics import Diagnostic
from cachelint.rules import Rule, RuleContext


class InvalidateBeforeCommit(Rule):
    """
    ## What it does
    Finds a shared-cache invalidation (or write) inside an open transaction:
    within `with transaction.atomic():`, a function decorated with
    `@transaction.atomic`, `with session.begin():`, or before the
    `session.commit()`/`conn.commit()` that follows a write in the same function.

    ## Why is this bad?
    Until the commit, other connections still read the old row. A reader that
    misses the cache right after the delete refills it from the old committed row,
    and the stale value stays after the commit.
    """

    code = "CL402"
    name = "invalidate-before-commit"
    summary = "Cache invalidated before the transaction commits: readers refill the old row."
    references = ("Django: transaction.on_commit", "SQLAlchemy: session events after_commit")
    INVALID = (
        """
        from django.core.cache import cache
        from django.db import transaction

        def rename_team(team, name):
            with transaction.atomic():
                team.name = name
                team.save()
                cache.delete(f"team:{team.pk}")
        """,
    )
    VALID = (
        """
        from functools import partial
        from django.core.cache import cache
        from django.db import transaction

        def rename_team(team, name):
            with transaction.atomic():
                team.name = name
                team.save()
                transaction.on_commit(partial(cache.delete, f"team:{team.pk}"))
        """,
    )

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for op in ctx.facts.ops:
            if races.is_premature_delete(op):
                yield self.report(
                    op.call,
                    f"cache `{op.method}()` before the transaction commits: a reader can "
                    "refill from the old committed row in between; invalidate after the "
                    "commit (transaction.on_commit)",
                )
            elif races.write_race(op, ctx.facts) == self.code:
                yield self.report(
                    op.call,
                    f"cache `{op.method}()` inside an open transaction: readers see the old "
                    "row until the commit and the transaction may roll back; write after "
                    "the commit (transaction.on_commit) with a version",
                )
