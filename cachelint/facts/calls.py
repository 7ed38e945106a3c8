"""Every call in walk order: cache operations, source writes, clocks in version positions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

import libcst as cst

from cachelint import keys, knowledge
from cachelint.facts.model import (
    CACHE,
    EVENT,
    PARAM,
    SOURCE,
    WRITTEN,
    Binding,
    CacheOp,
    ClockUse,
    Kind,
)
from cachelint.facts.resolution import Resolution
from cachelint.facts.syntax import (
    CLAIM_KEY,
    GENERIC_KEY_WORDS,
    HIT,
    IDENTIFIER_ATTRIBUTES,
    KEY_HELPER_WORDS,
    LOCK_KEY,
    LOCK_WORDS,
    MAX_KEY_HOPS,
    MUTATORS,
    OWNER_KEY_WORDS,
    TOKEN_CALLS,
    TOKEN_GENERATORS,
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
    positional,
    terminal_name,
    unwrap_await,
    variables,
    words,
)


class CallFacts(Resolution):
    """Bindings and calls: what values flow where, and every cache operation."""

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
            if isinstance(target.value, cst.Name):  # the attribute exists: a fix may use it
                self.facts.attribute_reads.setdefault(target.value.value, set()).add(name)
            if has_word(name, knowledge.VERSION_WORDS) and self.clock_or_hop(value):
                self.facts.clock_uses.append(
                    ClockUse(value, f"assigned to the version attribute `{name}`")
                )
            if isinstance(target.value, cst.Name):  # ``row.name = name``: saved with ``row``
                tags, roots = self.provenance(value)
                self.assigned_into.setdefault(target.value.value, set()).update(roots)
                row = self.env.get(target.value.value)
                if row is not None and SOURCE in row.tags:
                    # A loaded row changed: the session's unit of work now holds a write.
                    self.facts.source_write_indexes.append(self.next_index())
                if target.value.value == self.self_name:  # ``self.object = form.save()``
                    self.env[f"{self.self_name}.{name}"] = Binding(tags, roots, value=value)
            return
        if isinstance(target, cst.Subscript):  # ``rows[key] = value`` feeds ``rows``
            entry = string_index(target)
            if entry is not None and has_word(entry, knowledge.VERSION_WORDS) \
                    and self.clock_or_hop(value):
                self.facts.clock_uses.append(
                    ClockUse(value, f'assigned to the version entry `"{entry}"`')
                )
            if isinstance(target.value, cst.Name):
                self.absorb(target.value.value, value)
                for index in target.slice:  # ``counts[row["form"]] = n``: keyed by the row
                    if isinstance(index.slice, cst.Index):
                        self.absorb(target.value.value, index.slice.value)
                slot = self.constant_slot(target)
                if slot is not None:
                    read = self._cache_read_key(unwrap_await(value))
                    if read is not None:
                        self.slot_reads[slot] = read
                    elif not augment and not is_constant(unwrap_await(value)):
                        self.slot_reads.pop(slot, None)
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
        elif not augment and binding.kind is not None and binding.kind.role == "local" \
                and target.value not in _names_read(value):
            # ``headers = response.headers`` after ``headers = {}``; a declared client
            # (``connection: Redis``) keeps its type when rebound, as in a type checker.
            binding.kind = None
        if not augment and binding.value is not None and binding.value is not value:
            binding.earlier_values.append(binding.value)
        binding.filled = augment  # ``rows += more`` took values in; a new binding starts empty
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
        elif not augment and CACHE not in tags and not is_constant(unwrapped):
            # ``data = load()`` on the miss branch: ``if data:`` now tests the loaded
            # value, not the cached one (``data = None`` before the read, or
            # ``data = json.loads(data)`` after it, keeps it).
            binding.cache_read_key = None

    def constant_slot(self, node: cst.BaseExpression) -> str | None:
        """``ctx["data"]``: a local's slot at a constant index, by its text."""
        if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name) \
                and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index) \
                and is_constant(node.slice[0].slice.value):
            return self.ctx.module.code_for_node(node)
        return None

    def absorb(self, name: str, value: cst.BaseExpression) -> None:
        """A local container takes in ``value`` (``items.append(row)``, ``d[k] = row``)."""
        binding = self.env.get(name)
        if binding is None:
            return
        tags, roots = self.provenance(value)
        binding.tags |= tags
        binding.roots |= roots
        binding.filled = True

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
        callee = self._local_callee(call)
        if callee is not None:
            self.facts.callees.add(callee)
            for region in self.locks:
                region.calls.append(callee)
            self._note_event_arguments(call, callee)
            if any(not a.star and self.write_statement(a.value) for a in call.args):
                # ``self._execute("UPDATE fields SET area = $1 ...", area, pk)``
                self._record_source_write([a.value for a in call.args])
        for owner, handler in self._dispatched_handlers(call.func):
            self._note_event_arguments(call, handler, owner)
        queued = self._queued_job(call)
        if queued is not None:
            self.event_calls.append((None, queued, "*"))
        pair = method_call(call)
        if pair is None:
            if self.ctx.qualify(call.func) == "functools.partial":
                self._deferred_partial(call)
            if self.locks and self._helper_on_shared_cache(call):
                for region in self.locks:
                    region.helper_calls.append(call_name(call) or "")
            self._check_helper_call(call)
            name = call_name(call)
            if name is not None and has_word(name, knowledge.PUBLISH_WORDS):
                for arg in call.args:  # ``publish("topic", {"seq": time.time_ns()})``
                    self._check_versioned_payload(arg.value, f"published with `{name}()`")
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
        if method in knowledge.COMMIT_METHODS and not call.args and not self._consumer(receiver):
            self.facts.commit_indexes.append(self.next_index())
            self._commit_changed_rows()
            return
        if method in MUTATORS and isinstance(receiver, cst.Name) and receiver.value in self.env:
            for arg in call.args:
                self.absorb(receiver.value, arg.value)
            if method in {"append", "add"} and len(call.args) == 1:
                self.env[receiver.value].appended.append(call.args[0].value)
        elif method in MUTATORS and isinstance(receiver, cst.Subscript) \
                and isinstance(receiver.value, cst.Name):
            for arg in call.args:  # ``by_patient[pid].append(row)`` feeds ``by_patient``
                self.absorb(receiver.value.value, arg.value)
        buffer = self._buffer_written_by(receiver)
        if buffer is not None:  # ``csv.writer(buf).writerows(rows)``: ``rows`` is in ``buf``
            for arg in call.args:
                self.absorb(buffer, arg.value)
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
            if self._method_owner(base, func.attr.value) is not None:
                return func.attr.value  # ``processor.dispatch(msg.value)``
        return None

    def _method_owner(self, base: cst.BaseExpression, method: str) -> str | None:
        """The module class defining ``method`` for a local instance (``processor =
        TicketProcessor()``) of this module's class."""
        cls = self._instance_class(base)
        owner = self.ctx.defining_class(cls, method) if cls is not None else None
        return owner if owner is not None and method in self.ctx.method_nodes.get(owner, {}) \
            else None

    def _dispatched_handlers(self, func: cst.BaseExpression) -> list[tuple[str | None, str]]:
        """``HANDLERS[event["type"]](event)`` or ``handler = HANDLERS.get(kind)``;
        ``handler(event)``: the module functions a module-level dict of handlers holds,
        or the methods of ``self.handlers`` (as (class, name))."""
        if isinstance(func, cst.Name):
            binding = self.env.get(func.value)
            if binding is None or binding.value is None:
                return []
            func = unwrap_await(binding.value)
        pair = method_call(func)
        if isinstance(func, cst.Subscript):
            holder = func.value
        elif pair is not None and pair[1] == "get":
            holder = pair[0]
        else:
            return []
        if isinstance(holder, cst.Attribute) and isinstance(holder.value, cst.Name) \
                and holder.value.value == self.self_name and self.facts.class_name is not None:
            owner = self.ctx.defining_class(self.facts.class_name, "__init__")
            return [(owner, name) for name in self._method_table(owner, holder.attr.value)]
        if not isinstance(holder, cst.Name):
            return []
        table = self.ctx.env.get(holder.value)
        if table is None or not isinstance(table.value, cst.Dict):
            return []
        return [
            (None, element.value.value) for element in table.value.elements
            if isinstance(element, cst.DictElement) and isinstance(element.value, cst.Name)
            and element.value.value in self.ctx.function_nodes
        ]

    def _method_table(self, owner: str, attr: str) -> list[str]:
        """``self.handlers = {"wave.eta": self.handle_eta}`` in ``owner.__init__``: the
        methods an instance's dispatch table holds."""
        init = self.ctx.method_nodes.get(owner, {}).get("__init__")
        if init is None:
            return []
        for node in descendants(init.body):
            if not isinstance(node, (cst.Assign, cst.AnnAssign)) \
                    or not isinstance(node.value, cst.Dict):
                continue
            target = node.targets[0].target if isinstance(node, cst.Assign) else node.target
            if isinstance(target, cst.Attribute) and target.attr.value == attr:
                return [
                    element.value.attr.value for element in node.value.elements
                    if isinstance(element, cst.DictElement)
                    and isinstance(element.value, cst.Attribute)
                    and element.value.attr.value in self.ctx.method_nodes.get(owner, {})
                ]
        return []

    def _queued_job(self, call: cst.Call) -> str | None:
        """``queue.enqueue(sync_price, payload)`` (RQ): the module function a worker
        runs later with the queued arguments, a queue consumer."""
        pair = method_call(call)
        if pair is None or pair[1] not in knowledge.ENQUEUE_METHODS:
            return None
        arg = keyword(call, "func") or keyword(call, "f") or next(
            (a for a in call.args if a.keyword is None and isinstance(a.value, cst.Name)
             and a.value.value in self.ctx.function_nodes), None)
        if arg is None or not isinstance(arg.value, cst.Name) \
                or arg.value.value not in self.ctx.function_nodes:
            return None
        return arg.value.value

    def _note_event_arguments(self, call: cst.Call, callee: str, owner: str | None = None) -> None:
        """Remember which arguments of a same-module call carry event data, so the
        callee's parameters are event data too (a consumer loop's ``handle(msg.value)``)."""
        func = call.func
        if isinstance(func, cst.Attribute) and not isinstance(func.value, cst.Name):
            return  # ``super().handle(...)`` runs a base class's method
        if isinstance(func, cst.Attribute):
            owner = self._method_owner(func.value, callee) or self.facts.class_name
        for position, arg in enumerate(call.args):
            if arg.star or EVENT not in self.provenance(arg.value)[0]:
                continue
            slot: int | str = arg.keyword.value if arg.keyword is not None else position
            self.event_calls.append((owner, callee, slot))

    def _helper_on_shared_cache(self, call: cst.Call) -> bool:
        """``set_if_newer(mc, ...)`` / ``get_versioned(mc, key)`` on a shared client."""
        qualified = self.ctx.qualify(call.func)
        if qualified not in self.ctx.config.versioned_helpers \
                and qualified not in knowledge.RUNTIME_READS:
            return False
        client = positional(call, 0)
        kind = self.kind_of(client.value) if client is not None else None
        return kind is not None and kind.role == "shared"

    def _check_helper_call(self, call: cst.Call) -> None:
        """``set_if_newer(cache, k, v, version=time.time())``: a clock as the version."""
        name = call_name(call) or ""
        if self.clock_versions and has_word(name, knowledge.VERSION_WORDS):
            passed = {a.value.value for a in call.args if isinstance(a.value, cst.Name)}
            self._check_clock_versions(passed, f"passed to `{name}()`")
        qualified = self.ctx.qualify(call.func)
        # A helper named for versions or caches (``set_versioned``, ``cache_put``) is a
        # versioned helper or a cache write, whichever the config says.
        if qualified in self.ctx.config.versioned_helpers or name in {
            h.rsplit(".", 1)[-1] for h in self.ctx.config.versioned_helpers
        } or has_word(name, knowledge.VERSION_WORDS | {"versioned", "cache", "cached"}):
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
                if isinstance(current.func, cst.Attribute):  # ``json.dumps(m).encode()``
                    stack.append(current.func.value)
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
            # ``default_storage.save(name, content)`` writes a file, ``form.save(commit=False)``
            # nothing yet.
            not_a_row = method == "save" and not self.saves_instance(call, receiver)
            is_write = not not_a_row and (
                method in {"save", "commit", "flush", "executemany"}
                or any(p in knowledge.ORM_MANAGERS for p in chain.split("."))
                or self._is_orm_chain(receiver)
                or self._manager_self(receiver)
            )
        elif method in {"execute", "add", "add_all", "merge", "delete"}:
            base = (terminal_name(receiver) or "").lstrip("_").lower()
            session = base in knowledge.SESSION_NAMES or base.endswith("session")
            if method == "execute" and call.args:
                is_write = self.writes_sql(call.args[0].value)
                cursor = self.ctx.module.code_for_node(receiver)
                if is_write:  # ``UPDATE ... RETURNING``: what the cursor fetches next
                    self.writing_cursors.add(cursor)
                else:
                    self.writing_cursors.discard(cursor)
                    self.facts.sql_read_indexes.append(self.next_index())
            elif method == "delete":  # ``session.delete(row)``, ``Model.objects.filter().delete()``
                is_write = session or self._is_orm_chain(receiver)
            elif session:
                is_write = True
        elif call.args and not call.args[0].star and self.write_statement(call.args[0].value):
            is_write = True  # ``conn.fetchval("INSERT ... RETURNING id", body["price"])``
        if not is_write:
            return
        # A delete writes no data: ``filter(user_id=uid).delete()`` leaves no row whose
        # values a later cache write could carry.
        targets: list[cst.BaseExpression] = [] if method == "delete" \
            else [arg.value for arg in call.args]
        if method in {"save", "update", "refresh_from_db"}:
            targets.append(receiver)
        self._record_source_write(targets)

    def _record_source_write(self, targets: list[cst.BaseExpression]) -> None:
        """A write to the source of truth of ``targets`` (its arguments, and the row)."""
        self.facts.source_write_indexes.append(self.next_index())
        for target in targets:
            if isinstance(target, cst.Call) and call_name(target) == "super":
                target = cst.Name("self")  # ``super().save()`` in a model's own ``save``
            self._mark_written(self.provenance(target)[1])

    def _mark_written(self, rows: set[str]) -> None:
        """Rows just written to the source of truth, and the values assigned into them
        (``row.name = name; row.save()``), now carry what was written."""
        for row in list(rows):
            rows |= self.assigned_into.get(row, set())
        for root in rows - self.ctx.imports.keys():  # ``timezone`` in ``timezone.now()``
            binding = self.env.get(root)
            if binding is None:
                binding = self.env[root] = Binding(tags={PARAM} if root in self.env else set())
            binding.tags.add(WRITTEN)

    def _report_clocks(self, clocks: Iterable[cst.BaseExpression]) -> None:
        for operand in clocks:
            self.facts.clock_uses.append(
                ClockUse(operand, "compared with a version to decide a cache write")
            )

    def _buffer_written_by(self, receiver: cst.BaseExpression) -> str | None:
        """The in-memory buffer a call on ``receiver`` writes into: ``buf.write(x)``,
        ``csv.writer(buf).writerow(x)``, ``w.writerow(x)`` after ``w = csv.writer(buf)``."""
        if isinstance(receiver, cst.Name):
            if self._memory_buffer(receiver):
                return receiver.value
            binding = self.lookup(receiver.value)
            receiver = binding.value if binding is not None and binding.value else receiver
        if isinstance(receiver, cst.Call):
            for arg in receiver.args:
                if isinstance(arg.value, cst.Name) and self._memory_buffer(arg.value):
                    return arg.value.value
        return None

    def _consumer(self, node: cst.BaseExpression) -> bool:
        """``consumer.commit()`` commits a Kafka offset, not a database transaction."""
        kind = self._resolve_kind(node)
        return (kind is not None and kind.role == "consumer") \
            or has_word(terminal_name(node) or "", frozenset({"consumer"}))

    def _commit_changed_rows(self) -> None:
        """``sub = session.get(...); sub.status = s; session.commit()``: the unit of work
        flushes every loaded row whose attributes were assigned, so the row is written.
        A row a same-module helper returned (``self._applicant(pk)``) counts too."""
        self._mark_written({
            name for name in self.assigned_into
            if (row := self.env.get(name)) is not None
            and any(t == SOURCE or t.startswith("call:") for t in row.tags)
        })

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
            category: Literal["write", "delete", "read", "safe", "structure"] = "write"
        elif method in knowledge.DELETE_METHODS:
            category = "delete"
        elif method in knowledge.READ_METHODS:
            category = "read"
        elif method in knowledge.SAFE_METHODS:
            category = "safe"
        elif method in knowledge.STRUCTURE_METHODS and kind.role == "shared" \
                and kind.lib in {"redis", "redis-async", "unknown"}:
            category = "structure"
        else:
            return False
        source = call if arguments is None else arguments
        key = self._key_arg(source, method)
        value = self._value_arg(source, method) if category == "write" else None
        tags: set[str] = set()
        roots: set[str] = set()
        if value is not None:
            tags, roots = self.provenance(value)
            if method in knowledge.LOADING_DEFAULT_METHODS and self._callable_default(value):
                tags.add(SOURCE)
        key_text = self.ctx.module.code_for_node(key) if key is not None else None
        receiver_text = self.ctx.module.code_for_node(receiver)
        if category == "read" and kind.pipeline:
            self.pipeline_reads.add(receiver_text)
        guarding = self._guarding(key_text, value)
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
            key_families=self._key_families(call, key),
            value=value,
            tags=frozenset(tags),
            roots=frozenset(roots),
            awaited=awaited,
            locks=tuple(self.locks),
            in_transaction=bool(self.transactions) and not self.deferred,
            in_except=self.except_depth > 0,
            unique_key=key is not None and self._is_unique_key(key),
            on_miss_branch=key_text is not None and self._on_miss_branch(key_text)
            and not self._updates_cached_value(key_text, value),
            in_watch_transaction=receiver_text in self.watched,
            receiver_text=receiver_text,
            version_guard=guarding,
            version_bump=category == "write" and self._is_version_bump(key_text, value),
            constant_value=value is not None and (
                self._is_trivial(value, key)
                or (method in knowledge.MAPPING_WRITE_METHODS and _constant_values(value))
            ),
            lock_like=False,
            transaction=self.transactions[-1][0] if self.transactions else None,
            transaction_using=self.transactions[-1][1] if self.transactions else None,
            deferred=self.deferred,
            guard=self.guards[-1] if guarding is not None else None,
            standalone=call is self.statement_call,
        )
        op.lock_like = category == "write" and self._is_lock_acquisition(op)
        self.facts.ops.append(op)
        for region in self.locks:
            region.ops.append(op)
        if category == "write":
            for guard in self.guards:
                self._report_clocks(guard.clocks)
            self._check_version_kwargs(call, f"of a cache `{method}()`")
            self._check_clock_versions(roots, f"written to the cache with `{method}()`")
            if value is not None:
                self._check_versioned_payload(value, "written to the cache")
                self._note_cached_clocks(value, roots)
        return True

    def _note_cached_clocks(self, value: cst.BaseExpression, roots: set[str]) -> None:
        """``cache.set_many({k: now for k in keys})``, ``cache.set(k, (time(), rows))``."""
        clocks: list[cst.BaseExpression] = [
            n for n in [value, *descendants(value)] if isinstance(n, cst.Call) and self.clock_expr(n)
        ]
        for name in sorted(roots):
            binding = self.lookup(name)
            if binding is not None and binding.clock and binding.value is not None:
                clocks.append(binding.value)
        for clock in clocks:
            self.facts.cached_clocks.append(ClockUse(
                clock, "written to the cache as a timestamp that this module compares "
                "between cached entries to decide which one is kept"))

    def _callable_default(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.Lambda):
            return True
        if isinstance(value, cst.Name) and (bound := self.env.get(value.value)) is not None \
                and isinstance(bound.value, (cst.Lambda, cst.Call)):
            return self._callable_default(bound.value)  # ``loader = partial(load, pk)``
        if isinstance(value, cst.Name) and value.value in self.env \
                and self.env[value.value].local_function is not None:
            # ``def creator(): ...`` inside the caller loads, unless it returns constants
            defined = [n for n, _ in self.nested if n.name.value == value.value]
            returns = [n for d in defined[-1:] for n in descendants(d.body)
                       if isinstance(n, cst.Return)]
            return not returns or not all(r.value is None or is_constant(r.value)
                                          for r in returns)
        if isinstance(value, (cst.Name, cst.Attribute)):
            name = terminal_name(value) or ""
            return name in self.ctx.function_nodes or self._own_method(value) or (
                bool(words(name)) and words(name)[0] in knowledge.LOADER_WORDS
            )
        if isinstance(value, cst.Call) and self.ctx.qualify(value.func) in {
                "functools.partial", "partial"} and value.args:
            return self._callable_default(value.args[0].value)  # ``partial(load, region)``
        return False

    def _own_method(self, node: cst.BaseExpression) -> bool:
        """``self._chain_rows``: a method of this class or a base class defined here."""
        owner = self.facts.class_name
        if owner is None or not isinstance(node, cst.Attribute) \
                or not isinstance(node.value, cst.Name) or node.value.value != self.self_name:
            return False
        method = node.attr.value
        return method in self.ctx.method_nodes.get(self.ctx.defining_class(owner, method), {})

    def _is_lock_acquisition(self, op: CacheOp) -> bool:
        """``cache.add(lock_key, "1")`` / ``r.set(k, token, nx=True)`` / a plain
        ``cache.set(lock_key, owner)``: a lock or a claim, not a cached value."""
        call = op.call
        exclusive = op.method in {"add", "setnx"} or any(
            a.keyword is not None and a.keyword.value == "nx" for a in call.args
        )
        if not exclusive:
            # ``cache.set(lock_key, owner, ttl)``: a claim marker, not a cached row
            return bool(LOCK_WORDS & set(words(re.sub(r"\W+", "_", op.key_text or ""))))
        key_words = re.sub(r"([a-z])([A-Z])", r"\1_\2", op.key_text or "").lower()
        loaded = SOURCE in op.tags or any(t.startswith("call:") for t in op.tags)
        if LOCK_KEY.search(key_words) or (CLAIM_KEY.search(key_words) and not loaded):
            return True
        if op.value is None:
            return False
        if op.constant_value:
            return True
        value_text = self.ctx.module.code_for_node(op.value).lower()
        return bool(TOKEN_CALLS.search(value_text))

    def key_resolver(self, node: cst.BaseExpression) -> str | None:
        """Key templates through locals (a few hops), module and class constants, and
        key helpers."""
        if isinstance(node, cst.Name):
            binding = self.env.get(node.value)
            if binding is not None and binding.value is not None and binding.value is not node:
                if node.value in self.key_hops or len(self.key_hops) >= MAX_KEY_HOPS:
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
            found = self.ctx.constant_string(node, self.facts.class_name)
            if found is None and self.attr_owner is not None:
                found = self.ctx.string_constants.get(f"{self.attr_owner}.{node.attr.value}")
            if found is None and isinstance(node.value, cst.Name) \
                    and node.value.value in {self.self_name, "cls"}:
                found = self.ctx.key_helpers.get(node.attr.value)  # a ``@property`` key
            return found
        if isinstance(node, cst.Call):
            name = call_name(node)
            if name is not None and name in self.ctx.key_helpers:
                return self.ctx.key_helpers[name]
            imported = self.ctx.qualify(node.func)  # ``from shop.keys import user_key``
            if imported is not None:
                found = self.ctx.project_key_helper(imported)
                if found is not None:
                    return found
            pattern = self._scanned_pattern(node)
            if pattern is not None:  # ``for k in r.scan_iter("user:*")``: the glob
                return keys.template(pattern, self.key_resolver)
        return None

    def _scanned_pattern(self, call: cst.Call) -> cst.BaseExpression | None:
        """The glob of ``r.scan_iter(match="user:*")`` / ``cache.keys("user:*")`` on a
        shared client: the keys it lists."""
        pair = method_call(call)
        if pair is None or pair[1] not in knowledge.KEY_LISTING_METHODS:
            return None
        kind = self.kind_of(pair[0])
        if kind is None or kind.role != "shared":
            return None
        arg = keyword(call, "match") or keyword(call, "pattern") or positional(call, 0)
        return arg.value if arg is not None else None

    def _branch_families(self, key: cst.BaseExpression) -> list[str]:
        """A key local bound differently on each branch names every family it was given,
        unless a value builds on the local itself (``key = f"{key}:x"``)."""
        binding = self.env.get(key.value) if isinstance(key, cst.Name) else None
        if binding is None or not binding.earlier_values or len(binding.earlier_values) > 4:
            return []
        assert isinstance(key, cst.Name)
        found: list[str] = []
        for value in binding.earlier_values:
            if any(isinstance(n, cst.Name) and n.value == key.value
                   for n in [value, *descendants(value)]):
                return []
            family = keys.family(value, self.key_resolver)
            if family is not None:
                found.append(family)
        return found

    def _owner_families(self, key: cst.BaseExpression) -> list[str]:
        """``self.html_cache_key % self.id`` in a base class, ``obj.html_cache_key % obj.id``
        in a function: one family per class of this module that defines the attribute
        as a string constant."""
        nodes = [key, *descendants(key)]
        if isinstance(key, cst.Name):
            binding = self.env.get(key.value)
            if binding is not None and binding.value is not None:
                nodes += [binding.value, *descendants(binding.value)]
        attrs = {n.attr.value for n in nodes if isinstance(n, cst.Attribute)}
        owners = sorted({name.rsplit(".", 1)[0] for name in self.ctx.string_constants
                         if "." in name and name.rsplit(".", 1)[1] in attrs})
        found: list[str] = []
        for owner in owners:
            self.attr_owner = owner
            try:
                family = keys.family(key, self.key_resolver)
            finally:
                self.attr_owner = None
            if family is not None:
                found.append(family)
        return found

    def _key_families(self, call: cst.Call, key: cst.BaseExpression | None) -> tuple[str, ...]:
        """Every key family the call touches: one key, or the literal keys of a ``*_many``
        call (``delete_many([f"a:{x}", f"b:{x}"])``, ``set_many({f"a:{x}": v})``)."""
        if key is not None:
            family = keys.family(key, self.key_resolver)
            found = [family] if family is not None else self._owner_families(key)
            found += self._branch_families(key)
            identities = [self._key_helper_identity(key), self._member_identity(key)]
            return tuple(dict.fromkeys(found + [i for i in identities if i is not None]))
        first = positional(call, 0)
        if first is None:
            return ()
        container = first.value
        elements: list[cst.BaseExpression] = []
        if isinstance(container, cst.Name):  # ``keys = [...]``, ``keys.append(k)`` before
            bound = self.env.get(container.value)
            if bound is not None:
                elements += bound.appended
                container = bound.value if bound.value is not None else container
        if isinstance(container, (cst.List, cst.Tuple, cst.Set)):
            elements += [e.value for e in container.elements if isinstance(e, cst.Element)]
        elif isinstance(container, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            elements.append(container.elt)
        elif isinstance(container, cst.Dict):
            elements += [e.key for e in container.elements if isinstance(e, cst.DictElement)]
        elif isinstance(container, cst.DictComp):
            elements.append(container.key)
        elif isinstance(container, cst.Call) and self._scanned_pattern(container) is not None:
            elements.append(container)  # ``delete_many(cache.keys("user:*"))``
        families = [f for element in elements
                    for f in (keys.family(element, self.key_resolver),
                              self._key_helper_identity(element),
                              self._member_identity(element))]
        return tuple(dict.fromkeys(f for f in families if f is not None))

    def _key_helper_identity(self, key: cst.BaseExpression) -> str | None:
        """``user_cache_key(uid)``, ``CacheKeys.profile(uid)``: a key built by a helper names
        its family by the helper, so the same helper called from another module pairs even
        when its template is out of sight.  Only module-level helpers named for keys or
        caches count, named by their last three dotted parts (``accounts.keys.user_key``)."""
        if isinstance(key, cst.Name):  # ``key = user_cache_key(uid)`` one step earlier
            bound = self.env.get(key.value)
            key = bound.value if bound is not None and bound.value is not None else key
        if isinstance(key, cst.Name) and key.value.isupper() and key.value not in self.env:
            # ``SUPPORT_STATUS_KEY``, a module constant here or imported: named by where
            # it is defined, so that importers pair with each other and with its module.
            where = self.ctx.imports.get(key.value) or (
                ".".join([*self.ctx.module_parts, key.value])
                if key.value in self.ctx.string_constants else None)
            if where is None:
                return None
            if not _generic_key_name(key.value):
                return key.value  # ``THEME_CACHE_KEY`` names one family wherever it is
            return ".".join(where.split(".")[-3:])
        if not isinstance(key, cst.Call) or self._scanned_pattern(key) is not None:
            return None
        func = key.func
        if isinstance(func, cst.Name):
            helper, where = func.value, self.ctx.dotted_name(func.value)
            local = self.env.get(func.value)
            if local is not None and local.local_function is not None:
                where = ".".join([*self.ctx.module_parts, local.local_function])
            elif local is not None and local.value is not None:
                # ``make_key = key_func or default_key`` in an enclosing function: every
                # call of that one binding builds the same family.
                where = ".".join([*self.ctx.module_parts, f"<locals>.{func.value}#{id(local.value)}"])
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            owner = func.value.value
            if owner in {"self", "cls"} and self.facts.class_name is not None:
                owner = self.ctx.defining_class(self.facts.class_name, func.attr.value)
            base = self.ctx.dotted_name(owner)
            helper = f"{owner}.{func.attr.value}"
            where = f"{base}.{func.attr.value}" if base is not None else None
        else:
            return None
        if where is None or not _names_key_helper(helper):
            return None
        return ".".join(where.lstrip(".").split(".")[-3:]) + _arguments(key)

    def _member_identity(self, key: cst.BaseExpression) -> str | None:
        """``project.get_glossary_tsv_cache_key(src, lang)``, ``manager.max_depth_cache_key``:
        a key method or attribute with a specific name, on an object of any class, names
        its family by that name (``.max_depth_cache_key``), so that callers that cannot
        know the class pair with the class that defines it."""
        if isinstance(key, cst.Name):
            bound = self.env.get(key.value)
            key = bound.value if bound is not None and bound.value is not None else key
        node = key.func if isinstance(key, cst.Call) else key
        if not isinstance(node, cst.Attribute):
            return None
        owner = node.value
        if isinstance(owner, cst.Name) and owner.value in self.ctx.imports:
            return None  # ``keys.user_key(uid)``: named by its module instead
        name = node.attr.value
        if not has_word(name, KEY_HELPER_WORDS) or _generic_key_name(name):
            return None
        if not isinstance(key, cst.Call):
            return f".{name}"
        return f".{name}{_arguments(key)}"

    def _key_arg(self, call: cst.Call, method: str) -> cst.BaseExpression | None:
        if method in knowledge.MULTI_KEY_METHODS:
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

    def read_keys(self, node: cst.BaseExpression, hop: bool = False) -> set[str]:
        """Key texts of the cache reads a value derives from (``current = cache.get(k)``;
        with ``hop``, also ``bumped = cache.get(k) + 1``)."""
        found: set[str] = set()
        for name in variables(node):
            binding = self.lookup(name.value)
            if binding is not None and binding.cache_read_key is not None:
                found.add(binding.cache_read_key)
            elif hop and binding is not None and binding.value is not None:
                found |= self.read_keys(binding.value)
        for current in [node, *descendants(node)]:
            if isinstance(current, cst.Call):
                key = self._cache_read_key(current)
                if key is not None:
                    found.add(key)
        return found

    def _guarding(self, key_text: str | None, value: cst.BaseExpression | None
                  ) -> cst.Comparison | None:
        """The hand-written check ordering this write, if one does."""
        if not self.guards:
            return None
        guard = self.guards[-1]
        if guard.compared is None:
            return guard.comparison
        while isinstance(value, cst.Call) and dotted(value.func) in knowledge.SERIALISERS \
                and value.args:
            value = value.args[0].value  # ``str(step)``
        # The compared value itself is written (``r.set(key, step)``, or an entry of a
        # mapping: ``hset(key, mapping={"revision": incoming})``), not a quantity computed
        # from it (``available - quantity``: a stock check, not an order).
        entries = [e.value for e in value.elements if isinstance(e, cst.DictElement)] \
            if isinstance(value, cst.Dict) else [value]
        written = any(isinstance(v, cst.Name) and v.value == guard.compared for v in entries)
        return guard.comparison if written and key_text in guard.read_keys else None

    def _bound_constant(self, value: cst.BaseExpression) -> bool:
        """``legend = {"rack": 1, "aisle": 0}`` then ``cache.set(k, legend)``: a literal
        bound to a local that took nothing in since (``rows = []`` filled by ``append``
        is data)."""
        binding = self.env.get(value.value) if isinstance(value, cst.Name) else None
        if binding is None or binding.value is None or binding.filled:
            return False
        bound = unwrap_await(binding.value)
        # ``rows = []`` / ``found = None`` is a start, filled in ways not followed here
        # (a nested function appending): only a literal with content is a constant.
        if not is_constant(bound) or _empty_start(bound):
            return False
        # ``v = row.total; if v is None: v = 0`` or ``result = False ... result = True``:
        # branches chose the value from what they read, a decision and not a constant.
        # Only a cache read may come before (``legend = cache.get(k); if legend is None:
        # legend = {...}``).
        text = self.ctx.module.code_for_node(bound)
        return all(
            self.ctx.module.code_for_node(earlier) == text if is_constant(earlier)
            else self._cache_read_key(unwrap_await(earlier)) is not None
            for earlier in binding.earlier_values
        )

    def _updates_cached_value(self, key_text: str, value: cst.BaseExpression | None) -> bool:
        """``active = r.get(k) ... r.set(k, int(active or 0) + 1)``: the value is computed
        from what the key held and nothing else, a read-modify-write of the entry, not a
        refill from the source (that is a version bump, CL103, when the key holds a
        version)."""
        if value is None or self.provenance(value)[0] != {CACHE}:
            return False  # ``memo[entry] = compute(...)``: a cached mapping being refilled
        for name in variables(value):
            binding = self.lookup(name.value)
            # ``counts = {}`` after the read starts afresh: not the cached value.
            if binding is not None and binding.value is not None \
                    and not any(_empty(v) for v in [binding.value, *binding.earlier_values]) \
                    and key_text in self.read_keys(binding.value) | {binding.cache_read_key}:
                return True
        return any(isinstance(node, cst.Call) and self._cache_read_key(node) == key_text
                   for node in [value, *descendants(value)])

    def _is_version_bump(
        self, key_text: str | None, value: cst.BaseExpression | None
    ) -> bool:
        """``cache.set(version_key, cache.get(version_key, 0) + 1)``, also through a local:
        a version read, computed on and written back to the same key."""
        if key_text is None or value is None:
            return False
        computed = value
        if isinstance(value, cst.Name):
            binding = self.lookup(value.value)
            computed = binding.value if binding is not None and binding.value is not None \
                else value
        if not any(isinstance(n, cst.BinaryOperation) for n in [computed, *descendants(computed)]):
            return False
        named = has_word(key_text, knowledge.VERSION_WORDS) or has_word(
            self.ctx.module.code_for_node(value), knowledge.VERSION_WORDS)
        return named and key_text in self.read_keys(value, hop=True)

    def _cache_read_key(self, node: cst.BaseExpression, hop: bool = True) -> str | None:
        """The key text a shared-cache read reads, also through a small same-module
        getter (``self.get_cached_schema()`` around ``redis.get(self._schema_key)``)."""
        node = unwrap_await(node)
        if isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or) \
                and _empty(node.right):  # ``cache.get(k) or {}``
            return self._cache_read_key(node.left, hop)
        if isinstance(node, cst.IfExp):  # ``cache.get(k) if k else None``
            for branch, other in ((node.body, node.orelse), (node.orelse, node.body)):
                if is_constant(other):
                    return self._cache_read_key(branch, hop)
            return None
        if not isinstance(node, cst.Call):
            return None
        pair = method_call(node)
        if pair is None or pair[1] not in knowledge.READ_METHODS:
            return self._getter_key(node) if hop else None
        receiver, method = pair
        kind = self.kind_of(receiver)
        if kind is None or kind.role != "shared":
            return self._getter_key(node) if hop else None
        key = self._key_arg(node, method)
        return self.ctx.module.code_for_node(key) if key is not None else None

    def _getter_key(self, call: cst.Call) -> str | None:
        """The key of a getter of at most six statements that returns one shared-cache
        read of a key built only from ``self``, module names and parameters given the
        same-named local, so that its text means the same key here."""
        name = self._local_callee(call)
        if name is None:
            return None
        owner = self.facts.class_name if isinstance(call.func, cst.Attribute) else None
        node = self.ctx.method_nodes.get(owner, {}).get(name) if owner is not None \
            else self.ctx.function_nodes.get(name)
        if node is None or node is self.facts.node or not isinstance(node.body, cst.IndentedBlock) \
                or len(node.body.body) > 6:
            return None
        reads = [n for n in descendants(node.body) if isinstance(n, cst.Call)
                 and self._cache_read_key(n, hop=False) is not None]
        returns = any(isinstance(n, cst.Return) and n.value is not None
                      for n in descendants(node.body))
        if len(reads) != 1 or not returns:
            return None
        pair = method_call(reads[0])
        key = self._key_arg(reads[0], pair[1]) if pair is not None else None
        if key is None:
            return None
        ctx = self.ctx
        known = ctx.imports.keys() | ctx.string_constants.keys() | ctx.function_nodes.keys()
        params = list(node.params.params)
        if owner is not None and params:
            known |= {params.pop(0).name.value}
        # A parameter passed the same-named local (``get_cached_roles(user)``) means the
        # same thing on both sides.
        for param, arg in zip(params, call.args):
            if arg.keyword is None and not arg.star and isinstance(arg.value, cst.Name) \
                    and arg.value.value == param.name.value:
                known.add(param.name.value)
        for arg in call.args:
            if arg.keyword is not None and isinstance(arg.value, cst.Name) \
                    and arg.value.value == arg.keyword.value:
                known.add(arg.keyword.value)
        if any(n.value not in known for n in variables(key)):
            return None
        return ctx.module.code_for_node(key)

    def _is_trivial(self, value: cst.BaseExpression, key: cst.BaseExpression | None = None) -> bool:
        """Literals, UPPER_CASE constants, clocks (unless just written into a row), fresh
        tokens and row identifiers: a sentinel, a marker or a counter reset, nothing that
        can go stale
        (``cache.set(k, SENTINEL)``, ``cache.set(k, (1, now))``, ``cache.set(k, uuid4().hex)``,
        ``cache.set(f"user:{user.pk}:id", user.pk)``)."""
        if is_constant(value) or self._is_token(value) or self._bound_constant(value):
            return True
        if isinstance(value, cst.Attribute) and value.attr.value in IDENTIFIER_ATTRIBUTES:
            return not self._points_to_row(value.value, key)
        if isinstance(value, cst.Call) and dotted(value.func) in knowledge.SERIALISERS \
                and value.args and value.args[0].keyword is None:
            first = value.args[0].value  # ``str(host.id)``, ``json.dumps({"missing": True})``
            return self._is_trivial(first, key)
        if isinstance(value, cst.Attribute) and value.attr.value.isupper() \
                and isinstance(value.value, cst.Name):
            return True  # ``const.FAILURE_SENTINEL``: a module or class constant
        if WRITTEN in self.provenance(value)[0]:
            return False  # ``update(checked_in_at=now)``: the clock is now the row's data
        stack: list[cst.CSTNode] = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Name):
                binding = self.env.get(node.value)
                if binding is not None:
                    if not (binding.clock or (binding.value is not None
                                              and binding.value is not node
                                              and self._is_token(binding.value))):
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

    def _points_to_row(self, row: cst.BaseExpression, key: cst.BaseExpression | None) -> bool:
        """``cache.set(f"trip:active:{uid}", trip.pk)`` after creating ``trip``: the key
        points at whichever row was loaded or written last, and a slower writer can leave
        it on an older one.  An id under its own row's key never changes, nor does the
        instance's own (``self.id`` as a marker) or a job handle's."""
        if isinstance(row, cst.Name):
            if row.value in {"self", "cls", self.self_name}:
                return False
            binding = self.env.get(row.value)
            if binding is not None and binding.value is not None and self._is_token(binding.value):
                return False  # ``status = task.delay(pk)``
        if not self.provenance(row)[0] & {SOURCE, WRITTEN}:
            return False
        return key is None or not _names_read(row) & _names_read(key)

    def _is_unique_key(self, key: cst.BaseExpression) -> bool:
        """A key made of a fresh token (``f"export:{uuid4()}"``): no other writer shares it.
        A token just written into a row (``INSERT ... VALUES ($1, ...)``, order_id) is that
        row's identity: later writers of the row share the key."""
        names = [key, *descendants(key)]
        for node in names:
            if isinstance(node, cst.Name):
                binding = self.env.get(node.value)
                if binding is not None and binding.value is not None \
                        and WRITTEN not in binding.tags \
                        and binding.value is not node and self._is_token(binding.value):
                    return True
            elif isinstance(node, cst.Call) and self._is_token(node):
                return True
        return False

    def _is_token(self, node: cst.BaseExpression) -> bool:
        """A freshly generated token: ``str(uuid.uuid4())``, ``secrets.token_hex(8)``."""
        node = unwrap_await(node)
        while isinstance(node, cst.Attribute):  # ``uuid.uuid4().hex``
            node = node.value
        if not isinstance(node, cst.Call):
            return False
        if call_name(node) in {"str", "bytes"} and node.args:
            return self._is_token(node.args[0].value)
        pair = method_call(node)
        if pair is not None and pair[1] in knowledge.JOB_DISPATCH_METHODS:
            return True  # ``task.delay(...)``: a fresh job handle, not the data it was given
        qualified = self.ctx.qualify(node.func) or ""
        return qualified.startswith(TOKEN_GENERATORS)

    def _on_miss_branch(self, key_text: str) -> bool:
        for entry in reversed(self.miss_keys):
            if entry == key_text:
                return True
            if entry == HIT + key_text:
                return False
        return False


def _arguments(call: cst.Call) -> str:
    """A key helper call's arguments as part of its family.  Literal strings name the
    family too: ``fragment_key("sidebar", pk)`` and ``fragment_key("footer", pk)`` are
    two families; the other arguments (positional or keyword) are holes, so
    ``cache_key(a, b)`` and ``cache_key(a, b, c)`` differ."""
    arguments = [a for a in call.args if not a.star]
    literals = [repr(keys.string_value(a.value)) for a in arguments
                if keys.string_value(a.value) is not None]
    parts = literals + [keys.HOLE] * (len(arguments) - len(literals))
    return f"({', '.join(parts)})"


def _empty(node: cst.BaseExpression) -> bool:
    """A constant or an empty container: ``None``, ``0``, ``[]``, ``{}``, ``dict()``."""
    if isinstance(node, cst.Call) and not node.args and isinstance(node.func, cst.Name) \
            and node.func.value in {"dict", "list", "set", "tuple"}:
        return True
    return _empty_start(node) or is_constant(node)


def _empty_start(node: cst.BaseExpression) -> bool:
    """``None``, ``[]``, ``{}``, ``()``, ``""``: a value a function starts with."""
    if isinstance(node, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
        return not node.elements
    if isinstance(node, cst.Name):
        return node.value == "None"
    return keys.string_value(node) == ""


def _names_read(node: cst.BaseExpression) -> set[str]:
    """The variable names an expression reads (not attribute names: ``r.headers``)."""
    return {n.value for n in variables(node)}


def _names_key_helper(helper: str) -> bool:
    """``user_cache_key``, ``CacheKeys.profile``: the function's own name or its class's
    says it builds keys.  A class named for a cache (``CacheService._k``) does not: its
    methods take whatever key their callers hand them."""
    owner, _, name = helper.rpartition(".")
    return has_word(name, KEY_HELPER_WORDS) or has_word(owner, OWNER_KEY_WORDS)


def _generic_key_name(name: str) -> bool:
    """``get_cache_key``, ``CACHE_KEY``: no word that tells one key from another."""
    return all(w in KEY_HELPER_WORDS or w in GENERIC_KEY_WORDS for w in words(name))


def _constant_values(mapping: cst.BaseExpression) -> bool:
    """``{f"verified:{pk}": True for pk in ids}`` given to ``set_many``: every key gets a
    constant, whatever rows the keys came from."""
    if isinstance(mapping, cst.DictComp):
        return is_constant(mapping.value)
    return isinstance(mapping, cst.Dict) and all(
        isinstance(e, cst.DictElement) and is_constant(e.value) for e in mapping.elements
    )
