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
    """The raw template of a key expression, with ``{}`` for every unknown part."""
    literal = string_value(node)
    if literal is not None:
        return literal
    if isinstance(node, cst.FormattedString):
        parts = []
        for part in node.parts:
            parts.append(part.value if isinstance(part, cst.FormattedStringText) else HOLE)
        return "".join(parts)
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, cst.Modulo):
            left = template(node.left, resolve)
            if left is not None:
                return _PERCENT.sub(HOLE, left)
            return None
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
            return _BRACES.sub(HOLE, base) if base is not None else None
        if isinstance(func, cst.Name) and func.value == "str" and len(node.args) == 1:
            inner = template(node.args[0].value, resolve)
            return inner if inner is not None else HOLE
    if resolve is not None:
        return resolve(node)
    return None


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
