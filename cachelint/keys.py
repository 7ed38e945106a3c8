"""Normalise cache key expressions into key families such as ``user:{}``.

``f"user:{uid}"``, ``"user:%s" % uid``, ``"user:{}".format(uid)`` and
``"user:" + str(uid)`` all become ``user:{}``.  A key whose shape cannot be
known (a bare parameter, a call to an unknown function) has no family, and keys
without a family never pair.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import libcst as cst

HOLE = "{}"
_PERCENT = re.compile(r"%(\([^)]*\))?[-#0 +]*\d*(\.\d+)?[sdifrxXeEgGoc]")
_BRACES = re.compile(r"\{[^{}]*\}")

# Resolves a name or a call to the key template it stands for (module constants,
# one-hop locals, key-helper functions); returns None when unknown.
Resolver = Callable[[cst.BaseExpression], "str | None"]


def string_value(node: cst.BaseExpression) -> str | None:
    """The value of a plain string literal (or implicit concatenation), else None."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_value(node.left), string_value(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def template(node: cst.BaseExpression, resolve: Resolver | None = None) -> str | None:
    """The raw template of a key expression, with ``{}`` for every unknown part.

    Parts that ``resolve`` knows (module constants, one-hop locals, key helpers) are
    substituted: ``f"{PREFIX}:{uid}"`` with ``PREFIX = "user"`` is ``user:{}``.
    """
    literal = string_value(node)
    if literal is not None:
        return literal
    if isinstance(node, cst.FormattedString):
        parts = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
            elif isinstance(part, cst.FormattedStringExpression) \
                    and part.conversion is None and part.format_spec is None:
                parts.append(_part(part.expression, resolve))
            else:
                parts.append(HOLE)
        return "".join(parts)
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, cst.Modulo):
            left = template(node.left, resolve)
            if left is None:
                return None
            return _percent(left, node.right, resolve)
        if isinstance(node.operator, cst.Add):
            left = template(node.left, resolve)
            right = template(node.right, resolve)
            if left is None and right is None:
                return None
            return (left if left is not None else HOLE) + (right if right is not None else HOLE)
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "format":
            base = template(func.value, resolve)
            return _format(base, node, resolve) if base is not None else None
        if isinstance(func, cst.Attribute) and func.attr.value == "join" and len(node.args) == 1:
            separator = string_value(func.value)
            items = node.args[0].value
            if separator is not None and isinstance(items, (cst.List, cst.Tuple)) and all(
                isinstance(e, cst.Element) for e in items.elements
            ):
                return separator.join(_part(e.value, resolve) for e in items.elements)
            return None
        if isinstance(func, cst.Name) and func.value == "str" and len(node.args) == 1:
            inner = template(node.args[0].value, resolve)
            return inner if inner is not None else HOLE
    if resolve is not None:
        return resolve(node)
    return None


def _part(node: cst.BaseExpression, resolve: Resolver | None) -> str:
    """One interpolated part: its template when known, else a hole."""
    known = template(node, resolve)
    return known if known is not None else HOLE


def _percent(left: str, right: cst.BaseExpression, resolve: Resolver | None) -> str:
    """``"%s:%s" % (PREFIX, uid)``: substitute the known values, holes for the rest."""
    fields = list(_PERCENT.finditer(left))
    values: list[cst.BaseExpression] | None = None
    if isinstance(right, cst.Tuple) and all(isinstance(e, cst.Element) for e in right.elements):
        values = [e.value for e in right.elements]
    elif not isinstance(right, (cst.Dict, cst.Tuple)) and len(fields) == 1:
        values = [right]
    plain = all(f.group(1) is None and f.group(0).endswith(("s", "d", "i")) for f in fields)
    if values is None or len(values) != len(fields) or not plain:
        return _PERCENT.sub(HOLE, left.replace("%%", "%"))
    out, cursor = [], 0
    for match, value in zip(fields, values):
        out.append(left[cursor:match.start()])
        out.append(_part(value, resolve) if match.group(0) == "%s" else HOLE)
        cursor = match.end()
    out.append(left[cursor:])
    return "".join(out).replace("%%", "%")


def _format(base: str, call: cst.Call, resolve: Resolver | None) -> str:
    """``"{}:{}".format(PREFIX, uid)`` / ``"{kind}:{id}".format(kind=KIND, id=uid)``."""
    positional = [a.value for a in call.args if a.keyword is None and not a.star]
    named = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    counter = iter(range(len(positional)))

    def field(match: re.Match[str]) -> str:
        name = match.group(0)[1:-1]
        if any(c in name for c in "!:.[") or any(a.star for a in call.args):
            return HOLE
        if name == "":
            index = next(counter, None)
            value = positional[index] if index is not None else None
        elif name.isdigit():
            value = positional[int(name)] if int(name) < len(positional) else None
        else:
            value = named.get(name)
        return _part(value, resolve) if value is not None else HOLE

    return _BRACES.sub(field, base)


def pairable(family: str | None) -> bool:
    """A family that may pair with others: one whose namespace (its start) is known.

    ``{}:lock`` (``key + ":lock"``) names nothing in particular: it never pairs.
    """
    return family is not None and not family.startswith(HOLE)


def covers(deleted: str, refilled: str) -> bool:
    """A delete of family ``deleted`` removes keys of family ``refilled``: the same family,
    or a glob (``delete_pattern("fsm:current:*")``) that matches it."""
    if deleted == refilled:
        return True
    if "*" not in deleted:
        return False
    pattern = ".*".join(re.escape(part) for part in re.split(r"\*|\{\}", deleted))
    return re.fullmatch(pattern, refilled) is not None


def family(node: cst.BaseExpression | None, resolve: Resolver | None = None) -> str | None:
    """The key family of ``node``, or None when it has no recognisable shape."""
    if node is None:
        return None
    raw = template(node, resolve)
    if raw is None:
        return None
    normalised = re.sub(r"(\{\})+", HOLE, raw)
    # A template of holes and punctuation alone names nothing: never pair it.
    if not re.search(r"[A-Za-z0-9]", normalised.replace(HOLE, "")):
        return None
    return normalised
