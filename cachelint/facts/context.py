"""Names visible at module level and in classes, resolved before the function walk."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from functools import lru_cache
from pathlib import PurePath

import libcst as cst

from cachelint import knowledge
from cachelint.config import Config
from cachelint.facts.model import (
    Binding,
    Kind,
)
from cachelint.facts.syntax import (
    NON_CACHE_TYPES,
)
from cachelint.names import (
    dotted,
    terminal_name,
    words,
)

# ``Redis``, ``StrictRedis``, ``RedisClientType``, ``MemcacheClient``: named as a client.
_CLIENT_TYPE = re.compile(r"^(Strict)?(Redis|Memcache|Memcached)(Client|Cluster|Connection)?(Type)?$")

class ModuleContext:
    """Names visible at module level and in classes, resolved before the function walk."""

    def __init__(self, module: cst.Module, config: Config, path: str = "") -> None:
        self.module = module
        self.config = config
        # ``shop/views.py`` -> ["shop", "views"]: resolves relative imports and names
        # this module's helpers for pairing key families across files.
        self.is_package = PurePath(path).stem == "__init__" if path else False
        self.module_parts = module_parts(path)
        self.imports: dict[str, str] = {}
        self.env: dict[str, Binding] = {}
        self.string_constants: dict[str, str] = {}
        self.class_attrs: dict[str, dict[str, Kind]] = {}
        # Methods that return a lock: ``def _get_lock(self): ... return self._lock``.
        self.method_kinds: dict[str, dict[str, Kind]] = {}
        self.function_kinds: dict[str, Kind] = {}  # what a module function returns
        self.method_nodes: dict[str, dict[str, cst.FunctionDef]] = {}
        self.manager_classes: set[str] = set()  # Django ``Manager``/``QuerySet`` subclasses
        self.class_bases: dict[str, list[str]] = {}  # base names of this module's classes
        self.function_nodes: dict[str, cst.FunctionDef] = {}
        self.key_helpers: dict[str, str] = {}
        self.project_key_helpers = dict(config.project_key_helpers)
        # Functions registered as handlers at module level: ``post_save.connect(fn)``,
        # ``subscriber.subscribe(path, callback=fn)``.
        self.connected_handlers: set[str] = set()
        # Classes here with ``get``/``set`` over something not in the process: wrappers
        # of a client (``class CacheService: def set(self, k, v): self.client.set(...)``).
        self.cache_wrappers: set[str] = set()
        self._shared_pattern = re.compile(knowledge.SHARED_NAME_PATTERN, re.IGNORECASE)
        self._local_pattern = re.compile(knowledge.LOCAL_NAME_PATTERN, re.IGNORECASE)

    # -- qualified names --------------------------------------------------------------

    def qualify(self, node: cst.BaseExpression) -> str | None:
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self.imports:
            base = self.imports[head]
            return f"{base}.{rest}" if rest else base
        return name

    def record_import(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted(alias.name)
                if full is None:
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.imports[alias.asname.name.value] = full
                else:
                    head = full.split(".")[0]
                    self.imports[head] = head
            return
        if node.relative:
            module = self._absolute(len(node.relative), dotted(node.module) if node.module else None)
        elif node.module is None:
            module = ""
        else:
            module = dotted(node.module) or ""
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = alias.name.value if isinstance(alias.name, cst.Name) else dotted(alias.name)
            if name is None:
                continue
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.imports[local] = f"{module}.{name}" if module else name

    def _absolute(self, level: int, name: str | None) -> str:
        """``from ..utils import x`` in ``shop/api/views.py`` -> ``shop.utils``."""
        package = self.module_parts if self.is_package else self.module_parts[:-1]
        base = package[: len(package) - (level - 1)] if level > 1 else package
        if not self.module_parts:
            base = []
        return ".".join([*base, *([name] if name else [])]) or "." * level

    def dotted_name(self, local: str) -> str | None:
        """Where a module-level name comes from: an import, or this module."""
        if local in self.imports:
            return self.imports[local]
        if local in self.function_nodes or local in self.class_attrs:
            return ".".join([*self.module_parts, local])
        return None

    def defining_class(self, class_name: str, method: str) -> str:
        """The class of this module that defines ``method`` for ``class_name``: itself or
        the nearest base class defined here (``self._cache_key`` from ``BaseModel``)."""
        for current in self._class_and_bases(class_name):
            if method in self.method_nodes.get(current, {}):
                return current
        return class_name

    def attribute_kind(self, class_name: str, attr: str) -> Kind | None:
        """What ``self.attr`` is in ``class_name``: set there or in the nearest base class
        defined here (``self.r`` set by ``RedisRepository.__init__``)."""
        for current in self._class_and_bases(class_name):
            kind = self.class_attrs.get(current, {}).get(attr)
            if kind is not None:
                return kind
        return None

    def _class_and_bases(self, class_name: str) -> Iterator[str]:
        pending, seen = [class_name], set()
        while pending:
            current = pending.pop(0)
            if current in seen:
                continue
            seen.add(current)
            yield current
            pending.extend(self.class_bases.get(current, []))

    def constant_string(self, node: cst.BaseExpression, class_name: str | None) -> str | None:
        """A module constant (``USER_KEY``), or a class constant (``self.KEY``, ``cls.KEY``,
        ``Users.KEY``)."""
        if isinstance(node, cst.Name):
            return self.string_constants.get(node.value)
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
            owner = node.value.value
            if owner in {"self", "cls"}:
                if class_name is None:
                    return None
                owner = class_name
            return self.string_constants.get(f"{owner}.{node.attr.value}")
        return None

    # -- what a name means ------------------------------------------------------------

    def configured_kind(self, node: cst.BaseExpression) -> Kind | None:
        """``extend-local-caches``/``extend-shared-caches`` name a receiver or what it is."""
        config = self.config
        if not config.extend_local_caches and not config.extend_shared_caches:
            return None
        names = {terminal_name(node), dotted(node), self.qualify(node)} - {None}
        if isinstance(node, cst.Name) and node.value not in self.imports:
            names.add(".".join([*self.module_parts, node.value]))  # found project-wide
        if names & config.extend_local_caches:
            return Kind("local", "config")
        if names & config.extend_shared_caches:
            return Kind("shared", "unknown")
        return None

    def project_key_helper(self, imported: str) -> str | None:
        """The template of a key helper defined elsewhere in the project.  The import may
        name a root the checked tree does not have (``podhost.cache_keys.creator_key``
        while checking the package's own folder): shorter suffixes, down to
        ``module.function``, are tried too."""
        parts = imported.split(".")
        found = self.project_key_helpers.get(imported)
        if found is not None or _library_module(parts[0]):
            return found
        for start in range(1, len(parts) - 1):
            found = self.project_key_helpers.get(".".join(parts[start:]))
            if found is not None:
                return found
        return None

    def wraps_shared_client(self, class_name: str) -> bool:
        """A wrapper class of this module whose ``__init__`` keeps a shared client
        (``self._client = redis.Redis.from_url(url)``)."""
        return any(kind.role == "shared" for current in self._class_and_bases(class_name)
                   for kind in self.class_attrs.get(current, {}).values())

    def local_by_type_name(self, call: cst.BaseExpression) -> Kind | None:
        """``StoredLRUCache(...)``, ``LocalMemoryCache()``: an unknown class whose name says
        it lives in the process."""
        if not isinstance(call, cst.Call):
            return None
        name = terminal_name(call.func)
        if name is None or not name[:1].isupper():
            return None
        if self._local_pattern.search("_".join(words(name))):
            return Kind("local", "named")
        return None

    def heuristic_kind(self, node: cst.BaseExpression) -> Kind | None:
        """The last resort: a receiver's name says it is a cache."""
        name = terminal_name(node)
        if name is None:
            return None
        text = dotted(node) or name
        for configured in self.config.extend_local_caches:
            if configured in (name, text):
                return Kind("local", "config")
        for configured in self.config.extend_shared_caches:
            if configured in (name, text):
                return Kind("shared", "unknown", resolved=False)
        bare = name.lstrip("_")
        if self._local_pattern.search(bare):
            return None
        if bare.lower() == "caches" and not isinstance(node, cst.Subscript):
            return None  # ``caches["default"]`` is a cache; ``entry.caches.get(k)`` a mapping
        if self._shared_pattern.search(bare):
            return Kind("shared", "unknown", resolved=False)
        return None

    def kind_of_qualified(self, qualified: str | None, called: bool) -> Kind | None:
        if qualified is None:
            return None
        config = self.config
        if qualified in config.extend_shared_caches:
            return Kind("shared", "unknown")
        if qualified in config.extend_local_caches:
            return Kind("local", "config")
        if not called:
            if qualified in knowledge.SHARED_CACHE_OBJECTS:
                return Kind("shared", knowledge.SHARED_CACHE_OBJECTS[qualified])
            return None
        if qualified in knowledge.SHARED_CACHE_FACTORIES:
            lib = knowledge.SHARED_CACHE_FACTORIES[qualified]
            if lib == "aiocache-local":
                return Kind("local", "aiocache")
            return Kind("shared", lib)
        if qualified in knowledge.LOCAL_CACHE_FACTORIES:
            return Kind("local", qualified)
        if qualified in knowledge.PROCESS_LOCKS:
            return Kind("process_lock", qualified)
        if qualified in knowledge.DISTRIBUTED_LOCKS:
            return Kind("distributed_lock", qualified)
        if qualified in knowledge.CONSUMER_FACTORIES:
            return Kind("consumer", qualified)
        if qualified in NON_CACHE_TYPES:
            return Kind("other")
        return None

    def kind_of_annotation(self, annotation: cst.BaseExpression) -> Kind | None:
        node = annotation
        if isinstance(node, cst.Subscript):  # Optional[Redis], dict[str, int]
            base = self.qualify(node.value)
            if base in {"typing.Optional", "Optional"} and node.slice:
                inner = node.slice[0].slice
                if isinstance(inner, cst.Index):
                    return self.kind_of_annotation(inner.value)
            node = node.value
        if isinstance(node, cst.BinaryOperation):  # Redis | None
            return self.kind_of_annotation(node.left)
        if isinstance(node, cst.SimpleString):
            return None
        qualified = self.qualify(node)
        if qualified is None:
            return None
        if qualified in knowledge.SHARED_CACHE_TYPES:
            lib = knowledge.SHARED_CACHE_TYPES[qualified]
            return Kind("shared", lib, pipeline="Pipeline" in qualified)
        kind = self.kind_of_qualified(qualified, called=True)
        if kind is not None:
            return kind
        if qualified in {"dict", "typing.Dict", "typing.MutableMapping", "MutableMapping",
                         "Mapping"}:
            return Kind("local", "dict")
        if qualified in self.cache_wrappers and self.wraps_shared_client(qualified):
            return Kind("shared", "unknown", resolved=False)  # ``cache_service: CacheService``
        # A project's alias of a client type: ``client: RedisClientType``.
        if _CLIENT_TYPE.search(qualified.rsplit(".", 1)[-1]):
            return Kind("shared", "unknown", resolved=False)
        return None


@lru_cache(maxsize=512)
def _library_module(root: str) -> bool:
    """A top-level package of the standard library, a known library, or one installed
    where cachelint runs."""
    if root in sys.stdlib_module_names or root in knowledge.LIBRARY_ROOTS:
        return True
    try:
        return importlib.util.find_spec(root) is not None
    except (ImportError, ValueError):
        return False


def module_parts(path: str) -> list[str]:
    """``shop/views.py`` -> ``["shop", "views"]``; a package's ``__init__`` is the package."""
    parts = [p for p in PurePath(path).with_suffix("").parts if p not in {"/", "."}] if path else []
    return parts[:-1] if parts and parts[-1] == "__init__" else parts
