from __future__ import annotations

from collections.abc import Iterator

from cachelint import races
from cachelint.diagnostics import Diagnostic
from cachelint.fixes import on_commit
from cachelint.rules import Rule, RuleContext


class InvalidateBeforeCommit(Rule):
    """
    ## What it does
    Finds a shared-cache invalidation (`delete`, `delete_many`, `unlink`...) or
    write that runs while a database transaction is still open:

    - inside `with transaction.atomic():` or a function decorated with
      `@transaction.atomic` / `@transaction.atomic(using=...)` (Django);
    - inside `with session.begin():` / `with engine.begin() as conn:` (SQLAlchemy);
    - inside `with conn.transaction():` (psycopg 3, asyncpg) or `with db.atomic():`
      (peewee);
    - before a `session.commit()` / `conn.commit()` later in the same function.
      When the function committed nothing before the cache call, the commit may
      carry writes made there or by callers and callees, so it counts unless the
      unit is visibly read-only (it only `execute()`s `SELECT`s and changes no row
      it loaded: `invoice.total = t` on a row from `session.get()` is a pending
      write the commit flushes). After an earlier
      commit, only a write to the source of truth since then (`session.add()`,
      `.save()`, `cursor.execute("UPDATE ...")`, `session.execute(update(...))`...)
      opens a new unit of work: a delete right after a commit belongs to the unit
      that just committed.

    A delete deferred with `transaction.on_commit(...)` (through `functools.partial`
    or a `lambda`) runs after the commit and is not reported here.

    ## Why is this bad?
    Until the commit, other connections still read the old row. A reader that
    misses the cache right after the delete refills it from the old committed
    row, and that stale value stays after the commit, until it expires. If the
    transaction rolls back, a write made inside it caches data that never
    existed.

    One finding per race: a write inside a transaction is reported here even
    when it is also a refill, a write-through or an event write (only CL103, a
    hand-written version check, takes precedence). A delete reported here is not
    also reported as CL403; once it runs after the commit, CL403 reports it if a
    blind refill of the same key family exists.
    """

    code = "CL402"
    name = "invalidate-before-commit"
    summary = "Cache invalidated before the transaction commits: readers refill the old row."
    fixable = "sometimes"
    fix_doc = """
    For a delete that is a statement of its own inside Django's
    `transaction.atomic` (block or decorator), `cachelint check --fix` defers it:
    `cache.delete(key)` becomes
    `transaction.on_commit(partial(cache.delete, key))`, keeping every argument
    (and the transaction's database: `atomic(using="x")` gives
    `on_commit(..., using="x")`).
    `functools.partial` binds the arguments at once, so a delete in a loop keeps
    its own key (a `lambda` would see the loop variable's last value). `partial`
    (from `functools`) and `transaction` (from `django.db`) are imported once,
    only when the module does not import them already; an existing
    `import functools` or `from django.db.transaction import on_commit` is used.

    Fix safety: **safe** on a resolved cache client: the invalidation runs once
    the data it invalidates is committed, and not at all after a rollback.
    **Unsafe** (applied with `--unsafe-fixes`) when the client is recognised only
    by its name, or when the same function reads the key again inside the
    transaction: that read now sees the old cached value. Tests that run inside a
    transaction which never commits (Django's `TestCase`) need
    `captureOnCommitCallbacks(execute=True)` to see the deferred delete.

    No fix for writes (moving a blind write after the commit still races: it
    needs a version), for SQLAlchemy and DB-API code (move the invalidation after
    `commit()`, or into an `after_commit` session event), or when the delete's
    result is used.
    """
    references = (
        "Django: transaction.on_commit",
        "SQLAlchemy: SessionEvents.after_commit",
        "DESIGN.md: the problem, in one picture",
    )
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
        """
        from django.core.cache import cache
        from django.db import transaction

        @transaction.atomic
        def close_tickets(queue):
            for ticket in queue.tickets.filter(open=True):
                ticket.open = False
                ticket.save()
                cache.delete(f"ticket:{ticket.pk}")
        """,
        """
        import redis
        from sqlalchemy.orm import Session

        r = redis.Redis()

        def ship(session: Session, order_id: int) -> None:
            order = session.get(Order, order_id)
            order.status = "shipped"
            session.add(order)
            r.delete(f"order:{order_id}")
            session.commit()
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
        """
        import redis
        from sqlalchemy.orm import Session

        r = redis.Redis()

        def ship(session: Session, order_id: int) -> None:
            order = session.get(Order, order_id)
            order.status = "shipped"
            session.add(order)
            session.commit()
            r.delete(f"order:{order_id}")
        """,
    )

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for op in ctx.facts.ops:
            if races.is_premature_delete(op):
                outcome = on_commit.build(op, ctx.module, ctx.facts)
                message = (
                    f"cache `{op.method}()` before the transaction commits: a reader can "
                    "refill from the old committed row in between; invalidate after the "
                    "commit (transaction.on_commit)"
                )
                # Only Django's transactions have a fix to miss.
                reason = outcome.reason if op.transaction == "django" else None
                yield self.report(op.call, message, outcome.fix, reason)
            elif races.write_race(op, ctx.facts) == self.code:
                yield self.report(
                    op.call,
                    f"cache `{op.method}()` inside an open transaction: readers see the old "
                    "row until the commit and the transaction may roll back; write after "
                    "the commit (transaction.on_commit) with a version",
                )
