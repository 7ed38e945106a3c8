"""Facts: what each function does with caches, computed in one walk per module.

Rules read these facts and never walk the tree again.  The walk resolves the few
names it needs itself (imports, assignments, ``self.x = ...`` in ``__init__``,
class attributes, parameter annotations): LibCST's scope providers would cost ten
times the parse.

    model       the dataclasses rules read (CacheOp, LockRegion, ClockUse, ...)
    context     module-level names: imports, constants, class attributes
    resolution  what an expression is and where its value comes from
    calls       every call in order: cache operations, source writes, clocks
    walker      statements: branches, loops, locks, transactions
    module      the module walk that ties the functions together
"""

from cachelint.facts.model import (
    CACHE,
    CLOCK,
    EVENT,
    PARAM,
    SOURCE,
    WRITTEN,
    Binding,
    CacheOp,
    ClockUse,
    FunctionFacts,
    Kind,
    LockRegion,
    ModuleFacts,
    VersionGuard,
)
from cachelint.facts.module import build_facts, from_source, just_written

__all__ = [
    "CACHE", "CLOCK", "EVENT", "PARAM", "SOURCE", "WRITTEN", "Binding", "CacheOp", "ClockUse",
    "FunctionFacts", "Kind", "LockRegion", "ModuleFacts", "VersionGuard", "build_facts",
    "from_source", "just_written",
]
