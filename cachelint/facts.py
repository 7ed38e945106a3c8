"""Facts: what each function does with caches, computed in one walk per module.

Rules read these facts and never walk the tree again.  The walk resolves the few
names it needs itself (imports, assignments, ``self.x = ...`` in ``__init__``,
class attributes, parameter annotations): LibCST's scope providers would cost ten
times the parse.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Literal

import libcst as cst

from cachelint import keys, knowledge
from cachelint.config import Config
from cachelint.names import (
    call_name,
    children,
    descendants,
    dotted,
    has_word,
    is_constant,
    keyword,
    method_call,
    positional,
    terminal_name,
    unwrap_await,
    words,
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


@dataclass
class CacheOp:
    """One call on a cache client."""

    call: cst.Call
    function: FunctionFacts
    index: int
    receiver: cst.BaseExpression
    kind: Kind
    method: str
    category: Literal["write", "delete", "read", "safe"]
    key: cst.BaseExpression | None
    key_text: str | None
    key_family: str | None
    value: cst.BaseExpression | None
    tags: frozenset[str]
    roots: frozenset[str]
    awaited: bool
    locks: tuple[LockRegion, ...]
    in_transaction: bool
    on_miss_branch: bool
    in_watch_transaction: bool
    receiver_text: str
    version_guard: cst.Comparison | None
    constant_value: bool
    lock_like: bool
    # The innermost enclosing transaction's kind ("django", "sqlalchemy"), if any.
    transaction: str | None = None
    transaction_using: str | None = None  # its database alias (``atomic(using="x")``), as text
    # Runs later, after the enclosing transaction commits:
    # ``transaction.on_commit(partial(cache.delete, key))`` or a lambda passed to on_commit.
    deferred: bool = False
    guard: VersionGuard | None = None  # the check behind ``version_guard``
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
    helper_imported: dict[str, str]  # versioned helper qualified name -> local name

    @property
    def ops(self) -> list[CacheOp]:
        return [op for f in self.functions for op in f.ops]


HIT = "!"  # marks a branch where the cached value was found
_MUTATORS = frozenset({"append", "extend", "insert", "update", "add", "setdefault", "appendleft"})
_MAX_KEY_HOPS = 4
_TOKEN_CALLS = re.compile(r"uuid|token|secrets|getpid|gethostname|random|urandom")
_LOCK_KEY = re.compile(r"lock|mutex|semaphore|leader|throttle|ratelimit|rate_limit")
_NON_CACHE_TYPES = frozenset(
    {
        "set", "list", "tuple", "str", "int", "frozenset", "bytes", "contextvars.ContextVar",
        "threading.Event", "asyncio.Event", "threading.local", "functools.lru_cache",
        "functools.cache", "functools.cached_property", "property",
    }
)


class ModuleContext:
    """Names visible at module level and in classes, resolved before the function walk."""

    def __init__(self, module: cst.Module, config: Config) -> None:
        self.module = module
        self.config = config
        self.imports: dict[str, str] = {}
        self.env: dict[str, Binding] = {}
        self.string_constants: dict[str, str] = {}
        self.class_attrs: dict[str, dict[str, Kind]] = {}
        self.function_nodes: dict[str, cst.FunctionDef] = {}
        self.key_helpers: dict[str, str] = {}
        # Functions registered as handlers at module level: ``post_save.connect(fn)``,
        # ``subscriber.subscribe(path, callback=fn)``.
        self.connected_handlers: set[str] = set()
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
        if node.relative or node.module is None:
            module = "." * len(node.relative) + (dotted(node.module) or "" if node.module else "")
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

    # -- what a name means ------------------------------------------------------------

    def configured_kind(self, node: cst.BaseExpression) -> Kind | None:
        """``extend-local-caches``/``extend-shared-caches`` name a receiver or what it is."""
        config = self.config
        if not config.extend_local_caches and not config.extend_shared_caches:
            return None
        names = {terminal_name(node), dotted(node), self.qualify(node)} - {None}
        if names & config.extend_local_caches:
            return Kind("local", "config")
        if names & config.extend_shared_caches:
            return Kind("shared", "unknown")
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
        if qualified in _NON_CACHE_TYPES:
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
        if qualified in {"dict", "typing.Dict", "typing.MutableMapping", "MutableMapping"}:
            return Kind("local", "dict")
        return None


class Walker:
    """Builds the facts of one function (or of the module body) in one ordered walk."""

    def __init__(
        self,
        ctx: ModuleContext,
        facts: FunctionFacts,
        env: dict[str, Binding],
        self_name: str | None,
        counter: list[int],
    ) -> None:
        self.ctx = ctx
        self.facts = facts
        self.env = env
        self.self_name = self_name
        self.counter = counter
        self.locks: list[LockRegion] = []
        # (kind, database alias text) of the enclosing transactions, innermost last.
        self.transactions: list[tuple[str, str | None]] = []
        self.miss_keys: list[str] = []
        # ``version = int(time.time() * 1e6)``: reported once it reaches a cache or a
        # versioned call.
        self.clock_versions: dict[str, cst.BaseExpression] = {}
        self.guards: list[VersionGuard] = []
        self.watched: set[str] = set()
        self.pipeline_reads: set[str] = set()  # pipelines read before ``multi()``: watching
        self.deferred = False  # recording a call that runs after the commit
        self.statement_call: cst.BaseExpression | None = None  # the call of an Expr statement
        self.key_hops: list[str] = []  # locals being followed while resolving a key
        self.assigned_into: dict[str, set[str]] = {}  # ``row.x = v``: row -> roots of v
        self.nested: list[tuple[cst.FunctionDef, str | None]] = []
        self.open_acquires: dict[str, LockRegion] = {}

    def next_index(self) -> int:
        self.counter[0] += 1
        return self.counter[0]

    # -- resolution ---------------------------------------------------------------------

    def lookup(self, name: str) -> Binding | None:
        binding = self.env.get(name)
        if binding is not None:
            return binding
        return self.ctx.env.get(name)

    def kind_of(self, node: cst.BaseExpression, use_heuristic: bool = True) -> Kind | None:
        """Resolve what ``node`` is; the name heuristic only when nothing resolves it."""
        configured = self.ctx.configured_kind(node)
        if configured is not None:
            return configured
        kind = self._resolve_kind(node)
        if kind is None and use_heuristic:
            return self.ctx.heuristic_kind(node)
        if kind is not None and kind.role == "other":
            return None
        return kind

    def _resolve_kind(self, node: cst.BaseExpression) -> Kind | None:
        node = unwrap_await(node)
        ctx = self.ctx
        if isinstance(node, (cst.Dict, cst.DictComp)):
            return Kind("local", "dict")
        if isinstance(node, (cst.List, cst.Set, cst.Tuple, cst.SimpleString, cst.Integer,
                             cst.ListComp, cst.SetComp, cst.FormattedString)):
            return Kind("other")
        if isinstance(node, cst.Name):
            binding = self.lookup(node.value)
            if binding is not None:
                return binding.kind
            qualified = ctx.qualify(node)
            if node.value in ctx.imports:
                if qualified in _NON_CACHE_TYPES:
                    return Kind("other")
                return ctx.kind_of_qualified(qualified, called=False)
            return None
        if isinstance(node, cst.Attribute):
            base = node.value
            if isinstance(base, cst.Name) and base.value in {self.self_name, "cls"} \
                    and self.facts.class_name is not None:
                attrs = ctx.class_attrs.get(self.facts.class_name, {})
                return attrs.get(node.attr.value)
            if isinstance(base, cst.Name) and base.value in ctx.class_attrs:
                return ctx.class_attrs[base.value].get(node.attr.value)
            qualified = ctx.qualify(node)
            if qualified is not None and qualified.split(".")[0] in ctx.imports:
                return ctx.kind_of_qualified(qualified, called=False)
            return None
        if isinstance(node, cst.Subscript):
            qualified = ctx.qualify(node.value)
            if qualified in knowledge.SHARED_CACHE_MAPS:
                return Kind("shared", knowledge.SHARED_CACHE_MAPS[qualified])
            return None
        if isinstance(node, cst.Call):
            return self._kind_of_call(node)
        return None

    def _kind_of_call(self, call: cst.Call) -> Kind | None:
        ctx = self.ctx
        func = call.func
        qualified = ctx.qualify(func)
        kind = ctx.kind_of_qualified(qualified, called=True)
        if kind is not None:
            return self._refine_by_backend(call, kind)
        pair = method_call(call)
        if pair is None:
            if isinstance(func, cst.Name) and func.value in {"set", "frozenset", "list"}:
                return Kind("other")
            return None
        receiver, method = pair
        base = self._resolve_kind(receiver)
        if base is None:
            base = ctx.heuristic_kind(receiver)
        if base is None:
            return None
        if base.role == "shared":
            if method in knowledge.PIPELINE_METHODS:
                return Kind("shared", base.lib, pipeline=True, resolved=base.resolved)
            if method in knowledge.DISTRIBUTED_LOCK_METHODS:
                return Kind("distributed_lock", base.lib)
            if method in {"configure", "configure_from_config", "with_options", "client"}:
                return self._refine_by_backend(call, base)
            if method in {"get_client", "get_master_client", "master_for"}:
                return Kind("shared", "redis")
        return None

    def _refine_by_backend(self, call: cst.Call, kind: Kind) -> Kind:
        """``make_region().configure("dogpile.cache.memory")``, ``Cache(Cache.MEMORY)``: local."""
        for arg in call.args:
            text = self.ctx.module.code_for_node(arg.value).lower()
            if "memory" in text and len(text) < 60:
                return Kind("local", kind.lib)
        return kind

    # -- provenance ---------------------------------------------------------------------

    def provenance(self, node: cst.BaseExpression) -> tuple[set[str], set[str]]:
        """(tags, root names) of the value of ``node``."""
        tags: set[str] = set()
        roots: set[str] = set()
        stack: list[cst.CSTNode] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Name):
                binding = self.lookup(current.value)
                if binding is not None:
                    tags |= binding.tags
                    roots |= binding.roots
                roots.add(current.value)
                continue
            if isinstance(current, cst.Attribute):
                stack.append(current.value)
                continue
            if isinstance(current, (cst.Lambda, cst.FunctionDef)):
                continue
            if isinstance(current, cst.Call):
                call_tags = self.call_tags(current)
                tags |= call_tags
                if CACHE in call_tags or SOURCE in call_tags:
                    # Its arguments are a query, not the value: their names stay roots
                    # (``render(..., {"article": article})`` derives from ``article``).
                    roots |= {n.value for n in descendants(current) if isinstance(n, cst.Name)}
                    continue
            stack.extend(children(current))
        return tags, roots

    def call_tags(self, call: cst.Call) -> set[str]:
        """What calling ``call`` yields: a source read, a cache read, a clock..."""
        ctx = self.ctx
        qualified = ctx.qualify(call.func)
        if qualified in knowledge.CLOCKS:
            return {CLOCK}
        pair = method_call(call)
        if pair is not None:
            receiver, method = pair
            kind = self.kind_of(receiver)
            if method in knowledge.CONSUMER_RECEIVE_METHODS or (
                kind is not None and kind.role == "consumer"
                and method in knowledge.CONSUMER_ITER_METHODS
            ):
                return {EVENT}
            if kind is not None and kind.role in {"shared", "local"}:
                return {CACHE} if method in knowledge.READ_METHODS else set()
            if method in knowledge.ORM_MANAGERS:
                return {SOURCE}
            chain = dotted(call.func) or ""
            if any(part in knowledge.ORM_MANAGERS for part in chain.split(".")[:-1]):
                if method in {"create", "get_or_create", "update_or_create"}:
                    return {WRITTEN, SOURCE}
                return {SOURCE}
            if self._is_orm_chain(receiver):
                return {SOURCE}
            base = terminal_name(receiver) or ""
            if _is_model_getter(base, method):
                return {SOURCE}
            if method in knowledge.SESSION_READ_METHODS and (
                base.lstrip("_").lower() in knowledge.SESSION_NAMES
                or base.lower().endswith(("session", "cursor", "conn", "connection"))
            ):
                return {SOURCE}
            if method in knowledge.DBAPI_FETCH_METHODS:
                return {SOURCE}
            root = (qualified or "").split(".")[0]
            if method in knowledge.HTTP_METHODS and (
                root in knowledge.HTTP_CLIENT_MODULES
                or base.lstrip("_").lower() in knowledge.HTTP_CLIENT_NAMES
            ):
                return {SOURCE}
        if qualified in knowledge.ORM_READ_SHORTCUTS or qualified in knowledge.HTTP_FUNCTIONS:
            return {SOURCE}
        if qualified in self.ctx.config.extend_source_reads:
            return {SOURCE}
        name = call_name(call)
        if name is not None and name in self.ctx.config.extend_source_reads:
            return {SOURCE}
        if qualified in knowledge.NOT_LOADERS:
            return set()
        if name is not None:
            name_words = words(name)
            if name_words and name_words[0] in knowledge.LOADER_WORDS:
                return {SOURCE}
            if isinstance(call.func, cst.Name) and name in ctx.function_nodes:
                return {f"call:{name}"}
            if isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name) \
                    and call.func.value.value in {self.self_name, "cls"}:
                return {f"call:{name}"}
        return set()

    def _is_orm_chain(self, node: cst.BaseExpression) -> bool:
        """``User.objects.filter(...).order_by(...)``: a queryset."""
        while isinstance(node, (cst.Call, cst.Attribute, cst.Subscript)):
            if isinstance(node, cst.Attribute) and node.attr.value in knowledge.ORM_MANAGERS:
                return True
            node = node.func if isinstance(node, cst.Call) else node.value
        return False

    def clock_expr(self, node: cst.BaseExpression) -> bool:
        """A wall or process clock, possibly converted (``int(time.time() * 1000)``)."""
        node = unwrap_await(node)
        if isinstance(node, cst.Name):  # ``now = time.time()`` one assignment earlier
            binding = self.env.get(node.value)
            return binding is not None and binding.clock
        if isinstance(node, cst.Call):
            qualified = self.ctx.qualify(node.func)
            if qualified in knowledge.CLOCKS:
                return True
            if qualified in knowledge.CLOCK_PRESERVING_CALLS and node.args:
                return self.clock_expr(node.args[0].value)
            pair = method_call(node)
            if pair is not None and pair[1] in knowledge.CLOCK_PRESERVING_METHODS:
                return self.clock_expr(pair[0])
            return False
        if isinstance(node, cst.Attribute) and node.attr.value in knowledge.CLOCK_PRESERVING_METHODS:
            return self.clock_expr(node.value)  # ``arrow.utcnow().int_timestamp``
        if isinstance(node, cst.BinaryOperation) and isinstance(
            node.operator, (cst.Multiply, cst.FloorDivide, cst.Divide)
        ):
            return self.clock_expr(node.left) and is_constant(node.right)
        return False

    def clock_or_hop(self, node: cst.BaseExpression) -> bool:
        """A clock, directly or through local assignments."""
        return self.clock_expr(node)

    # -- the walk -----------------------------------------------------------------------

    def block(self, statements: list[cst.BaseStatement] | tuple[cst.BaseStatement, ...]) -> None:
        miss_depth = len(self.miss_keys)
        guard_depth = len(self.guards)
        acquire_before = dict(self.open_acquires)
        for statement in statements:
            self.statement(statement)
        del self.miss_keys[miss_depth:]
        del self.guards[guard_depth:]
        for name in list(self.open_acquires):
            if name not in acquire_before:
                self._close_acquire(name)

    def suite(self, body: cst.BaseSuite) -> None:
        if isinstance(body, cst.IndentedBlock):
            self.block(body.body)
        elif isinstance(body, cst.SimpleStatementSuite):
            for small in body.body:
                self.small_statement(small)

    def statement(self, node: cst.BaseStatement) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                self.small_statement(small)
        elif isinstance(node, cst.FunctionDef):
            self.nested.append((node, self.facts.class_name))
        elif isinstance(node, cst.ClassDef):
            pass  # classes are walked from the module level
        elif isinstance(node, cst.If):
            self.if_statement(node)
        elif isinstance(node, (cst.For, cst.While)):
            self.loop(node)
        elif isinstance(node, cst.With):
            self.with_statement(node)
        elif isinstance(node, (cst.Try, cst.TryStar)):
            self.suite(node.body)
            for handler in node.handlers:
                self.suite(handler.body)
            if node.orelse is not None:
                self.suite(node.orelse.body)
            if node.finalbody is not None:
                self.suite(node.finalbody.body)
        elif isinstance(node, cst.Match):
            self.expression(node.subject)
            for case in node.cases:
                self.suite(case.body)
        else:
            for child in children(node):
                if isinstance(child, cst.BaseExpression):
                    self.expression(child)

    def small_statement(self, node: cst.BaseSmallStatement) -> None:
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            self.ctx.record_import(node)
            return
        if isinstance(node, cst.Assign):
            self.expression(node.value)
            for target in node.targets:
                self.bind(target.target, node.value)
            return
        if isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self.expression(node.value)
                self.bind(node.target, node.value, node.annotation.annotation)
            return
        if isinstance(node, cst.AugAssign):
            self.expression(node.value)
            self.bind(node.target, node.value, augment=True)
            return
        if isinstance(node, cst.Return):
            if node.value is not None:
                self.expression(node.value)
                tags, _ = self.provenance(node.value)
                self.facts.return_tags |= tags
            return
        if isinstance(node, cst.Expr):
            self.statement_call = unwrap_await(node.value)
            self.expression(node.value)
            self.statement_call = None
            self._track_acquire(node.value)
            return
        for child in children(node):
            if isinstance(child, cst.BaseExpression):
                self.expression(child)

    def bind(
        self,
        target: cst.BaseExpression,
        value: cst.BaseExpression,
        annotation: cst.BaseExpression | None = None,
        augment: bool = False,
    ) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.bind(element.value, value, augment=True)
            return
        if isinstance(target, cst.Attribute):
            name = target.attr.value
            if has_word(name, knowledge.VERSION_WORDS) and self.clock_or_hop(value):
                self.facts.clock_uses.append(
                    ClockUse(value, f"assigned to the version attribute `{name}`")
                )
            if isinstance(target.value, cst.Name):  # ``row.name = name``: saved with ``row``
                self.assigned_into.setdefault(target.value.value, set()).update(
                    self.provenance(value)[1]
                )
            return
        if isinstance(target, cst.Subscript):  # ``rows[key] = value`` feeds ``rows``
            if isinstance(target.value, cst.Name):
                self.absorb(target.value.value, value)
            return
        if not isinstance(target, cst.Name):
            return
        tags, roots = self.provenance(value)
        binding = self.env.get(target.value)
        if binding is None:
            binding = self.env[target.value] = Binding()
        binding.tags |= tags
        binding.roots |= roots
        kind = self.ctx.kind_of_annotation(annotation) if annotation is not None else None
        if kind is None and not augment:
            kind = self._resolve_kind(value)
        if kind is not None:
            binding.kind = kind
        binding.value = value
        self.facts.bound_values[target.value] = value
        binding.clock = self.clock_expr(value)
        if binding.clock and has_word(target.value, knowledge.VERSION_WORDS):
            self.clock_versions[target.value] = value
        unwrapped = unwrap_await(value)
        if isinstance(unwrapped, cst.Dict):
            self.facts.dict_literals[target.value] = unwrapped
        read = self._cache_read_key(unwrapped)
        if read is not None:
            binding.cache_read_key = read

    def absorb(self, name: str, value: cst.BaseExpression) -> None:
        """A local container takes in ``value`` (``items.append(row)``, ``d[k] = row``)."""
        binding = self.env.get(name)
        if binding is None:
            return
        tags, roots = self.provenance(value)
        binding.tags |= tags
        binding.roots |= roots

    # -- expressions: every call, in order ------------------------------------------------

    def expression(self, node: cst.BaseExpression) -> None:
        stack: list[tuple[cst.CSTNode, bool]] = [(node, False)]
        calls: list[tuple[cst.Call, bool]] = []
        while stack:
            current, awaited = stack.pop()
            if isinstance(current, (cst.Lambda,)):
                continue
            if isinstance(current, cst.Attribute) and isinstance(current.value, cst.Name):
                self.facts.attribute_reads.setdefault(current.value.value, set()).add(
                    current.attr.value
                )
            if isinstance(current, cst.Call):
                calls.append((current, awaited))
            if isinstance(current, cst.NamedExpr):
                self.bind(current.target, current.value)
            if isinstance(current, cst.Await):
                stack.append((current.expression, True))
                continue
            below = list(children(current))
            below.reverse()
            stack.extend((child, False) for child in below)
        # Inner calls run before the calls that take their results.
        for call, awaited in reversed(calls):
            self.call(call, awaited)

    def call(self, call: cst.Call, awaited: bool) -> None:
        if self.locks:
            callee = self._local_callee(call)
            if callee is not None:
                for region in self.locks:
                    region.calls.append(callee)
        pair = method_call(call)
        if pair is None:
            if self.ctx.qualify(call.func) == "functools.partial":
                self._deferred_partial(call)
            self._check_helper_call(call)
            return
        receiver, method = pair
        if method == "watch":
            self.watched.add(self.ctx.module.code_for_node(receiver))
        elif method == "multi":
            # A pipeline read before ``multi()`` only executes while the pipeline WATCHes.
            text = self.ctx.module.code_for_node(receiver)
            if text in self.pipeline_reads:
                self.watched.add(text)
        elif method == "on_commit":
            self._deferred_lambda(call)
        if method in knowledge.COMMIT_METHODS and not call.args:
            self.facts.commit_indexes.append(self.next_index())
            return
        if method in _MUTATORS and isinstance(receiver, cst.Name) and receiver.value in self.env:
            for arg in call.args:
                self.absorb(receiver.value, arg.value)
        kind = self.kind_of(receiver)
        if kind is not None and kind.role in {"shared", "local"}:
            if self.cache_op(call, receiver, kind, method, awaited):
                return
        else:
            self._check_source_write(call, receiver, method)
        if method in knowledge.PUBLISH_METHODS:
            for arg in call.args:
                self._check_versioned_payload(arg.value, f"published with `{method}()`")

    def _deferred_partial(self, call: cst.Call) -> None:
        """``partial(cache.delete, key)``: a delete that runs later (after the commit)."""
        if not call.args or call.args[0].keyword is not None or call.args[0].star:
            return
        target = call.args[0].value
        if not isinstance(target, cst.Attribute):
            return
        method = target.attr.value
        kind = self.kind_of(target.value)
        if method not in knowledge.DELETE_METHODS or kind is None \
                or kind.role not in {"shared", "local"}:
            return
        self.deferred = True
        self.cache_op(call, target.value, kind, method, False,
                      arguments=call.with_changes(func=target, args=call.args[1:]))
        self.deferred = False

    def _deferred_lambda(self, call: cst.Call) -> None:
        """``transaction.on_commit(lambda: cache.delete(key))``: the body runs after the commit."""
        for arg in call.args:
            if isinstance(arg.value, cst.Lambda):
                self.deferred = True
                self.expression(arg.value.body)
                self.deferred = False

    def _check_clock_versions(self, names: set[str] | frozenset[str], context: str) -> None:
        for name in sorted(names & self.clock_versions.keys()):
            self.facts.clock_uses.append(
                ClockUse(self.clock_versions[name], f"the version `{name}` {context}")
            )

    def _local_callee(self, call: cst.Call) -> str | None:
        """The name of a same-module function or method this call runs, if it is one."""
        func = call.func
        if isinstance(func, cst.Name):
            return func.value if func.value in self.ctx.function_nodes else None
        if isinstance(func, cst.Attribute):
            base = func.value
            if isinstance(base, cst.Name) and base.value in {self.self_name, "cls"}:
                return func.attr.value
            if isinstance(base, cst.Call) and isinstance(base.func, cst.Name) \
                    and base.func.value == "super":
                return func.attr.value
        return None

    def _check_helper_call(self, call: cst.Call) -> None:
        """``set_if_newer(cache, k, v, version=time.time())``: a clock as the version."""
        name = call_name(call) or ""
        if self.clock_versions and has_word(name, knowledge.VERSION_WORDS):
            passed = {a.value.value for a in call.args if isinstance(a.value, cst.Name)}
            self._check_clock_versions(passed, f"passed to `{name}()`")
        qualified = self.ctx.qualify(call.func)
        if qualified in self.ctx.config.versioned_helpers or call_name(call) in {
            h.rsplit(".", 1)[-1] for h in self.ctx.config.versioned_helpers
        }:
            self._check_version_kwargs(call, "passed as the version of a versioned write")

    def _check_version_kwargs(self, call: cst.Call, context: str) -> None:
        for arg in call.args:
            if arg.keyword is not None and has_word(arg.keyword.value, knowledge.VERSION_WORDS) \
                    and self.clock_or_hop(arg.value):
                self.facts.clock_uses.append(
                    ClockUse(arg.value, f"`{arg.keyword.value}=` {context}")
                )

    def _check_versioned_payload(self, value: cst.BaseExpression, context: str) -> None:
        """A ``{"version": time.time()}`` dict written to a cache or published."""
        candidates: list[cst.Dict] = []
        stack: list[cst.CSTNode] = [value]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.Dict):
                candidates.append(current)
            elif isinstance(current, cst.Name) and current.value in self.facts.dict_literals:
                candidates.append(self.facts.dict_literals[current.value])
                continue
            elif isinstance(current, cst.Call):
                stack.extend(arg.value for arg in current.args)
                continue
            if isinstance(current, (cst.Dict, cst.List, cst.Tuple)):
                stack.extend(children(current))
            elif isinstance(current, (cst.DictElement, cst.Element)):
                stack.append(current.value)
        for literal in candidates:
            for element in literal.elements:
                if not isinstance(element, cst.DictElement):
                    continue
                key = keys.string_value(element.key)
                if key is not None and has_word(key, knowledge.VERSION_WORDS) \
                        and self.clock_or_hop(element.value):
                    self.facts.clock_uses.append(
                        ClockUse(element.value, f'the `"{key}"` entry of a value {context}')
                    )

    def _check_source_write(
        self, call: cst.Call, receiver: cst.BaseExpression, method: str
    ) -> None:
        is_write = False
        if method in knowledge.SOURCE_WRITE_METHODS:
            chain = dotted(call.func) or ""
            # ``default_storage.save(name, content)`` writes files, not rows.
            storage = (terminal_name(receiver) or "").lower().endswith("storage")
            is_write = not (method == "save" and storage) and (
                method in {"save", "commit", "flush", "executemany"}
                or any(p in knowledge.ORM_MANAGERS for p in chain.split("."))
                or self._is_orm_chain(receiver)
            )
        elif method in {"execute", "add", "add_all", "merge", "delete"}:
            base = (terminal_name(receiver) or "").lstrip("_").lower()
            session = base in knowledge.SESSION_NAMES or base.endswith("session")
            if method == "execute" and call.args:
                is_write = self._writes_sql(call.args[0].value)
            elif method == "delete":  # ``session.delete(row)``, ``Model.objects.filter().delete()``
                is_write = session or self._is_orm_chain(receiver)
            elif session:
                is_write = True
        if not is_write:
            return
        self.facts.source_write_indexes.append(self.next_index())
        targets: list[cst.BaseExpression] = [arg.value for arg in call.args]
        if method in {"save", "delete", "update", "refresh_from_db"}:
            targets.append(receiver)
        for target in targets:
            _, roots = self.provenance(target)
            for saved in list(roots):
                roots |= self.assigned_into.get(saved, set())
            for root in roots:
                binding = self.env.get(root)
                if binding is None:
                    binding = self.env[root] = Binding(tags={PARAM} if root in self.env else set())
                binding.tags.add(WRITTEN)

    def _writes_sql(self, node: cst.BaseExpression) -> bool:
        """``"UPDATE ..."`` (also through a local or a constant), ``text("INSERT ...")``,
        SQLAlchemy Core ``update(User).where(...).values(...)``."""
        node = unwrap_await(node)
        sql = keys.template(node)
        if sql is None and isinstance(node, cst.Name):
            binding = self.lookup(node.value)
            if binding is not None and binding.value is not None and binding.value is not node:
                sql = keys.template(binding.value)
            sql = sql if sql is not None else self.ctx.string_constants.get(node.value)
        if sql is not None:
            return sql.strip().lower().startswith(knowledge.SQL_WRITE_WORDS)
        while isinstance(node, (cst.Call, cst.Attribute)):
            if isinstance(node, cst.Call):
                name = call_name(node)
                if name == "text" and node.args:
                    return self._writes_sql(node.args[0].value)
                if name in {"update", "insert", "delete"} and (
                    isinstance(node.func, cst.Name)
                    or (self.ctx.qualify(node.func) or "").startswith("sqlalchemy")
                ):
                    return True
                node = node.func
            else:
                node = node.value
        return False

    def cache_op(
        self,
        call: cst.Call,
        receiver: cst.BaseExpression,
        kind: Kind,
        method: str,
        awaited: bool,
        arguments: cst.Call | None = None,
    ) -> bool:
        """Record a cache operation; False when ``method`` is not one.

        ``arguments`` holds the method's arguments when ``call`` is not the method call
        itself (``partial(cache.delete, key)``).
        """
        if method in knowledge.WRITE_METHODS:
            category: Literal["write", "delete", "read", "safe"] = "write"
        elif method in knowledge.DELETE_METHODS:
            category = "delete"
        elif method in knowledge.READ_METHODS:
            category = "read"
        elif method in knowledge.SAFE_METHODS:
            category = "safe"
        else:
            return False
        source = call if arguments is None else arguments
        key = self._key_arg(source, method)
        value = self._value_arg(source, method) if category == "write" else None
        tags: set[str] = set()
        roots: set[str] = set()
        if value is not None:
            tags, roots = self.provenance(value)
            if method == "get_or_set" and self._callable_default(value):
                tags.add(SOURCE)
        key_text = self.ctx.module.code_for_node(key) if key is not None else None
        receiver_text = self.ctx.module.code_for_node(receiver)
        if category == "read" and kind.pipeline:
            self.pipeline_reads.add(receiver_text)
        op = CacheOp(
            call=call,
            function=self.facts,
            index=self.next_index(),
            receiver=receiver,
            kind=kind,
            method=method,
            category=category,
            key=key,
            key_text=key_text,
            key_family=keys.family(key, self.key_resolver) if key is not None else None,
            value=value,
            tags=frozenset(tags),
            roots=frozenset(roots),
            awaited=awaited,
            locks=tuple(self.locks),
            in_transaction=bool(self.transactions) and not self.deferred,
            on_miss_branch=key_text is not None and self._on_miss_branch(key_text),
            in_watch_transaction=receiver_text in self.watched,
            receiver_text=receiver_text,
            version_guard=self.guards[-1].comparison if self.guards else None,
            constant_value=value is not None and (is_constant(value) or self._is_trivial(value)),
            lock_like=False,
            transaction=self.transactions[-1][0] if self.transactions else None,
            transaction_using=self.transactions[-1][1] if self.transactions else None,
            deferred=self.deferred,
            guard=self.guards[-1] if self.guards else None,
            standalone=call is self.statement_call,
        )
        op.lock_like = category == "write" and self._is_lock_acquisition(op)
        self.facts.ops.append(op)
        for region in self.locks:
            region.ops.append(op)
        if category == "write":
            self._check_version_kwargs(call, f"of a cache `{method}()`")
            self._check_clock_versions(roots, f"written to the cache with `{method}()`")
            if value is not None:
                self._check_versioned_payload(value, "written to the cache")
        return True

    def _callable_default(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.Lambda):
            return True
        if isinstance(value, (cst.Name, cst.Attribute)):
            name = terminal_name(value) or ""
            return name in self.ctx.function_nodes or (
                bool(words(name)) and words(name)[0] in knowledge.LOADER_WORDS
            )
        return False

    def _is_lock_acquisition(self, op: CacheOp) -> bool:
        """``cache.add(lock_key, "1")`` / ``r.set(k, token, nx=True)``: a lock, not a value."""
        call = op.call
        exclusive = op.method in {"add", "setnx"} or any(
            a.keyword is not None and a.keyword.value == "nx" for a in call.args
        )
        if not exclusive:
            return False
        key_words = (op.key_text or "").lower()
        if _LOCK_KEY.search(key_words):
            return True
        if op.value is None:
            return False
        if op.constant_value:
            return True
        value_text = self.ctx.module.code_for_node(op.value).lower()
        return bool(_TOKEN_CALLS.search(value_text))

    def key_resolver(self, node: cst.BaseExpression) -> str | None:
        """Key templates through locals (a few hops), module and class constants, and
        key helpers."""
        if isinstance(node, cst.Name):
            binding = self.env.get(node.value)
            if binding is not None and binding.value is not None and binding.value is not node:
                if node.value in self.key_hops or len(self.key_hops) >= _MAX_KEY_HOPS:
                    return None  # ``key = key + ":x"`` or a long chain: unknown
                self.key_hops.append(node.value)
                try:
                    return keys.template(binding.value, self.key_resolver)
                finally:
                    self.key_hops.pop()
            if binding is not None and PARAM in binding.tags:
                return None
            return self.ctx.string_constants.get(node.value)
        if isinstance(node, cst.Attribute):
            return _constant_lookup(self.ctx, node, self.facts.class_name)
        if isinstance(node, cst.Call):
            name = call_name(node)
            if name is not None and name in self.ctx.key_helpers:
                return self.ctx.key_helpers[name]
        return None

    def _key_arg(self, call: cst.Call, method: str) -> cst.BaseExpression | None:
        if method in {"set_many", "mset", "msetnx", "set_multi", "multi_set", "add_multi",
                      "delete_many", "delete_multi", "multi_delete", "get_many", "mget"}:
            return None
        for name in ("key", "name", "keys"):
            arg = keyword(call, name)
            if arg is not None:
                return arg.value
        arg = positional(call, 0)
        return arg.value if arg is not None else None

    def _value_arg(self, call: cst.Call, method: str) -> cst.BaseExpression | None:
        for name in knowledge.VALUE_KEYWORDS:
            arg = keyword(call, name)
            if arg is not None:
                return arg.value
        index = knowledge.VALUE_POSITION.get(method, 1)
        if index is None:
            return None
        arg = positional(call, index)
        return arg.value if arg is not None else None

    def _cache_read_key(self, node: cst.BaseExpression) -> str | None:
        node = unwrap_await(node)
        pair = method_call(node)
        if pair is None or not isinstance(node, cst.Call):
            return None
        receiver, method = pair
        if method not in knowledge.READ_METHODS:
            return None
        kind = self.kind_of(receiver)
        if kind is None or kind.role != "shared":
            return None
        key = self._key_arg(node, method)
        return self.ctx.module.code_for_node(key) if key is not None else None

    def _is_trivial(self, value: cst.BaseExpression) -> bool:
        """Literals, UPPER_CASE constants and clocks: a sentinel or a counter reset, not data
        loaded from anywhere (``cache.set(k, SENTINEL)``, ``cache.set(k, (1, now))``)."""
        stack: list[cst.CSTNode] = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Name):
                binding = self.env.get(node.value)
                if binding is not None:
                    if not binding.clock:
                        return False
                elif not (node.value.isupper() or node.value in {"True", "False", "None"}):
                    return False
            elif isinstance(node, cst.Call):
                if not self.clock_expr(node):
                    return False
            elif isinstance(node, (cst.Attribute, cst.Subscript, cst.Lambda, cst.Await)):
                return False
            else:
                stack.extend(children(node))
        return True

    def _on_miss_branch(self, key_text: str) -> bool:
        for entry in reversed(self.miss_keys):
            if entry == key_text:
                return True
            if entry == HIT + key_text:
                return False
        return False

    # -- branches -------------------------------------------------------------------------

    def _miss_test(self, test: cst.BaseExpression) -> tuple[str | None, bool]:
        """(key, body_is_miss) for a test on a cached value; key None when unrelated."""
        test = unwrap_await(test)
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            key, body_is_miss = self._miss_test(test.expression)
            return key, not body_is_miss
        if isinstance(test, cst.BooleanOperation):
            left = self._miss_test(test.left)
            right = self._miss_test(test.right)
            for key, body_is_miss in (left, right):
                if key is not None and body_is_miss == isinstance(test.operator, cst.Or):
                    return key, body_is_miss
            return None, False
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            target = test.comparisons[0]
            operator = target.operator
            if isinstance(operator, (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual)) \
                    and isinstance(target.comparator, cst.Name) \
                    and target.comparator.value == "None":
                key = self._cached_value_key(test.left)
                return key, isinstance(operator, (cst.Is, cst.Equal))
            if isinstance(operator, (cst.In, cst.NotIn)):
                kind = self.kind_of(target.comparator)
                if kind is not None and kind.role == "shared":
                    return self.ctx.module.code_for_node(test.left), isinstance(
                        operator, cst.NotIn
                    )
            return None, False
        key = self._cached_value_key(test)
        return key, False

    def _cached_value_key(self, node: cst.BaseExpression) -> str | None:
        node = unwrap_await(node)
        if isinstance(node, cst.NamedExpr):
            self.bind(node.target, node.value)
            node = node.target
        if isinstance(node, cst.Name):
            binding = self.env.get(node.value)
            return binding.cache_read_key if binding is not None else None
        if isinstance(node, cst.Call):
            pair = method_call(node)
            if pair is not None and pair[1] == "exists":
                kind = self.kind_of(pair[0])
                if kind is not None and kind.role == "shared" and node.args:
                    return self.ctx.module.code_for_node(node.args[0].value)
            return self._cache_read_key(node)
        return None

    def if_statement(self, node: cst.If) -> None:
        self.expression(node.test)
        key, body_is_miss = self._miss_test(node.test)
        guard = self._ordering_guard(node)
        self._check_clock_comparison(node)
        if guard is not None:
            self.guards.append(guard)
        # Each branch of a test on a cached value is a miss (``key``) or a hit (``!key``).
        if key is not None:
            self.miss_keys.append(key if body_is_miss else HIT + key)
        self.suite(node.body)
        if key is not None:
            self.miss_keys.pop()
        if guard is not None:
            self.guards.pop()
        if node.orelse is not None:
            if key is not None:
                self.miss_keys.append(HIT + key if body_is_miss else key)
            if guard is not None:  # the else branch is decided by the same check
                self.guards.append(guard)
            if isinstance(node.orelse, cst.If):
                self.if_statement(node.orelse)
            else:
                self.suite(node.orelse.body)
            if guard is not None:
                self.guards.pop()
            if key is not None:
                self.miss_keys.pop()
        if key is not None and not body_is_miss and _ends_flow(node.body):
            # ``if cached is not None: return cached`` -- the rest of the block is the miss.
            self.miss_keys.append(key)
        if node.orelse is None and guard is not None and _ends_flow(node.body):
            # ``if cached["version"] >= version: return`` -- it guards the rest of the block.
            self.guards.append(dataclasses.replace(guard, newer=None, after_exit=True))

    def _ordering_guard(self, statement: cst.If) -> VersionGuard | None:
        """A ``<``/``>`` comparison of a version (or update time) read from the cache."""
        test = statement.test
        for node in [test, *descendants(test)]:
            if not isinstance(node, cst.Comparison):
                continue
            if not any(isinstance(t.operator, _ORDERING_OPERATORS) for t in node.comparisons):
                continue
            operands = [node.left, *(t.comparator for t in node.comparisons)]
            if not any(_ordering_named(operand) for operand in operands):
                continue
            cached = next((o for o in operands if CACHE in self.provenance(o)[0]), None)
            if cached is None:
                continue
            return VersionGuard(node, statement, cached, _newer_operand(node, cached),
                                frozenset(self._read_keys(cached)))
        return None

    def _read_keys(self, node: cst.BaseExpression) -> set[str]:
        """Key texts of the cache reads a value derives from (``current = cache.get(k)``)."""
        found: set[str] = set()
        for current in [node, *descendants(node)]:
            if isinstance(current, cst.Name):
                binding = self.lookup(current.value)
                if binding is not None and binding.cache_read_key is not None:
                    found.add(binding.cache_read_key)
            elif isinstance(current, cst.Call):
                key = self._cache_read_key(current)
                if key is not None:
                    found.add(key)
        return found

    def _check_clock_comparison(self, node: cst.If) -> None:
        """``if entry["version"] < time.time(): cache.set(...)``: the clock orders writes."""
        if not _writes_cache_text(node.body):
            return
        for comparison in [node.test, *descendants(node.test)]:
            if not isinstance(comparison, cst.Comparison):
                continue
            operands = [comparison.left, *(t.comparator for t in comparison.comparisons)]
            ordered = any(isinstance(t.operator, (cst.LessThan, cst.LessThanEqual,
                                                  cst.GreaterThan, cst.GreaterThanEqual))
                          for t in comparison.comparisons)
            if not ordered or not any(_version_named(o) for o in operands):
                continue
            for operand in operands:
                if self.clock_or_hop(operand):
                    self.facts.clock_uses.append(
                        ClockUse(operand, "compared with a version to decide a cache write")
                    )

    def loop(self, node: cst.For | cst.While) -> None:
        if isinstance(node, cst.For):
            self.expression(node.iter)
            self.bind(node.target, node.iter)
            if self._is_consumer_iter(node.iter):
                for name in _target_names(node.target):
                    self.env.setdefault(name, Binding()).tags.add(EVENT)
        else:
            self.expression(node.test)
        self.suite(node.body)
        if node.orelse is not None:
            self.suite(node.orelse.body)

    def _is_consumer_iter(self, node: cst.BaseExpression) -> bool:
        node = unwrap_await(node)
        kind = self._resolve_kind(node)
        if kind is not None and kind.role == "consumer":
            return True
        pair = method_call(node)
        return pair is not None and pair[1] in knowledge.CONSUMER_ITER_METHODS

    def with_statement(self, node: cst.With) -> None:
        opened: list[LockRegion] = []
        transactions: list[tuple[str, str | None]] = []
        for item in node.items:
            expr = unwrap_await(item.item)
            self.expression(item.item)
            kind = self._resolve_kind(expr)
            if isinstance(expr, cst.Call) and kind is None:
                kind = self.kind_of(expr)
            if kind is None and isinstance(expr, (cst.Name, cst.Attribute)):
                kind = self._resolve_kind(expr)
            if kind is not None and kind.role == "process_lock":
                region = LockRegion(node, kind)
                opened.append(region)
            transaction = _transaction_kind(
                self.ctx.qualify(expr.func if isinstance(expr, cst.Call) else expr)
            )
            if transaction is not None:
                transactions.append((transaction, _using(self.ctx.module, expr)))
            if item.asname is not None:
                self.bind(item.asname.name, item.item)
        self.locks.extend(opened)
        self.facts.lock_regions.extend(opened)
        self.transactions.extend(transactions)
        self.suite(node.body)
        del self.transactions[len(self.transactions) - len(transactions):]
        del self.locks[len(self.locks) - len(opened):]

    def _track_acquire(self, node: cst.BaseExpression) -> None:
        pair = method_call(unwrap_await(node))
        if pair is None:
            return
        receiver, method = pair
        text = self.ctx.module.code_for_node(receiver)
        if method == "acquire":
            kind = self._resolve_kind(receiver)
            if kind is not None and kind.role == "process_lock":
                region = LockRegion(unwrap_await(node), kind)
                self.open_acquires[text] = region
                self.locks.append(region)
                self.facts.lock_regions.append(region)
        elif method == "release" and text in self.open_acquires:
            self._close_acquire(text)

    def _close_acquire(self, text: str) -> None:
        region = self.open_acquires.pop(text)
        if region in self.locks:
            self.locks.remove(region)


_MODEL_GETTER_WORDS = frozenset({"get", "filter", "all", "first", "select", "find", "fetch",
                                 "load", "query", "lookup", "by"})


def _is_model_getter(receiver_name: str, method: str) -> bool:
    """``DataSource.get_by_id(...)``, ``User.query.filter_by(...)``: a model class read."""
    if receiver_name == "query":  # Flask-SQLAlchemy's ``Model.query``
        return True
    if not receiver_name[:1].isupper() or receiver_name.isupper():
        return False
    method_words = words(method)
    return bool(method_words) and method_words[0] in _MODEL_GETTER_WORDS


def _ends_flow(body: cst.BaseSuite) -> bool:
    statements = body.body
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return isinstance(last.body[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))
    return isinstance(last, (cst.Return, cst.Raise, cst.Continue, cst.Break))


_ORDERING_OPERATORS = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual)
# Words naming what orders cache entries: versions and update times.
_ORDERING_WORDS = knowledge.VERSION_WORDS | frozenset(
    {"updated", "modified", "timestamp", "ts", "mtime"}
)


def _ordering_named(node: cst.BaseExpression) -> bool:
    """``cached["version"]``, ``int(cur_ver)``, ``row.updated_at``: names an ordering token."""
    for current in [node, *descendants(node)]:
        if isinstance(current, cst.Subscript) and current.slice:
            index = current.slice[0].slice
            if isinstance(index, cst.Index):
                key = keys.string_value(index.value)
                if key is not None and has_word(key, _ORDERING_WORDS):
                    return True
        elif isinstance(current, (cst.Name, cst.Attribute)):
            name = terminal_name(current)
            if name is not None and has_word(name, _ORDERING_WORDS):
                return True
    return False


def _newer_operand(
    comparison: cst.Comparison, cached: cst.BaseExpression
) -> cst.BaseExpression | None:
    """``v`` in ``cached < v`` / ``cached <= v`` / ``v > cached`` / ``v >= cached``."""
    if len(comparison.comparisons) != 1:
        return None
    target = comparison.comparisons[0]
    operator = target.operator
    if cached is comparison.left and isinstance(operator, (cst.LessThan, cst.LessThanEqual)):
        return target.comparator
    if cached is target.comparator and isinstance(operator, (cst.GreaterThan,
                                                             cst.GreaterThanEqual)):
        return comparison.left
    return None


def _version_named(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Subscript) and node.slice:
        index = node.slice[0].slice
        if isinstance(index, cst.Index):
            key = keys.string_value(index.value)
            return key is not None and has_word(key, knowledge.VERSION_WORDS)
    name = terminal_name(node)
    return name is not None and has_word(name, knowledge.VERSION_WORDS)


def _writes_cache_text(body: cst.BaseSuite) -> bool:
    for node in descendants(body):
        pair = method_call(node) if isinstance(node, cst.Call) else None
        if pair is not None and pair[1] in knowledge.WRITE_METHODS:
            return True
    return False


def _target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _target_names(e.value)]
    return []


def _using(module: cst.Module, node: cst.BaseExpression) -> str | None:
    """The database alias of ``atomic(using="x")`` / ``atomic("x")`` as source text."""
    if not isinstance(node, cst.Call):
        return None
    arg = keyword(node, "using") or positional(node, 0)
    return module.code_for_node(arg.value) if arg is not None else None


def _transaction_kind(qualified: str | None) -> str | None:
    """``django`` for ``transaction.atomic``, ``sqlalchemy`` for ``session.begin()``."""
    if qualified is None:
        return None
    if qualified in {"django.db.transaction.atomic", "transaction.atomic"}:
        return "django"
    if qualified.endswith((".begin", ".begin_nested")):
        return "sqlalchemy"
    return None


# -- the module walk ------------------------------------------------------------------------

_INIT_METHODS = ("__init__", "__post_init__", "setUp", "setup", "init_app", "__aenter__")


def build_facts(module: cst.Module, config: Config) -> ModuleFacts:
    """Every function's facts, plus what is needed to relate them across functions."""
    ctx = ModuleContext(module, config)
    _prepass(ctx, module)
    counter = [0]
    module_facts = FunctionFacts("<module>", module, False, None, False)
    top = Walker(ctx, module_facts, ctx.env, None, counter)
    top.block(module.body)
    functions = [module_facts]
    pending: list[tuple[cst.FunctionDef, str | None, dict[str, Binding]]] = [
        (node, owner, {}) for node, owner in top.nested
    ]
    for class_node in _classes(module.body):
        _class_attributes(ctx, class_node, counter)
        methods = [s for s in class_node.body.body if isinstance(s, cst.FunctionDef)]
        methods.sort(key=lambda m: m.name.value not in _INIT_METHODS)
        pending.extend((m, class_node.name.value, {}) for m in methods)
    while pending:
        node, owner, outer = pending.pop(0)
        facts, walker = _walk_function(ctx, node, owner, outer, counter)
        functions.append(facts)
        pending.extend((n, o, dict(walker.env)) for n, o in walker.nested)
    return ModuleFacts(
        functions=functions,
        imports=ctx.imports,
        source_functions=_source_functions(functions),
        helper_imported={
            q: local for local, q in ctx.imports.items() if q in config.versioned_helpers
        },
    )


def _classes(body: tuple[cst.BaseStatement, ...] | list[cst.BaseStatement]) -> list[cst.ClassDef]:
    found: list[cst.ClassDef] = []
    for statement in body:
        if isinstance(statement, cst.ClassDef):
            found.append(statement)
            if isinstance(statement.body, cst.IndentedBlock):
                found.extend(_classes(statement.body.body))
        elif isinstance(statement, (cst.If, cst.Try)) and isinstance(
            statement.body, cst.IndentedBlock
        ):
            found.extend(_classes(statement.body.body))
    return found


def _prepass(ctx: ModuleContext, module: cst.Module) -> None:
    """Imports, string constants, top-level function names, then key helpers."""
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    ctx.record_import(small)
                elif isinstance(small, cst.Expr):
                    _record_connected_handler(ctx, small.value)
                else:
                    _record_string_constant(ctx, small, "")
        elif isinstance(statement, (cst.If, cst.Try)):
            for node in descendants(statement):
                if isinstance(node, (cst.Import, cst.ImportFrom)):
                    ctx.record_import(node)
        elif isinstance(statement, cst.FunctionDef):
            ctx.function_nodes[statement.name.value] = statement
        elif isinstance(statement, cst.ClassDef):
            for item in statement.body.body:
                if isinstance(item, cst.SimpleStatementLine):
                    for small in item.body:
                        _record_string_constant(ctx, small, f"{statement.name.value}.")
    for statement in module.body:  # helpers may use constants defined after them
        if isinstance(statement, cst.FunctionDef):
            helper = _key_helper_template(ctx, statement, None)
            if helper is not None:
                ctx.key_helpers[statement.name.value] = helper
        elif isinstance(statement, cst.ClassDef):
            for item in statement.body.body:
                if isinstance(item, cst.FunctionDef):
                    helper = _key_helper_template(ctx, item, statement.name.value)
                    if helper is not None:
                        ctx.key_helpers[item.name.value] = helper


def _record_connected_handler(ctx: ModuleContext, node: cst.BaseExpression) -> None:
    """``post_save.connect(invalidate, sender=Item)`` / ``x.subscribe(path, callback=fn)``."""
    pair = method_call(node)
    if pair is None or not isinstance(node, cst.Call):
        return
    method = pair[1]
    if method == "connect":
        arg = keyword(node, "receiver") or positional(node, 0)
    elif method in {"subscribe", "subscribe_to", "add_listener"}:
        arg = keyword(node, "callback")
    else:
        return
    if arg is not None and isinstance(arg.value, cst.Name):
        ctx.connected_handlers.add(arg.value.value)


def _record_string_constant(ctx: ModuleContext, small: cst.BaseSmallStatement, prefix: str) -> None:
    """``USER_KEY = "user:{}"`` (module level) or ``KEY = ...`` in a class (``Class.KEY``)."""
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target, value = small.targets[0].target, small.value
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        target, value = small.target, small.value
    else:
        return
    if not isinstance(target, cst.Name):
        return
    text = _constant_string(ctx, value, prefix)
    if text is not None:
        ctx.string_constants[prefix + target.value] = text


def _constant_string(ctx: ModuleContext, node: cst.BaseExpression, prefix: str) -> str | None:
    """A string known statically: a literal, a known constant, ``+`` or an f-string of them."""
    literal = keys.string_value(node)
    if literal is not None:
        return literal
    if isinstance(node, cst.Name):
        return ctx.string_constants.get(prefix + node.value, ctx.string_constants.get(node.value))
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left = _constant_string(ctx, node.left, prefix)
        right = _constant_string(ctx, node.right, prefix)
        return left + right if left is not None and right is not None else None
    if isinstance(node, cst.FormattedString):
        parts: list[str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
                continue
            if not isinstance(part, cst.FormattedStringExpression):
                return None
            known = _constant_string(ctx, part.expression, prefix)
            if known is None or part.conversion is not None or part.format_spec is not None:
                return None
            parts.append(known.replace("{", "{{").replace("}", "}}"))
        return "".join(parts).replace("{{", "{").replace("}}", "}")
    return None


def _key_helper_template(
    ctx: ModuleContext, node: cst.FunctionDef, class_name: str | None
) -> str | None:
    """``def user_key(uid): return f"user:{uid}"`` -> ``user:{}``."""
    body = node.body
    if not isinstance(body, cst.IndentedBlock) or len(body.body) > 3:
        return None
    last = body.body[-1]
    if not isinstance(last, cst.SimpleStatementLine):
        return None
    ret = last.body[0]
    if not isinstance(ret, cst.Return) or ret.value is None:
        return None
    return keys.family(ret.value, lambda n: _constant_lookup(ctx, n, class_name))


def _constant_lookup(
    ctx: ModuleContext, node: cst.BaseExpression, class_name: str | None
) -> str | None:
    """A module constant (``USER_KEY``), or a class constant (``self.KEY``, ``cls.KEY``,
    ``Users.KEY``)."""
    if isinstance(node, cst.Name):
        return ctx.string_constants.get(node.value)
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
        owner = node.value.value
        if owner in {"self", "cls"}:
            if class_name is None:
                return None
            owner = class_name
        return ctx.string_constants.get(f"{owner}.{node.attr.value}")
    return None


def _class_attributes(ctx: ModuleContext, node: cst.ClassDef, counter: list[int]) -> None:
    attrs = ctx.class_attrs.setdefault(node.name.value, {})
    facts = FunctionFacts(f"<class {node.name.value}>", ctx.module, False, node.name.value,
                          False)
    walker = Walker(ctx, facts, dict(ctx.env), None, counter)
    for statement in node.body.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
                if isinstance(target, cst.Name):
                    kind = walker.kind_of(small.value, use_heuristic=False)
                    if kind is not None:
                        attrs[target.value] = kind
            elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                kind = ctx.kind_of_annotation(small.annotation.annotation)
                if kind is None and small.value is not None:
                    kind = walker.kind_of(small.value, use_heuristic=False)
                if kind is not None:
                    attrs[small.target.value] = kind


def _is_consumer(ctx: ModuleContext, node: cst.FunctionDef) -> bool:
    for decorator in node.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Call):
            target = target.func
        qualified = ctx.qualify(target) or ""
        if qualified in knowledge.CONSUMER_DECORATORS or \
                qualified.rsplit(".", 1)[-1] in knowledge.CONSUMER_DECORATORS:
            return True
    name = node.name.value
    if name in ctx.connected_handlers:
        return True
    if name.startswith(knowledge.CONSUMER_PREFIXES) or has_word(name, _CALLBACK_WORDS):
        params = {p.name.value for p in node.params.params}
        return bool(params & knowledge.EVENT_PARAM_NAMES)
    return False


# ``def callback(message):`` passed to a pub/sub subscriber, ``def message_handler(msg):``.
_CALLBACK_WORDS = frozenset({"callback", "handler", "listener", "subscriber"})


def _bound_task(node: cst.FunctionDef) -> bool:
    """``@app.task(bind=True)``: the first parameter is the task, not event data."""
    for decorator in node.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Call):
            bind = keyword(target, "bind")
            if bind is not None and isinstance(bind.value, cst.Name) \
                    and bind.value.value == "True":
                return True
    return False


def _walk_function(
    ctx: ModuleContext,
    node: cst.FunctionDef,
    owner: str | None,
    outer: dict[str, Binding],
    counter: list[int],
) -> tuple[FunctionFacts, Walker]:
    consumer = _is_consumer(ctx, node)
    facts = FunctionFacts(node.name.value, node, node.asynchronous is not None, owner, consumer)
    env = {name: Binding(set(b.tags), set(b.roots), b.kind, b.value) for name, b in outer.items()}
    params = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]
    if isinstance(node.params.star_kwarg, cst.Param):
        params.append(node.params.star_kwarg)
    if isinstance(node.params.star_arg, cst.Param):
        params.append(node.params.star_arg)
    self_name = None
    if owner is not None and node.params.params and not any(
        _decorator_name(d) == "staticmethod" for d in node.decorators
    ):
        self_name = node.params.params[0].name.value
    not_event = {"self", "cls", "sender", self_name}
    if consumer and params and _bound_task(node):
        not_event.add(params[0].name.value)
    for param in params:
        name = param.name.value
        binding = Binding(tags={PARAM}, roots={name})
        if consumer and name not in not_event:
            binding.tags.add(EVENT)
        if param.annotation is not None:
            binding.kind = ctx.kind_of_annotation(param.annotation.annotation)
        env[name] = binding
    walker = Walker(ctx, facts, env, self_name, counter)
    for decorator in node.decorators:
        target = decorator.decorator
        transaction = _transaction_kind(
            ctx.qualify(target.func if isinstance(target, cst.Call) else target)
        )
        if transaction is not None:
            walker.transactions.append((transaction, _using(ctx.module, target)))
    walker.suite(node.body)
    if owner is not None and node.name.value in _INIT_METHODS and self_name is not None:
        _record_instance_attributes(ctx, walker, node, owner, self_name)
    return facts, walker


def _record_instance_attributes(
    ctx: ModuleContext, walker: Walker, node: cst.FunctionDef, owner: str, self_name: str
) -> None:
    """``self.cache = caches["default"]`` in ``__init__`` types ``self.cache`` everywhere."""
    attrs = ctx.class_attrs.setdefault(owner, {})
    for item in descendants(node.body):
        if isinstance(item, (cst.Assign, cst.AnnAssign)):
            targets = [t.target for t in item.targets] if isinstance(item, cst.Assign) \
                else [item.target]
            value = item.value
            for target in targets:
                if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) \
                        and target.value.value == self_name and value is not None:
                    kind = walker.kind_of(value, use_heuristic=False)
                    if kind is None and isinstance(item, cst.AnnAssign):
                        kind = ctx.kind_of_annotation(item.annotation.annotation)
                    if kind is not None:
                        attrs[target.attr.value] = kind
                    elif target.attr.value in attrs and attrs[target.attr.value].role == "other":
                        del attrs[target.attr.value]


def _decorator_name(decorator: cst.Decorator) -> str | None:
    target = decorator.decorator
    return terminal_name(target.func if isinstance(target, cst.Call) else target)


def _source_functions(functions: list[FunctionFacts]) -> set[str]:
    """Functions whose return value is (transitively) a source-of-truth read."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for facts in functions:
            if facts.name in found:
                continue
            tags = facts.return_tags
            if SOURCE in tags or any(t.startswith("call:") and t[5:] in found for t in tags):
                found.add(facts.name)
                changed = True
    return found


def from_source(op: CacheOp, module: ModuleFacts) -> bool:
    """The written value derives from a source-of-truth read."""
    return SOURCE in op.tags or any(
        t.startswith("call:") and t[5:] in module.source_functions for t in op.tags
    )
