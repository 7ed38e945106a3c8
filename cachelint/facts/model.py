"""The facts rules read: cache operations, lock regions, clocks, per function."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import libcst as cst

from cachelint import knowledge
from cachelint.names import (
    has_word,
)

Role = Literal["shared", "local", "process_lock", "distributed_lock", "consumer", "other"]

# Provenance tags: where a value came from.
SOURCE = "source"  # a read of the source of truth
CACHE = "cache"  # a read of the cache itself
EVENT = "event"  # an event or message payload
WRITTEN = "written"  # something just written to the source of truth
CLOCK = "clock"
PARAM = "param"


@dataclass(frozen=True)
class Kind:
    """What an expression is, as far as cachelint cares."""

    role: Role
    lib: str = ""
    pipeline: bool = False
    resolved: bool = True  # False: only the name heuristic says so


@dataclass
class Binding:
    tags: set[str] = field(default_factory=set)
    roots: set[str] = field(default_factory=set)
    kind: Kind | None = None
    value: cst.BaseExpression | None = None
    cache_read_key: str | None = None  # bound to ``cache.get(key)``
    clock: bool = False
    # Values bound before ``value`` (``if a: key = f"x:{i}"`` / ``else: key = f"y:{i}"``).
    earlier_values: list[cst.BaseExpression] = field(default_factory=list)
    # ``keys.append(k)``: what a local list collected, for ``delete_many(keys)``.
    appended: list[cst.BaseExpression] = field(default_factory=list)
    # A container that took values in since it was bound (``d[k] = v``, ``d.update(x)``).
    filled: bool = False
    # A function defined inside a function: ``<locals>.name#n``, unique in the module.
    local_function: str | None = None


@dataclass
class CacheOp:
    """One call on a cache client."""

    call: cst.Call
    function: FunctionFacts
    index: int
    receiver: cst.BaseExpression
    kind: Kind
    method: str
    category: Literal["write", "delete", "read", "safe", "structure"]
    key: cst.BaseExpression | None
    key_text: str | None
    key_family: str | None
    key_families: tuple[str, ...]  # ``key_family``, or each literal key of a ``*_many`` call
    value: cst.BaseExpression | None
    tags: frozenset[str]
    roots: frozenset[str]
    awaited: bool
    locks: tuple[LockRegion, ...]
    in_transaction: bool
    in_except: bool  # in an ``except`` handler: error handling, not an invalidation
    unique_key: bool  # the key holds a fresh token: no other writer can race on it
    on_miss_branch: bool
    in_watch_transaction: bool
    receiver_text: str
    version_guard: cst.Comparison | None
    constant_value: bool
    lock_like: bool
    # The innermost enclosing transaction's kind ("django", "sqlalchemy", "dbapi"), if any.
    transaction: str | None = None
    transaction_using: str | None = None  # its database alias (``atomic(using="x")``), as text
    # Runs later, after the enclosing transaction commits:
    # ``transaction.on_commit(partial(cache.delete, key))`` or a lambda passed to on_commit.
    deferred: bool = False
    guard: VersionGuard | None = None  # the check behind ``version_guard``
    # ``cache.set(vkey, cache.get(vkey) + 1)``: read, bumped and written back non-atomically.
    version_bump: bool = False
    standalone: bool = False  # the whole expression statement: its result is unused

    @property
    def shared(self) -> bool:
        return self.kind.role == "shared"


@dataclass
class LockRegion:
    node: cst.CSTNode  # the With statement or the acquire() call
    kind: Kind
    ops: list[CacheOp] = field(default_factory=list)
    # Same-module functions and methods called inside (``self.refresh()``, ``super().get()``).
    calls: list[str] = field(default_factory=list)
    # Versioned helpers called inside on a shared cache (``set_if_newer(mc, ...)``).
    helper_calls: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VersionGuard:
    """A hand-written ordering check on a cached value: ``if cached["version"] < version:``."""

    comparison: cst.Comparison
    statement: cst.If
    cached: cst.BaseExpression  # the operand read from the cache
    # The operand the cached one must be older than for the body to run, when the test
    # reads that way (``cached < v``, ``v > cached``); None otherwise.
    newer: cst.BaseExpression | None
    read_keys: frozenset[str]  # key texts of the cache reads ``cached`` derives from
    after_exit: bool = False  # guards the code after ``if ...: return``
    # Clocks the check compares the cached entry with (``cached["ts"] > now``): reported
    # once a write it guards is seen.
    clocks: tuple[cst.BaseExpression, ...] = ()
    # A check naming no ordering token (``if int(cur) >= step: return``) orders only a
    # write of the compared local (``r.set(key, step)``) to the key it read.
    compared: str | None = None


@dataclass
class ClockUse:
    node: cst.BaseExpression
    context: str  # what makes it an ordering token


@dataclass
class FunctionFacts:
    name: str
    node: cst.FunctionDef | cst.Module
    is_async: bool
    class_name: str | None
    is_consumer: bool
    ops: list[CacheOp] = field(default_factory=list)
    lock_regions: list[LockRegion] = field(default_factory=list)
    clock_uses: list[ClockUse] = field(default_factory=list)
    commit_indexes: list[int] = field(default_factory=list)
    source_write_indexes: list[int] = field(default_factory=list)
    sql_read_indexes: list[int] = field(default_factory=list)  # ``execute()`` of non-writing SQL
    callees: set[str] = field(default_factory=set)  # same-module functions and methods called
    # ``if stamp >= max(cached.values())``: two cached values ordered against each other.
    compares_cached_order: bool = False
    # Clocks written into a cache value; versions only if the module orders cached values.
    cached_clocks: list[ClockUse] = field(default_factory=list)
    return_tags: set[str] = field(default_factory=set)
    attribute_reads: dict[str, set[str]] = field(default_factory=dict)
    dict_literals: dict[str, cst.Dict] = field(default_factory=dict)
    bound_values: dict[str, cst.BaseExpression] = field(default_factory=dict)

    @property
    def refill_named(self) -> bool:
        return has_word(self.name, knowledge.REFILL_WORDS)


@dataclass
class ModuleFacts:
    functions: list[FunctionFacts]
    imports: dict[str, str]
    source_functions: set[str]  # same-module functions returning a source read
    written_functions: set[str]  # ... returning a row they just wrote
    helper_imported: dict[str, str]  # versioned helper qualified name -> local name

    @property
    def ops(self) -> list[CacheOp]:
        return [op for f in self.functions for op in f.ops]
