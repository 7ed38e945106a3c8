from __future__ import annotations

from cachelint.rules._write_race import WriteRaceRule


class BlindWriteThrough(WriteRaceRule):
    """
    ## What it does
    Finds a shared-cache write of a value that the same function has just written
    to the source of truth, with no ordering token. Writes to the source of truth
    are Django `.save()` (a ModelForm's or serializer's `save()` also returns the
    saved row, kept in `self.object` by class-based views; `commit=False` writes
    nothing), `.create()`, `.update()`, `.bulk_update()`,
    `.update_or_create()`; SQLAlchemy `session.add()`, `session.merge()`,
    `session.flush()`, `session.execute(update(...))` (also through a local
    holding the statement); DB-API
    `cursor.execute("UPDATE ...")` / `"INSERT ..."` (also through a local or
    module constant holding the SQL) and `executemany`, and the row an
    `UPDATE ... RETURNING` fetches (also `conn.fetchrow("UPDATE ... RETURNING")`
    and any call handed an unmistakable `UPDATE t SET`/`INSERT INTO`/`DELETE FROM`
    text); boto3 DynamoDB `table.update_item`/`put_item`
    (their returned attributes). A same-module helper that returns what it
    wrote (`UPDATE ... RETURNING` in `_apply_delta()`) counts at its callers. A
    row loaded from the database (or returned by a same-module helper) whose
    attributes are assigned is written by the next
    `session.commit()` (the unit of work flushes it), and so are the values
    assigned into it; `super().save()` in a model's own `save` writes `self`.
    A clock is a marker, not stale data, unless it was just written into the row
    (`update(checked_in_at=now)` then `cache.set(k, now.isoformat())`).
    A key holding a fresh token (`uuid4()`) is not shared by another writer, unless
    the token was just written into a row (`INSERT ... VALUES ($1, ...)` with the
    new order id): it then names that row, and later writers of the row share it.
    The id of a row just created, cached under another key
    (`cache.set(f"trip:active:{user.pk}", trip.pk)`), is data too: two bookings can
    leave the key on the older trip. A queued job's handle (`task.delay(pk).id`),
    the instance's own id (`self.id` as a marker) and a delete (whose filter values
    are not data) are not writes of a value.

    ## Why is this bad?
    Two writers can commit to the database in one order and reach the cache in
    the other: the cache then keeps the older write forever (or until it
    expires), while the database holds the newer one. Writing the cache after
    the commit does not help; only a version compared atomically at write time
    does.

    One finding per race, by precedence: a write-through inside an open
    transaction is CL402, one guarded by a hand-written version check is CL103,
    one of an event consumer's payload is CL401; a write-through that is also a
    refill (`Model.objects.create(...)` returns the row) is reported here, not as
    CL101.
    """
    code = "CL102"
    name = "blind-write-through"
    summary = "Write-through without an ordering token: writers can reach the cache out of order."
    references = ("DESIGN.md: rule catalog, CL102", "DESIGN.md: the runtime contract")
    INVALID = (
        """
        from django.core.cache import cache

        def rename_user(user, name):
            user.name = name
            user.save()
            cache.set(f"user:{user.pk}", {"name": user.name})
        """,
        """
        import psycopg2
        import redis

        r = redis.Redis()

        def set_stock(conn, sku, quantity):
            with conn.cursor() as cur:
                cur.execute("UPDATE stock SET quantity = %s WHERE sku = %s", (quantity, sku))
            conn.commit()
            r.set(f"stock:{sku}", quantity)
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
