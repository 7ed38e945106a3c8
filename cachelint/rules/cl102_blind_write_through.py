from __future__ import annotations

from cachelint.rules._write_race import WriteRaceRule


class BlindWriteThrough(WriteRaceRule):
    """
    ## What it does
    Finds a shared-cache write of a value that the same function has just written
    to the source of truth (after `.save()`, `.update()`, `.create()`,
    `session.add()`/`commit()`, an SQL `UPDATE`/`INSERT`), with no ordering token.

    ## Why is this bad?
    Two writers can commit to the database in one order and reach the cache in
    the other: the cache then keeps the older write forever (or until it
    expires), while the database holds the newer one.
    """

    code = "CL102"
    name = "blind-write-through"
    summary = "Write-through without an ordering token: writers can reach the cache out of order."
    references = ("DESIGN.md: rule catalog, CL102",)
    INVALID = (
        """
        from django.core.cache import cache

        def rename_user(user, name):
            user.name = name
            user.save()
            cache.set(f"user:{user.pk}", {"name": user.name})
        """,
    )
    VALID = (
        """
        from django.core.cache import cache
        from cachelint.runtime import set_if_newer

        def rename_user(user, name):
            user.name = name
            user.save()
            set_if_newer(cache, f"user:{user.pk}", {"name": user.name}, version=user.version)
        """,
    )

    def message(self, method: str) -> str:
        return (
            f"blind write-through `{method}()` of a value just written to the source of truth: "
            "two writers can commit in one order and reach the cache in the other; write "
            "with set_if_newer(..., version=<committed version>)"
        )
