"""Which race a blind cache write is: one code per write, by precedence.

A write can look like several races at once (a refill inside a transaction, an
event handler that re-reads the row).  Report the one that best explains it:

    CL103 non-atomic-version-check  >  CL402 invalidate-before-commit
    >  CL401 unordered-event-write  >  CL102 blind-write-through  >  CL101 blind-refill-set

A hand-written version check means the author already wanted ordering; a write
inside an open transaction is wrong whatever its value; an event's own payload is
older than the row it describes; a value just written races other writers; and
only then is it a plain refill.

A blind delete is one race too: CL402 when it runs before the commit, otherwise
CL403 when a blind refill of its key family exists (never both on one delete;
once the delete moves after the commit, CL403 can report it).
"""

from __future__ import annotations

from cachelint import facts as f
from cachelint import knowledge


def is_blind_write(op: f.CacheOp) -> bool:
    """A shared-cache write with no ordering check that could carry stale data."""
    return (
        op.category == "write"
        and op.shared
        and op.value is not None
        and not op.in_watch_transaction
        and not op.lock_like
        and not op.constant_value
        and not op.unique_key
        and not _cas_protocol(op)
    )


def _cas_protocol(op: f.CacheOp) -> bool:
    """``add`` for the absent key of a ``gets``/``cas`` loop: the atomic memcached protocol."""
    return op.method == "add" and any(
        other.method == "cas" and other.key_text == op.key_text for other in op.function.ops
    )


def is_refill(op: f.CacheOp, module: f.ModuleFacts) -> bool:
    return (
        (f.from_source(op, module) and not _pass_through(op))
        or op.on_miss_branch
        or op.function.refill_named
    )


def _pass_through(op: f.CacheOp) -> bool:
    """``def set(self, key, value): self.cache.set(key, encrypt(value))``: a cache proxy's
    own write method stores what its caller hands it; the caller's write is the race."""
    return op.function.name in knowledge.WRITE_METHODS and f.PARAM in op.tags


def write_race(op: f.CacheOp, module: f.ModuleFacts) -> str | None:
    """The code of the race this write is, or None when it is not a race."""
    if not is_blind_write(op):
        return None
    if op.version_guard is not None or op.version_bump:
        return "CL103"
    if op.in_transaction or _before_commit(op):
        return "CL402"
    if f.EVENT in op.tags and not f.from_source(op, module):
        return "CL401"
    if f.just_written(op, module):
        return "CL102"
    if is_refill(op, module):
        return "CL101"
    return None


def is_premature_delete(op: f.CacheOp) -> bool:
    """A shared-cache delete inside an open transaction or before the commit (CL402)."""
    return op.category == "delete" and op.shared and (op.in_transaction or _before_commit(op))


def is_blind_delete(op: f.CacheOp) -> bool:
    """A shared-cache delete after the commit: what a blind refill can undo (CL403)."""
    return (
        op.category == "delete" and op.shared and not _cleanup_of_unreadable(op)
        and not is_premature_delete(op)
        and not _replaced_in_pipeline(op)
    )


def _cleanup_of_unreadable(op: f.CacheOp) -> bool:
    """``try: v = cache.get(k) except ...: cache.delete(k)``: the delete throws away a
    value that could not be read, it does not invalidate a row.  A delete in an
    ``except`` after a failed write is still an invalidation."""
    return op.in_except and any(
        other.category == "read" and other.index < op.index and other.key_text == op.key_text
        for other in op.function.ops
    )


def _replaced_in_pipeline(op: f.CacheOp) -> bool:
    """``pipe.delete(k); pipe.hset(k, mapping=...)``: one MULTI replaces the key, nothing
    is left deleted for a refill to undo."""
    return op.kind.pipeline and any(
        other.category == "write" and other.index > op.index
        and other.receiver_text == op.receiver_text and other.key_text == op.key_text
        for other in op.function.ops
    )


def _before_commit(op: f.CacheOp) -> bool:
    """A ``commit()`` follows in the same function and the op is inside the unit of work
    it commits.  With no earlier commit in the function, that unit may hold writes made
    by callers or callees, so any later commit counts unless the unit is visibly
    read-only (SQL reads and no write).  After an earlier commit, only a source write
    since then opens a new unit: ``commit(); cache.delete(k); session.add(b); commit()``
    invalidates after the first unit, which is not a race."""
    if op.deferred:
        return False
    fn = op.function
    later = [c for c in fn.commit_indexes if c > op.index]
    if not later:
        return False
    earlier = [c for c in fn.commit_indexes if c < op.index]
    if not earlier:
        end = min(later)
        writes = any(w < end for w in fn.source_write_indexes)
        return writes or not any(r < end for r in fn.sql_read_indexes)
    start = max(earlier)
    return any(start < w < op.index for w in fn.source_write_indexes)
