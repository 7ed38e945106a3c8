"""The module walk: prepass, classes, functions, and what relates them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst

from cachelint import keys, knowledge
from cachelint.config import Config
from cachelint.facts.context import ModuleContext
from cachelint.facts.model import (
    EVENT,
    PARAM,
    SOURCE,
    WRITTEN,
    Binding,
    CacheOp,
    FunctionFacts,
    Kind,
    ModuleFacts,
)
from cachelint.facts.syntax import (
    has_cache_methods,
    mapping_backed,
    transaction_kind,
    using,
)
from cachelint.facts.walker import Walker
from cachelint.names import (
    call_name,
    descendants,
    has_word,
    keyword,
    method_call,
    positional,
    terminal_name,
)

# -- the module walk ------------------------------------------------------------------------

_INIT_METHODS = ("__init__", "__post_init__", "setUp", "setup", "init_app", "__aenter__")


def build_facts(module: cst.Module, config: Config, path: str = "") -> ModuleFacts:
    """Every function's facts, plus what is needed to relate them across functions."""
    ctx = ModuleContext(module, config, path)
    prepass(ctx, module)
    counter = [0]
    module_facts = FunctionFacts("<module>", module, False, None, False)
    top = Walker(ctx, module_facts, ctx.env, None, counter)
    for name, node in ctx.function_nodes.items():  # ``def _consumer(): return KafkaConsumer()``
        kind = _returned_kind(top, node, {})
        if kind is not None:
            ctx.function_kinds[name] = kind
    top.block(module.body)
    functions = [module_facts]
    # (function, class, enclosing function's bindings, enclosing function's walker)
    # Every class's ``__init__`` first: it types ``self.client`` for the other methods and
    # for module functions using an instance (``ratings = RatingCache(redis.Redis())``).
    inits: list[tuple[cst.FunctionDef, str | None, dict[str, Binding], Walker | None]] = []
    pending: list[tuple[cst.FunctionDef, str | None, dict[str, Binding], Walker | None]] = [
        (node, owner, {}, None) for node, owner in top.nested
    ]
    for class_node in _classes(module.body):
        _class_attributes(ctx, class_node, counter)
        for method in class_node.body.body:
            if isinstance(method, cst.FunctionDef):
                queue = inits if method.name.value in _INIT_METHODS else pending
                queue.append((method, class_node.name.value, {}, None))
    pending = inits + pending
    walkers: list[Walker] = [top]
    while pending:
        node, owner, outer, enclosing = pending.pop(0)
        facts, walker = _walk_function(ctx, node, owner, outer, counter, enclosing)
        functions.append(facts)
        walkers.append(walker)
        pending.extend((n, o, dict(walker.env), walker) for n, o in walker.nested)
    _rewalk_event_fed(ctx, functions, walkers, counter)
    return ModuleFacts(
        functions=functions,
        imports=ctx.imports,
        source_functions=_returning(functions, SOURCE),
        written_functions=_returning(functions, WRITTEN),
        helper_imported={
            q: local for local, q in ctx.imports.items() if q in config.versioned_helpers
        },
    )


def _rewalk_event_fed(
    ctx: ModuleContext, functions: list[FunctionFacts], walkers: list[Walker], counter: list[int]
) -> None:
    """A function handed event data by a same-module caller (``self.handle_decision(
    msg.value)`` in a consumer loop) writes that data as a consumer does: walk it again
    with those parameters marked as event data.  Each round may feed the next callee."""
    done: set[tuple[str | None, str]] = set()
    for _ in range(3):
        fed: dict[tuple[str | None, str], set[int | str]] = {}
        for walker in walkers:
            for owner, callee, slot in walker.event_calls:
                fed.setdefault((owner, callee), set()).add(slot)
        changed = False
        for index, facts in enumerate(functions):
            key = (facts.class_name, facts.name)
            node = facts.node
            if key not in fed or key in done or walkers[index].nested \
                    or facts.name in _INIT_METHODS or node is not _defined(ctx, *key):
                continue
            names = _parameter_names(node, fed[key], facts.class_name is not None)
            if not names:
                continue
            done.add(key)
            new_facts, new_walker = _walk_function(
                ctx, node, facts.class_name, {}, counter, None, event_params=names
            )
            functions[index], walkers[index] = new_facts, new_walker
            changed = True
        if not changed:
            return


def _defined(ctx: ModuleContext, owner: str | None, name: str) -> cst.FunctionDef | None:
    """The module function or class method called ``name`` (not a nested function)."""
    if owner is None:
        return ctx.function_nodes.get(name)
    return ctx.method_nodes.get(owner, {}).get(name)


def _parameter_names(node: cst.FunctionDef, slots: set[int | str], method: bool) -> set[str]:
    """The parameters that receive the given argument positions and keywords (``*``:
    all of them)."""
    positional = [*node.params.posonly_params, *node.params.params]
    if method and not any(_decorator_name(d) == "staticmethod" for d in node.decorators):
        positional = positional[1:]
    names = {p.name.value for p in [*positional, *node.params.kwonly_params]}
    if "*" in slots:  # a queued job: every argument is the queued payload
        return names
    found: set[str] = set()
    for slot in slots:
        if isinstance(slot, int):
            if slot < len(positional):
                found.add(positional[slot].name.value)
        elif slot in names:
            found.add(slot)
    return found


def _classes(body: Sequence[cst.BaseStatement]) -> list[cst.ClassDef]:
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


def prepass(ctx: ModuleContext, module: cst.Module) -> None:
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
            if has_cache_methods(statement) and not mapping_backed(statement):
                ctx.cache_wrappers.add(statement.name.value)
    # Helpers may use constants defined after them, and other helpers: the second pass
    # resolves ``def get_key(self): return self.build_key(self.pk)``.
    for _ in range(2):
        for statement in module.body:
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
    """``def user_key(uid): return f"user:{uid}"`` -> ``user:{}``.  A docstring, asserts
    and up to three other statements may come before the one ``return``."""
    body = node.body
    if not isinstance(body, cst.IndentedBlock):
        return None
    statements = [s for s in body.body if not _docstring_or_assert(s)]
    if not statements or len(statements) > 4:
        return None
    last = statements[-1]
    if not isinstance(last, cst.SimpleStatementLine):
        return None
    ret = last.body[0]
    if not isinstance(ret, cst.Return) or ret.value is None:
        return None
    if any(isinstance(n, cst.Return) for s in statements[:-1] for n in [s, *descendants(s)]):
        return None  # an earlier return: the last one is not the only template

    def resolve(node: cst.BaseExpression) -> str | None:
        if isinstance(node, cst.Call):
            name = call_name(node)
            return ctx.key_helpers.get(name) if name is not None else None
        return ctx.constant_string(node, class_name)

    return keys.family(ret.value, resolve)


def _docstring_or_assert(statement: cst.BaseStatement) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    return isinstance(small, cst.Assert) or (
        isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString,
                                                                 cst.ConcatenatedString))
    )


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
    methods = [s for s in node.body.body if isinstance(s, cst.FunctionDef)]
    ctx.method_nodes[node.name.value] = {m.name.value: m for m in methods}
    ctx.class_bases[node.name.value] = [
        name for base in node.bases if (name := terminal_name(base.value)) is not None
    ]
    if any((terminal_name(base.value) or "").endswith(("Manager", "QuerySet"))
           for base in node.bases):
        ctx.manager_classes.add(node.name.value)
    # Returned kinds before the attributes (``self.pool = self._make_pool()``) and again
    # after them (``return self._lock``).
    for method_pass in range(2):
        if method_pass:
            for method in methods:
                _attributes_set_in_methods(walker, method, attrs)
        for method in methods:
            kind = _returned_kind(walker, method, attrs)
            if kind is not None:
                ctx.method_kinds.setdefault(node.name.value, {})[method.name.value] = kind


def _self_name(node: cst.FunctionDef) -> str | None:
    params = node.params.params
    return params[0].name.value if params else None


def _small_statements(body: cst.BaseSuite) -> Iterator[cst.BaseSmallStatement]:
    """The simple statements of a function body, through ``if``/``for``/``with``/``try``
    blocks but not into nested functions or classes (and never into expressions)."""
    pending: list[cst.CSTNode] = [body]
    while pending:
        node = pending.pop()
        if isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            yield from node.body
        elif isinstance(node, cst.IndentedBlock):
            pending.extend(reversed(node.body))
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            continue
        else:  # ``if``/``else``/``for``/``while``/``with``/``try``/``except``/``finally``
            for name in ("finalbody", "orelse", "handlers", "cases", "body"):
                part = getattr(node, name, None)
                if isinstance(part, (list, tuple)):
                    pending.extend(reversed(part))
                elif isinstance(part, cst.CSTNode):
                    pending.append(part)


def _attributes_set_in_methods(walker: Walker, method: cst.FunctionDef, attrs: dict[str, Kind]) -> None:
    """``if self._lock is None: self._lock = asyncio.Lock()`` in any method types
    ``self._lock`` as that lock (locks are often created lazily, inside the event loop);
    so does ``self._memo = StoredLRUCache(...)`` for an in-process cache."""
    self_name = _self_name(method)
    for item in _small_statements(method.body):
        if not isinstance(item, cst.Assign) or not isinstance(item.value, cst.Call):
            continue
        for target in item.targets:
            attr = target.target
            if isinstance(attr, cst.Attribute) and isinstance(attr.value, cst.Name) \
                    and attr.value.value == self_name:
                kind = walker.kind_of(item.value, use_heuristic=False)
                if kind is None or kind.role != "process_lock":
                    kind = walker.ctx.local_by_type_name(item.value)
                if kind is not None:
                    attrs.setdefault(attr.attr.value, kind)


def _returned_kind(
    walker: Walker, method: cst.FunctionDef, attrs: dict[str, Kind]
) -> Kind | None:
    """The lock or cache client every ``return`` of ``method`` gives (``return
    self._lock``, ``return asyncio.Lock()``, ``return PooledClient(...)``, ``return
    caches["profiles"]``); a ``return None`` on failure does not count."""
    self_name = _self_name(method)
    found: Kind | None = None
    for item in _small_statements(method.body):
        if not isinstance(item, cst.Return) or item.value is None:
            continue
        value = item.value
        if isinstance(value, cst.Name) and value.value == "None":
            continue
        if isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name) \
                and value.value.value == self_name:
            kind = attrs.get(value.attr.value)
        elif isinstance(value, (cst.Call, cst.Subscript, cst.Name, cst.Attribute)):
            # ``PooledClient(...)``, ``caches["profiles"]``, a module-level client
            kind = walker.kind_of(value, use_heuristic=False)
        else:
            return None  # a literal dict or list returned is data
        if kind is None or kind.role not in {"process_lock", "shared", "local", "consumer"} \
                or (found is not None and kind.role != found.role):
            return None
        found = kind
    return found


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
    if name in ctx.connected_handlers or _signal_receiver_shape(node):
        return True
    if name.startswith(knowledge.CONSUMER_PREFIXES) or name in knowledge.CONSUMER_NAMES \
            or has_word(name, _CALLBACK_WORDS):
        params = {p.name.value for p in node.params.params}
        return bool(params & knowledge.EVENT_PARAM_NAMES)
    return False


def _is_channels_receiver(ctx: ModuleContext, node: cst.FunctionDef, owner: str | None) -> bool:
    """``receive_json(self, content)`` of a Django Channels consumer class: called with
    each message a client or the channel layer delivers."""
    bases = ctx.class_bases.get(owner or "", [])
    return node.name.value in knowledge.CHANNELS_RECEIVE_METHODS and any(
        base.endswith("Consumer") for base in bases)


def _signal_receiver_shape(node: cst.FunctionDef) -> bool:
    """``def on_saved(sender, instance, **kwargs)``: Django's receiver signature, whether
    connected by decorator here or with ``signal.connect`` in another module."""
    params = node.params.params
    return (
        bool(params) and params[0].name.value == "sender"
        and isinstance(node.params.star_kwarg, cst.Param)
    )


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
    enclosing: Walker | None = None,
    event_params: set[str] | None = None,
) -> tuple[FunctionFacts, Walker]:
    consumer = _is_consumer(ctx, node) or _is_channels_receiver(ctx, node, owner)
    facts = FunctionFacts(node.name.value, node, node.asynchronous is not None, owner, consumer)
    env = {name: Binding(set(b.tags), set(b.roots), b.kind, b.value,
                         local_function=b.local_function) for name, b in outer.items()}
    params = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]
    if isinstance(node.params.star_kwarg, cst.Param):
        params.append(node.params.star_kwarg)
    if isinstance(node.params.star_arg, cst.Param):
        params.append(node.params.star_arg)
    self_name = None
    if enclosing is not None:  # a function inside a method sees the method's ``self``
        self_name = enclosing.self_name
    elif owner is not None and node.params.params and not any(
        _decorator_name(d) == "staticmethod" for d in node.decorators
    ):
        self_name = node.params.params[0].name.value
    not_event = {"self", "cls", "sender", self_name}
    if consumer and params and _bound_task(node):
        not_event.add(params[0].name.value)
    for param in params:
        name = param.name.value
        binding = Binding(tags={PARAM}, roots={name})
        if consumer and name not in not_event or event_params and name in event_params:
            binding.tags.add(EVENT)
        if param.annotation is not None:
            binding.kind = ctx.kind_of_annotation(param.annotation.annotation)
        elif param.default is not None:  # ``def __init__(self, client=mc)``
            binding.kind = _default_kind(ctx, param.default)
        env[name] = binding
    walker = Walker(ctx, facts, env, self_name, counter)
    if enclosing is not None:
        walker.miss_keys = list(enclosing.nested_miss_keys.get(id(node), ()))
    for decorator in node.decorators:
        target = decorator.decorator
        transaction = transaction_kind(
            ctx.qualify(target.func if isinstance(target, cst.Call) else target)
        )
        if transaction is not None:
            walker.transactions.append((transaction, using(ctx.module, target)))
    walker.suite(node.body)
    if owner is not None and node.name.value in _INIT_METHODS and self_name is not None:
        _record_instance_attributes(ctx, walker, node, owner, self_name)
    return facts, walker


def _default_kind(ctx: ModuleContext, default: cst.BaseExpression) -> Kind | None:
    """What a parameter's default names: a module-level client (``client=mc``) or an
    imported one (``client=cache``)."""
    if isinstance(default, cst.Name) and default.value in ctx.env:
        return ctx.env[default.value].kind
    if isinstance(default, (cst.Name, cst.Attribute)):
        return ctx.kind_of_qualified(ctx.qualify(default), called=False)
    return None


def _record_instance_attributes(
    ctx: ModuleContext, walker: Walker, node: cst.FunctionDef, owner: str, self_name: str
) -> None:
    """``self.cache = caches["default"]`` in ``__init__`` types ``self.cache`` everywhere."""
    attrs = ctx.class_attrs.setdefault(owner, {})
    params = {p.name.value for p in node.params.params if p.annotation is None}
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
                    if kind is None:
                        kind = ctx.local_by_type_name(value)
                    if kind is None and isinstance(value, cst.Name) and value.value in params:
                        kind = ctx.heuristic_kind(value)  # ``self.client = redis_client``
                    if kind is not None:
                        attrs[target.attr.value] = kind
                    elif target.attr.value in attrs and attrs[target.attr.value].role == "other":
                        del attrs[target.attr.value]


def _decorator_name(decorator: cst.Decorator) -> str | None:
    target = decorator.decorator
    return terminal_name(target.func if isinstance(target, cst.Call) else target)


def _returning(functions: list[FunctionFacts], tag: str) -> set[str]:
    """Functions whose return value (transitively) carries ``tag``: a source-of-truth
    read, or a row just written (``UPDATE ... RETURNING`` in a helper)."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for facts in functions:
            if facts.name in found:
                continue
            tags = facts.return_tags
            if tag in tags or any(t.startswith("call:") and t[5:] in found for t in tags):
                found.add(facts.name)
                changed = True
    return found


def from_source(op: CacheOp, module: ModuleFacts) -> bool:
    """The written value derives from a source-of-truth read."""
    return SOURCE in op.tags or any(
        t.startswith("call:") and t[5:] in module.source_functions for t in op.tags
    )


def just_written(op: CacheOp, module: ModuleFacts) -> bool:
    """The written value is what was just written to the source of truth."""
    return WRITTEN in op.tags or any(
        t.startswith("call:") and t[5:] in module.written_functions for t in op.tags
    )
