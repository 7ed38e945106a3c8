"""Project-wide: in-process caches the project defines and shares through a module.

``lnbits/utils/cache.py`` defines ``class Cache`` (a dict with expiry) and
``cache = Cache()``; ``from lnbits.utils.cache import cache`` elsewhere then looks
like a shared cache by its name alone.  When ``cachelint check DIR`` sees the module
that defines the instance, it records the instance as local, like a user's
``extend-local-caches``.  flake8 and the editor see one file at a time and cannot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import libcst as cst

from cachelint.config import Config
from cachelint.facts import ModuleFacts, build_facts
from cachelint.facts.syntax import CACHE_METHOD_SETS, has_cache_methods, mapping_backed
from cachelint.names import terminal_name
from cachelint.project_scan import dotted_suffixes, scan

# ``cache = Cache()`` / ``cache: Cache = Cache(interval=10)`` at module level.
_INSTANCE = re.compile(r"^(\w+)\s*(?::[^=\n]+)?=\s*(\w+)\(", re.MULTILINE)
_PLAIN_BASES = {"object", "dict", "OrderedDict", "UserDict", "Generic"}


def local_instances(files: Iterable[Path]) -> frozenset[str]:
    """Dotted names (every suffix: ``utils.cache.cache``, ``lnbits.utils.cache.cache``)
    of module-level instances of in-process cache classes defined in the same module."""
    return frozenset(
        dotted for path, names in scan(files, lambda text: bool(candidates(text)), _instances_in)
        for name in names for dotted in dotted_suffixes(path, name)
    )


def candidates(text: str) -> list[tuple[str, str]]:
    """(name, class) of module-level ``name = Class(...)`` where ``Class`` is defined here
    and some class of the module has cache methods (a cheap look before parsing)."""
    if not any(all(f"def {m}(" in text for m in wanted) for wanted in CACHE_METHOD_SETS):
        return []
    return [(name, cls) for name, cls in _INSTANCE.findall(text)
            if re.search(rf"^class {re.escape(cls)}\b", text, re.MULTILINE)]


def _instances_in(text: str, path: str) -> set[str]:
    module = cst.parse_module(text)
    return own_local_instances(text, module, build_facts(module, Config(), path))


def own_local_instances(text: str, module: cst.Module, facts: ModuleFacts) -> set[str]:
    """Module-level instances (``cache = LRUCache(512)``) of this module's classes with
    cache methods over an in-process mapping and no shared-cache call in them, built on
    nothing else (a subclass of ``redis.StrictRedis`` or of an unknown base may well be
    shared; a wrapper around a client handed to it is shared)."""
    wanted = candidates(text)
    if not wanted:
        return set()
    shared = {f.class_name for f in facts.functions if any(op.shared for op in f.ops)}
    local: set[str] = set()
    for statement in module.body:
        if isinstance(statement, cst.ClassDef):
            name = statement.name.value
            bases = {terminal_name(b.value) for b in statement.bases}
            if name not in shared and bases <= _PLAIN_BASES \
                    and has_cache_methods(statement) and mapping_backed(statement):
                local.add(name)
    return {name for name, cls in wanted if cls in local}
