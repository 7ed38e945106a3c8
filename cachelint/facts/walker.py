"""The ordered walk over statements: branches, loops, locks and transactions."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import libcst as cst

from cachelint import knowledge
from cachelint.facts.calls import CallFacts
from cachelint.facts.model import (
    CACHE,
    CLOCK,
    EVENT,
    Binding,
    LockRegion,
    VersionGuard,
)
from cachelint.facts.syntax import (
    _ORDERING_OPERATORS,
    HIT,
    ends_flow,
    leaves_on_success,
    newer_operand,
    ordering_named,
    target_names,
    transaction_kind,
    using,
    version_named,
    writes_cache_text,
)
from cachelint.names import (
    children,
    descendants,
    keyword,
    method_call,
    positional,
    unwrap_await,
)


class Walker(CallFacts):
    """Builds the facts of one function (or of the module body) in one ordered walk."""

    # -- the walk -----------------------------------------------------------------------

    def block(self, statements: Sequence[cst.BaseStatement]) -> None:
        miss_depth = len(self.miss_keys)
        guard_depth = len(self.guards)
        acquire_before = dict(self.open_acquires)
        keeps_acquires, self.keeps_acquires = self.keeps_acquires, False
        for statement in statements:
            exits_before = len(self.exits_on_hit)
            self.statement(statement)
            if isinstance(statement, (cst.If, cst.With, cst.Try, cst.TryStar)):
                # ``if enabled: ... if cached: return cached`` -- whatever follows the
                # statement runs only when there was no hit: it is the miss path.
                self.miss_keys.extend(self.exits_on_hit[exits_before:])
        del self.miss_keys[miss_depth:]
        self.exit_guards = [g for g in self.guards[guard_depth:] if g.after_exit]
        del self.guards[guard_depth:]
        for name in list(self.open_acquires):
            if name not in acquire_before and not keeps_acquires:
                self._close_acquire(name)

    def suite(self, body: cst.BaseSuite) -> None:
        self.exit_guards = []
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
            self.nested_miss_keys[id(node)] = tuple(self.miss_keys)
            if self.facts.node is not self.ctx.module:
                name = node.name.value
                self.env[name] = Binding(local_function=f"<locals>.{name}#{self.next_index()}")
        elif isinstance(node, cst.ClassDef):
            pass  # classes are walked from the module level
        elif isinstance(node, cst.If):
            self.if_statement(node)
        elif isinstance(node, (cst.For, cst.While)):
            self.loop(node)
        elif isinstance(node, cst.With):
            self.with_statement(node)
        elif isinstance(node, (cst.Try, cst.TryStar)):
            # ``try: lock.acquire() except Timeout: return``: still held after the ``try``.
            self.keeps_acquires = True
            self.suite(node.body)
            self.keeps_acquires = False
            for handler in node.handlers:
                self.except_depth += 1  # error handling: a delete here is cleanup
                self.suite(handler.body)
                self.except_depth -= 1
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

    # -- branches -------------------------------------------------------------------------

    def _miss_test(self, test: cst.BaseExpression) -> tuple[list[str], bool]:
        """(keys, body_is_miss) for a test on cached values; no keys when unrelated.
        ``not a or not b`` names both keys: the body refills each of them."""
        test = unwrap_await(test)
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            keys, body_is_miss = self._miss_test(test.expression)
            return keys, not body_is_miss
        if isinstance(test, cst.BooleanOperation):
            conjunction = isinstance(test.operator, cst.And)
            found: list[str] = []
            polarity: bool | None = None
            for keys, body_is_miss in (self._miss_test(test.left), self._miss_test(test.right)):
                # ``miss and x`` / ``hit and x``: the body has the operand's polarity;
                # ``miss or stale(v)``: the body is where the value gets refilled.
                if keys and (conjunction or body_is_miss) and polarity in (None, body_is_miss):
                    polarity = body_is_miss
                    found += [k for k in keys if k not in found]
            return found, bool(polarity)
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            target = test.comparisons[0]
            operator = target.operator
            sentinel = isinstance(target.comparator, cst.Name) and (
                target.comparator.value == "None" or isinstance(operator, (cst.Is, cst.IsNot))
                or self._is_read_default(test.left, target.comparator.value)
                or self._bound_to_none(target.comparator.value)
            )  # ``is None``, or identity with a default sentinel: ``get(k, _missing)``
            if isinstance(operator, (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual)) and sentinel:
                key = self._cached_value_key(test.left)
                return _listed(key), isinstance(operator, (cst.Is, cst.Equal))
            if isinstance(operator, (cst.In, cst.NotIn)):
                kind = self.kind_of(target.comparator)
                if kind is not None and kind.role == "shared":
                    return [self.ctx.module.code_for_node(test.left)], isinstance(
                        operator, cst.NotIn
                    )
                # ``if name not in cached_dict:`` -- an entry of a cached mapping is
                # missing; an entry named by the clock (``current_hour``) is a time
                # window being opened, not missing data.
                key = self._cached_value_key(target.comparator)
                if key is not None and CLOCK not in self.provenance(test.left)[0] \
                        and not self._read_as_sequence(target.comparator):
                    return [key], isinstance(operator, cst.NotIn)
            return [], False
        return _listed(self._cached_value_key(test)), False

    def _read_as_sequence(self, node: cst.BaseExpression) -> bool:
        """``popular = mc.get(k) or []``: ``code in popular`` asks whether a list already
        holds an item, not whether a cached entry is missing."""
        binding = self.env.get(node.value) if isinstance(node, cst.Name) else None
        value = binding.value if binding is not None else None
        return isinstance(value, cst.BooleanOperation) and isinstance(
            value.right, (cst.List, cst.Tuple, cst.Set, cst.ListComp, cst.SetComp))

    def _bound_to_none(self, name: str) -> bool:
        """``not_found = None`` ... ``if cached != not_found:``."""
        binding = self.env.get(name)
        return binding is not None and isinstance(binding.value, cst.Name) \
            and binding.value.value == "None" and not binding.earlier_values

    def _is_read_default(self, value: cst.BaseExpression, name: str) -> bool:
        """``value`` was read with ``name`` as the default (``r = mc.get(k, default=NOT_FOUND)``
        ... ``r != NOT_FOUND``)."""
        binding = self.env.get(value.value) if isinstance(value, cst.Name) else None
        read = unwrap_await(binding.value) if binding is not None and binding.value else None
        if not isinstance(read, cst.Call) or binding is None or binding.cache_read_key is None:
            return False
        default = keyword(read, "default") or positional(read, 1)
        return default is not None and isinstance(default.value, cst.Name) \
            and default.value.value == name

    def _cached_value_key(self, node: cst.BaseExpression) -> str | None:
        node = unwrap_await(node)
        if isinstance(node, cst.NamedExpr):
            self.bind(node.target, node.value)
            node = node.target
        if isinstance(node, cst.Name):
            binding = self.env.get(node.value)
            return binding.cache_read_key if binding is not None else None
        slot = self.constant_slot(node)
        if slot is not None:
            return self.slot_reads.get(slot)
        if isinstance(node, cst.Attribute) and node.attr.value in {"is_found", "found"}:
            return self._cached_value_key(node.value)  # TieredCache's CachedResponse
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
        keys, body_is_miss = self._miss_test(node.test)
        guard = self._ordering_guard(node)
        clocks = self._check_clock_comparison(node, guard)
        if guard is not None and clocks:
            guard = dataclasses.replace(guard, clocks=tuple(clocks))
        if guard is not None:
            self.guards.append(guard)
        # Each branch of a test on a cached value is a miss (``key``) or a hit (``!key``).
        depth = len(self.miss_keys)
        self.miss_keys += [key if body_is_miss else HIT + key for key in keys]
        self.suite(node.body)
        # ``if raw: ... if old["seq"] > seq: return`` -- past the ``if``, the write is
        # reached only through the check (or with nothing cached): the check guards it.
        exit_guards = self.exit_guards if node.orelse is None else []
        del self.miss_keys[depth:]
        if guard is not None:
            self.guards.pop()
        if node.orelse is not None:
            self.miss_keys += [HIT + key if body_is_miss else key for key in keys]
            if guard is not None:  # the else branch is decided by the same check
                self.guards.append(guard)
            if isinstance(node.orelse, cst.If):
                self.if_statement(node.orelse)
            else:
                self.suite(node.orelse.body)
            if guard is not None:
                self.guards.pop()
            del self.miss_keys[depth:]
        if keys and not body_is_miss and leaves_on_success(node.body):
            # ``if cached is not None: return cached`` -- the rest of the block is the miss.
            self.miss_keys += keys
            self.exits_on_hit += keys
        if node.orelse is None and guard is not None and ends_flow(node.body):
            # ``if cached["version"] >= version: return`` -- it guards the rest of the block.
            self.guards.append(dataclasses.replace(guard, newer=None, after_exit=True))
        self.guards.extend(exit_guards)

    def _ordering_guard(self, statement: cst.If) -> VersionGuard | None:
        """A ``<``/``>`` comparison of a version (or update time) read from the cache."""
        test = statement.test
        for node in [test, *descendants(test)]:
            if not isinstance(node, cst.Comparison):
                continue
            if not any(isinstance(t.operator, _ORDERING_OPERATORS) for t in node.comparisons):
                continue
            operands = [node.left, *(t.comparator for t in node.comparisons)]
            cached = next((o for o in operands if CACHE in self.provenance(o)[0]), None)
            if cached is None:
                continue
            compared = None
            if not any(ordering_named(operand) for operand in operands):
                other = [o for o in operands if o is not cached]
                if len(other) != 1 or not isinstance(other[0], cst.Name) \
                        or other[0].value not in self.env:
                    continue  # ``if int(active) >= 16:`` is a limit, not an order
                compared = other[0].value
            return VersionGuard(node, statement, cached, newer_operand(node, cached),
                                frozenset(self.read_keys(cached)), compared=compared)
        return None

    def _check_clock_comparison(
        self, node: cst.If, guard: VersionGuard | None
    ) -> list[cst.BaseExpression]:
        """``if entry["version"] < time.time(): cache.set(...)``: the clock orders writes.
        Returns the clocks a guard of a later write compares (``if cached["ts"] > now:
        return``); an offset (``time.time() - 60``, ``cached_at + ttl``) is expiry."""
        clocks: list[cst.BaseExpression] = []
        for comparison in [node.test, *descendants(node.test)]:
            if not isinstance(comparison, cst.Comparison):
                continue
            operands = [comparison.left, *(t.comparator for t in comparison.comparisons)]
            ordered = any(isinstance(t.operator, (cst.LessThan, cst.LessThanEqual,
                                                  cst.GreaterThan, cst.GreaterThanEqual))
                          for t in comparison.comparisons)
            versioned = any(version_named(o) for o in operands) or (
                guard is not None and guard.comparison is comparison
                and not any(isinstance(o, cst.BinaryOperation) for o in operands)
            )
            if ordered and versioned:
                clocks.extend(o for o in operands if self.clock_or_hop(o))
            if ordered and sum(CACHE in self.provenance(o)[0] for o in operands) >= 2:
                self.facts.compares_cached_order = True
        # The body is walked only for the rare test that compares a clock with a version.
        if clocks and writes_cache_text(node.body):
            self._report_clocks(clocks)
            return []
        return clocks if node.orelse is None and ends_flow(node.body) else []

    def loop(self, node: cst.For | cst.While) -> None:
        if isinstance(node, cst.For):
            self.expression(node.iter)
            self.bind(node.target, node.iter)
            if self._is_consumer_iter(node.iter):
                for name in target_names(node.target):
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
            transaction = transaction_kind(
                self.ctx.qualify(expr.func if isinstance(expr, cst.Call) else expr)
            )
            if transaction is not None:
                transactions.append((transaction, using(self.ctx.module, expr)))
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


def _listed(key: str | None) -> list[str]:
    return [key] if key is not None else []
