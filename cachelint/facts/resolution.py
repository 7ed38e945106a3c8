"""What an expression is (a cache client, a lock...) and where its value comes from."""

from __future__ import annotations

import re

import libcst as cst

from cachelint import keys, knowledge
from cachelint.facts.context import ModuleContext
from cachelint.facts.model import (
    CACHE,
    CLOCK,
    EVENT,
    PARAM,
    SOURCE,
    WRITTEN,
    Binding,
    FunctionFacts,
    Kind,
    LockRegion,
    VersionGuard,
)
from cachelint.facts.syntax import (
    NON_CACHE_TYPES,
    is_model_getter,
    string_index,
)
from cachelint.names import (
    call_name,
    children,
    descendants,
    dotted,
    has_word,
    is_constant,
    keyword,
    method_call,
    terminal_name,
    unwrap_await,
    words,
)

_SHARED_FACTORY = re.compile(knowledge.SHARED_FACTORY_PATTERN, re.IGNORECASE)

_WRITE_STATEMENT = re.compile(knowledge.SQL_WRITE_STATEMENT, re.IGNORECASE)
# What a factory call can hand out besides data (a ``dict`` it returns is data).
_CLIENT_ROLES = frozenset({"shared", "consumer", "process_lock", "distributed_lock"})


class Resolution:
    """The walk's state, and what names and expressions resolve to."""

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
        self.exits_on_hit: list[str] = []  # keys whose hit left the function early
        # ``version = int(time.time() * 1e6)``: reported once it reaches a cache or a
        # versioned call.
        self.clock_versions: dict[str, cst.BaseExpression] = {}
        self.guards: list[VersionGuard] = []
        self.writing_cursors: set[str] = set()  # cursors whose last statement wrote
        self.exit_guards: list[VersionGuard] = []  # ``if ...: return`` checks a block ended with
        self.watched: set[str] = set()
        self.pipeline_reads: set[str] = set()  # pipelines read before ``multi()``: watching
        self.deferred = False  # recording a call that runs after the commit
        self.except_depth = 0  # inside ``except`` handlers
        # ``ctx["data"] = cache.get(k)``: the key a constant-index slot holds a read of
        self.slot_reads: dict[str, str] = {}
        self.statement_call: cst.BaseExpression | None = None  # the call of an Expr statement
        self.key_hops: list[str] = []  # locals being followed while resolving a key
        # The class whose constants ``obj.attr`` names while trying each class that
        # defines ``attr`` (a base class method reading a subclass's key template).
        self.attr_owner: str | None = None
        self.assigned_into: dict[str, set[str]] = {}  # ``row.x = v``: row -> roots of v
        self.nested: list[tuple[cst.FunctionDef, str | None]] = []
        # The miss branches a nested function is defined on: a callback defined on the
        # miss path (``def on_response(data): cache.set(key, data)``) refills that key.
        self.nested_miss_keys: dict[int, tuple[str, ...]] = {}
        self.open_acquires: dict[str, LockRegion] = {}
        self.keeps_acquires = False  # the block being walked is a ``try`` body
        # ``self.handle(msg.value)`` in a consumer loop: (class or None, callee, argument
        # position or keyword) of each same-module call handed event data.
        self.event_calls: list[tuple[str | None, str, int | str]] = []  # "*": every one

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
                if qualified in NON_CACHE_TYPES:
                    return Kind("other")
                return ctx.kind_of_qualified(qualified, called=False)
            return None
        if isinstance(node, cst.Attribute):
            base = node.value
            if isinstance(base, cst.Name) and base.value in {self.self_name, "cls"} \
                    and self.facts.class_name is not None:
                return ctx.attribute_kind(self.facts.class_name, node.attr.value)
            if isinstance(base, cst.Name) and base.value in ctx.class_attrs:
                return ctx.attribute_kind(base.value, node.attr.value)
            owner = self._instance_class(base)
            if owner is not None:  # ``ratings = RatingCache(redis.Redis())``; ``ratings.client``
                return ctx.attribute_kind(owner, node.attr.value)
            qualified = ctx.qualify(node)
            if qualified is not None and qualified.split(".")[0] in ctx.imports:
                return ctx.kind_of_qualified(qualified, called=False)
            return None
        if isinstance(node, cst.Subscript):
            qualified = ctx.qualify(node.value)
            if qualified in knowledge.SHARED_CACHE_MAPS:
                return Kind("shared", knowledge.SHARED_CACHE_MAPS[qualified])
            if terminal_name(node.value) == "extensions":
                # Flask: ``current_app.extensions["redis"]``, the client an extension registered.
                return ctx.heuristic_kind(cst.Name(string_index(node) or "extensions"))
            return None
        if isinstance(node, cst.Call):
            return self._kind_of_call(node)
        if isinstance(node, (cst.BooleanOperation, cst.IfExp)):
            # ``r or client()``, ``r if r is not None else client()``: either client.
            options = [node.left, node.right] if isinstance(node, cst.BooleanOperation) \
                else [node.body, node.orelse]
            kinds = [self._resolve_kind(option) for option in options]
            known = [k for k in kinds if k is not None and k.role != "other"]
            return known[0] if known and all(k.role == known[0].role for k in known) else None
        return None

    def _kind_of_call(self, call: cst.Call) -> Kind | None:
        ctx = self.ctx
        func = call.func
        qualified = ctx.qualify(func)
        kind = ctx.kind_of_qualified(qualified, called=True)
        if kind is not None:
            return self._refine_by_backend(call, kind)
        name = terminal_name(func)
        if name is not None and _SHARED_FACTORY.match(name.lstrip("_")):
            return Kind("shared", "unknown", resolved=False)
        if isinstance(func, cst.Name) and func.value in ctx.function_kinds \
                and self.lookup(func.value) is None:
            return ctx.function_kinds[func.value]
        if isinstance(func, cst.Name) and func.value in ctx.cache_wrappers \
                and self.lookup(func.value) is None and self._wraps_shared_cache(call):
            return Kind("shared", "unknown", resolved=False)
        pair = method_call(call)
        if pair is None:
            if isinstance(func, cst.Name) and func.value in {"set", "frozenset", "list"}:
                return Kind("other")
            return None
        receiver, method = pair
        if isinstance(receiver, cst.Name) and receiver.value == self.self_name:
            returned = ctx.method_kinds.get(self.facts.class_name or "", {}).get(method)
            if returned is not None:
                return returned
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

    def _wraps_shared_cache(self, call: cst.Call) -> bool:
        """``CacheService(redis.Redis(...))``, ``RedisCache(url)``: a wrapper class of this
        module handed a shared client, named for one, or keeping one it builds."""
        if self.ctx.local_by_type_name(call) is not None:
            return False  # ``LocalCache()``, ``MemoCache()``: its name says in-process
        name = terminal_name(call.func) or ""
        if knowledge.CACHE_CLASS_WORDS & set(words(name)) or self.ctx.wraps_shared_client(name):
            return True
        return any(
            (kind := self._resolve_kind(arg.value)) is not None and kind.role == "shared"
            for arg in call.args
        )

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
                held = self._self_attribute(current)
                if held is not None:  # ``self.object = form.save()`` earlier in this method
                    tags |= held.tags
                    roots |= held.roots
                    continue
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

    def _instance_class(self, node: cst.BaseExpression) -> str | None:
        """The class of this module that a name was bound to an instance of."""
        if not isinstance(node, cst.Name):
            return None
        binding = self.lookup(node.value)
        value = binding.value if binding is not None else None
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) \
                and value.func.value in self.ctx.method_nodes:
            return value.func.value
        return None

    def _self_attribute(self, node: cst.Attribute) -> Binding | None:
        base = node.value
        if not isinstance(base, cst.Name) or base.value != self.self_name:
            return None
        return self.env.get(f"{base.value}.{node.attr.value}")

    def call_tags(self, call: cst.Call) -> set[str]:
        """What calling ``call`` yields: a source read, a cache read, a clock..."""
        ctx = self.ctx
        qualified = ctx.qualify(call.func)
        if qualified in knowledge.CLOCKS:
            return {CLOCK}
        if call.args and isinstance(call.args[0].value, (cst.SimpleString, cst.ConcatenatedString)) \
                and self.write_statement(call.args[0].value):
            # ``conn.fetchrow("UPDATE ... RETURNING ...")``: the row just written
            return {SOURCE, WRITTEN}
        pair = method_call(call)
        if pair is not None:
            receiver, method = pair
            kind = self.kind_of(receiver)
            if method in knowledge.CONSUMER_RECEIVE_METHODS or (
                kind is not None and kind.role == "consumer"
                and method in knowledge.CONSUMER_ITER_METHODS
            ):
                return {EVENT}
            if kind is not None and kind.role == "local" and self._payload(receiver):
                return set()  # ``prefs.get("topics")`` of a task's ``prefs: dict``: its data
            if kind is not None and kind.role in {"shared", "local"}:
                return {CACHE} if method in knowledge.READ_METHODS else set()
            if self._memory_buffer(receiver):
                return set()  # ``buffer.read()`` of an ``io.BytesIO()`` just written
            if method in knowledge.ORM_MANAGERS:
                return {SOURCE}
            if method == "save" and self.saves_instance(call, receiver):
                return {WRITTEN}  # ``form.save()``/``serializer.save()`` return the saved row
            chain = dotted(call.func) or ""
            if any(part in knowledge.ORM_MANAGERS for part in chain.split(".")[:-1]) or (
                self._manager_self(receiver) and method in knowledge.QUERYSET_METHODS
            ):
                if method in {"create", "get_or_create", "update_or_create"}:
                    return {WRITTEN, SOURCE}
                return {SOURCE}
            if self._is_orm_chain(receiver) or _related_query(call):
                return {SOURCE}
            base = terminal_name(receiver) or ""
            if is_model_getter(base, method):
                return {SOURCE}
            if method in knowledge.VIEW_OBJECT_GETTERS and isinstance(receiver, cst.Name) \
                    and receiver.value == self.self_name:
                return {SOURCE}
            if method in knowledge.DYNAMODB_METHODS and self._dynamodb_table(receiver):
                return set(knowledge.DYNAMODB_METHODS[method])
            if method in knowledge.DBAPI_FETCH_METHODS \
                    and self.ctx.module.code_for_node(receiver) in self.writing_cursors:
                return {SOURCE, WRITTEN}  # the row an ``UPDATE ... RETURNING`` wrote
            if method == "execute" and call.args and self.writes_sql(call.args[0].value):
                return {SOURCE, WRITTEN}  # SQLAlchemy's result of ``update(...).returning()``
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
        module, _, function = (qualified or "").rpartition(".")
        if module in knowledge.HTTP_CLIENT_MODULES and function in knowledge.HTTP_METHODS:
            return {SOURCE}  # ``from requests import get``
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
                # ``build_consumer()`` returning a ``KafkaConsumer`` builds a client, not data
                built = self._kind_of_call(call)
                return set() if built is not None and built.role in _CLIENT_ROLES else {SOURCE}
            if isinstance(call.func, cst.Name) and (name in ctx.function_nodes or (
                    (local := self.lookup(name)) is not None and local.local_function)):
                return {f"call:{name}"}  # a module function, or one defined in this one
            if isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name) \
                    and call.func.value.value in {self.self_name, "cls"}:
                return {f"call:{name}"}
        return set()

    def write_statement(self, node: cst.BaseExpression) -> bool:
        """SQL text that is unmistakably a write (``UPDATE bins SET ...``, ``INSERT INTO``,
        ``DELETE FROM``), for calls other than ``execute()`` that are handed it."""
        node = unwrap_await(node)
        sql = keys.template(node)
        if sql is None and isinstance(node, cst.Name):
            sql = self.ctx.string_constants.get(node.value)
        return sql is not None and _WRITE_STATEMENT.match(sql) is not None

    def writes_sql(self, node: cst.BaseExpression) -> bool:
        """``"UPDATE ..."`` (also through a local or a constant), ``text("INSERT ...")``,
        SQLAlchemy Core ``update(User).where(...).values(...)``."""
        node = unwrap_await(node)
        sql = keys.template(node)
        if sql is None and isinstance(node, cst.Name):
            binding = self.lookup(node.value)
            constant = self.ctx.string_constants.get(node.value)
            if binding is not None and binding.value is not None and binding.value is not node:
                node = binding.value  # ``stmt = update(Item).values(...)``, ``sql = "UPDATE"``
                sql = keys.template(node)
            sql = sql if sql is not None else constant
        if sql is not None:
            return sql.strip().lower().startswith(knowledge.SQL_WRITE_WORDS)
        while isinstance(node, (cst.Call, cst.Attribute)):
            if isinstance(node, cst.Call):
                name = call_name(node)
                if name == "text" and node.args:
                    return self.writes_sql(node.args[0].value)
                if name in {"update", "insert", "delete"} and (
                    isinstance(node.func, cst.Name)
                    or (self.ctx.qualify(node.func) or "").startswith("sqlalchemy")
                ):
                    return True
                node = node.func
            else:
                node = node.value
        return False

    def saves_instance(self, call: cst.Call, receiver: cst.BaseExpression) -> bool:
        """A model's, ModelForm's or serializer's ``save()``, which writes (and returns) a
        row: keywords only (``update_fields=``), not ``commit=False``, not a storage or an
        image saving a file (``image.save(buffer, "JPEG")``)."""
        commit = keyword(call, "commit")
        return not any(a.keyword is None and not a.star for a in call.args) \
            and not (terminal_name(receiver) or "").lower().endswith("storage") \
            and not (commit is not None and isinstance(commit.value, cst.Name)
                     and commit.value.value == "False")

    def _dynamodb_table(self, node: cst.BaseExpression) -> bool:
        """``flags_table`` / ``dynamodb.Table("flags")``: a boto3 DynamoDB table."""
        if isinstance(node, cst.Name):
            binding = self.lookup(node.value)
            if binding is not None and binding.value is not None and binding.value is not node:
                node = binding.value
        if isinstance(node, cst.Call) and call_name(node) == "Table":
            return True
        return has_word(terminal_name(node) or "", frozenset({"table"}))

    def _payload(self, node: cst.BaseExpression) -> bool:
        """A parameter, an event's data or a dict built from a read (``settings = {s["id"]:
        s["value"] for s in resp.json()[...]}``): data, not a cache."""
        binding = self.lookup(node.value) if isinstance(node, cst.Name) else None
        return binding is not None and bool(binding.tags & {PARAM, EVENT, SOURCE, WRITTEN})

    def _memory_buffer(self, node: cst.BaseExpression) -> bool:
        """A local bound to an in-memory buffer (``io.BytesIO()``): not a source."""
        binding = self.lookup(node.value) if isinstance(node, cst.Name) else None
        value = binding.value if binding is not None else None
        return isinstance(value, cst.Call) and self.ctx.qualify(value.func) in {
            "io.BytesIO", "io.StringIO"}

    def _is_orm_chain(self, node: cst.BaseExpression) -> bool:
        """``User.objects.filter(...).order_by(...)``: a queryset; inside a custom manager,
        ``self.filter(...)`` too; SQLAlchemy's ``session.query(Zone).filter(...)`` and
        Flask-SQLAlchemy's ``Zone.query.filter_by(...)``."""
        while isinstance(node, (cst.Call, cst.Attribute, cst.Subscript)):
            if isinstance(node, cst.Attribute) and node.attr.value in knowledge.ORM_MANAGERS:
                return True
            if isinstance(node, cst.Attribute) and node.attr.value == "query":
                base = terminal_name(node.value) or ""
                if base[:1].isupper() or base.lstrip("_").lower() in knowledge.SESSION_NAMES \
                        or base.lower().endswith("session"):
                    return True
            if isinstance(node, cst.Attribute) and self._manager_self(node.value) \
                    and node.attr.value in knowledge.QUERYSET_METHODS:
                return True
            node = node.func if isinstance(node, cst.Call) else node.value
        return False

    def _manager_self(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Name) and node.value == self.self_name \
            and self.facts.class_name in self.ctx.manager_classes

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


def _related_query(call: cst.Call) -> bool:
    """A related manager's read: ``user.groups.all()``, ``order.lines.select_related(...)``,
    ``book.tags.filter(name__in=names)`` (a Django lookup)."""
    node: cst.BaseExpression = call
    top = True
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        method = node.func.attr.value
        receiver = node.func.value
        if method in knowledge.DISTINCT_QUERYSET_METHODS:
            return True
        if method in {"filter", "exclude", "get"} and any(
            a.keyword is not None and "__" in a.keyword.value for a in node.args
        ):
            return True
        if top and method == "all" and not node.args and isinstance(receiver, cst.Attribute) \
                and isinstance(receiver.value, cst.Name) \
                and receiver.value.value not in {"self", "cls", "np", "numpy"}:
            return True  # ``user.groups.all()`` (not ``self.mask.all()`` of an array)
        node, top = receiver, False
    return False
