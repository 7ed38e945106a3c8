"""Small helpers on names and CST nodes shared by the facts walk and the fixes."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import libcst as cst

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")  # userId, LRUCache


def words(name: str) -> list[str]:
    """The lower-case words of a snake_case or camelCase name."""
    return [w for w in _CAMEL.sub("_", name).lower().split("_") if w]


def has_word(name: str, vocabulary: frozenset[str]) -> bool:
    return any(w in vocabulary for w in words(name))


def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base is not None else None
    return None


def terminal_name(node: cst.BaseExpression) -> str | None:
    """The last name of a receiver: ``self._cache`` -> ``_cache``, ``caches["x"]`` -> ``caches``,
    ``get_cache()`` -> ``get_cache``."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Subscript):
        return terminal_name(node.value)
    if isinstance(node, cst.Call):
        return terminal_name(node.func)
    if isinstance(node, cst.Await):
        return terminal_name(node.expression)
    return None


def call_name(call: cst.Call) -> str | None:
    """The called function's own name: ``a.b.fetch_user(...)`` -> ``fetch_user``."""
    func = call.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def method_call(node: cst.BaseExpression) -> tuple[cst.BaseExpression, str] | None:
    """``(receiver, method)`` for ``receiver.method(...)``."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.value, node.func.attr.value
    return None


def unwrap_await(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.expression if isinstance(node, cst.Await) else node


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional(call: cst.Call, index: int) -> cst.Arg | None:
    plain = [a for a in call.args if a.keyword is None and not a.star]
    return plain[index] if index < len(plain) else None


def is_constant(node: cst.BaseExpression) -> bool:
    """A literal (or a container of literals): the same value whatever the caller read."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float,
                         cst.Imaginary, cst.Ellipsis)):
        return True
    if isinstance(node, cst.Name):
        return node.value in {"True", "False", "None"}
    if isinstance(node, cst.UnaryOperation):
        return is_constant(node.expression)
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return all(isinstance(e, cst.Element) and is_constant(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(
            isinstance(e, cst.DictElement) and is_constant(e.key) and is_constant(e.value)
            for e in node.elements
        )
    if isinstance(node, cst.FormattedString):
        return all(isinstance(p, cst.FormattedStringText) for p in node.parts)
    return False


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Direct child nodes, in source order, without LibCST's (costly) visitor machinery."""
    fields = _CHILD_FIELDS.get(type(node))
    if fields is None:
        fields = tuple(
            f.name for f in dataclasses.fields(node)  # type: ignore[arg-type]
            if not f.name.startswith(("whitespace", "lpar", "rpar", "comma", "semicolon",
                                      "leading_lines", "lines_after", "header", "footer"))
        )
        _CHILD_FIELDS[type(node)] = fields
    for name in fields:
        value = getattr(node, name)
        if _is_node(type(value)):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                if _is_node(type(item)):
                    yield item


_NODE_TYPES: dict[type, bool] = {}


def _is_node(kind: type) -> bool:
    """``issubclass(kind, CSTNode)``, memoised: LibCST's ABC checks are slow."""
    answer = _NODE_TYPES.get(kind)
    if answer is None:
        answer = _NODE_TYPES[kind] = issubclass(kind, cst.CSTNode)
    return answer


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node below ``node`` (iteratively: expressions can nest thousands deep)."""
    stack = list(children(node))
    stack.reverse()
    while stack:
        current = stack.pop()
        yield current
        below = list(children(current))
        below.reverse()
        stack.extend(below)


def variables(node: cst.CSTNode) -> list[cst.Name]:
    """The names ``node`` reads as variables: ``r`` in ``r.headers``, not ``headers``."""
    nodes = [node, *descendants(node)]
    attributes = {id(n.attr) for n in nodes if isinstance(n, cst.Attribute)}
    return [n for n in nodes if isinstance(n, cst.Name) and id(n) not in attributes]
